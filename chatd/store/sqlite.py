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

The reactor thread never touches SQLite.  One writer thread owns the only
connection, and every call is queued to it, reads too, so that results keep
call order.  The writer takes everything queued (up to C{batch_max}
operations), runs it in one transaction and commits once (group commit),
then hands the results back with C{callFromThread}, where the Deferreds fire
in call order.  One sync per batch rather than one per message is what lets
C{"full"} keep up with a busy server.

If a batch fails, it is rolled back and its operations are run again one
per transaction, so only those that fail on their own errback (with
L{StoreError}); the thread carries on.
"""

import dataclasses
import queue
import sqlite3
import threading
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IReactorFromThreads
from twisted.logger import Logger, LogLevel
from twisted.python.failure import Failure
from zope.interface import implementer

from chatd.core.errors import Unavailable
from chatd.core.events import Event
from chatd.core.interfaces import IStore
from chatd.core.text import fold

#: Kept in C{PRAGMA user_version}; a new version needs a migration.
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE rooms (
    rid INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,                -- chatd.core.text.fold(name)
    name TEXT NOT NULL,                      -- display name
    topic TEXT NOT NULL DEFAULT '',
    setter TEXT NOT NULL DEFAULT '',
    last_id INTEGER NOT NULL DEFAULT 0,      -- the room's id counter
    pruned_below INTEGER NOT NULL DEFAULT 1  -- every id below it is deleted
);
CREATE TABLE messages (
    rid INTEGER NOT NULL, id INTEGER NOT NULL, type TEXT NOT NULL,
    nick TEXT NOT NULL, text TEXT NOT NULL, ts REAL NOT NULL, cid TEXT,
    PRIMARY KEY (rid, id)
) WITHOUT ROWID;
CREATE TABLE cids (
    identity TEXT NOT NULL, cid TEXT NOT NULL, id INTEGER NOT NULL, ts REAL NOT NULL,
    PRIMARY KEY (identity, cid)
);
CREATE INDEX cids_by_ts ON cids (ts);
"""

_SYNCHRONOUS = {"normal": "NORMAL", "full": "FULL"}

#: What each operation is, for error messages that people read.
_WHAT = {"append": "Storing the message", "recent": "Reading the history", "set_topic": "Storing the topic",
         "prune": "Pruning old messages", "call": "A store operation"}

_STOP = object()


class StoreError(Unavailable):
    """
    The store could not do it (disk full, I/O error, not open): an
    L{Unavailable}, so the client is told to retry, not that it was wrong.
    """


@dataclasses.dataclass(slots=True)
class _Room:
    """One row of the rooms table; each thread keeps its own copies."""

    rid: int
    name: str
    topic: str = ""
    setter: str = ""
    last_id: int = 0
    pruned_below: int = 1


@dataclasses.dataclass(slots=True, eq=False)
class _Op:
    """One queued call: what the writer runs, and the Deferred that waits."""

    kind: str
    args: Tuple[Any, ...]
    d: Deferred


class _Again(NamedTuple):
    """Returned by a step that has more to do: queue it again with C{args}."""

    args: Tuple[Any, ...]


