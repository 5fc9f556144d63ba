"""
Tests for L{chatd.frontends.pollqueue}: cursors, bounds, waiters and
idleness, on a fake clock.
"""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.defer import CancelledError
from twisted.internet.task import Clock

from chatd.frontends.pollqueue import Batch, PollQueue, encode_batch


def event(n: int) -> bytes:
    return b'{"type":"notice","text":"e%d"}' % (n,)


def seqs(batch: Batch):
    return [seq for seq, _ in batch.entries]


def result_of(d):
    """The result of a Deferred that has fired (failing the test otherwise)."""
    out = []
    d.addBoth(out.append)
    assert out, "the Deferred has not fired"
    return out[0]


@pytest.fixture
def clock():
    return Clock()


def test_seq_numbers_start_at_one(clock):
    """Entries are numbered 1, 2, 3, ... in the order they are appended."""
    q = PollQueue(clock)
    assert [q.append(event(i)) for i in range(3)] == [1, 2, 3]
    assert seqs(q.take(0)) == [1, 2, 3]
    assert q.last_seq == 3


def test_redelivery(clock):
    """Taking twice with the same cursor returns the same entries: a lost response is not lost."""
    q = PollQueue(clock)
    for i in range(3):
        q.append(event(i))
    first = q.take(0)
    assert q.take(0) == first
    assert first.last == 3


def test_ack_drops(clock):
    """A cursor acknowledges: entries up to it are dropped and never come back."""
    q = PollQueue(clock)
    for i in range(5):
        q.append(event(i))
    assert seqs(q.take(3)) == [4, 5]
    assert len(q) == 2
    assert q.size == len(event(3)) + len(event(4))
    assert seqs(q.take(0)) == [4, 5]


def test_empty_batch_echoes_cursor(clock):
    """With nothing new, last is the cursor itself."""
    q = PollQueue(clock)
    q.append(event(1))
    assert q.take(1) == Batch((), 1)


def test_cursor_beyond_head_is_clamped(clock):
    """A cursor past the newest seq counts as the newest; polling on from the returned last loses nothing."""
    q = PollQueue(clock)
    q.append(event(1))
    batch = q.take(99)
    assert batch == Batch((), 1)
    q.append(event(2))
    assert seqs(q.take(batch.last)) == [2]


def test_encode_batch_splices_seq(clock):
    """The body carries each event with its seq, without re-encoding the shared bytes."""
    q = PollQueue(clock)
    q.append(b'{"type":"notice","text":"hi"}')
    q.append(b'{"type":"notice","text":"yo"}')
    body = json.loads(encode_batch(q.take(0)))
    assert body == {
        "events": [
            {"seq": 1, "type": "notice", "text": "hi"},
            {"seq": 2, "type": "notice", "text": "yo"},
        ],
        "last": 2,
    }
    assert json.loads(encode_batch(Batch((), 7))) == {"events": [], "last": 7}
    assert json.loads(encode_batch(q.take(1))) == {"events": [{"seq": 2, "type": "notice", "text": "yo"}], "last": 2}


def test_overflow_drops_oldest_and_warns(clock):
    """Past the backlog the oldest go, and an overflow error entry tells the client to resync."""
    q = PollQueue(clock, backlog=5)
    for i in range(5):
        q.append(event(i))
    q.append(event(5))
    batch = q.take(0)
    assert len(batch.entries) == 5
    assert seqs(batch) == [3, 4, 5, 6, 7]
    marker = json.loads(batch.entries[-1][1])
    assert marker["type"] == "error" and marker["code"] == "overflow"
    assert marker["dropped"] == 2
    assert "rejoin" in marker["message"] and "history" in marker["message"]


def test_overflow_keeps_one_marker(clock):
    """A client that stays behind gets one overflow entry (the newest), counting every drop."""
    q = PollQueue(clock, backlog=4)
    for i in range(20):
        q.append(event(i))
    batch = q.take(0)
    assert len(batch.entries) == 4
    bodies = [json.loads(data) for _, data in batch.entries]
    markers = [b for b in bodies if b["type"] == "error"]
    assert len(markers) == 1 and bodies[-1] is markers[0]
    assert markers[0]["dropped"] == 17
    assert [b["text"] for b in bodies[:-1]] == ["e17", "e18", "e19"]


