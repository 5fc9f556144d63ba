# -*- test-case-name: tests.frontends.test_timerwheel -*-
"""
Timers for many connections at once: the auto-ping, ping-timeout and
handshake timers of every WebSocket.

Autobahn asks its factory's C{_batched_timer} for these (txaio's batched
timer), one per connection and usually armed: every idle WebSocket waits
for its next ping.  txaio keeps a closure, its cells and a wrapper object
per timer (about 470 bytes) and cancels one by searching its second's
list.  A L{Wheel} keeps the same one-second buckets with one small
L{Timer} per call and cancels in constant time; each bucket is one
reactor call, cancelled with its last timer.
"""

from functools import partial
from typing import Dict, List

from twisted.logger import Logger

log = Logger(namespace="chatd.websocket")

#: Timers run per reactor turn when a second's bucket is large: the rest
#: run on the next turns, so that I/O is not held up by 10,000 pings.
CHUNK = 1000


class Timer:
    """One call of a L{Wheel}: C{cancel()} it, as Autobahn does."""

    __slots__ = ("func", "bucket")

    def __init__(self, func, bucket: "_Bucket") -> None:
        self.func = func
        self.bucket = bucket

    def cancel(self) -> None:
        """Forget the call; harmless once it ran or was cancelled."""
        if self.func is not None:
            self.func = None
            self.bucket.forget()


class _Bucket:
    """The timers due in one second, and the reactor call that runs them."""

    __slots__ = ("wheel", "second", "call", "live", "timers")

    def __init__(self, wheel: "Wheel", second: int, call) -> None:
        self.wheel = wheel
        self.second = second
        self.call = call
        self.live = 0
        self.timers: List[Timer] = []

    def forget(self) -> None:
        self.live -= 1
        self.wheel.pending -= 1
        if not self.live and self.call is not None:
            self.call.cancel()
            self.call = None
            del self.wheel.buckets[self.second]


class Wheel:
    """
    C{call_later(delay, func, *args, **kwargs)}, as txaio's batched timer
    and with its rounding: a call is due at the whole second C{now +
    delay} falls in, and runs with every other call due then.

    @param clock: the reactor (or a test's Clock).
    """

    def __init__(self, clock) -> None:
        self.clock = clock
        self.buckets: Dict[int, _Bucket] = {}
        #: Calls waiting to run.
        self.pending = 0

    def call_later(self, delay: float, func, *args, **kwargs) -> Timer:
        if args or kwargs:
            func = partial(func, *args, **kwargs)
        now = self.clock.seconds()
        second = int(now + delay)
        bucket = self.buckets.get(second)
        if bucket is None:
            bucket = self.buckets[second] = _Bucket(self, second, None)
            bucket.call = self.clock.callLater(max(0.0, second - now), self._due, bucket)
        timer = Timer(func, bucket)
        bucket.timers.append(timer)
        bucket.live += 1
        self.pending += 1
        return timer

    def _due(self, bucket: _Bucket) -> None:
        bucket.call = None
        del self.buckets[bucket.second]
        self._run(bucket.timers)

    def _run(self, timers: List[Timer]) -> None:
        for timer in timers[:CHUNK]:
            func = timer.func
            if func is None:
                continue  # cancelled
            timer.func = None
            self.pending -= 1
            try:
                func()
            except Exception:
                log.failure("A WebSocket connection's ping or timeout failed; the other connections' timers go on")
        if len(timers) > CHUNK:
            self.clock.callLater(0, self._run, timers[CHUNK:])
