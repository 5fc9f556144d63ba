# -*- test-case-name: tests.frontends.test_wamp_session -*-
"""
One WAMP session: its opening (HELLO, ticket authentication, WELCOME),
its messages, and the core session's sink.

It takes Autobahn's message objects and answers with message objects
through its transport, so it is tested without any wire format.  No chat
rule lives here: chat procedures and publications to rooms become core
commands (L{chatd.frontends.wamp.procedures}), and what the core delivers
becomes EVENTs on room topics (if the session subscribed) or on the
session's own topic, C{chatd.session.<id>} (private messages, notices,
invitations, the session's own kicks and everything not of a room).

A join's result carries the room's history; the room's events that
arrive meanwhile are held and published after the RESULT, so a client
that subscribed first and then joined sees history then live events,
without gap or duplicate.
"""

from collections import OrderedDict, deque
from typing import Deque, Dict, List, Optional, Set

from autobahn.util import id as random_id
from autobahn.wamp import message
from twisted.logger import Logger
from zope.interface import implementer

from chatd.core import commands as cmd
from chatd.core import events as ev
from chatd.core.errors import BadCommand, ChatError, error
from chatd.core.interfaces import ISink
from chatd.core.text import check_room, fold
from chatd.frontends.wamp import procedures, uris
from chatd.frontends.wamp.broker import publication_of
from chatd.frontends.wamp.calls import CallerAnswer
from chatd.frontends.wamp.router import REALM, ROLES
from chatd.frontends.wamp.welcome import Opening
from chatd.wire import jsonproto

log = Logger(namespace="chatd.wamp")

INVALID_URI = "wamp.error.invalid_uri"
INVALID_ARGUMENT = "wamp.error.invalid_argument"
NOT_AUTHORIZED = "wamp.error.not_authorized"
PROTOCOL_VIOLATION = "wamp.error.protocol_violation"

#: Publications whose own echo a session still expects to skip (C{exclude_me}).
EXCLUDED_MAX = 256

#: Events for the session's topic kept until it first subscribes to it (a
#: ticket login's stored private messages come before WELCOME).
EARLY_MAX = 100


def _room_key(event) -> str:
    return fold(event.room)


class _Said:
    """
    A say of this connection without a cid, in a room, on its way: whether
    its message goes back to this session (a PUBLISH with C{exclude_me}
    does not), and its id once the store gave one.  Such messages reach
    the session in the order they were said, so the first one waiting is
    the one that arrives.
    """

    __slots__ = ("echo", "id")

    def __init__(self, echo: bool) -> None:
        self.echo = echo
        self.id: Optional[int] = None


class _Join:
    """A C{chatd.join} waiting for its result: the history it brought, and the room's events meanwhile."""

    __slots__ = ("key", "history", "held")

    def __init__(self, key: str) -> None:
        self.key = key
        self.history: Optional[ev.History] = None
        self.held: List[ev.Event] = []


