# -*- test-case-name: tests.store.test_turnwriter -*-
"""
SQLite in the reactor thread, one transaction per reactor turn, at most
one every 3 ms.

With C{durability = normal} a commit in WAL mode writes the log without
syncing it, which costs tens of microseconds; handing it to a thread cost
four times as much again (a queue, a thread wake-up, and a second reactor
wake-up through the waker pipe for the result).  So every call queued
during one turn of the reactor runs at the start of the next (or
L{SPACING} after the last commit, if that is later), in one transaction,
and its results are handed back at once.

The reactor still never waits for the file:

  - The connection's busy timeout is 0: if another process holds the
    write lock (a backup, an operator's C{sqlite3} shell), the batch is
    tried again L{RETRY} seconds later, and the calls simply wait.
  - The log is never checkpointed in the reactor thread (checkpoints sync
    the file): L{Checkpoints} runs them in a thread of the reactor's pool,
    on a connection of its own, L{CHECKPOINT_EVERY} seconds or
    L{CHECKPOINT_COMMITS} commits after the last one.

C{durability = full} syncs every commit, so it keeps the writer thread
(L{chatd.store.writer.Writer}).
"""

import sqlite3
import threading
from typing import Any, Callable, List, Optional

from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger

from chatd.store.writer import Busy, Op, Operations, Results, Writer

log = Logger(namespace="chatd.store")

#: Seconds between tries while the write lock is held elsewhere: another
#: process, or for an instant this store's own checkpoint thread (at 10 ms,
#: the retries that met a checkpoint made interactive p99 four times worse).
RETRY = 0.001
#: A checkpoint of the write-ahead log comes this many seconds after the
#: first commit since the last one, or after L{CHECKPOINT_COMMITS} commits,
#: whichever is first: rare enough that few messages meet one, often
#: enough that the log stays a few megabytes.
CHECKPOINT_EVERY = 10.0
CHECKPOINT_COMMITS = 1000
#: A commit comes at least this many seconds after the one before.  At a
#: thousand messages a second spread over many small rooms, a reactor turn
#: rarely holds two, so each message was a transaction of its own (a fifth
#: of the CPU per message in docs/performance.md's small rooms); spaced,
#: the messages of the next 3 ms share one (1 ms took 5% of the CPU per
#: delivery off, 3 ms 20%; p99 went from 2.5 to 6 ms).  A message arriving
#: when the last commit is older than this is committed at once, so a
#: quiet or interactive server adds no latency.
SPACING = 0.003


def _busy(error: sqlite3.Error) -> bool:
    return isinstance(error, sqlite3.OperationalError) and ("locked" in str(error) or "busy" in str(error))


class Checkpoints:
    """Copies the write-ahead log into the file, in a pool thread, so commits never wait for a sync."""

    def __init__(self, path: str, reactor) -> None:
        self.path = path
        self.reactor = reactor
        self._db: Optional[sqlite3.Connection] = None
        self._lock = threading.Lock()
        self._due = None
        self._running = False
        self._commits = 0

    def committed(self) -> None:
        self._commits += 1
        if self._running:
            return
        if self._due is None:
            self._due = self.reactor.callLater(CHECKPOINT_EVERY, self._run)
        elif self._commits >= CHECKPOINT_COMMITS:
            self._due.reset(0)

    def _run(self) -> None:
        self._due = None
        self._commits = 0
        self._running = True
        d = deferToThreadPool(self.reactor, self.reactor.getThreadPool(), self._checkpoint)
        d.addErrback(lambda f: log.warn("Checkpointing {path} failed: {why}; it is tried again after the next "
                                        "commits", path=self.path, why=f.getErrorMessage()))
        d.addBoth(self._done)

    def _done(self, _) -> None:
        self._running = False

    def _checkpoint(self) -> None:
        with self._lock:
            if self._db is None:
                self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                self._db.execute("PRAGMA busy_timeout=1000")
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    def stop(self) -> None:
        if self._due is not None and self._due.active():
            self._due.cancel()
        self._due = None
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


class TurnWriter(Writer):
    """
    L{Writer}'s contract (call order, group commit, retries one by one,
    L{Again}, L{Refused}), run in the reactor thread.

    @param checkpoints: the file's L{Checkpoints}.
    """

    def __init__(self, name: str, reactor, batch_max: int, open_: Callable[[], Operations],
                 opened, delivered: Callable[[Results], None], stopped, checkpoints: Checkpoints) -> None:
        super().__init__(name, reactor, batch_max, open_, opened, delivered, stopped)
        self._pending: List[Op] = []
        self._call = None
        self._stopping = False
        self._checkpoints = checkpoints
        #: When the last batch ended (L{SPACING}).
        self._last = 0.0
        #: Called after each batch's results are handed back (the service's write coalescing settles then).
        self.after_batch: Optional[Callable[[], None]] = None

    def start(self) -> None:
        try:
            self._ops = self._open()
            self._ops.db.execute("PRAGMA busy_timeout=0")
            self._ops.db.execute("PRAGMA wal_autocheckpoint=0")
            summary = self._ops.summary()
        except Exception as e:
            self._reactor.callLater(0, self._opened, None, e)
            return
        self._reactor.callLater(0, self._opened, summary, None)

    def put(self, op: Op) -> None:
        self._pending.append(op)
        if self._call is None:
            wait = self._last + SPACING - self._reactor.seconds()
            self._call = self._reactor.callLater(wait if wait > 0 else 0, self._turn)

    def _soon(self, delay: float) -> None:
        if self._call is None:
            self._call = self._reactor.callLater(delay, self._turn)

    def _turn(self) -> None:
        self._call = None
        if self._ops is None:
            return
        ops = self._pending[:self._batch_max]
        del self._pending[:len(ops)]
        if ops:
            try:
                commits = self.commits
                self._batch(ops)
                if self.commits != commits:
                    self._checkpoints.committed()
            except Busy:
                self._pending[:0] = ops
                self._soon(RETRY)
                return
            except Exception as e:  # a bug: fail these calls, serve the next ones
                self._delivered([(op, False, e) for op in ops])
            if self.after_batch is not None:
                self.after_batch()
            self._last = self._reactor.seconds()
        if self._pending:
            self._soon(0)
        elif self._stopping:
            self._close()

    def stop(self) -> None:
        """Finish what is queued, then close the file (checkpointing it)."""
        self._stopping = True
        if self._call is None and not self._pending:
            self._close()

    def _close(self) -> None:
        self._stopping = False
        self._checkpoints.stop()
        error = None
        if self._ops is not None:
            try:
                self._ops.db.close()
            except sqlite3.Error as e:
                error = e
            self._ops = None
        self._reactor.callLater(0, self._stopped, error)

    def drain(self) -> List[Op]:
        ops, self._pending = self._pending, []
        return ops

    # -- Writer's hooks, in the reactor thread -------------------------------------

    def _begin(self, db: sqlite3.Connection) -> None:
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if _busy(e):
                raise Busy(str(e)) from e
            raise

    def _hand(self, f: Callable[..., None], *args: Any) -> None:
        f(*args)

    def _again(self, op: Op) -> None:
        self.put(op)