def test_overflow_count_restarts_after_ack(clock):
    """Once the overflow entry is acknowledged, a later overflow counts afresh."""
    q = PollQueue(clock, backlog=3)
    for i in range(5):
        q.append(event(i))
    q.take(q.last_seq)
    for i in range(4):
        q.append(event(i))
    marker = json.loads(q.take(0).entries[-1][1])
    assert marker["dropped"] == 2


def test_byte_bound(clock):
    """The byte bound sheds old entries too, but always keeps the newest."""
    q = PollQueue(clock, backlog=1000, max_bytes=1000)
    for i in range(10):
        q.append(b'{"type":"notice","text":"%s"}' % (b"x" * 100,))
    assert q.size <= 1000
    big = b'{"type":"notice","text":"%s"}' % (b"y" * 5000,)
    q.append(big)
    entries = q.take(0).entries
    assert entries[-2][1] == big
    assert json.loads(entries[-1][1])["code"] == "overflow"


def test_wait_fires_at_once_when_behind(clock):
    """A poll behind the stream is answered at once, holding nothing."""
    q = PollQueue(clock)
    q.append(event(1))
    d = q.wait(0, 30)
    assert seqs(result_of(d)) == [1]
    assert not q.waiting
    assert clock.getDelayedCalls() == []


def test_waiter_wakes_on_new_event(clock):
    """A held poll fires as soon as an entry arrives, with that entry."""
    q = PollQueue(clock)
    d = q.wait(0, 30)
    assert not d.called and q.waiting
    q.append(event(1))
    assert result_of(d) == Batch(((1, event(1)),), 1)
    assert not q.waiting
    assert clock.getDelayedCalls() == []


def test_timeout_empty_batch_no_delayed_calls(clock):
    """A held poll that times out gets an empty batch and leaves no timer behind."""
    q = PollQueue(clock)
    q.append(event(1))
    d = q.wait(1, 25)
    clock.advance(24.9)
    assert not d.called
    clock.advance(0.1)
    assert result_of(d) == Batch((), 1)
    assert not q.waiting
    assert clock.getDelayedCalls() == []
    q.append(event(2))  # no waiter left to fire twice
    assert seqs(q.take(1)) == [2]


def test_zero_timeout_answers_at_once(clock):
    """timeout 0 is a plain, non-blocking read."""
    q = PollQueue(clock)
    assert result_of(q.wait(0, 0)) == Batch((), 0)
    assert clock.getDelayedCalls() == []


def test_second_poll_answers_first(clock):
    """Concurrent polls: the second answers the first at once (empty), and is held itself."""
    q = PollQueue(clock)
    first = q.wait(0, 30)
    second = q.wait(0, 30)
    assert result_of(first) == Batch((), 0)
    assert not second.called
    q.append(event(1))
    assert seqs(result_of(second)) == [1]
    assert clock.getDelayedCalls() == []


def test_second_poll_with_events_answers_both(clock):
    """A second poll that finds events gets them; the first is answered too."""
    q = PollQueue(clock)
    first = q.wait(0, 30)
    q.append(event(1))
    second = q.wait(0, 30)
    assert seqs(result_of(first)) == [1]
    assert seqs(result_of(second)) == [1]  # not yet acknowledged: re-delivered


def test_hold_answers_without_a_deferred(clock):
    """hold: the batch at once when there is one, else the answer is called once, later."""
    q = PollQueue(clock)
    q.append(event(1))
    answers = []
    assert seqs(q.hold(0, 30, answers.append)) == [1]
    assert q.hold(1, 30, answers.append) is None and q.waiting
    q.append(event(2))
    q.append(event(3))
    assert [seqs(batch) for batch in answers] == [[2]]
    assert not q.waiting


def test_a_released_hold_is_never_answered(clock):
    """release (the client went away) forgets the held poll and its timer."""
    q = PollQueue(clock)
    answers = []
    q.hold(0, 30, answers.append)
    q.release(answers.append)
    assert not q.waiting and clock.getDelayedCalls() == []
    q.append(event(1))
    clock.advance(30)
    assert answers == []


