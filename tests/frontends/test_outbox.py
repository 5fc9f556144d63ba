"""The bounded outgoing buffer shared by the line and WebSocket front ends."""

from twisted.internet.interfaces import IPushProducer
from twisted.internet.testing import StringTransport

from chatd.frontends.outbox import Outbox


def make(bound: int = 10):
    transport = StringTransport()
    overflows = []
    return transport, Outbox(transport, bound, overflows.append), overflows


def test_registers_as_a_streaming_producer():
    transport, outbox, _ = make()
    assert transport.producer is outbox and transport.streaming
    assert IPushProducer.providedBy(outbox)


def test_writes_go_straight_through_while_the_transport_keeps_up():
    transport, outbox, overflows = make(bound=3)
    outbox.write(b"hello, ")
    outbox.write(b"world")
    assert transport.value() == b"hello, world" and outbox.queued == 0 and overflows == []


def test_paused_writes_wait_and_leave_in_order_on_resume():
    transport, outbox, overflows = make()
    outbox.write(b"a")
    outbox.pauseProducing()
    outbox.write(b"bc")
    outbox.write(b"def")
    assert transport.value() == b"a" and outbox.queued == 5
    outbox.resumeProducing()
    assert transport.value() == b"abcdef" and outbox.queued == 0
    outbox.write(b"g")
    assert transport.value() == b"abcdefg" and overflows == []


def test_the_bound_is_inclusive_and_counts_only_paused_bytes():
    transport, outbox, overflows = make(bound=4)
    outbox.write(b"x" * 100)  # not paused: the transport's own buffer takes it
    outbox.pauseProducing()
    outbox.write(b"1234")
    assert not transport.disconnected and overflows == []


def test_past_the_bound_the_connection_is_aborted_once():
    transport, outbox, overflows = make(bound=4)
    outbox.pauseProducing()
    outbox.write(b"123")
    outbox.write(b"45")
    assert overflows == [5] and outbox.overflowed and transport.disconnected
    outbox.write(b"more")
    outbox.resumeProducing()
    assert overflows == [5] and transport.value() == b""


def test_stop_producing_drops_the_queue():
    transport, outbox, overflows = make()
    outbox.pauseProducing()
    outbox.write(b"abc")
    outbox.stopProducing()
    assert outbox.queued == 0 and overflows == []


# -- coalescing per reactor turn ---------------------------------------------------


def test_a_turn_coalesces_each_connections_writes_into_one():
    """With a Turn, a connection's writes during one reactor turn leave as one write at its end."""
    from collections import Counter

    from twisted.internet.task import Clock

    from chatd.frontends.outbox import Turn

    clock = Clock()
    turn = Turn(clock)
    writes = []
    transport = StringTransport()
    transport.write = lambda data: writes.append(data)
    stats = Counter()
    outbox = Outbox(transport, 100, [].append, turn, stats, "bytes_out:test")
    other = Outbox(StringTransport(), 100, [].append, turn)
    for part in (b"one ", b"two ", b"three"):
        outbox.write(part)
    other.write(b"x")
    assert writes == [] and len(clock.getDelayedCalls()) == 1, "one flush per turn, for every connection"
    clock.advance(0)
    assert writes == [b"one two three"]
    assert other.transport.value() == b"x"
    assert stats["bytes_out:test"] == len(b"one two three")
    assert clock.getDelayedCalls() == []


def test_a_turn_settled_early_flushes_at_once_unless_it_is_held_back():
    """settle() (the store's batch is done) sends a due flush now; a flush held back after a long fan-out waits."""
    from twisted.internet.task import Clock

    from chatd.frontends import outbox as outboxes
    from chatd.frontends.outbox import Turn

    clock = Clock()
    turn = Turn(clock)
    members = [Outbox(StringTransport(), 1000, [].append, turn) for _ in range(outboxes.MANY)]
    for member in members:
        member.write(b"hello")
    turn.settle()
    assert all(m.transport.value() == b"hello" for m in members)
    assert clock.getDelayedCalls() == [], "the scheduled flush is not run a second time"
    # A long fan-out: the next flush rests (the clock moves while it sends).
    for member in members:
        member.write(b"x")
    real_flush = Outbox.flush

    def slow_flush(self):
        clock.advance(0.001)
        real_flush(self)

    Outbox.flush = slow_flush
    try:
        turn.settle()
    finally:
        Outbox.flush = real_flush
    for member in members:
        member.write(b"y")
    turn.settle()
    assert members[0].transport.value() == b"hellox", "held back: the next flush waits its rest"
    clock.advance(outboxes.HOLD)
    assert members[0].transport.value() == b"helloxy"