@implementer(IStore)
class SQLiteStore:
    """
    Room messages, topics and ids in one SQLite file.

    @param path: the database file (created if missing).
    @param reactor: used only for C{callFromThread}.
    @param durability: C{"normal"} or C{"full"} (see the module docstring).
    @param group_commit: commit up to C{batch_max} queued operations per
        transaction; C{False} commits each on its own (for comparison).
    @param cid_window: seconds (by message timestamp) a client message id
        is remembered for.
    @param prune_chunk: the most rows one pruning step deletes before other
        queued calls get their turn.
    @ivar commits: transactions committed so far.
    """

    def __init__(self, path: str, reactor: IReactorFromThreads, durability: str = "normal",
                 group_commit: bool = True, batch_max: int = 512, cid_window: float = 86400.0,
                 prune_chunk: int = 500) -> None:
        if durability not in _SYNCHRONOUS:
            raise ValueError(f"durability must be 'normal' or 'full', not {durability!r}")
        self.name = f"sqlite:{path}"
        self.commits = 0
        self._path = path
        self._reactor = reactor
        self._synchronous = _SYNCHRONOUS[durability]
        self._batch_max = batch_max if group_commit else 1
        self._cid_window = cid_window
        self._prune_chunk = prune_chunk
        self._log = Logger(namespace="chatd.store", source=self)
        self._queue: "queue.Queue[Any]" = queue.Queue()
        self._state = "new"
        self._waiting: List[Deferred] = []  # for open() or close()
        self._rooms: Dict[str, _Room] = {}  # the reactor thread's copy
        # The writer thread's own:
        self._db: sqlite3.Connection = None  # type: ignore[assignment]
        self._wrooms: Dict[str, _Room] = {}
        self._stale = False  # _wrooms may hold rolled back changes

    # -- reactor thread -----------------------------------------------------

    def open(self) -> Deferred:
        """Start the writer thread, which creates the schema if needed."""
        if self._state != "new":
            return fail(StoreError(f"{self.name} was already opened."))
        self._state = "opening"
        d: Deferred = Deferred()
        self._waiting = [d]
        threading.Thread(target=self._main, name=f"chatd {self.name}", daemon=True).start()
        return d

    def close(self) -> Deferred:
        """Let the writer finish everything queued, then close the file."""
        if self._state in ("new", "closed"):
            self._state = "closed"
            return succeed(None)
        if self._state != "closing":
            self._queue.put(_STOP)
        self._state = "closing"
        d: Deferred = Deferred()
        self._waiting.append(d)
        return d

    def append(self, room: str, type: str, nick: str, text: str, ts: float,
               identity: str, cid: Optional[str]) -> Deferred:
        return self._submit("append", (fold(room), room, type, nick, text, ts, identity, cid))

    def recent(self, room: str, limit: int, before: Optional[int] = None,
               after: Optional[int] = None) -> Deferred:
        return self._submit("recent", (fold(room), limit, before, after))

    def set_topic(self, room: str, topic: str, nick: str) -> Deferred:
        return self._submit("set_topic", (fold(room), room, topic, nick))

    def topic(self, room: str) -> Tuple[str, str]:
        r = self._rooms.get(fold(room))
        return (r.topic, r.setter) if r else ("", "")

    def last_id(self, room: str) -> int:
        r = self._rooms.get(fold(room))
        return r.last_id if r else 0

    def prune(self, max_messages_per_room: Optional[int], max_age_seconds: Optional[float],
              now: float) -> Deferred:
        """
        Delete each room's oldest messages beyond C{max_messages_per_room}
        and those older than C{max_age_seconds} (either may be C{None}), and
        forget client message ids older than the window.  Only a prefix of
        a room goes, so the ids kept stay contiguous and C{recent} can tell
        what was pruned: an old message behind a newer one waits for it.

        The work is done in steps of at most C{prune_chunk} rows, each
        queued behind the calls made meanwhile, so writes never wait long.

        @return: Deferred firing with the number of messages deleted.
        """
        cutoff = None if max_age_seconds is None else now - max_age_seconds
        return self._submit("prune", (max_messages_per_room, cutoff, now - self._cid_window, None, 0))

    def _call(self, f: Callable[[sqlite3.Connection], Any]) -> Deferred:
        """Run C{f(connection)} in the writer's transaction (tests, upkeep)."""
        return self._submit("call", (f,))

    def _submit(self, kind: str, args: Tuple[Any, ...]) -> Deferred:
        if self._state not in ("opening", "open"):
            return fail(StoreError(f"{_WHAT[kind]} failed: {self.name} is not open."))
        d: Deferred = Deferred()
        self._queue.put(_Op(kind, args, d))
        return d

    def _opened(self, rooms: Dict[str, _Room], error: Optional[BaseException]) -> None:
        d = self._waiting.pop(0)
        if error is None:
            self._rooms = rooms
            self._state = "open" if self._state == "opening" else self._state
            d.callback(None)
            return
        self._log.failure("Could not open {store}", Failure(error), LogLevel.error, store=self.name)
        d.errback(_wrap("Opening the store", self.name, error))
        self._state = "closed"  # nothing more is queued; refuse what was
        while not self._queue.empty():
            op = self._queue.get_nowait()
            if op is not _STOP:
                op.d.errback(StoreError(f"{_WHAT[op.kind]} failed: {self.name} could not be opened."))
        self._closed(None)

    def _deliver(self, results: List[Tuple[_Op, bool, Any]]) -> None:
        """Update the cache, then fire each Deferred in call order."""
        errors = [value for _, ok, value in results if not ok]
        if errors:
            self._log.failure(
                "{store}: {count} of {total} operations failed", Failure(errors[0]),
                LogLevel.error, store=self.name, count=len(errors), total=len(results),
            )
        for op, ok, value in results:
            if ok and op.kind in ("append", "set_topic"):
                r = self._rooms.setdefault(op.args[0], _Room(0, op.args[1]))
                if op.kind == "set_topic":
                    r.topic, r.setter = op.args[2], op.args[3]
                elif value[2]:
                    r.last_id = value[0]
            if op.d.called:  # the caller cancelled it
                continue
            if ok:
                op.d.callback(value)
            else:
                op.d.errback(value)

    def _closed(self, error: Optional[BaseException]) -> None:
        if error is not None:
            self._log.error("{store}: closing failed: {error}", store=self.name, error=error)
        self._state = "closed"
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.callback(None)

    # -- writer thread ------------------------------------------------------

    def _main(self) -> None:
        try:
            self._connect()
        except Exception as e:
            self._reactor.callFromThread(self._opened, {}, e)
            return
        copies = {k: dataclasses.replace(r) for k, r in self._wrooms.items()}
        self._reactor.callFromThread(self._opened, copies, None)
        stopping = False  # then finish what is queued, steps queued again too
        while True:
            try:
                ops = [self._queue.get_nowait() if stopping else self._queue.get()]
            except queue.Empty:
                break
            while len(ops) < self._batch_max:
                try:
                    ops.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if _STOP in ops:
                stopping = True
                ops = [op for op in ops if op is not _STOP]
            try:
                self._batch(ops)
            except Exception as e:  # a bug: fail these calls, serve the next ones
                self._reactor.callFromThread(self._deliver, [(op, False, e) for op in ops])
        error = None
        try:
            self._db.close()
        except sqlite3.Error as e:
            error = e
        self._reactor.callFromThread(self._closed, error)

    def _connect(self) -> None:
        """Open the file, create or check the schema, and load the rooms."""
        self._db = db = sqlite3.connect(self._path, isolation_level=None)
        try:
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise sqlite3.OperationalError(f"journal_mode is {mode}: WAL is not available")
            db.execute(f"PRAGMA synchronous={self._synchronous}")
            db.execute("PRAGMA busy_timeout=5000")
            db.execute("BEGIN IMMEDIATE")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            elif version != SCHEMA_VERSION:
                raise sqlite3.DatabaseError(
                    f"schema version {version}; this chatd knows version {SCHEMA_VERSION}"
                )
            self._wrooms = self._load()
            db.execute("COMMIT")
        except Exception:
            db.close()  # rolls back
            raise

    def _load(self) -> Dict[str, _Room]:
        rows = self._db.execute("SELECT key, rid, name, topic, setter, last_id, pruned_below FROM rooms")
        return {key: _Room(*rest) for key, *rest in rows}

    def _batch(self, ops: Sequence[_Op]) -> None:
        """Run C{ops} in one transaction or, if that fails, one per transaction."""
        values, error = self._transact(ops)
        if values is not None:
            results = [(op, True, v) for op, v in zip(ops, values)]
        elif len(ops) == 1:
            results = [(ops[0], False, error)]
        else:
            results = []
            for op in ops:
                one, error = self._transact([op])
                results.append((op, True, one[0]) if one is not None else (op, False, error))
        deliver = []
        for op, ok, value in results:
            if ok and isinstance(value, _Again):
                op.args = value.args
                self._queue.put(op)
            else:
                deliver.append((op, ok, value if ok else _wrap(_WHAT[op.kind], self.name, value)))
        if deliver:
            self._reactor.callFromThread(self._deliver, deliver)

    def _transact(self, ops: Sequence[_Op]) -> Tuple[Optional[List[Any]], Optional[Exception]]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            if self._stale:
                self._wrooms, self._stale = self._load(), False
            values = [getattr(self, "_w_" + op.kind)(*op.args) for op in ops]
            self._db.execute("COMMIT")
        except Exception as e:
            self._stale = True
            try:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the next BEGIN reports a connection that is gone
            return None, e
        self.commits += 1
        return values, None

    def _room(self, key: str, name: str) -> _Room:
        r = self._wrooms.get(key)
        if r is None:
            rid = self._db.execute("INSERT INTO rooms (key, name) VALUES (?, ?)", (key, name)).lastrowid
            r = self._wrooms[key] = _Room(rid, name)
        return r

    def _w_append(self, key: str, name: str, type: str, nick: str, text: str, ts: float,
                  identity: str, cid: Optional[str]) -> Tuple[int, float, bool]:
        db = self._db
        if cid is not None:
            seen = db.execute("SELECT id, ts FROM cids WHERE identity = ? AND cid = ?",
                              (identity, cid)).fetchone()
            if seen is not None and ts - seen[1] < self._cid_window:
                return (seen[0], seen[1], False)
        r = self._room(key, name)
        r.last_id += 1
        r.name = name
        db.execute("UPDATE rooms SET last_id = ?, name = ? WHERE rid = ?", (r.last_id, name, r.rid))
        db.execute("INSERT INTO messages (rid, id, type, nick, text, ts, cid) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (r.rid, r.last_id, type, nick, text, ts, cid))
        if cid is not None:
            db.execute("INSERT OR REPLACE INTO cids (identity, cid, id, ts) VALUES (?, ?, ?, ?)",
                       (identity, cid, r.last_id, ts))
        return (r.last_id, ts, True)

    def _w_recent(self, key: str, limit: int, before: Optional[int],
                  after: Optional[int]) -> Tuple[List[Event], bool]:
        r = self._wrooms.get(key)
        if r is None:
            return ([], False)
        limit = max(0, limit)
        rows = self._db.execute(
            "SELECT type, nick, text, id, ts, cid FROM messages WHERE rid = ? AND id > ? AND id < ?"
            " ORDER BY id DESC LIMIT ?",
            (r.rid, -1 if after is None else after, r.last_id + 1 if before is None else before, limit + 1),
        ).fetchall()
        more = len(rows) > limit
        if after is not None and after + 1 < r.pruned_below:
            more = True  # some of what was asked for is already pruned
        events = [
            Event(type=t, room=r.name, nick=nick, text=text, id=id, ts=ts, cid=cid)
            for t, nick, text, id, ts, cid in reversed(rows[:limit])
        ]
        return (events, more)

    def _w_set_topic(self, key: str, name: str, topic: str, nick: str) -> None:
        r = self._room(key, name)
        r.topic, r.setter = topic, nick
        self._db.execute("UPDATE rooms SET topic = ?, setter = ? WHERE rid = ?", (topic, nick, r.rid))

    def _w_call(self, f: Callable[[sqlite3.Connection], Any]) -> Any:
        return f(self._db)

    def _w_prune(self, keep: Optional[int], cutoff: Optional[float], cid_cutoff: float,
                 todo: Optional[Tuple[str, ...]], deleted: int) -> Any:
        """One bounded step of L{prune}: client ids first, then room by room."""
        budget = self._prune_chunk
        if todo is None:
            budget -= self._db.execute(
                "DELETE FROM cids WHERE rowid IN (SELECT rowid FROM cids WHERE ts < ? LIMIT ?)",
                (cid_cutoff, budget),
            ).rowcount
            if budget <= 0:
                return _Again((keep, cutoff, cid_cutoff, None, deleted))
            todo = tuple(self._wrooms)
        while todo and budget > 0:
            r = self._wrooms.get(todo[-1])
            n, done = self._prune_room(r, keep, cutoff, budget) if r else (0, True)
            budget -= n
            deleted += n
            if done:
                todo = todo[:-1]
        return _Again((keep, cutoff, cid_cutoff, todo, deleted)) if todo else deleted

    def _prune_room(self, r: _Room, keep: Optional[int], cutoff: Optional[float],
                    budget: int) -> Tuple[int, bool]:
        """Delete up to C{budget} of C{r}'s oldest messages; say if C{r} is done."""
        keep_from = r.last_id - keep + 1 if keep is not None else 0
        bound, seen, done = r.pruned_below, 0, False
        for id, ts in self._db.execute(
            "SELECT id, ts FROM messages WHERE rid = ? AND id >= ? ORDER BY id LIMIT ?",
            (r.rid, r.pruned_below, budget),
        ):
            seen += 1
            if id >= keep_from and (cutoff is None or ts >= cutoff):
                done = True
                break
            bound = id + 1
        done = done or seen < budget
        if bound == r.pruned_below:
            return 0, done
        n = self._db.execute("DELETE FROM messages WHERE rid = ? AND id < ?", (r.rid, bound)).rowcount
        r.pruned_below = bound
        self._db.execute("UPDATE rooms SET pruned_below = ? WHERE rid = ?", (bound, r.rid))
        return n, done


def _wrap(what: str, name: str, error: BaseException) -> BaseException:
    """Turn SQLite's errors into a L{StoreError} that people can read."""
    if not isinstance(error, sqlite3.Error):
        return error
    wrapped = StoreError(f"{what} failed ({name}: {error}); try again later.")
    wrapped.__cause__ = error
    return wrapped
