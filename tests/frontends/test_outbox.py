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
