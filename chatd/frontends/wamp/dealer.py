# -*- test-case-name: tests.frontends.test_wamp_rpc -*-
"""
The WAMP dealer: procedures clients register, and calls routed to them.

A client may register procedures outside C{chatd.} (a bot offering
C{bot.weather}); any other client may call them.  A call becomes an
INVOCATION to the callee; its YIELD or ERROR goes back to the caller as a
RESULT or ERROR.  Progressive results pass through when the caller asked
for them.  Every call ends: with the callee's answer, with
C{wamp.error.timeout} after C{call_timeout} seconds (or the caller's
shorter C{timeout}), with C{wamp.error.canceled} when the caller cancels
or the callee leaves.  Registrations end with their callee's session.

Who asked is an L{Answer}: the caller's session on this node, or (in a
cluster) another node waiting for the answer, so the callee's side is the
same code either way.  On a cluster, the L{backplane}
(L{chatd.frontends.wamp.backplane.Backplane}) makes a procedure's name
unique across nodes and carries calls to the callee's node and answers
back.
"""

import itertools
from typing import Dict, Optional

from autobahn.wamp import message
from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger

from chatd.frontends.wamp.payload import payload

log = Logger(namespace="chatd.wamp")

NO_SUCH_PROCEDURE = "wamp.error.no_such_procedure"
PROCEDURE_EXISTS = "wamp.error.procedure_already_exists"
TIMEOUT = "wamp.error.timeout"
CANCELED = "wamp.error.canceled"


class Answer:
    """Where a call's outcome goes: a caller session here, or another node."""

    def result(self, args, kwargs, progress: bool = False) -> None:
        raise NotImplementedError

    def error(self, uri: str, args=None, kwargs=None) -> None:
        raise NotImplementedError


class Registration:
    __slots__ = ("id", "procedure", "callee")

    def __init__(self, id: int, procedure: str, callee) -> None:
        self.id = id
        self.procedure = procedure
        self.callee = callee


class Invocation:
    """A call on its way to a callee here, until it ends; C{progress}: its caller takes progressive results."""

    __slots__ = ("id", "registration", "answer", "timer", "progress")

    def __init__(self, id: int, registration: Registration, answer: Answer, timer, progress: bool) -> None:
        self.id = id
        self.registration = registration
        self.answer = answer
        self.timer = timer
        self.progress = progress


#: CANCEL's modes (WAMP Advanced Profile, call canceling).
SKIP, KILL, KILLNOWAIT = "skip", "kill", "killnowait"


def interrupt(inv: Invocation) -> None:
    """Tell the callee to stop, if it said (HELLO, callee role) that it understands INTERRUPT."""
    callee = inv.registration.callee
    if getattr(callee, "cancels", False):
        callee.send(message.Interrupt(inv.id, KILLNOWAIT))


