# -*- test-case-name: tests.core.test_attempts -*-
"""
Throttling of failed logins, per account and per address.

A password guesser gets C{limit} tries per C{window} seconds for one key
(an account's key, or an address), counted in a sliding window: once it
has C{limit} failures within the last C{window} seconds, logins for that
key are refused with C{too-many-attempts} until the oldest of them is
C{window} seconds old.  A successful login clears the key.

Memory is bounded: a key keeps at most C{limit} times, keys whose failures
are all older than the window are forgotten as new failures come in, and
at most C{max_keys} keys are kept (the one that failed longest ago is
dropped first, so a guesser spreading over many addresses can evict its
own older entries, never grow the server).
"""

import math
from collections import OrderedDict, deque
from typing import Deque

from chatd.core.errors import TooManyAttempts

class Attempts:
    """
    Failed logins per key in a sliding window, on an injected clock.

    @param clock: an L{twisted.internet.interfaces.IReactorTime} (a
        L{twisted.internet.task.Clock} in tests).
    @param limit: failures allowed within C{window}; the next is refused.
    @param window: seconds.
    @param about: what the keys are, for the refusal: C{"for this
        account"}, C{"from your address"}; empty says nothing.
    @param max_keys: the most keys tracked at once.
    """

    def __init__(self, clock, limit: int, window: float, about: str = "", max_keys: int = 10_000) -> None:
        if limit < 1 or window <= 0 or max_keys < 1:
            raise ValueError(
                f"Login throttling needs a limit and a number of keys of at least 1 "
                f"and a window above 0 seconds, not limit {limit}, window {window}, "
                f"max_keys {max_keys}."
            )
        self.clock = clock
        self.limit = limit
        self.window = window
        self.about = about
        self.max_keys = max_keys
        # key -> times of its latest failures, the key failed last at the end.
        self._failures: "OrderedDict[str, Deque[float]]" = OrderedDict()

    def __len__(self) -> int:
        """How many keys are tracked (their failures not yet forgotten)."""
        return len(self._failures)

    def check(self, key: str) -> None:
        """
        Refuse a login for C{key} if it failed C{limit} times within the window.

        @raise TooManyAttempts: saying how long to wait.
        """
        times = self._failures.get(key)
        if times is None or len(times) < self.limit:
            return
        # At most the window, should the clock have been set back.
        wait = min(times[0] + self.window - self.clock.seconds(), self.window)
        if wait <= 0:
            return
        seconds = max(1, math.ceil(wait))
        about = f" {self.about}" if self.about else ""
        raise TooManyAttempts(
            f"Too many failed logins{about}; try again in {seconds} "
            f"second{'s' if seconds != 1 else ''}."
        )

    def failed(self, key: str) -> None:
        """Count one failed login for C{key}."""
        now = self.clock.seconds()
        self._forget_before(now - self.window)
        times = self._failures.pop(key, None)
        if times is None:
            times = deque(maxlen=self.limit)
        times.append(now)
        self._failures[key] = times
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, key: str) -> None:
        """A good login: forget C{key}'s failures."""
        self._failures.pop(key, None)

    def _forget_before(self, oldest: float) -> None:
        # Keys are in the order they last failed: stale ones are in front.
        while self._failures:
            key, times = next(iter(self._failures.items()))
            if times[-1] > oldest:
                return
            del self._failures[key]
