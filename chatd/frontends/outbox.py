# -*- test-case-name: tests.frontends.test_outbox -*-
"""
The write path of every stream connection: bounded, coalesced, and sent
directly when it can be.

Bounded.  Twisted's C{transport.write} never refuses data: a client that
stops reading makes the server buffer without limit.  An L{Outbox}
registers as the transport's streaming producer, so it learns when the
transport's own buffer is full (C{pauseProducing}); from then on it queues,
in one byte array (so the count is the memory), and once the queue passes
its bound it gives up on the client and aborts the connection: at once past
sixteen times the bound, or when it is still over the bound after a grace
period (a burst from one group commit can pass the bound while the client
reads fine).  Every byte for the client goes through it, control frames
too (L{Outbox.write_now}); answers to the client's own frames (pongs) get
no grace, so a client that pings without reading is cut off at the bound.
A slow reader therefore costs at most the transport's buffer plus sixteen
times the bound, and never delays anyone else.

Coalesced.  With a L{Turn}, what a connection is given during one reactor
turn is joined and written once at the end of the turn: a busy room costs
each member one write per turn, not one per message.  When a flush to
many connections was long (its system calls are what a big room's
fan-out costs), the next one waits twice as long, at most L{HOLD}, so
that the messages of several turns share one write per member; when that
flush already carried L{BUSY} or more messages to each member (the room
is saturated), it waits six times as long, at most L{HOLD_BUSY}.  Under a
heavy fan-out latency grows by a few flushes' time and the cost per
delivery falls; an interactive room (one message per flush) waits at most
twice a flush; a quiet server flushes at once.

Sent directly.  Twisted's C{transport.write} only buffers and arms the
writer; the send happens on the next turn, after which the writer is
disarmed again: three system calls and a loop turn per write.  When a plain
TCP connection has nothing buffered, the outbox sends at once with one
C{send()}, and hands Twisted only what the kernel did not take, so
Twisted's buffering and flow control take over exactly when they are
needed.  TLS and other wrapped transports always go through C{write}.
"""

from types import MethodType
from typing import Callable, List, Optional, Union

from twisted.internet import tcp
from twisted.internet.interfaces import IPushProducer
from twisted.protocols.policies import ProtocolWrapper
from twisted.protocols.tls import TLSMemoryBIOProtocol
from zope.interface import implementer


#: Seconds a connection may stay over its bound before it is judged too slow.
GRACE = 5.0
#: Over this many times the bound, a connection is dropped at once: a
#: room's burst, bounded by flood control, stays well under it (18 users
#: from one address sending their whole burst of long messages is 2 MB).
HARD_FACTOR = 16
#: A flush to at least this many connections may hold back the next one.
MANY = 64
#: The longest a flush is held back, in seconds.
HOLD = 0.010
#: How long a long flush holds back the next, as a multiple of its own time.
REST = 2.0
#: The same when that flush carried several messages to each member: the
#: room is saturated, so holding longer makes each write carry more (a
#: cluster node, whose messages come one by one from Redis, batched 3x
#: fewer per write than SQLite's group commits without it; bench/README.md).
REST_BUSY = 6.0
HOLD_BUSY = 0.030
#: Messages to each member in one flush that mean the room is saturated
#: (two can be two people answering at once in an interactive room).
BUSY = 4


