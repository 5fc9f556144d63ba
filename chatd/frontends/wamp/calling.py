# -*- test-case-name: tests.frontends.test_wamp_rpc -*-
"""
A WAMP session's calls: CALL (of C{chatd.*} procedures, which are chat
commands, and of procedures other clients registered), CANCEL, REGISTER,
UNREGISTER, and the callee's YIELD and ERROR, as methods of
L{chatd.frontends.wamp.peer.WampPeer}.

A C{chatd.join} holds the room's events (L{_Join}) until its RESULT is
sent, then publishes them, so history and live events meet without gap
or duplicate.
"""

from typing import List, Optional

from autobahn.wamp import message
from twisted.logger import Logger

from chatd.core import commands as cmd
from chatd.core import events as ev
from chatd.core.errors import BadCommand, ChatError
from chatd.core.text import check_room
from chatd.frontends.wamp import procedures, uris
from chatd.frontends.wamp.calls import CallerAnswer
from chatd.frontends.wamp.uris import INVALID_ARGUMENT, INVALID_URI, NOT_AUTHORIZED, PROTOCOL_VIOLATION

log = Logger(namespace="chatd.wamp")


class _Join:
    """A C{chatd.join} waiting for its result: the history it brought, and the room's events meanwhile."""

    __slots__ = ("key", "history", "held")

    def __init__(self, key: str) -> None:
        self.key = key
        self.history: Optional[ev.History] = None
        self.held: List[ev.Event] = []


class Calling:
    """Calls and registrations, for L{chatd.frontends.wamp.peer.WampPeer}."""

    def _call(self, msg: message.Call, size: int) -> None:
        if msg.request in self.calls:
            return self.abort(PROTOCOL_VIOLATION, f"Request id {msg.request} is already used by a running call; "
                                                  "give each CALL its own id.")
        if len(self.calls) >= self.router.limits.pending_calls:
            return self._limit_error(message.Call.MESSAGE_TYPE, msg.request, "too-many-calls",
                                     f"A session may have {self.router.limits.pending_calls} calls running at once; "
                                     "wait for some to finish.")
        if not uris.valid(msg.procedure):
            return self._error(message.Call.MESSAGE_TYPE, msg.request, INVALID_URI,
                               f"{str(msg.procedure)[:80]!r} is not a valid procedure URI.")
        answer = self.calls[msg.request] = CallerAnswer(self, msg.request)
        if msg.procedure.startswith(procedures.PREFIX):
            return self._chat(msg, answer, size)
        timeout = msg.timeout / 1000.0 if msg.timeout else None
        if not self.router.dealer.invoke(msg.procedure, msg.args, msg.kwargs, answer, timeout,
                                         bool(msg.receive_progress)):
            answer.error("wamp.error.no_such_procedure", [f"No one has registered {msg.procedure}."])

    def _chat(self, msg: message.Call, answer: CallerAnswer, size: int) -> None:
        try:
            command = procedures.command_of(msg.procedure, msg.args, msg.kwargs)
            pending = self._join_of(command)
        except ChatError as e:
            command, pending = cmd.Refused(error=e), None  # still waits its turn under flood control, as on /ws
        said = self._saying(command, echo=True)
        d = self.session.handle(command, size)

        def done(result) -> None:
            if said is not None:
                said.id = result.id
            if pending is not None:
                self.joining.pop(pending.key, None)
                answer.result(None, procedures.joined(result, pending.history))
                for event in pending.held:
                    self.route(event)
            else:
                answer.result(None, procedures.result_of(command, result, self.session))

        def refused(failure) -> None:
            self._unsaid(command, said)
            if pending is not None:
                self.joining.pop(pending.key, None)
            answer.chat_error(failure.value)

        d.addCallbacks(done, refused)

    def _join_of(self, command: cmd.Command) -> Optional[_Join]:
        """For a join, where the room's events wait for its result (None for any other command)."""
        if not isinstance(command, cmd.Join):
            return None
        key = check_room(command.room)
        if key in self.joining:
            raise BadCommand(f"Already joining {command.room}; wait for that join's result.")
        pending = self.joining[key] = _Join(key)
        return pending

    def _cancel(self, msg: message.Cancel, size: int) -> None:
        answer = self.calls.get(msg.request)
        if answer is not None:
            self.router.dealer.cancel(answer, "The caller canceled the call.", msg.mode or "killnowait")

    def _register(self, msg: message.Register, size: int) -> None:
        kind = message.Register.MESSAGE_TYPE
        if msg.match not in (None, message.Register.MATCH_EXACT) or msg.invoke not in (None, "single"):
            return self._error(kind, msg.request, INVALID_ARGUMENT,
                               "chatd registers procedures by exact name, one callee each.")
        if not uris.valid(msg.procedure):
            return self._error(kind, msg.request, INVALID_URI, f"{str(msg.procedure)[:80]!r} is not a valid URI.")
        if msg.procedure.startswith((uris.RESERVED, uris.WAMP)):
            return self._error(kind, msg.request, NOT_AUTHORIZED,
                               "Procedures under chatd. and wamp. are the router's own; choose another name.")
        if len(self.registrations) >= self.router.limits.registrations:
            return self._limit_error(kind, msg.request, "too-many-registrations",
                                     f"A session may register {self.router.limits.registrations} procedures.")
        reg = self.router.dealer.register(self, msg.procedure)
        if reg is None:
            return self._error(kind, msg.request, "wamp.error.procedure_already_exists",
                               f"{msg.procedure} is already registered by another session.")
        self.registrations.add(reg.id)

        def claimed(won: bool) -> None:
            if self.closed:
                return
            if won:
                return self.send(message.Registered(msg.request, reg.id))
            self.router.dealer.unregister(self, reg.id)
            self.registrations.discard(reg.id)
            self._error(kind, msg.request, "wamp.error.procedure_already_exists",
                        f"{msg.procedure} is already registered by a session on another node.")

        def failed(failure) -> None:
            log.warn("Could not register {procedure} for {peer} in the cluster: {why}", procedure=msg.procedure,
                     peer=self.address, why=failure.getErrorMessage())
            if not self.closed:
                self.router.dealer.unregister(self, reg.id)
                self.registrations.discard(reg.id)
                self._error(kind, msg.request, uris.error_uri("unavailable"),
                            "The cluster's store could not be reached; register again later.")

        self.router.dealer.claim(reg).addCallbacks(claimed, failed)

    def _unregister(self, msg: message.Unregister, size: int) -> None:
        if self.router.dealer.unregister(self, msg.registration) is None:
            return self._error(message.Unregister.MESSAGE_TYPE, msg.request, "wamp.error.no_such_registration",
                               "This session has no such registration.")
        self.registrations.discard(msg.registration)
        self.send(message.Unregistered(msg.request))

    def _yield(self, msg: message.Yield, size: int) -> None:
        self.router.dealer.yielded(self, msg)

    def _invocation_error(self, msg: message.Error, size: int) -> None:
        if msg.request_type != message.Invocation.MESSAGE_TYPE:
            return self.abort(PROTOCOL_VIOLATION, "A client sends ERROR only in answer to an INVOCATION.")
        self.router.dealer.failed(self, msg)
