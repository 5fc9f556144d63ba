# -*- test-case-name: tests.store.test_sqlite -*-
"""
A durable L{IStore} on one SQLite file, in WAL mode.

What an acknowledged (committed) message survives depends on C{durability}
(the C{synchronous} pragma, U{https://sqlite.org/pragma.html#pragma_synchronous}):

  - C{"normal"} (the default), C{synchronous=NORMAL}: a committed
    transaction survives a crash or C{kill -9} of chatd.  A power loss or
    OS crash may roll back the latest commits (the file stays consistent;
    the messages they held are lost although they were acknowledged).
  - C{"full"}, C{synchronous=FULL}: the WAL is synced on every commit, so a
    committed message survives a power loss or OS crash too.

The reactor thread never touches SQLite.  One writer thread owns the only
connection, and every call, reads included (so results keep call order),
is queued to it.  It takes everything queued, up to C{batch_max}
operations, runs them in one transaction and commits once (group commit),
then hands the results back with C{callFromThread}, where the Deferreds
fire in call order.  One sync per batch rather than per message is what
lets C{"full"} keep up with a busy server.

If a batch fails, it is rolled back and its operations are run again one
per transaction, so only the ones that fail on their own errback (with
L{StoreError}), and the thread carries on.
"""

import dataclasses
import queue
import sqlite3
import threading
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IReactorFromThreads
from twisted.logger import Logger, LogLevel
from twisted.python.failure import Failure
from zope.interface import implementer

from chatd.core.errors import Unavailable
from chatd.core.events import Event
from chatd.core.interfaces import IStore
from chatd.core.text import fold

