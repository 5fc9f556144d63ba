# -*- test-case-name: tests.frontends.test_wamp_websocket -*-
"""
WAMP over WebSocket at C{/wamp}: the subprotocols C{wamp.2.json} and
C{wamp.2.msgpack} and their batched forms, with Autobahn's serializers
and message classes (chatd writes no part of the WAMP wire format).

The connection is a L{chatd.frontends.websocket.WebSocketMember} for
everything the JSON WebSocket already does right (the Origin check, frame
and message limits, the outbox and its sendq, pings); the session is a
L{chatd.frontends.wamp.peer.WampPeer}.
"""

from typing import Dict, List

from autobahn.util import encode_truncate
from autobahn.wamp.exception import ProtocolError
from autobahn.wamp.serializer import JsonSerializer, MsgPackSerializer
from autobahn.wamp.websocket import parseSubprotocolIdentifier
from autobahn.websocket.protocol import PreparedMessage
from autobahn.websocket.types import ConnectionDeny
from twisted.logger import Logger

from chatd.frontends import peers
from chatd.frontends.wamp.peer import WampPeer
from chatd.frontends.wamp.router import Router, WampLimits
from chatd.frontends.websocket import WebSocketMember, WebSocketMemberFactory

log = Logger(namespace="chatd.wamp")

#: Close code of a normal end (RFC 6455 section 7.4.1).
NORMAL = 1000


def serializers() -> Dict[str, object]:
    """Autobahn's serializers chatd speaks, by the name in the subprotocol (C{wamp.2.<name>})."""
    return {
        "json": JsonSerializer(),
        "json.batched": JsonSerializer(batched=True),
        "msgpack": MsgPackSerializer(),
        "msgpack.batched": MsgPackSerializer(batched=True),
    }


def encoder(serializer):
    """A message as one complete WebSocket frame for C{serializer}'s clients."""

    def encode(msg) -> bytes:
        payload, binary = serializer.serialize(msg)
        return PreparedMessage(payload, binary, False, True).payloadHybi

    return encode


class WampMember(WebSocketMember):
    """One WAMP client's WebSocket connection: the transport of its L{WampPeer}."""

    peer = None
    serializer_name = "json"
    bytes_out = "bytes_out:wamp"

    def onConnect(self, request):
        super().onConnect(request)  # the Origin check: refuses a foreign page with 403
        for protocol in request.protocols:
            version, name = parseSubprotocolIdentifier(protocol)
            if version == 2 and name in self.factory.serializers:
                self.serializer_name = name
                return protocol
        log.info("Refused a WebSocket on /wamp from {peer}: it asked for no WAMP subprotocol ({asked})",
                 peer=self.address, asked=", ".join(request.protocols)[:200] or "none")
        raise ConnectionDeny(ConnectionDeny.BAD_REQUEST,
                             "This is WAMP: ask for the subprotocol wamp.2.json or wamp.2.msgpack.")

    def onOpen(self) -> None:
        secure = self.secure or peers.is_local(self.transport.getPeer())
        self.serializer = self.factory.serializers[self.serializer_name]
        self.peer = WampPeer(self.factory.router, self, self.serializer_name, self.address, self.host, secure)
        self.session = self.peer.session  # for the outbox's too-slow cut-off
        log.info("wamp connection from {peer} ({serializer})", peer=self.address, serializer=self.serializer_name)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        peer = self.peer
        if peer is None or peer.closed:
            return
        try:
            messages = self.serializer.unserialize(payload, isBinary)
        except ProtocolError as e:
            peer.abort("wamp.error.protocol_violation", f"That message is not WAMP: {e}")
            return
        for msg in messages:
            peer.received(msg, len(payload))

    def onClose(self, wasClean: bool, code, reason) -> None:
        if self.peer is not None:
            self.peer.lost("Connection closed")
            log.info("wamp connection from {peer} closed", peer=self.address)
        self._inbox.clear()

    # -- the peer's transport --------------------------------------------------------

    def write(self, frame: bytes) -> None:
        self._write(frame)

    def close(self, why: str) -> None:
        if self.state == self.STATE_OPEN:
            self.sendCloseFrame(code=NORMAL, reasonUtf8=encode_truncate(why, 123))
        elif self.state != self.STATE_CLOSED:
            self.dropConnection(abort=True)


class WampFactory(WebSocketMemberFactory):
    """Builds L{WampMember}s for the realm C{chatd}, with the limits of C{/ws}."""

    protocol = WampMember

    def __init__(self, hub, config, reactor=None, turn=None, clock=None, limits: WampLimits = None,
                 cluster=None) -> None:
        super().__init__(hub, config, reactor=reactor, turn=turn)
        self.serializers = serializers()
        encoders = {name: encoder(s) for name, s in self.serializers.items()}
        if clock is None:
            clock = reactor
        if clock is None:
            from twisted.internet import reactor as clock
        if limits is None:
            limits = WampLimits(call_timeout=config.web.wamp_call_timeout, pending_calls=config.web.wamp_pending_calls)
        self.router = Router(hub, clock, encoders, limits)
        if cluster is not None:
            from chatd.frontends.wamp.backplane import Backplane

            self.router.dealer.backplane = Backplane(cluster, self.router.dealer, clock)

    def reload(self, old, new) -> List[str]:
        """As /ws (sendq, allowed origins), and [wamp]'s limits for the calls that start from now on."""
        super().reload(old, new)
        limits = self.router.limits
        wanted = (new.web.wamp_call_timeout, new.web.wamp_pending_calls)
        if wanted == (limits.call_timeout, limits.pending_calls):
            return []
        limits.call_timeout, limits.pending_calls = wanted
        self.router.dealer.call_timeout = limits.call_timeout
        return [f"[wamp] call_timeout = {wanted[0]}, pending_calls = {wanted[1]} for new calls"]
