# -*- test-case-name: tests.store.test_sqlite -*-
"""
A durable L{IStore} on one SQLite file, in WAL mode.

What an acknowledged (committed) message survives depends on C{durability},
which sets the C{synchronous} pragma (sqlite.org/pragma.html#pragma_synchronous):

  - C{"normal"} (the default), C{synchronous=NORMAL}: a committed
    transaction survives a crash or C{kill -9} of chatd.  A power loss or
    OS crash may roll back the latest commits: the file stays consistent,
    but messages that were acknowledged can be lost.
  - C{"full"}, C{synchronous=FULL}: the WAL is synced on every commit, so a
    committed message survives a power loss or OS crash too.

With C{durability = normal}, calls run in the reactor thread, those of
one reactor turn in one transaction (L{chatd.store.turnwriter}: a commit
that does not sync costs less than handing it to a thread; the reactor
never waits for another process's lock nor for a checkpoint).  With
C{durability = full}, L{chatd.store.writer} runs every call in its own
thread, in group commits, so that the sync of each commit never holds the
reactor.  L{chatd.store.tables} holds what each call does.  This module
queues calls and fires their Deferreds, in call order.
"""

import sqlite3
from typing import Any, List, Optional, Tuple

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IReactorFromThreads
from twisted.logger import Logger, LogLevel
from twisted.python.failure import Failure
from zope.interface import implementer

from chatd.core.errors import ChatError, Unavailable
from chatd.core.interfaces import IAccountStore, IModerationStore, IStore
from chatd.core.text import fold
from chatd.store import schema
from chatd.store.records import AccountRecord, BanRecord, MarkRecord, RoomRecord, check_role
from chatd.store.schema import SCHEMA_VERSION
from chatd.store.tables import Tables
from chatd.store.turnwriter import Checkpoints, TurnWriter
from chatd.store.writer import Op, Results, Writer

__all__ = ["SCHEMA_VERSION", "SQLiteStore", "StoreError"]

#: What each operation is, for error messages that people read.
_WHAT = {"append": "Storing the message", "recent": "Reading the history", "set_topic": "Storing the topic",
         "save_room": "Storing the room", "room": "Reading the room", "last_id": "Reading the room",
         "prune": "Pruning old messages", "message": "Reading the message",
         "delete_message": "Deleting the message", "create_account": "Storing the account",
         "account": "Reading the account", "find_account": "Reading the account",
         "set_password": "Storing the password", "drop_account": "Dropping the account",
         "add_token": "Storing the login token", "token_account": "Reading the login token",
         "remove_token": "Forgetting the login token", "append_private": "Storing the private message",
         "privates": "Reading the private messages", "roles": "Reading the roles",
         "set_role": "Storing the role", "bans": "Reading the bans", "add_ban": "Storing the ban",
         "remove_ban": "Lifting the ban", "marks": "Reading the room's mutes and invitations",
         "set_mark": "Storing the mute or invitation", "remove_mark": "Lifting the mute or invitation",
         "reactions": "Reading the reactions", "reads": "Reading the read markers",
         "set_read": "Storing the read marker", "preferences": "Reading the preferences",
         "set_preference": "Storing the preference"}

#: C{PRAGMA synchronous} read back, in tap.cfg's words.
_SYNCHRONOUS = {0: "off", 1: "normal", 2: "full", 3: "extra"}


class StoreError(Unavailable):
    """
    The store could not do it (disk full, I/O error, not open): an
    L{Unavailable}, so the client is told to retry, not that it was wrong.
    """


