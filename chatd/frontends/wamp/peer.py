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

from collections import OrderedDict
from typing import Deque, Dict, List, Optional, Set

from autobahn.util import id as random_id
from autobahn.wamp import message
from twisted.logger import Logger
from zope.interface import implementer

from chatd.core import events as ev
from chatd.core.errors import ChatError, error
from chatd.core.interfaces import ISink
from chatd.core.text import fold
from chatd.frontends.wamp import procedures, uris
from chatd.frontends.wamp.broker import publication_of
from chatd.frontends.wamp.calling import Calling, _Join
from chatd.frontends.wamp.calls import CallerAnswer
from chatd.frontends.wamp.router import REALM, ROLES
from chatd.frontends.wamp.topics import Topics, _Said
from chatd.frontends.wamp.uris import PROTOCOL_VIOLATION
from chatd.frontends.wamp.welcome import Opening
from chatd.wire import jsonproto

log = Logger(namespace="chatd.wamp")

#: Events for the session's topic kept until it first subscribes to it (a
#: ticket login's stored private messages come before WELCOME).
EARLY_MAX = 100


def _room_key(event) -> str:
    return fold(event.room)


@implementer(ISink)
class WampPeer(Opening, Topics, Calling):
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
        if event.room is not None and event.type != ev.READ:  # a read marker is the account's, not the room's
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