class Turn:
    """
    Flushes the outboxes written to during a reactor turn, once, at its end
    (a zero-delay call runs after the I/O events of the current turn).
    """

    def __init__(self, clock) -> None:
        self.clock = clock
        self._marked: List["Outbox"] = []
        self._call = None
        #: No flush before this time (the previous one was a long fan-out).
        self._rest_until = 0.0

    def mark(self, outbox: "Outbox") -> None:
        self._marked.append(outbox)
        if self._call is None:
            wait = self._rest_until - self.clock.seconds() if self._rest_until else 0
            self._call = self.clock.callLater(max(0, wait), self.flush)

    def settle(self) -> None:
        """
        The turn's last work is done early (the store's batch, whose
        results are what the outboxes were given): flush now if the flush
        is due now, not held back, instead of one more reactor iteration
        later (a zero-delay call waits for the next one, after a poll).
        """
        call = self._call
        if call is not None and call.active() and call.getTime() <= self.clock.seconds():
            call.cancel()
            self.flush()

    def flush(self) -> None:
        self._call = None
        marked, self._marked = self._marked, []
        began = self.clock.seconds()
        # Writes the first member got since the last flush: several mean
        # messages arrive faster than a flush sends them (saturation).
        first = marked[0]._pending if marked else None
        backlog = len(first) if first else 0
        for outbox in marked:
            outbox.flush()
        if len(marked) >= MANY:
            ended = self.clock.seconds()
            if backlog >= BUSY:
                self._rest_until = ended + min(REST_BUSY * (ended - began), HOLD_BUSY)
            else:
                self._rest_until = ended + min(REST * (ended - began), HOLD)
        else:
            self._rest_until = 0.0


def send_now(transport, data: bytes, raw: Optional[tcp.Connection]) -> None:
    """
    Write C{data} to C{transport}, sending it at once on C{raw} (its plain
    TCP connection, L{socket_transport}) when nothing is buffered there.

    The socket's own send: Twisted's writeSomeData wraps the same call in
    two more Python frames, a tenth of an interactive room's fan-out (the
    kernel restarts a send interrupted by a signal).  What the kernel does
    not take, Twisted buffers.
    """
    if (
        raw is not None
        and raw.connected
        and not raw.disconnecting
        and not raw._tempDataLen
        and raw.offset == len(raw.dataBuffer)
    ):
        try:
            written = raw.socket.send(data)
        except BlockingIOError:
            written = 0
        except OSError:
            written = -1  # the connection failed: Twisted's own write finds it out and closes
        if written == len(data):
            return
        if written > 0:
            data = data[written:]
    transport.write(data)


def socket_transport(transport) -> Optional[tcp.Connection]:
    """
    The plain TCP connection under C{transport} (through policy wrappers
    such as the connection gate), or C{None} when there is none or it is
    TLS: only a plain socket may be written to directly.
    """
    while isinstance(transport, ProtocolWrapper):
        if isinstance(transport, TLSMemoryBIOProtocol):
            return None
        transport = transport.transport
    if isinstance(transport, tcp.Connection) and not getattr(transport, "TLS", False):
        return transport
    return None


class SendLimit:
    """
    A send-queue bound (C{[limits] sendq}) shared by the connections of one
    front end, so that a reload changes it for every one of them at once.
    """

    __slots__ = ("bytes",)

    def __init__(self, bytes: int) -> None:
        self.bytes = bytes


class SendLimited:
    """
    A protocol factory whose connections share one L{SendLimit}
    (C{send_limit}): setting C{sendq} changes it for every one of them.
    """

    send_limit: SendLimit

    @property
    def sendq(self) -> int:
        return self.send_limit.bytes

    @sendq.setter
    def sendq(self, value: int) -> None:
        self.send_limit.bytes = value