@implementer(IStore, IAccountStore, IModerationStore)
class SQLiteStore:
    """
    Room messages, room records and ids, accounts, roles, bans and room
    marks in one SQLite file.

    @param path: the database file (created if missing, migrated if older).
    @param reactor: for C{callLater}, C{callFromThread} and the checkpoint thread.
    @param durability: C{"normal"} or C{"full"} (see the module docstring).
    @param group_commit: commit up to C{batch_max} queued operations per
        transaction; C{False} commits each on its own (for comparison).
    @param cid_window: seconds (by message timestamp) a client message id
        is remembered for.
    @param prune_chunk: the most rows one pruning step deletes before other
        queued calls get their turn.
    @param in_reactor: run calls in the reactor thread (L{TurnWriter});
        by default, with C{durability = normal} only.
    """

    def __init__(self, path: str, reactor: IReactorFromThreads, durability: str = "normal",
                 group_commit: bool = True, batch_max: int = 512, cid_window: float = 86400.0,
                 prune_chunk: int = 500, in_reactor: Optional[bool] = None) -> None:
        schema.check_durability(durability)
        self.name = f"sqlite:{path}"
        self._cid_window = cid_window
        self._log = Logger(namespace="chatd.store", source=self)
        self._state = "new"
        self._waiting: List[Deferred] = []  # for open() or close()

        def open_() -> Tables:
            db, opened = schema.connect(path, durability)
            return Tables(db, opened, cid_window, prune_chunk)

        batch = batch_max if group_commit else 1
        if in_reactor is None:
            in_reactor = durability == "normal"
        if in_reactor:
            self._writer = TurnWriter(self.name, reactor, batch, open_, self._opened, self._deliver, self._closed,
                                      Checkpoints(path, reactor))
        else:
            self._writer = Writer(self.name, reactor, batch, open_, self._opened, self._deliver, self._closed)

    def after_batch(self, callback) -> None:
        """
        Call C{callback()} after the results of each batch run in the
        reactor thread are handed back (never with the writer thread).
        """
        if isinstance(self._writer, TurnWriter):
            self._writer.after_batch = callback

    @property
    def commits(self) -> int:
        """Transactions committed so far (for the metrics)."""
        return self._writer.commits

    def open(self) -> Deferred:
        """Start the writer thread, which creates or migrates the schema."""
        if self._state != "new":
            return fail(StoreError(f"{self.name} was already opened."))
        self._state = "opening"
        d: Deferred = Deferred()
        self._waiting = [d]
        self._writer.start()
        return d

    def close(self) -> Deferred:
        """Let the writer finish everything queued, then close the file."""
        if self._state in ("new", "closed"):
            self._state = "closed"
            return succeed(None)
        if self._state != "closing":
            self._writer.stop()
        self._state = "closing"
        d: Deferred = Deferred()
        self._waiting.append(d)
        return d

    def append(self, room: str, type: str, nick: str, text: str, ts: float,
               identity: str, cid: Optional[str], via: Optional[int] = None,
               account: Optional[str] = None, extra: Optional[dict] = None) -> Deferred:
        return self._submit("append", (fold(room), room, type, nick, text, ts, identity, cid, extra))

    def recent(self, room: str, limit: int, before: Optional[int] = None,
               after: Optional[int] = None, oldest: bool = False) -> Deferred:
        return self._submit("recent", (fold(room), limit, before, after, oldest))

    def room(self, room: str) -> Deferred:
        return self._submit("room", (fold(room),))

    def save_room(self, record: RoomRecord) -> Deferred:
        if not isinstance(record, RoomRecord):
            return fail(TypeError(f"save_room needs a RoomRecord, not {type(record).__name__}"))
        return self._submit("save_room", (fold(record.name), record))

    def last_id(self, room: str) -> Deferred:
        return self._submit("last_id", (fold(room),))

    def set_topic(self, room: str, topic: str, nick: str) -> Deferred:
        return self._submit("set_topic", (fold(room), room, topic, nick))

    def prune(self, max_messages_per_room: Optional[int], max_age_seconds: Optional[float],
              now: float) -> Deferred:
        """
        Delete each room's oldest messages beyond C{max_messages_per_room}
        and those older than C{max_age_seconds} (either may be C{None}), and
        the same of each account's private messages; forget client message
        ids older than the window, and tokens, bans and marks that have
        expired by C{now}.  Only a prefix of a stream goes, so C{recent} and
        C{privates} can tell what was pruned: an old message behind a newer
        one waits for it.

        The work is done in steps of at most C{prune_chunk} rows, each
        queued behind the calls made meanwhile, so writes never wait long.

        @return: Deferred firing with the number of messages (room and
            private) deleted.
        """
        cutoff = None if max_age_seconds is None else now - max_age_seconds
        return self._submit("prune", (max_messages_per_room, cutoff, now, None, 0))

    def message(self, room: str, id: int) -> Deferred:
        return self._submit("message", (fold(room), id))

    def delete_message(self, room: str, id: int) -> Deferred:
        return self._submit("delete_message", (fold(room), id))

    def reactions(self, room: str, ids) -> Deferred:
        return self._submit("reactions", (fold(room), list(ids)))

    # -- accounts (IAccountStore) ---------------------------------------------

    def create_account(self, record: AccountRecord) -> Deferred:
        if not isinstance(record, AccountRecord):
            return fail(TypeError(f"create_account needs an AccountRecord, not {type(record).__name__}"))
        return self._submit("create_account", (record,))

    def account(self, key: str) -> Deferred:
        return self._submit("account", (key,))

    def find_account(self, key: str, look: str) -> Deferred:
        return self._submit("find_account", (key, look))

    def set_password(self, key: str, password_hash: str) -> Deferred:
        return self._submit("set_password", (key, password_hash))

    def drop_account(self, key: str) -> Deferred:
        """
        The account with its tokens, roles, private messages, read markers
        and preferences; bans and room marks on it stay.
        """
        return self._submit("drop_account", (key,))

    def add_token(self, digest: str, key: str, expires: float) -> Deferred:
        return self._submit("add_token", (digest, key, expires))

    def token_account(self, digest: str, now: float) -> Deferred:
        return self._submit("token_account", (digest, now))

    def remove_token(self, digest: str) -> Deferred:
        return self._submit("remove_token", (digest,))

    def append_private(self, key: str, nick: str, to: str, text: str, ts: float) -> Deferred:
        return self._submit("append_private", (key, nick, to, text, ts))

    def privates(self, key: str, limit: int, before: Optional[int] = None,
                 after: Optional[int] = None) -> Deferred:
        return self._submit("privates", (key, limit, before, after))

    def reads(self, key: str) -> Deferred:
        return self._submit("reads", (key,))

    def set_read(self, key: str, target: str, id: int) -> Deferred:
        return self._submit("set_read", (key, target, id))

    def preferences(self, key: str) -> Deferred:
        return self._submit("preferences", (key,))

    def set_preference(self, key: str, name: str, value: str) -> Deferred:
        return self._submit("set_preference", (key, name, value))

    # -- roles, bans and marks (IModerationStore) -------------------------------

    def roles(self, room: str) -> Deferred:
        return self._submit("roles", (fold(room),))

    def set_role(self, room: str, key: str, role: Optional[str]) -> Deferred:
        try:
            check_role(role)
        except ValueError as e:
            return fail(e)
        return self._submit("set_role", (fold(room), key, role))

    def bans(self, scope: Optional[str]) -> Deferred:
        return self._submit("bans", (_scope(scope),))

    def add_ban(self, scope: Optional[str], record: BanRecord) -> Deferred:
        if not isinstance(record, BanRecord):
            return fail(TypeError(f"add_ban needs a BanRecord, not {type(record).__name__}"))
        return self._submit("add_ban", (_scope(scope), fold(record.mask), record))

    def remove_ban(self, scope: Optional[str], mask: str) -> Deferred:
        return self._submit("remove_ban", (_scope(scope), fold(mask)))

    def marks(self, room: str) -> Deferred:
        return self._submit("marks", (fold(room),))

    def set_mark(self, room: str, record: MarkRecord) -> Deferred:
        if not isinstance(record, MarkRecord):
            return fail(TypeError(f"set_mark needs a MarkRecord, not {type(record).__name__}"))
        return self._submit("set_mark", (fold(room), record))

    def remove_mark(self, room: str, kind: str, who: str) -> Deferred:
        return self._submit("remove_mark", (fold(room), kind, who))

    def _submit(self, kind: str, args: Tuple[Any, ...]) -> Deferred:
        if self._state not in ("opening", "open"):
            return fail(StoreError(f"{_WHAT[kind]} failed: {self.name} is not open."))
        d: Deferred = Deferred()
        self._writer.put(Op(kind, args, d))
        return d

    # -- called by the writer, in the reactor thread --------------------------

    def _opened(self, summary: Any, error: Optional[BaseException]) -> None:
        d = self._waiting.pop(0)
        if error is None:
            opened = summary
            self._log.info(
                "{store} is open: schema version {version}{migrated}, journal {journal},"
                " durability {durability}",
                store=self.name, version=opened.version, journal=opened.journal,
                durability=_SYNCHRONOUS.get(opened.synchronous, opened.synchronous),
                migrated=f" (migrated from version {opened.migrated_from})" if opened.migrated_from else "",
            )
            self._state = "open" if self._state == "opening" else self._state
            d.callback(None)
            return
        self._log.failure("Could not open {store}", Failure(error), LogLevel.error, store=self.name)
        d.errback(_wrap("Opening the store", self.name, error))
        self._state = "closed"  # nothing more is queued; refuse what was
        for op in self._writer.drain():
            op.d.errback(StoreError(f"{_WHAT[op.kind]} failed: {self.name} could not be opened."))
        self._closed(None)

    def _deliver(self, results: Results) -> None:
        """Fire each Deferred in call order; log failures, but not refusals (an answer)."""
        errors = [_wrap(_WHAT[op.kind], self.name, value) for op, ok, value in results
                  if not ok and not isinstance(value, ChatError)]
        if errors:
            self._log.failure(
                "{store}: {count} of {total} operations failed", Failure(errors[0]),
                LogLevel.error, store=self.name, count=len(errors), total=len(results),
            )
        for op, ok, value in results:
            if op.d.called:  # the caller cancelled it
                continue
            if ok:
                op.d.callback(value)
            else:
                op.d.errback(_wrap(_WHAT[op.kind], self.name, value))

    def _closed(self, error: Optional[BaseException]) -> None:
        if error is not None:
            self._log.error("{store}: closing failed: {error}", store=self.name, error=error)
        self._state = "closed"
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.callback(None)


def _scope(scope: Optional[str]) -> str:
    """A ban's scope in the file: the room's key, or C{""} for the server."""
    return "" if scope is None else fold(scope)


def _wrap(what: str, name: str, error: BaseException) -> BaseException:
    """Turn SQLite's errors into a L{StoreError} that people can read."""
    if not isinstance(error, sqlite3.Error):
        return error
    wrapped = StoreError(f"{what} failed ({name}: {error}); try again later.")
    wrapped.__cause__ = error
    return wrapped