#: Stored in C{PRAGMA user_version}; bump it with a migration.
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE rooms (
    rid INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,           -- chatd.core.text.fold(name)
    name TEXT NOT NULL,                 -- display name
    topic TEXT NOT NULL DEFAULT '',
    setter TEXT NOT NULL DEFAULT '',
    last_id INTEGER NOT NULL DEFAULT 0, -- the room's id counter
    pruned_below INTEGER NOT NULL DEFAULT 1  -- every id below it is deleted
);
CREATE TABLE messages (
    rid INTEGER NOT NULL, id INTEGER NOT NULL, type TEXT NOT NULL,
    nick TEXT NOT NULL, text TEXT NOT NULL, ts REAL NOT NULL, cid TEXT,
    PRIMARY KEY (rid, id)
) WITHOUT ROWID;
CREATE TABLE cids (
    identity TEXT NOT NULL, cid TEXT NOT NULL,
    id INTEGER NOT NULL, ts REAL NOT NULL,
    PRIMARY KEY (identity, cid)
);
CREATE INDEX cids_by_ts ON cids (ts);
"""

_SYNCHRONOUS = {"normal": "NORMAL", "full": "FULL"}

#: What each operation does, for error messages people read.
_WHAT = {
    "append": "Storing the message",
    "recent": "Reading the history",
    "set_topic": "Storing the topic",
    "prune": "Pruning old messages",
    "call": "A store operation",
}

_STOP = object()


class StoreError(Unavailable):
    """
    The store could not do it: disk full, I/O error, store not open.

    An L{Unavailable}, so front ends tell the client to try again later
    rather than that its command was wrong.
    """


@dataclasses.dataclass(slots=True)
class _Room:
    """One row of the rooms table (each thread keeps its own copies)."""

    rid: int
    name: str
    topic: str = ""
    setter: str = ""
    last_id: int = 0
    pruned_below: int = 1


class _Op:
    """One queued call: what the writer runs, and the Deferred that waits."""

    __slots__ = ("kind", "args", "d")

    def __init__(self, kind: str, args: Tuple[Any, ...], d: Deferred) -> None:
        self.kind, self.args, self.d = kind, args, d


class _Again:
    """Returned by a step that has more to do: requeue with new C{args}."""

    __slots__ = ("args",)

    def __init__(self, args: Tuple[Any, ...]) -> None:
        self.args = args


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
        queued work gets its turn.
    @ivar commits: transactions committed so far.
    """

    def __init__(
        self,
        path: str,
        reactor: IReactorFromThreads,
        durability: str = "normal",
        group_commit: bool = True,
        batch_max: int = 512,
        cid_window: float = 86400.0,
        prune_chunk: int = 500,
    ) -> None:
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
        self._opening: Optional[Deferred] = None
        self._closing: List[Deferred] = []
        self._rooms: Dict[str, _Room] = {}  # reactor thread's cache
        # Writer thread only:
        self._conn: Optional[sqlite3.Connection] = None
        self._wrooms: Optional[Dict[str, _Room]] = None  # None: reload

    # -- reactor thread -----------------------------------------------------

    def open(self) -> Deferred:
        """Start the writer thread, which creates the schema if needed."""
        if self._state != "new":
            return fail(StoreError(f"{self.name} was already opened."))
        self._state = "opening"
        self._opening = Deferred()
        threading.Thread(target=self._main, name=f"chatd {self.name}", daemon=True).start()
        return self._opening

    def close(self) -> Deferred:
        """Let the writer finish everything queued, then close the file."""
        if self._state in ("new", "closed"):
            self._state = "closed"
            return succeed(None)
        d: Deferred = Deferred()
        self._closing.append(d)
        if self._state != "closing":
            self._state = "closing"
            self._queue.put(_STOP)
        return d

    def append(self, room, type, nick, text, ts, identity, cid) -> Deferred:
        return self._submit("append", (fold(room), room, type, nick, text, ts, identity, cid))

    def recent(self, room, limit, before: Optional[int] = None, after: Optional[int] = None) -> Deferred:
        return self._submit("recent", (fold(room), limit, before, after))

    def set_topic(self, room, topic, nick) -> Deferred:
        return self._submit("set_topic", (fold(room), room, topic, nick))

    def topic(self, room) -> Tuple[str, str]:
        r = self._rooms.get(fold(room))
        return (r.topic, r.setter) if r else ("", "")

    def last_id(self, room) -> int:
        r = self._rooms.get(fold(room))
        return r.last_id if r else 0

    def prune(self, max_messages_per_room: Optional[int], max_age_seconds: Optional[float], now: float) -> Deferred:
        """
        Delete the oldest messages of every room beyond C{max_messages_per_room},
        and those older than C{max_age_seconds} before C{now} (either limit
        may be C{None}), and forget client message ids older than the
        window.  Only a room's oldest messages go, so its retained ids stay
        contiguous: an old message behind a newer one waits for it.

        The work is done in steps of at most C{prune_chunk} rows, each
        queued behind the calls made meanwhile.

        @return: Deferred firing with the number of messages deleted.
        """
        cutoff = None if max_age_seconds is None else now - max_age_seconds
        return self._submit("prune", (max_messages_per_room, cutoff, now - self._cid_window, None, 0))

    def _call(self, f: Callable[[sqlite3.Connection], Any]) -> Deferred:
        """Run C{f(connection)} in the writer, inside its transaction (tests, upkeep)."""
        return self._submit("call", (f,))

    def _submit(self, kind: str, args: Tuple[Any, ...]) -> Deferred:
        if self._state not in ("opening", "open"):
            return fail(StoreError(f"{_WHAT[kind]} failed: {self.name} is not open."))
        d: Deferred = Deferred()
        self._queue.put(_Op(kind, args, d))
        return d

    def _opened(self, rooms: Optional[Dict[str, _Room]], error: Optional[BaseException]) -> None:
        d, self._opening = self._opening, None
        assert d is not None
        if error is not None:
            self._state = "closed"
            self._log.failure("Could not open {store}", Failure(error), LogLevel.error, store=self.name)
            d.errback(_wrap("Opening the store", self.name, error))
            # The writer is gone: refuse what was queued meanwhile.
            while not self._queue.empty():
                op = self._queue.get_nowait()
                if op is not _STOP:
                    op.d.errback(StoreError(f"{_WHAT[op.kind]} failed: {self.name} could not be opened."))
            self._closed()
            return
        assert rooms is not None
        self._rooms = rooms
        if self._state == "opening":
            self._state = "open"
        d.callback(None)

    def _deliver(self, results: List[Tuple[_Op, bool, Any]]) -> None:
        """Update the cache, then fire each Deferred in call order."""
        errors = [value for _, ok, value in results if not ok]
        if errors:
            self._log.failure(
                "{store}: {count} of {total} operations failed",
                Failure(errors[0]), LogLevel.error,
                store=self.name, count=len(errors), total=len(results),
            )
        for op, ok, value in results:
            if not ok:
                op.d.errback(value)
                continue
            if op.kind == "append" and value[2]:
                self._cached(op.args[0], op.args[1]).last_id = value[0]
            elif op.kind == "set_topic":
                r = self._cached(op.args[0], op.args[1])
                r.topic, r.setter = op.args[2], op.args[3]
            op.d.callback(value)

    def _cached(self, key: str, name: str) -> _Room:
        r = self._rooms.get(key)
        if r is None:
            r = self._rooms[key] = _Room(0, name)
        return r

    def _closed(self) -> None:
        self._state = "closed"
        waiting, self._closing = self._closing, []
        for d in waiting:
            d.callback(None)

    # -- writer thread ------------------------------------------------------

    def _main(self) -> None:
        try:
            self._conn = self._connect()
            rooms = self._load()
        except BaseException as e:
            if self._conn is not None:
                self._conn.close()
            self._reactor.callFromThread(self._opened, None, e)
            return
        self._wrooms = rooms
        copies = {k: dataclasses.replace(r) for k, r in rooms.items()}
        self._reactor.callFromThread(self._opened, copies, None)
        stopping = False
        while True:
            ops = [self._queue.get()]
            while len(ops) < self._batch_max:
                try:
                    ops.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if _STOP in ops:
                stopping = True
                ops = [op for op in ops if op is not _STOP]
            if ops:
                self._batch(ops)
            if stopping:
                if self._queue.empty():
                    break
                self._queue.put(_STOP)  # after the requeued steps
        try:
            self._conn.close()
        except sqlite3.Error as e:
            self._log.error("{store}: closing failed: {error}", store=self.name, error=e)
        self._reactor.callFromThread(self._closed)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, isolation_level=None)
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise sqlite3.OperationalError(f"journal_mode is {mode}, WAL is not available")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            elif version != SCHEMA_VERSION:
                raise sqlite3.DatabaseError(
                    f"schema version {version}; this chatd knows version {SCHEMA_VERSION}"
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return conn

    def _load(self) -> Dict[str, _Room]:
        assert self._conn is not None
        rows = self._conn.execute(
            "SELECT key, rid, name, topic, setter, last_id, pruned_below FROM rooms"
        )
        return {key: _Room(*rest) for key, *rest in rows}

    def _batch(self, ops: Sequence[_Op]) -> None:
        """Run C{ops} in one transaction; if that fails, one per transaction."""
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

    def _transact(self, ops: Sequence[_Op]) -> Tuple[Optional[List[Any]], Optional[BaseException]]:
        conn = self._conn
        assert conn is not None
        try:
            conn.execute("BEGIN IMMEDIATE")
            if self._wrooms is None:
                self._wrooms = self._load()
            values = [getattr(self, "_w_" + op.kind)(*op.args) for op in ops]
            conn.execute("COMMIT")
        except Exception as e:
            # The writer's room cache may hold rolled back ids: reload it.
            self._wrooms = None
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the next BEGIN reports a connection that is gone
            return None, e
        self.commits += 1
        return values, None

    def _room(self, key: str, name: str) -> _Room:
        assert self._wrooms is not None and self._conn is not None
        r = self._wrooms.get(key)
        if r is None:
            rid = self._conn.execute(
                "INSERT INTO rooms (key, name) VALUES (?, ?)", (key, name)
            ).lastrowid
            r = self._wrooms[key] = _Room(rid, name)
        return r

    def _w_append(self, key, name, type, nick, text, ts, identity, cid) -> Tuple[int, float, bool]:
        conn = self._conn
        assert conn is not None
        if cid is not None:
            seen = conn.execute(
                "SELECT id, ts FROM cids WHERE identity = ? AND cid = ?", (identity, cid)
            ).fetchone()
            if seen is not None and ts - seen[1] < self._cid_window:
                return (seen[0], seen[1], False)
        r = self._room(key, name)
        r.last_id += 1
        r.name = name
        conn.execute("UPDATE rooms SET last_id = ?, name = ? WHERE rid = ?", (r.last_id, name, r.rid))
        conn.execute(
            "INSERT INTO messages (rid, id, type, nick, text, ts, cid) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (r.rid, r.last_id, type, nick, text, ts, cid),
        )
        if cid is not None:
            conn.execute(
                "INSERT OR REPLACE INTO cids (identity, cid, id, ts) VALUES (?, ?, ?, ?)",
                (identity, cid, r.last_id, ts),
            )
        return (r.last_id, ts, True)

    def _w_recent(self, key, limit, before, after) -> Tuple[List[Event], bool]:
        assert self._wrooms is not None and self._conn is not None
        r = self._wrooms.get(key)
        if r is None:
            return ([], False)
        limit = max(0, limit)
        rows = self._conn.execute(
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

    def _w_set_topic(self, key, name, topic, nick) -> None:
        assert self._conn is not None
        r = self._room(key, name)
        r.topic, r.setter = topic, nick
        self._conn.execute("UPDATE rooms SET topic = ?, setter = ? WHERE rid = ?", (topic, nick, r.rid))

    def _w_call(self, f: Callable[[sqlite3.Connection], Any]) -> Any:
        return f(self._conn)

    def _w_prune(self, keep, cutoff, cid_cutoff, todo, deleted) -> Any:
        """One bounded step of L{prune}: cids first, then room by room."""
        assert self._wrooms is not None and self._conn is not None
        budget = self._prune_chunk
        if todo is None:
            budget -= self._conn.execute(
                "DELETE FROM cids WHERE rowid IN (SELECT rowid FROM cids WHERE ts < ? LIMIT ?)",
                (cid_cutoff, budget),
            ).rowcount
            if budget <= 0:
                return _Again((keep, cutoff, cid_cutoff, None, deleted))
            todo = tuple(sorted(self._wrooms))
        while todo and budget > 0:
            r = self._wrooms.get(todo[-1])
            n, done = self._prune_room(r, keep, cutoff, budget) if r else (0, True)
            budget -= n
            deleted += n
            if done:
                todo = todo[:-1]
        return _Again((keep, cutoff, cid_cutoff, todo, deleted)) if todo else deleted

    def _prune_room(self, r: _Room, keep: Optional[int], cutoff: Optional[float], budget: int) -> Tuple[int, bool]:
        """Delete up to C{budget} of C{r}'s oldest messages; say if it is done."""
        assert self._conn is not None
        below_count = r.last_id - keep + 1 if keep is not None else 0
        bound, seen, done = r.pruned_below, 0, False
        rows = self._conn.execute(
            "SELECT id, ts FROM messages WHERE rid = ? AND id >= ? ORDER BY id LIMIT ?",
            (r.rid, r.pruned_below, budget),
        )
        for id, ts in rows:
            seen += 1
            if id >= below_count and (cutoff is None or ts >= cutoff):
                done = True
                break
            bound = id + 1
        if seen < budget:
            done = True
        if bound == r.pruned_below:
            return 0, done
        n = self._conn.execute(
            "DELETE FROM messages WHERE rid = ? AND id < ?", (r.rid, bound)
        ).rowcount
        r.pruned_below = bound
        self._conn.execute("UPDATE rooms SET pruned_below = ? WHERE rid = ?", (bound, r.rid))
        return n, done


def _wrap(what: str, name: str, error: BaseException) -> BaseException:
    """Turn SQLite's errors into a L{StoreError} people can read."""
    if not isinstance(error, sqlite3.Error):
        return error
    wrapped = StoreError(f"{what} failed ({name}: {error}); try again later.")
    wrapped.__cause__ = error
    return wrapped