@implementer(ISink)
class WampPeer(Opening):
    """
    @param router: the realm's L{chatd.frontends.wamp.router.Router}.
    @param transport: writes what this session sends (C{write(bytes)})
        and ends the connection (C{close(reason)}).
    @param serializer: the name of the connection's serializer
        (C{json}, C{msgpack}, ...), a key of the router's encoders.
    """

    def __init__(self, router, transport, serializer: str, address: str, host: Optional[str],
                 secure: bool) -> None:
        self.router = router
        self.transport = transport
        self.serializer = serializer
        self.encode = router.encoders[serializer]
        self.address = address
        self.id: Optional[int] = None  # the WAMP session id, from WELCOME on
        self.session = router.hub.connect(self, peer=address, frontend="wamp", host=host, secure=secure)
        self.subscriptions: Set[int] = set()
        self.registrations: Set[int] = set()
        self.private = None  # the subscription to chatd.session.<id>
        self.calls: Dict[int, CallerAnswer] = {}  # running calls by request id
        self.joining: Dict[str, _Join] = {}
        self.excluded: "OrderedDict[str, None]" = OrderedDict()
        self.saying: Dict[str, Deque[_Said]] = {}
        #: Session-topic events from before its first subscription (then None).
        self.early: Optional[List[ev.Event]] = []
        self.closed = False
        self.opening_started()

    # -- output -------------------------------------------------------------------

    def send(self, msg: message.Message) -> None:
        if not self.closed:
            self.transport.write(self.encode(msg))

    def write(self, frame: bytes) -> None:
        if not self.closed:
            self.transport.write(frame)

    def _error(self, request_type: int, request: int, uri: str, text: str, **kwargs) -> None:
        self.send(message.Error(request_type, request, uri, args=[text], kwargs=kwargs or None))

    def _chat_error(self, request_type: int, request: int, e: ChatError) -> None:
        self._error(request_type, request, uris.error_uri(e.code), e.message, code=e.code, message=e.message)

    def _limit_error(self, request_type: int, request: int, code: str, text: str) -> None:
        """A per-session limit was reached: C{chatd.error.<code>} (a registered code), like a chat refusal."""
        self._chat_error(request_type, request, error(code, text))

    def abort(self, reason: str, text: str) -> None:
        """End the session with ABORT (a refusal, or a protocol violation)."""
        log.info("WAMP session of {peer} aborted: {reason}: {text}", peer=self.address, reason=reason, text=text)
        self.send(message.Abort(reason, text))
        self.end(text)

    def end(self, why: str) -> None:
        """Close the connection and everything this session held."""
        if self.closed:
            return
        self.transport.close(why)
        self.lost(why)

    # -- input ---------------------------------------------------------------------

    def received(self, msg: message.Message, size: int = 0) -> None:
        """One message from the client."""
        if self.closed:
            return
        if self.id is None:
            self.opening_received(msg)
            return
        handler = _HANDLERS.get(type(msg))
        if handler is None:
            self.abort(PROTOCOL_VIOLATION, f"A client may not send {type(msg).__name__.upper()} in an open session.")
            return
        if self._core_command(msg) or self._answer(msg):
            handler(self, msg, size)  # charged by the core, or an answer someone's call waits for
            return
        self.session.submit(1, size, lambda: None if self.closed else handler(self, msg, size))

    def _answer(self, msg: message.Message) -> bool:
        """
        Is C{msg} a callee's YIELD or ERROR for a call running now?  The
        caller paid for the call; its answer is not charged again (a bot
        would otherwise answer at the flood rate).  Others are.
        """
        if isinstance(msg, (message.Yield, message.Error)):
            return self.router.dealer.running(self, msg.request)
        return False

    def _core_command(self, msg: message.Message) -> bool:
        """Is C{msg} a chat command (a C{chatd.*} CALL, a PUBLISH to a room), charged once by the core?"""
        if isinstance(msg, message.Call):
            return uris.valid(msg.procedure) and msg.procedure.startswith(procedures.PREFIX)
        if isinstance(msg, message.Publish):
            return uris.valid(msg.topic) and msg.topic.startswith(uris.ROOM) and self._topic_refusal(msg.topic) is None
        return False

    def welcomed(self, session_id: int, authid: Optional[str], authrole: str, authmethod: str,
                 extra: Optional[dict]) -> None:
        """The opening succeeded (L{Opening}): the session is open."""
        self.id = session_id
        self.router.sessions[session_id] = self
        self.send(message.Welcome(session_id, ROLES, realm=REALM, authid=authid, authrole=authrole,
                                  authmethod=authmethod, authprovider="chatd", authextra=extra))

    def _goodbye(self, msg: message.Goodbye, size: int) -> None:
        self.send(message.Goodbye("wamp.close.goodbye_and_out"))
        self.end("Left")

    # -- pub/sub --------------------------------------------------------------------

    def _subscribe(self, msg: message.Subscribe, size: int) -> None:
        topic = msg.topic
        if msg.match not in (None, message.Subscribe.MATCH_EXACT):
            return self._error(message.Subscribe.MESSAGE_TYPE, msg.request, INVALID_ARGUMENT,
                               "chatd matches topics exactly; prefix and wildcard subscriptions are not offered.")
        refusal = self._topic_refusal(topic)
        if refusal is not None:
            return self._error(message.Subscribe.MESSAGE_TYPE, msg.request, *refusal)
        known = self.router.broker.find(topic)
        again = known is not None and self in known.subscribers  # the same subscription, as the spec says
        if not again and len(self.subscriptions) >= self.router.limits.subscriptions:
            return self._limit_error(message.Subscribe.MESSAGE_TYPE, msg.request, "too-many-subscriptions",
                                     f"A session may subscribe to {self.router.limits.subscriptions} topics; "
                                     "unsubscribe from one first.")
        sub = self.router.broker.subscribe(self, topic)
        self.subscriptions.add(sub.id)
        if topic.startswith(uris.SESSION):
            self.private = sub
        self.send(message.Subscribed(msg.request, sub.id))
        if self.private is sub and self.early is not None:
            early, self.early = self.early, None
            for event in early:
                self.route(event)

    def _topic_refusal(self, topic: str):
        """Why C{topic} cannot be subscribed or published to, as (error URI, text), or None."""
        if not uris.valid(topic):
            return INVALID_URI, f"{str(topic)[:80]!r} is not a valid WAMP topic."
        if topic.startswith(uris.ROOM):
            room = uris.room_of(topic)
            if room is None:
                return INVALID_URI, (f"{topic[:80]!r} is not a room topic: escape '%', '.' and '#' in the room "
                                     "name as %25, %2E and %23.")
            try:
                check_room(room)
            except ChatError as e:
                return uris.error_uri(e.code), e.message
            return None
        if topic.startswith(uris.SESSION):
            if topic != uris.session_topic(self.id):
                return NOT_AUTHORIZED, "A session may subscribe only to its own chatd.session topic."
            return None
        if topic.startswith(uris.RESERVED):
            return INVALID_URI, f"chatd has no topic {topic[:80]!r}; rooms are chatd.room.<name>."
        return None

    def _unsubscribe(self, msg: message.Unsubscribe, size: int) -> None:
        if msg.subscription not in self.subscriptions or not self.router.broker.unsubscribe(self, msg.subscription):
            return self._error(message.Unsubscribe.MESSAGE_TYPE, msg.request, "wamp.error.no_such_subscription",
                               "This session has no such subscription.")
        self.subscriptions.discard(msg.subscription)
        if self.private is not None and self.private.id == msg.subscription:
            self.private = None
        self.send(message.Unsubscribed(msg.request))

    def _publish(self, msg: message.Publish, size: int) -> None:
        topic = msg.topic
        refusal = self._topic_refusal(topic)
        if refusal is None and topic.startswith(uris.SESSION):
            refusal = NOT_AUTHORIZED, "Only chatd publishes to a session's topic."
        if refusal is None and topic.startswith(uris.WAMP):
            refusal = NOT_AUTHORIZED, "Topics under wamp. are the router's own; publish elsewhere."
        if refusal is not None:
            if msg.acknowledge:
                self._error(message.Publish.MESSAGE_TYPE, msg.request, *refusal)
            return
        if topic.startswith(uris.ROOM):
            return self._say(msg, uris.room_of(topic), size)
        publication = self.router.broker.publish(self, topic, msg.args, msg.kwargs, msg.exclude_me is not False)
        if msg.acknowledge:
            self.send(message.Published(msg.request, publication))

    def _say(self, msg: message.Publish, room: str, size: int) -> None:
        """A PUBLISH to a room: said in the room (C{kwargs.type = "action"} for an action)."""
        kwargs = msg.kwargs or {}
        text = kwargs.get("text", msg.args[0] if msg.args else None)
        cid = kwargs.get("cid")
        kind = cmd.Action if kwargs.get("type") == "action" else cmd.Say
        if not isinstance(text, str) or (cid is not None and not isinstance(cid, str)):
            # Still waits its turn under flood control, as a say would.
            cid, command = None, cmd.Refused(error=BadCommand(
                "Publish the text to a room as args[0] or kwargs.text, a string (and cid, a string)."))
        else:
            if msg.exclude_me is not False and cid is not None:
                self.excluded[cid] = None
                while len(self.excluded) > EXCLUDED_MAX:
                    self.excluded.popitem(last=False)
            command = kind(room=room, text=text, cid=cid)
        said_ = self._saying(command, echo=msg.exclude_me is False)
        d = self.session.handle(command, size)

        def said(event) -> None:
            if said_ is not None:
                said_.id = event.id
            if msg.acknowledge:
                self.send(message.Published(msg.request, event.id))

        def refused(failure) -> None:
            self.excluded.pop(cid, None)
            self._unsaid(command, said_)
            if msg.acknowledge:
                self._chat_error(message.Publish.MESSAGE_TYPE, msg.request, failure.value)

        d.addCallbacks(said, refused)

    def _saying(self, command: cmd.Command, echo: bool) -> Optional[_Said]:
        """Note a say without a cid (L{_Said}); None for anything else."""
        if not isinstance(command, cmd.Say) or command.cid is not None:
            return None
        try:
            key = check_room(command.room)
        except ChatError:
            return None  # it will be refused
        said = _Said(echo)
        waiting = self.saying.setdefault(key, deque())
        waiting.append(said)
        if len(waiting) > EXCLUDED_MAX:
            waiting.popleft()
        return said

    def _unsaid(self, command: cmd.Command, said: Optional[_Said]) -> None:
        """A noted say was refused: no message of it will come."""
        if said is not None:
            waiting = self.saying.get(fold(command.room))
            if waiting is not None and said in waiting:
                waiting.remove(said)

    def _echo(self, key: str, id: int) -> bool:
        """Does this session get its own message C{id}, said without a cid?"""
        waiting = self.saying.get(key)
        while waiting and waiting[0].id is not None and waiting[0].id < id:
            waiting.popleft()  # said, but never came back (the session left the room meanwhile)
        if not waiting:
            return True
        said = waiting.popleft()
        if not waiting:
            del self.saying[key]
        return said.echo

    # -- the core's sink ------------------------------------------------------------

    def deliver(self, event: ev.Event) -> None:
        if self.closed:
            return
        if self.joining and event.room is not None:
            pending = self.joining.get(event.encoded(_room_key))
            if pending is not None:
                if event.type == ev.HISTORY and pending.history is None:
                    pending.history = event
                elif not (event.type == ev.JOIN and event.nick == self.session.nick) and event.type != ev.MEMBERS:
                    pending.held.append(event)
                return
        self.route(event)

    def route(self, event: ev.Event) -> None:
        """Publish C{event} on the topic it belongs to, if this session subscribed to it."""
        if event.room is not None:
            key = event.encoded(_room_key)
            if key in self.session.rooms:
                if event.type in (ev.MESSAGE, ev.ACTION) and event.via == self.session.serial:
                    # The publisher's own, with exclude_me: skipped (a cid is only its sender's).
                    if event.cid is None:
                        if self.saying and not self._echo(key, event.id):
                            return
                    elif event.cid in self.excluded:
                        del self.excluded[event.cid]
                        return
                sub = self.router.broker.room(key)
                if sub is not None and self in sub.subscribers:
                    self.write(event.encoded(sub.codec(self.serializer)))
                if not (event.type == ev.KICK and event.nick == self.session.nick):
                    return
        private = self.private
        if private is not None:
            self.send(message.Event(private.id, publication_of(event), args=[], kwargs=jsonproto.event_object(event)))
        elif self.early is not None and len(self.early) < EARLY_MAX:
            self.early.append(event)

    def disconnect(self, reason: str) -> None:
        """The server ends this session (kill, ban, flooding, shutdown): say why on the session topic, then go."""
        if self.closed:
            return
        if self.id is not None:
            if self.private is not None:
                shutdown = {"type": "shutdown", "reason": reason}
                self.send(message.Event(self.private.id, random_id(), args=[], kwargs=shutdown))
            self.send(message.Goodbye("wamp.close.system_shutdown", reason))
        else:
            self.send(message.Abort("wamp.close.system_shutdown", reason))
        self.end(reason)

    # -- calls ----------------------------------------------------------------------

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

    # -- the end --------------------------------------------------------------------

    def lost(self, why: str = "Connection closed") -> None:
        """The connection is gone: leave the core, and drop subscriptions, registrations and calls."""
        if self.closed:
            return
        self.closed = True
        self.opening_ended()
        router = self.router
        if self.id is not None:
            router.sessions.pop(self.id, None)
        router.broker.drop(self, self.subscriptions)
        router.dealer.drop(self, self.registrations)
        for answer in tuple(self.calls.values()):
            router.dealer.cancel(answer, "The caller left.")
        self.calls.clear()
        self.joining.clear()
        self.early = None
        self.session.close(why)


_HANDLERS = {
    message.Goodbye: WampPeer._goodbye,
    message.Subscribe: WampPeer._subscribe,
    message.Unsubscribe: WampPeer._unsubscribe,
    message.Publish: WampPeer._publish,
    message.Call: WampPeer._call,
    message.Cancel: WampPeer._cancel,
    message.Register: WampPeer._register,
    message.Unregister: WampPeer._unregister,
    message.Yield: WampPeer._yield,
    message.Error: WampPeer._invocation_error,
}