def test_lose_connection_sends_pending_writes_first():
    """Closing after a write still delivers it: pending writes are flushed before the close."""
    from twisted.internet.task import Clock

    from chatd.frontends.outbox import Turn

    clock = Clock()
    transport = StringTransport()
    outbox = Outbox(transport, 100, [].append, Turn(clock))
    outbox.write(b"bye\r\n")
    outbox.loseConnection()
    assert transport.value() == b"bye\r\n" and transport.disconnecting


def test_write_now_goes_after_this_turns_writes_and_counts_like_them():
    """A protocol library's own frames (pongs, close frames) keep the order and the bound."""
    from twisted.internet.task import Clock

    from chatd.frontends.outbox import Turn

    clock = Clock()
    transport = StringTransport()
    outbox = Outbox(transport, 4, [].append, Turn(clock))
    outbox.write(b"data ")
    outbox.write_now(b"pong")
    assert transport.value() == b"data pong"
    outbox.pauseProducing()
    outbox.write_now(b"123")
    assert outbox.queued == 3 and transport.value() == b"data pong"
    outbox.resumeProducing()
    assert transport.value() == b"data pong123"
    clock.advance(0)
    assert transport.value() == b"data pong123", "nothing is sent twice"


def test_past_the_bound_strict_writes_give_up_at_once_others_after_the_grace():
    """Answers to a client's own frames get no grace; a room's burst does."""
    from twisted.internet.task import Clock

    from chatd.frontends.outbox import GRACE, Turn

    for strict, dropped_after in ((True, 0.0), (False, GRACE)):
        clock = Clock()
        transport = StringTransport()
        overflows = []
        outbox = Outbox(transport, 4, overflows.append, Turn(clock))
        outbox.pauseProducing()
        outbox.write_now(b"12345", strict=strict)
        while not overflows and clock.seconds() < 2 * GRACE:
            clock.advance(0.5)
        assert overflows == [5] and transport.disconnected
        assert clock.seconds() == dropped_after, strict


# -- the direct send fast path, on real sockets ---------------------------------------

import pytest_twisted  # noqa: E402
from twisted.internet.protocol import Factory, Protocol  # noqa: E402


class _Holder(Protocol):
    def connectionMade(self):
        self.factory.made.callback(self)


@pytest_twisted.inlineCallbacks
def test_a_connection_with_nothing_buffered_is_written_at_once():
    """
    On a plain TCP connection the bytes go to the kernel inside write():
    a client reads them before the reactor turns again.
    """
    import socket

    from twisted.internet import defer, reactor
    from twisted.internet.endpoints import TCP4ServerEndpoint

    from chatd.frontends.outbox import socket_transport

    factory = Factory.forProtocol(_Holder)
    factory.made = defer.Deferred()
    port = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(factory)
    client = socket.create_connection(("127.0.0.1", port.getHost().port), timeout=2)
    server = yield factory.made
    try:
        assert socket_transport(server.transport) is server.transport
        outbox = Outbox(server.transport, 1 << 20, [].append)
        outbox.write(b"direct")
        # A blocking read, here, holds the reactor: bytes that Twisted
        # buffered would only leave on its next turn, and never arrive.
        assert client.recv(100) == b"direct"
    finally:
        client.close()
        server.transport.loseConnection()
        yield port.stopListening()


