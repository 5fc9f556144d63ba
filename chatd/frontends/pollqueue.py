# -*- test-case-name: tests.frontends.test_pollqueue -*-
"""
One long-poll session's event queue, with cursors; no HTTP in here.

Every entry gets the next per-session sequence number (1, 2, 3, ...) and is
kept, as the already-encoded bytes of its event, until the client
acknowledges it by polling with C{after} at or past its number.  A poll
whose response is lost is therefore answered again, identically, by the
next poll with the same C{after}.

Waiting follows Synapse's notifier: L{PollQueue.wait} fires at once when
there is something newer than C{after}, else returns a cancellable
Deferred that the next L{PollQueue.append} fires, or the timeout fires
with an empty batch.  The canceller deregisters the waiter, so a timed-out
or abandoned poll leaves nothing behind.  There is at most one waiter: a
new poll answers the one before it at once.  L{PollQueue.hold} is the same
without a Deferred, for the web listener's lean path, which answers one
poll per delivery and can spare the Deferred's cost.

The queue is bounded (entries and bytes).  Past the bound the oldest
entries are dropped and one C{error} entry with code C{overflow} is
queued, so the client learns that it must resync.

Idleness: while no poll is held, a timer runs; if it reaches C{idle}
seconds the queue calls C{on_idle} (the front end then ends the session).
"""

from collections import deque
from typing import Callable, Deque, NamedTuple, Optional, Tuple

from twisted.internet.defer import Deferred

from chatd.wire import jsonproto

Entry = Tuple[int, bytes]

#: Bytes kept free for the overflow entry when the byte bound is enforced.
_MARKER_ROOM = 512


class Batch(NamedTuple):
    """What one poll answers: the entries after the cursor, and the new cursor."""

    entries: Tuple[Entry, ...]
    #: The highest seq in C{entries}, or the cursor polled with if none.
    last: int


def encode_batch(batch: Batch) -> bytes:
    """
    The poll response body C{{"events":[...],"last":N}}.

    Each event's shared bytes get their C{seq} spliced in front, so a room's
    fan-out is encoded once however many long-poll members it has.
    """
    entries = batch.entries
    if len(entries) == 1:  # the common answer of an interactive room: one format, no join
        seq, data = entries[0]
        return b'{"events":[{"seq":%d,%b],"last":%d}' % (seq, data[1:], batch.last)
    events = b",".join(b'{"seq":%d,' % seq + data[1:] for seq, data in entries)
    return b'{"events":[' + events + b'],"last":%d}' % (batch.last,)


def overflow_entry(dropped: int) -> bytes:
    """The C{overflow} error entry counting C{dropped} events."""
    message = (
        f"This session fell too far behind and {dropped} events were dropped; "
        "resync: rejoin your rooms (join with since) and fetch their history."
    )
    return jsonproto.encode(dict(jsonproto.error("overflow", message), dropped=dropped))


