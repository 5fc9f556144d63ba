# -*- test-case-name: tests.store.test_sqlite -*-
"""
The one thread that touches a SQLite store's file.

The reactor thread must never wait for a disk, so every call, reads too, is
queued to this thread, which owns the only connection.  Queuing reads
behind writes is what keeps results in call order.

Group commit: the writer takes everything queued (up to C{batch_max}
operations), runs it in one transaction and commits once, then hands the
results back with C{callFromThread}.  One sync per batch rather than one per
message is what lets C{durability = full} keep up with a busy server.

If a batch fails, it is rolled back and its operations are run again one
per transaction, so only those that fail on their own fail; the thread
carries on.  An operation that refuses (L{Refused}) fails alone, without
undoing its batch.
"""

import dataclasses
import queue
import sqlite3
import threading
from typing import Any, Callable, List, NamedTuple, Optional, Protocol, Sequence, Tuple

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorFromThreads

_STOP = object()


@dataclasses.dataclass(slots=True, eq=False)
class Op:
    """One queued call: the L{Operations} method to run, and the Deferred that waits."""

    kind: str
    args: Tuple[Any, ...]
    d: Deferred


class Again(NamedTuple):
    """Returned by a step that has more to do: queue it again with C{args}."""

    args: Tuple[Any, ...]


class Busy(Exception):
    """Another process holds the file's write lock: try the same operations again later."""


class Refused(NamedTuple):
    """
    Returned by an operation that refuses before changing anything (an
    account name taken): its call fails with C{error}, and the rest of its
    batch commits.  Raising would roll the whole batch back and run it
    again one operation at a time, for what is an ordinary answer.
    """

    error: Exception


#: What the writer hands the reactor thread: each operation, whether it
#: succeeded, and its result or exception.
Results = List[Tuple[Op, bool, Any]]


class Operations(Protocol):
    """What the writer runs: one method per L{Op.kind}, and these two."""

    db: sqlite3.Connection

    def reload(self) -> None:
        """Forget cached state after a rollback: it may hold undone changes."""

    def summary(self) -> Any:
        """What the reactor thread is told once the file is open."""


class Writer:
    """
    Runs queued operations in a thread, in transactions of up to
    C{batch_max} operations.

    @param open_: called in the thread; opens the file and returns the
        L{Operations} to run.  What it raises fails the opening.
    @param opened: called in the reactor thread with C{(summary, None)} or
        C{(None, exception)}.
    @param delivered: called in the reactor thread with each batch's
        L{Results}, in call order.
    @param stopped: called in the reactor thread once the file is closed,
        with the exception closing raised, or C{None}.
    @ivar commits: transactions committed so far.
    """

    def __init__(self, name: str, reactor: IReactorFromThreads, batch_max: int,
                 open_: Callable[[], Operations], opened: Callable[[Any, Optional[BaseException]], None],
                 delivered: Callable[[Results], None],
                 stopped: Callable[[Optional[BaseException]], None]) -> None:
        self.commits = 0
        self._name = name
        self._reactor = reactor
        self._batch_max = batch_max
        self._open = open_
        self._opened = opened
        self._delivered = delivered
        self._stopped = stopped
        self._queue: "queue.Queue[Any]" = queue.Queue()
        self._ops: Operations = None  # type: ignore[assignment]
        self._stale = False  # the operations' cache may hold rolled back changes

    # -- the reactor thread ---------------------------------------------------

    def start(self) -> None:
        threading.Thread(target=self._main, name=f"chatd {self._name}", daemon=True).start()

    def put(self, op: Op) -> None:
        self._queue.put(op)

    def stop(self) -> None:
        """Finish what is queued (and what it queues again), then close."""
        self._queue.put(_STOP)

    def drain(self) -> List[Op]:
        """Take back what was queued: the file could not be opened."""
        ops = []
        while not self._queue.empty():
            op = self._queue.get_nowait()
            if op is not _STOP:
                ops.append(op)
        return ops

    # -- the writer thread ----------------------------------------------------

    def _main(self) -> None:
        try:
            self._ops = self._open()
            summary = self._ops.summary()
        except Exception as e:
            self._reactor.callFromThread(self._opened, None, e)
            return
        self._reactor.callFromThread(self._opened, summary, None)
        self._serve()
        error = None
        try:
            self._ops.db.close()
        except sqlite3.Error as e:
            error = e
        self._reactor.callFromThread(self._stopped, error)

    def _serve(self) -> None:
        """Run batches until told to stop and nothing is left queued."""
        stopping = False
        while True:
            try:
                ops = [self._queue.get_nowait() if stopping else self._queue.get()]
            except queue.Empty:
                return
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
                self._hand(self._delivered, [(op, False, e) for op in ops])

    def _batch(self, ops: Sequence[Op]) -> None:
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
            if ok and isinstance(value, Again):
                op.args = value.args
                self._again(op)
            elif ok and isinstance(value, Refused):
                deliver.append((op, False, value.error))
            else:
                deliver.append((op, ok, value))
        if deliver:
            self._hand(self._delivered, deliver)

    def _begin(self, db: sqlite3.Connection) -> None:
        """Start a write transaction (here, waiting up to the connection's busy timeout for the lock)."""
        db.execute("BEGIN IMMEDIATE")

    def _hand(self, f: Callable[..., None], *args: Any) -> None:
        """Call C{f(*args)} in the reactor thread."""
        self._reactor.callFromThread(f, *args)

    def _again(self, op: Op) -> None:
        """Queue C{op} again, behind what is queued."""
        self._queue.put(op)

    def _transact(self, ops: Sequence[Op]) -> Tuple[Optional[List[Any]], Optional[Exception]]:
        db, run = self._ops.db, self._ops
        try:
            self._begin(db)
            if self._stale:
                run.reload()
                self._stale = False
            values = [getattr(run, op.kind)(*op.args) for op in ops]
            db.execute("COMMIT")
        except Busy:
            raise
        except Exception as e:
            self._stale = True
            try:
                if db.in_transaction:
                    db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the next BEGIN reports a connection that is gone
            return None, e
        self.commits += 1
        return values, None