@pytest_twisted.inlineCallbacks
def test_a_reader_that_stops_reading_falls_back_to_twisted_then_is_cut_off():
    """When the kernel takes no more, the rest is buffered by Twisted, the outbox pauses, and past its bound aborts."""
    from twisted.internet import defer, reactor
    from twisted.internet.endpoints import TCP4ClientEndpoint, TCP4ServerEndpoint

    factory = Factory.forProtocol(_Holder)
    factory.made = defer.Deferred()
    port = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(factory)
    client = yield TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port).connect(Factory.forProtocol(Protocol))
    client.transport.pauseProducing()  # the client reads nothing
    server = yield factory.made
    overflows = []
    try:
        outbox = Outbox(server.transport, 256 * 1024, overflows.append)
        chunk = b"x" * 65536
        for _ in range(400):  # 25 MiB: far more than the kernel and Twisted buffers hold
            outbox.write(chunk)
            if overflows:
                break
        assert outbox.paused, "Twisted paused the outbox once its own buffer filled"
        assert overflows and overflows[0] > 256 * 1024
    finally:
        client.transport.loseConnection()
        server.transport.abortConnection()
        yield port.stopListening()


@pytest_twisted.inlineCallbacks
def test_a_client_that_reset_its_connection_is_closed_and_nothing_is_raised():
    """A send that fails (the peer reset the connection) is left to Twisted, which closes the connection."""
    import socket
    import struct

    from twisted.internet import defer, reactor
    from twisted.internet.endpoints import TCP4ServerEndpoint

    class Watching(_Holder):
        def connectionLost(self, reason):
            self.factory.lost.callback(reason.type)

    factory = Factory.forProtocol(Watching)
    factory.made, factory.lost = defer.Deferred(), defer.Deferred()
    port = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(factory)
    client = socket.create_connection(("127.0.0.1", port.getHost().port), timeout=2)
    server = yield factory.made
    try:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()  # an RST, which the kernel has before the reactor turns again
        outbox = Outbox(server.transport, 1 << 20, [].append)
        for _ in range(3):
            outbox.write(b"into the void\r\n")
        yield factory.lost
    finally:
        yield port.stopListening()


def deferLater(reactor, delay):
    from twisted.internet import task

    return task.deferLater(reactor, delay, lambda: None)


def test_after_a_long_fan_out_the_next_flush_waits_so_messages_share_writes():
    """
    A flush to many connections that took long (its sends are the cost of
    a big room) holds the next one back twice as long (at most HOLD), six
    times when it carried BUSY or more messages to each member (at most
    HOLD_BUSY): the messages of several turns then leave in one write per
    member.  A small flush, or a quiet server, flushes at the end of the
    turn.
    """
    from twisted.internet.task import Clock

    from chatd.frontends.outbox import HOLD_BUSY, MANY, REST, REST_BUSY, Turn

    clock = Clock()
    turn = Turn(clock)
    sent = [[] for _ in range(MANY)]
    boxes = []
    for i in range(MANY):
        transport = StringTransport()
        transport.write = sent[i].append
        boxes.append(Outbox(transport, 10**6, [].append, turn))

    def slow_write(data, box=boxes[0], slow=sent[0].append):
        clock.advance(0.001)  # this member's send takes a millisecond of the flush
        slow(data)

    boxes[0].transport.write = slow_write
    for box in boxes:
        box.write(b"m1 ")
    clock.advance(0)  # flushed at the end of the turn: it took 1 ms
    assert sent[5] == [b"m1 "]
    for box in boxes:
        box.write(b"m2 ")
    clock.advance(0)
    assert sent[5] == [b"m1 "], "held back after a long fan-out"
    for box in boxes:
        box.write(b"m3 ")
    clock.advance(REST * 0.001)
    assert sent[5] == [b"m1 ", b"m2 m3 "], "two messages, one write"
    # Two messages are an interactive room's: the next flush waits REST
    # times as long again.  Four or more mean saturation: BUSY's longer wait.
    for text in (b"m4 ", b"m5 ", b"m6 ", b"m7 "):
        for box in boxes:
            box.write(text)
    clock.advance(REST * 0.001)
    assert sent[5][-1] == b"m4 m5 m6 m7 "
    boxes[0].transport.write = sent[0].append
    for box in boxes[:3]:
        box.write(b"quiet")
    clock.advance(REST * 0.001)
    assert sent[1][-1] == b"m4 m5 m6 m7 ", "held longer after a saturated flush"
    clock.advance(min(REST_BUSY * 0.001, HOLD_BUSY) - REST * 0.001)
    clock.advance(0)
    assert sent[1][-1] == b"quiet"
    boxes[1].write(b"at once")
    clock.advance(0)
    assert sent[1][-1] == b"at once", "a small flush holds nothing back"