class Dealer:
    """
    Every registration of this node's sessions, and the calls they are running.

    @param clock: for call timeouts.
    @param call_timeout: the longest a call may run, in seconds.
    """

    def __init__(self, clock, call_timeout: float) -> None:
        self.clock = clock
        self.call_timeout = call_timeout
        self._ids = itertools.count(1)
        self._procedures: Dict[str, Registration] = {}
        self._registrations: Dict[int, Registration] = {}
        self._running: Dict[int, Invocation] = {}
        #: The cluster's procedure registry and call carrier, or None on one node.
        self.backplane = None

    # -- registrations -----------------------------------------------------------

    def find(self, procedure: str) -> Optional[Registration]:
        return self._procedures.get(procedure)

    def register(self, callee, procedure: str) -> Optional[Registration]:
        """A new registration, or None when C{procedure} is already registered here."""
        if procedure in self._procedures:
            return None
        reg = Registration(next(self._ids), procedure, callee)
        self._procedures[procedure] = self._registrations[reg.id] = reg
        return reg

    def claim(self, reg: Registration) -> Deferred:
        """
        Deferred firing with whether C{reg}'s procedure is this node's to
        serve: always on one node; on a cluster, unless a live session on
        another node registered it first.
        """
        if self.backplane is None:
            return succeed(True)
        return self.backplane.claim(reg.procedure, reg.id)

    def unregister(self, callee, reg_id: int) -> Optional[Registration]:
        """Remove C{callee}'s registration C{reg_id}; None if it has no such registration."""
        reg = self._registrations.get(reg_id)
        if reg is None or reg.callee is not callee:
            return None
        self._forget(reg)
        return reg

    def _forget(self, reg: Registration) -> None:
        del self._registrations[reg.id]
        del self._procedures[reg.procedure]
        if self.backplane is not None:
            self.backplane.release(reg.procedure, reg.id)
        for inv in [i for i in self._running.values() if i.registration is reg]:
            self._end(inv)
            inv.answer.error(CANCELED, [f"The callee of {reg.procedure} left before answering."])

    def drop(self, callee, registrations) -> None:
        """A session ended: its registrations go, and the calls it was running fail for their callers."""
        for reg_id in tuple(registrations):
            reg = self._registrations.get(reg_id)
            if reg is not None and reg.callee is callee:
                self._forget(reg)

    # -- calls -------------------------------------------------------------------

    def invoke(self, procedure: str, args, kwargs, answer: Answer, timeout: Optional[float] = None,
               progress: bool = False) -> bool:
        """
        Send an INVOCATION of C{procedure} to its callee (on a cluster,
        through the callee's node); False if no one registered it (the
        answer is then the caller's to give).

        @param timeout: the caller's own limit in seconds (the server's is
            the most it gets).
        """
        if self.invoke_here(procedure, args, kwargs, answer, timeout, progress):
            return True
        if self.backplane is None:
            return False
        self.backplane.call(procedure, args, kwargs, answer, timeout, progress)
        return True

    def invoke_here(self, procedure: str, args, kwargs, answer: Answer, timeout: Optional[float] = None,
                    progress: bool = False) -> bool:
        """L{invoke} for a callee on this node only."""
        reg = self._procedures.get(procedure)
        if reg is None:
            return False
        limit = self.call_timeout if not timeout or timeout <= 0 else min(timeout, self.call_timeout)
        inv_id = next(self._ids)
        timer = self.clock.callLater(limit, self._timed_out, inv_id, limit)
        self._running[inv_id] = Invocation(inv_id, reg, answer, timer, progress)
        args, kwargs = payload(args, kwargs)
        reg.callee.send(message.Invocation(inv_id, reg.id, args=args, kwargs=kwargs,
                                           receive_progress=progress or None))
        return True

    def cancel(self, answer: Answer, why: str = "The caller canceled the call.", mode: str = KILLNOWAIT) -> None:
        """
        The caller gave up (CANCEL, or it left).  C{skip}: the caller is
        told at once and the callee is left alone; C{killnowait}: the
        callee is interrupted too; C{kill}: the callee is interrupted and
        its answer (an ERROR, usually) is the caller's.  A callee that did
        not announce call canceling is never interrupted, so C{kill}
        becomes C{skip} for it.
        """
        self.cancel_here(answer, why, mode)
        if self.backplane is not None:
            self.backplane.cancel(answer, why, mode)

    def cancel_here(self, answer: Answer, why: str = "The caller canceled the call.", mode: str = KILLNOWAIT) -> None:
        """L{cancel} for a callee on this node only."""
        for inv in [i for i in self._running.values() if i.answer is answer]:
            waits = mode == KILL and getattr(inv.registration.callee, "cancels", False)
            if mode != SKIP:
                interrupt(inv)
            if not waits:
                self._end(inv)
                answer.error(CANCELED, [why])

    def running(self, callee, inv_id: int) -> bool:
        """Is C{inv_id} a call C{callee} is running now?"""
        inv = self._running.get(inv_id)
        return inv is not None and inv.registration.callee is callee

    def yielded(self, callee, msg: message.Yield) -> None:
        inv = self._running.get(msg.request)
        if inv is None or inv.registration.callee is not callee:
            return  # answered late (timed out, canceled): nobody waits for it
        if msg.progress and not inv.progress:
            return  # a progressive result its caller did not ask for
        if not msg.progress:
            self._end(inv)
        inv.answer.result(msg.args, msg.kwargs, bool(msg.progress))

    def failed(self, callee, msg: message.Error) -> None:
        inv = self._running.get(msg.request)
        if inv is None or inv.registration.callee is not callee:
            return
        self._end(inv)
        inv.answer.error(msg.error, msg.args, msg.kwargs)

    def _timed_out(self, inv_id: int, limit: float) -> None:
        inv = self._running.pop(inv_id, None)
        if inv is None:
            return
        reg = inv.registration
        log.info("A call to {procedure} timed out after {limit} seconds ([wamp] call_timeout)",
                 procedure=reg.procedure, limit=limit)
        interrupt(inv)
        inv.answer.error(TIMEOUT, [f"{reg.procedure} did not answer within {limit:g} seconds."])

    def _end(self, inv: Invocation) -> None:
        self._running.pop(inv.id, None)
        if inv.timer.active():
            inv.timer.cancel()

    @property
    def registrations(self) -> int:
        return len(self._registrations)