@implementer(IPushProducer)
class Outbox:
    """
    @param transport: the connection's transport.
    @param bound: most bytes queued while the transport is paused: a
        L{SendLimit} shared with other connections, or a number.
    @param on_overflow: called once, with the queued byte count, just
        before the connection is aborted.
    @param turn: coalesce writes until the end of the reactor turn; without
        one, every write goes out at once.
    @param stats: a Counter; bytes sent are added under C{stat_key}.
    """

    __slots__ = (
        "transport", "limit", "on_overflow", "_owner", "turn", "paused", "overflowed", "queued",
        "stats", "stat_key", "_queue", "_pending", "_socket", "_grace", "__weakref__",
    )

    def __init__(
        self, transport, bound: Union[SendLimit, int], on_overflow: Callable[[int], None],
        turn: Optional[Turn] = None, stats=None, stat_key: str = "bytes_out",
    ) -> None:
        self.transport = transport
        self.limit = bound if isinstance(bound, SendLimit) else SendLimit(bound)
        # A protocol's bound method would be one more object per
        # connection: its function and its protocol are kept instead.
        if isinstance(on_overflow, MethodType):
            self.on_overflow, self._owner = on_overflow.__func__, on_overflow.__self__
        else:
            self.on_overflow, self._owner = on_overflow, None
        self.turn = turn
        self.paused = False
        self.overflowed = False
        self.queued = 0
        #: Where bytes sent are counted for the metrics (a Counter), or None.
        self.stats = stats
        self.stat_key = stat_key
        self._queue: Optional[bytearray] = None  # made when first needed: most never are
        #: What this turn wrote, or None: an idle connection holds no list.
        self._pending: Optional[List[bytes]] = None
        self._socket = socket_transport(transport)
        self._grace = None
        transport.registerProducer(self, True)

    @property
    def bound(self) -> int:
        """Most bytes queued while the transport is paused, as the limit says now."""
        return self.limit.bytes

    def write(self, data: bytes) -> None:
        if self.turn is None:
            self._send(data)
            return
        pending = self._pending
        if pending is None:
            self._pending = [data]
            self.turn.mark(self)
        else:
            pending.append(data)

    def flush(self) -> None:
        """Send what this turn wrote, as one write."""
        pending = self._pending
        if pending is not None:
            self._pending = None
            self._send(pending[0] if len(pending) == 1 else b"".join(pending))

    def write_now(self, data: bytes, strict: bool = False) -> None:
        """
        Send C{data} now, after what this turn wrote: for frames a protocol
        library writes itself (pongs, pings, close frames), which must go
        out in order and count against the bound like any other.

        @param strict: past the bound, give up at once, without the grace
            period: for answers to the client's own frames, which no
            room's burst produces.
        """
        pending = self._pending
        if pending is not None:
            self._pending = None
            data = b"".join([*pending, data])
        self._send(data, strict)

    def loseConnection(self) -> None:
        """Close after everything written so far has gone out."""
        self.flush()
        self.transport.loseConnection()

    def _send(self, data: bytes, strict: bool = False) -> None:
        if self.paused:
            self._hold(data, strict)
            return
        if self.stats is not None:
            self.stats[self.stat_key] += len(data)
        send_now(self.transport, data, self._socket)

    def _hold(self, data: bytes, strict: bool = False) -> None:
        if self.overflowed:
            return
        if self._queue is None:
            self._queue = bytearray()
        self._queue += data
        self.queued = len(self._queue)
        if self.queued > self.bound:
            if strict or self.turn is None or self.queued > HARD_FACTOR * self.bound:
                self._give_up()
            elif self._grace is None:
                # A burst (one group commit releasing hundreds of messages)
                # can pass the bound while the client reads fine: judge it
                # again after a grace period.
                self._grace = self.turn.clock.callLater(GRACE, self._judge)

    def _judge(self) -> None:
        self._grace = None
        if self.queued > self.bound and not self.overflowed:
            self._give_up()

    def _give_up(self) -> None:
        self.overflowed = True
        if self._grace is not None:
            if self._grace.active():
                self._grace.cancel()
            self._grace = None
        if self._owner is None:
            self.on_overflow(self.queued)
        else:
            self.on_overflow(self._owner, self.queued)
        self._queue = None
        self.transport.abortConnection()

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        if self._queue and not self.overflowed:
            data = bytes(self._queue)
            self._queue = None
            self.queued = 0
            self._send(data)

    def stopProducing(self) -> None:
        if self._grace is not None and self._grace.active():
            self._grace.cancel()
        self._grace = None
        self._queue = None
        self._pending = None
        self.queued = 0