class PollQueue:
    """
    @param clock: an L{IReactorTime}: the reactor, or a C{Clock} in tests.
    @param backlog: most entries kept (at least 2: an event and the
        overflow entry).
    @param max_bytes: most bytes kept, or C{None}; the newest entry is
        always kept, however large.
    @param idle: seconds without a poll before C{on_idle} is called, or
        C{None} for no idle timer.
    @param on_idle: called with no arguments when the queue goes idle.
    """

    def __init__(
        self,
        clock,
        backlog: int = 1000,
        max_bytes: Optional[int] = None,
        idle: Optional[float] = None,
        on_idle: Callable[[], None] = lambda: None,
    ) -> None:
        self._clock = clock
        self._backlog = max(2, backlog)
        self._max_bytes = max_bytes
        self._entries: Deque[Entry] = deque()
        self._bytes = 0
        self._seq = 0
        self._marker: Optional[Entry] = None
        self._dropped = 0
        #: The held poll's answer: called once with its L{Batch}.
        self._waiter: Optional[Callable[[Batch], None]] = None
        self._waiter_after = 0
        self._idle = idle
        self._on_idle = on_idle
        self._timer = None
        #: When what the timer watches is due: the held poll's timeout, else idleness (None: nothing).
        self._due: Optional[float] = None
        self.closed = False
        self._start_idle()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def last_seq(self) -> int:
        """The seq of the newest entry ever appended (0 before any)."""
        return self._seq

    @property
    def size(self) -> int:
        """Bytes held."""
        return self._bytes

    @property
    def waiting(self) -> bool:
        """Whether a poll is held."""
        return self._waiter is not None

    # -- producing --------------------------------------------------------

    def append(self, data: bytes) -> Optional[int]:
        """
        Queue one encoded event (a JSON object's bytes) and wake the held
        poll.  Ignored once the queue is closed.

        @return: the entry's seq, or C{None} if closed.
        """
        if self.closed:
            return None
        seq = self._push(data)
        if len(self._entries) > self._backlog or self._over_bytes(0):
            self._shed()
        self._wake()
        return seq

    def _push(self, data: bytes) -> int:
        self._seq += 1
        self._entries.append((self._seq, data))
        self._bytes += len(data)
        return self._seq

    def _over_bytes(self, reserve: int) -> bool:
        return self._max_bytes is not None and self._bytes + reserve > self._max_bytes

    def _shed(self) -> None:
        """Drop the oldest entries, keeping the newest, then queue one overflow entry."""
        if self._marker is not None:
            self._entries.remove(self._marker)
            self._bytes -= len(self._marker[1])
            self._marker = None
        entries = self._entries
        while len(entries) > 1 and (len(entries) + 1 > self._backlog or self._over_bytes(_MARKER_ROOM)):
            _, data = entries.popleft()
            self._bytes -= len(data)
            self._dropped += 1
        self._push(overflow_entry(self._dropped))
        self._marker = entries[-1]

    # -- consuming --------------------------------------------------------

    def take(self, after: int) -> Batch:
        """
        Acknowledge (drop) every entry up to C{after} and return the rest.

        A cursor beyond the newest seq is taken as the newest seq, so a
        confused client neither loses later events nor waits forever.
        """
        after = min(max(after, 0), self._seq)
        entries = self._entries
        while entries and entries[0][0] <= after:
            entry = entries.popleft()
            self._bytes -= len(entry[1])
            if entry is self._marker:
                self._marker, self._dropped = None, 0
        return Batch(tuple(entries), entries[-1][0] if entries else after)

    def wait(self, after: int, timeout: float) -> Deferred:
        """
        Poll: acknowledge up to C{after}, then return a Deferred firing with
        the L{Batch} after it, at once if it is not empty (or C{timeout} is
        0), else when an entry arrives, else with an empty batch after
        C{timeout} seconds.  A poll already held is answered at once.

        Cancelling the returned Deferred (the client went away) deregisters
        it; it then fails with L{CancelledError}.
        """
        d: Deferred = Deferred(canceller=lambda d: self.release(d.callback))
        batch = self.hold(after, timeout, d.callback)
        if batch is not None:
            d.callback(batch)
        return d

    def hold(self, after: int, timeout: float, answer: Callable[[Batch], None]) -> Optional[Batch]:
        """
        L{wait} without a Deferred: return the L{Batch} if the poll is
        answered at once, else hold it (returning C{None}) and later call
        C{answer} once with its batch.  L{release} forgets it.
        """
        self._answer_held()
        batch = self.take(after)
        if batch.entries or timeout <= 0 or self.closed:
            self._start_idle()
            return batch
        self._waiter, self._waiter_after = answer, batch.last
        self._arm(timeout)
        return None

    def release(self, answer: Callable[[Batch], None]) -> None:
        """Forget the held poll C{answer} (its client went away)."""
        if self._waiter is not None and self._waiter == answer:
            self._waiter = None
            self._start_idle()

    def _wake(self) -> None:
        if self._waiter is not None:
            self._answer_held()

    def _answer_held(self) -> None:
        answer, self._waiter = self._waiter, None
        if answer is not None:
            self._start_idle()
            answer(self.take(self._waiter_after))

    def _timed_out(self) -> None:
        answer, self._waiter = self._waiter, None
        if answer is not None:
            self._start_idle()
            answer(Batch((), self._waiter_after))

    # -- timing and closing -----------------------------------------------

    def _arm(self, delay: float) -> None:
        """
        What the timer watches is due in C{delay} seconds.  One timer per
        queue, moved only to fire sooner: a timer that fires early looks
        at what is due then and waits on (L{_fire}), so a busy client's
        polls and answers, each moving the deadline later, cost no timer
        work at all.
        """
        due = self._due = self._clock.seconds() + delay
        timer = self._timer
        if timer is None:
            self._timer = self._clock.callLater(delay, self._fire)
        elif timer.getTime() > due:
            timer.reset(delay)

    def _fire(self) -> None:
        self._timer = None
        due = self._due
        if due is None:
            return
        now = self._clock.seconds()
        if now < due:
            self._timer = self._clock.callLater(due - now, self._fire)
        elif self._waiter is not None:
            self._timed_out()
        else:
            self._due = None
            self._on_idle()

    def _start_idle(self) -> None:
        if self.closed or self._waiter is not None:
            return
        if self._idle is None:
            self._stop_timer()
        else:
            self._arm(self._idle)

    def _stop_timer(self) -> None:
        self._due = None
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def close(self) -> None:
        """
        Stop: answer the held poll with what is queued, stop the idle
        timer, and ignore later appends.  Safe to call more than once.
        """
        if self.closed:
            return
        self.closed = True
        answer, self._waiter = self._waiter, None
        self._stop_timer()
        if answer is not None:
            answer(self.take(self._waiter_after))


__all__ = ["Batch", "Entry", "PollQueue", "encode_batch", "overflow_entry"]
