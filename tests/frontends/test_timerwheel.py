"""
The timers of many WebSocket connections in one-second buckets
(L{chatd.frontends.timerwheel}), on a fake clock.
"""

from twisted.internet.task import Clock
from twisted.logger import LogLevel, capturedLogs

from chatd.frontends import timerwheel
from chatd.frontends.timerwheel import Wheel


def test_calls_run_in_the_whole_second_their_delay_ends_in_as_txaio_does():
    clock = Clock()
    clock.advance(100)
    wheel = Wheel(clock)
    ran = []
    wheel.call_later(10.4, ran.append, "a")  # due in second 110: at 110
    wheel.call_later(10.9, ran.append, "b")  # also
    wheel.call_later(11, lambda: ran.append("c"))  # 111
    assert len(clock.getDelayedCalls()) == 2  # one reactor call per second
    clock.advance(9.9)
    assert ran == []
    clock.advance(0.1)
    assert ran == ["a", "b"]
    clock.advance(1)
    assert ran == ["a", "b", "c"]
    assert clock.getDelayedCalls() == []


def test_keyword_arguments_are_passed():
    clock = Clock()
    seen = []
    Wheel(clock).call_later(1, lambda *a, **k: seen.append((a, k)), 1, 2, x=3)
    clock.advance(1)
    assert seen == [((1, 2), {"x": 3})]


def test_a_cancelled_call_never_runs_and_the_last_one_takes_its_second_s_reactor_call_along():
    clock = Clock()
    wheel = Wheel(clock)
    ran = []
    first = wheel.call_later(5, ran.append, 1)
    second = wheel.call_later(5, ran.append, 2)
    assert wheel.pending == 2
    first.cancel()
    first.cancel()  # twice is harmless
    assert wheel.pending == 1
    assert len(clock.getDelayedCalls()) == 1
    second.cancel()
    assert wheel.pending == 0
    assert clock.getDelayedCalls() == []
    clock.advance(10)
    assert ran == []
    again = wheel.call_later(5, ran.append, 3)  # the second can be used again
    clock.advance(5)
    again.cancel()  # after it ran: nothing happens
    assert ran == [3]


def test_a_failing_call_is_logged_and_the_others_of_its_second_still_run():
    clock = Clock()
    wheel = Wheel(clock)
    ran = []
    wheel.call_later(1, lambda: 1 / 0)
    wheel.call_later(1, ran.append, "after")
    with capturedLogs() as events:
        clock.advance(1)
    assert ran == ["after"]
    [event] = [e for e in events if e["log_level"] == LogLevel.critical]
    assert "ping or timeout failed" in event["log_format"]
    assert event["log_failure"].check(ZeroDivisionError)


class CountingClock(Clock):
    """A Clock that remembers the delay of every call asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = []

    def callLater(self, delay, *args, **kwargs):
        self.asked.append(delay)
        return super().callLater(delay, *args, **kwargs)


def test_a_crowded_second_runs_in_chunks_the_rest_on_the_next_reactor_turn():
    clock = CountingClock()
    wheel = Wheel(clock)
    ran = []
    for n in range(timerwheel.CHUNK + 5):
        wheel.call_later(1, ran.append, n)
    assert wheel.pending == timerwheel.CHUNK + 5
    clock.advance(1)
    assert ran == list(range(timerwheel.CHUNK + 5))
    assert wheel.pending == 0
    assert clock.asked == [1, 0]  # the second's call, then one more turn for the last 5
    assert clock.getDelayedCalls() == []
