# -*- test-case-name: tests.core.test_flood -*-
"""
Flood control: a token bucket per session, the same for every front end.

Each command spends tokens (most cost 1; joins, nick changes and private
messages cost more, as they are what floods abuse).  Tokens come back at
C{rate} per second up to C{burst}.  A command that finds too few tokens is
refused with C{rate-limited}; a session that keeps pushing past the limit
(C{strikes} refusals without a pause) is disconnected, like an IRC server's
"Excess Flood".
"""

from chatd.core.errors import RateLimited

#: Extra cost of the commands floods are made of.
COSTS = {"join": 2, "nick": 3, "private": 2}


class Bucket:
    """
    @param clock: anything with C{seconds()}.
    @param rate: tokens regained per second (commands per second, sustained).
    @param burst: most tokens held (commands that may come at once).
    @param strikes: refusals in a row that end the session.
    """

    __slots__ = ("clock", "rate", "burst", "strikes", "tokens", "stamp", "refused")

    def __init__(self, clock, rate: float, burst: int, strikes: int) -> None:
        self.clock = clock
        self.rate = rate
        self.burst = burst
        self.strikes = strikes
        self.tokens = float(burst)
        self.stamp = clock.seconds()
        self.refused = 0

    def spend(self, command: str) -> None:
        """
        Pay for C{command}.

        @raise RateLimited: not enough tokens; the message says when to retry.
        """
        cost = COSTS.get(command, 1)
        now = self.clock.seconds()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= cost:
            self.tokens -= cost
            self.refused = 0
            return
        self.refused += 1
        wait = (cost - self.tokens) / self.rate
        raise RateLimited(
            f"You are sending too fast (limit {self.rate:g} commands per second, "
            f"bursts of {self.burst}); wait {wait:.1f}s. That command was not run."
        )

    @property
    def abusive(self) -> bool:
        """True once the session has been refused C{strikes} times in a row."""
        return self.refused >= self.strikes
