# -*- test-case-name: tests.core.test_flood -*-
"""
Flood control: a token bucket per session that delays input instead of
refusing it (IRC servers call this "fakelag"), the same for every front end.

Each command spends tokens (its C{cost} in L{chatd.core.commands}: most
cost 1; joins, nick changes and private messages cost more, as they are
what floods abuse).  Tokens come back at
C{flood_rate} per second up to C{flood_burst}.  While tokens last, commands
run at once.  Past the burst they are held, in the order they came, and run
as tokens come back: a pasted page arrives complete and in order, a few
seconds late, and is never refused.

Held input is bounded by C{recvq} bytes.  A person pasting a page stays far
below it; a script sending without pause passes it within a second, and is
disconnected for flooding.  Each held command counts its size plus
L{HELD_OVERHEAD} bytes, about what holding it costs in memory, so a flood
of tiny commands is bounded as tightly as a flood of long ones.
"""

from collections import deque
from typing import Callable, Deque, Optional, Tuple

from twisted.logger import Logger

log = Logger(namespace="chatd.flood")

#: Bytes each held command counts against C{recvq} besides its own size.
HELD_OVERHEAD = 128

#: Tokens that count as whole despite float rounding (a refill computed
#: from clock differences can fall short of a token by 1e-16, and a timer
#: set for that shortfall would fire at the same instant again).
_SLACK = 1e-6

Run = Callable[[], object]
Drop = Optional[Callable[[str], None]]


class Throttle:
    """
    One session's bucket and its held input.

    @param session: whose input this is: its hub gives the clock and the
        rules in force (read at each use, so a reload applies to every
        session), and its C{flooding(held_bytes)} is called once held input
        passes C{recvq} (it disconnects the session, which calls L{clear}).
    """

    __slots__ = ("session", "tokens", "stamp", "held", "held_bytes", "paused", "_call")

    def __init__(self, session) -> None:
        self.session = session
        hub = session.hub
        self.tokens = float(hub.rules.flood_burst)
        self.stamp = hub.clock.seconds()
        #: Commands waiting for tokens, oldest first; None while none wait.
        self.held: Optional[Deque[Tuple[int, int, Run, Drop]]] = None
        #: What the held commands count against C{recvq}.
        self.held_bytes = 0
        #: Commands still settling that what follows must wait for (a join, a login).
        self.paused = 0
        self._call = None

    def __len__(self) -> int:
        """How many commands are held."""
        return len(self.held) if self.held else 0

    def take(self, cost: int) -> bool:
        """Spend C{cost} tokens now if nothing is held and they suffice."""
        rules = self.session.hub.rules
        self._refill(rules)
        if self.held is None and not self.paused and self.tokens + _SLACK >= min(cost, rules.flood_burst):
            self.tokens -= cost
            return True
        return False

    def pause(self) -> None:
        """Hold everything that comes until L{resume}: a command that changes who the session is is settling."""
        self.paused += 1

    def resume(self) -> None:
        self.paused -= 1
        if not self.paused and self.held:
            self._schedule(self.session.hub.rules)

    def hold(self, cost: int, size: int, run: Run, drop: Drop = None) -> None:
        """
        Hold C{run} behind what is already held, to run when the tokens
        are back; past C{recvq}, call C{on_flood} instead.

        @param size: the command's size in bytes as received.
        @param drop: called with a reason if the command will never run
            (the session ended first); for front ends that owe an answer.
        """
        rules = self.session.hub.rules
        if self.held is None:
            self.held = deque()
        self.held.append((cost, size, run, drop))
        self.held_bytes += size + HELD_OVERHEAD
        if self.held_bytes > rules.recvq:
            self.session.flooding(self.held_bytes)
            return
        self._schedule(rules)

    def submit(self, cost: int, size: int, run: Run, drop: Drop = None) -> bool:
        """Run C{run} now (L{take}), or hold it (L{hold}); return whether it ran."""
        if self.take(cost):
            run()
            return True
        self.hold(cost, size, run, drop)
        return False

    def clear(self, reason: str) -> None:
        """Forget every held command (the session ended); tell their owners."""
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        held, self.held, self.held_bytes = self.held, None, 0
        for _, _, _, drop in held or ():
            if drop is not None:
                try:
                    drop(reason)
                except Exception:
                    log.failure("A front end failed to answer a dropped command")

    def _refill(self, rules) -> None:
        now = self.session.hub.clock.seconds()
        self.tokens = min(float(rules.flood_burst), self.tokens + (now - self.stamp) * rules.flood_rate)
        self.stamp = now

    def _schedule(self, rules) -> None:
        if self._call is not None or not self.held:
            return
        need = min(self.held[0][0], rules.flood_burst) - self.tokens
        self._call = self.session.hub.clock.callLater(max(need, 0.0) / rules.flood_rate, self._release)

    def _release(self) -> None:
        """Tokens are back: run what they pay for, oldest first."""
        self._call = None
        rules = self.session.hub.rules
        self._refill(rules)
        while self.held and not self.paused:
            cost, size, run, _ = self.held[0]
            if self.tokens + _SLACK < min(cost, rules.flood_burst):
                break
            self.held.popleft()
            self.held_bytes -= size + HELD_OVERHEAD
            self.tokens -= cost
            try:
                run()
            except Exception:
                log.failure("A held command failed; the rest of the held input goes on")
        if self.held:
            if not self.paused:
                self._schedule(rules)
        else:
            self.held = None