def test_deadlines_follow_the_latest_poll_and_answer(clock):
    """
    A client polling on and on: each held poll times out exactly its
    timeout after it was made, and the queue goes idle exactly the idle
    time after the last answer, however the deadlines moved before.
    """
    idle = []
    q = PollQueue(clock, idle=60, on_idle=lambda: idle.append(clock.seconds()))
    for n in range(1, 6):
        d = q.wait(q.last_seq, 30)
        clock.advance(7)
        q.append(event(n))
        assert seqs(result_of(d)) == [n]
    d = q.wait(q.last_seq, 10)
    clock.advance(9.9)
    assert not d.called
    clock.advance(0.1)
    assert result_of(d) == Batch((), 5)
    answered = clock.seconds()
    clock.advance(59.9)
    assert idle == []
    clock.advance(0.1)
    assert idle == [answered + 60]


def test_cancel_deregisters(clock):
    """Cancelling a held poll (the client left) removes it and its timer."""
    q = PollQueue(clock)
    d = q.wait(0, 30)
    d.cancel()
    failure = result_of(d)
    assert failure.check(CancelledError)
    assert not q.waiting
    assert clock.getDelayedCalls() == []
    q.append(event(1))
    assert seqs(q.take(0)) == [1]


def test_idle_expiry(clock):
    """A queue nobody polls goes idle after the idle time, once."""
    idle = []
    q = PollQueue(clock, idle=60, on_idle=lambda: idle.append(clock.seconds()))
    clock.advance(59)
    assert idle == []
    q.wait(0, 0)  # a poll: the clock restarts
    clock.advance(59)
    assert idle == []
    clock.advance(1)
    assert idle == [119]
    assert clock.getDelayedCalls() == []


def test_held_poll_counts_as_active(clock):
    """While a poll is held the session is not idle; the idle time restarts when it ends."""
    idle = []
    q = PollQueue(clock, idle=60, on_idle=lambda: idle.append(clock.seconds()))
    d = q.wait(0, 60)
    assert len(clock.getDelayedCalls()) == 1  # only the poll timeout
    clock.advance(60)
    assert result_of(d) == Batch((), 0)
    clock.advance(59)
    assert idle == []
    clock.advance(1)
    assert idle == [120]


def test_cancelled_poll_restarts_idle(clock):
    """A poll abandoned by its client starts the idle time."""
    idle = []
    q = PollQueue(clock, idle=10, on_idle=lambda: idle.append(clock.seconds()))
    d = q.wait(0, 30)
    clock.advance(5)
    d.cancel()
    d.addErrback(lambda f: None)
    clock.advance(10)
    assert idle == [15]


def test_close_answers_held_poll(clock):
    """Closing answers a held poll with what is queued and cancels every timer."""
    q = PollQueue(clock, idle=60)
    d = q.wait(0, 30)
    q.close()
    assert result_of(d) == Batch((), 0)
    assert clock.getDelayedCalls() == []
    assert q.append(event(1)) is None
    q.close()  # harmless twice
    assert result_of(q.wait(0, 30)) == Batch((), 0)
    assert clock.getDelayedCalls() == []


@given(st.lists(st.one_of(st.just("append"), st.integers(min_value=0, max_value=40)), max_size=80),
       st.integers(min_value=2, max_value=8))
def test_cursor_model(ops, backlog):
    """
    Any mix of appends and takes: seqs rise by one per entry, a take returns
    only entries after its cursor, a repeated take returns the same batch,
    and the bound holds.
    """
    q = PollQueue(Clock(), backlog=backlog)
    appended = 0
    for op in ops:
        if op == "append":
            seq = q.append(event(appended))
            appended += 1
            assert seq in (q.last_seq, q.last_seq - 1)  # then, maybe, the overflow entry
            continue
        batch = q.take(op)
        assert q.take(op) == batch
        got = seqs(batch)
        assert got == sorted(set(got))
        assert all(s > min(op, q.last_seq) for s in got)
        assert batch.last == (got[-1] if got else min(op, q.last_seq))
        assert len(got) <= backlog
    batch = q.take(0)
    assert batch.last == (q.last_seq if batch.entries else 0)
