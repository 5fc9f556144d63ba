# -*- test-case-name: tests.frontends.test_websocket -*-
"""
The WebSocket front end: one JSON command or event per text frame.

It is served by twisted.web at C{/ws} through Autobahn's
C{WebSocketResource} (L{chatd.frontends.web}), never by a stand-alone
listener: twisted.web reads the opening handshake with its capped HTTP
parser, and one port serves the page, the WebSocket and the JSON API.

Policy, in one place:

  - Every Autobahn limit is set from L{chatd.config.WebConfig}; Autobahn
    leaves them all off.  permessage-deflate offers are refused.
  - A frame or message over its limit closes that connection with 1009;
    malformed commands and binary frames get an C{error} and the
    connection stays usable; an exception is logged and answered with
    C{internal}.
  - A browser page may connect only from this server's own origin, or one
    listed in C{allowed_origins}; a client sending no Origin (not a
    browser) is accepted.
  - An event is framed once for every member (L{frame_of}, cached by
    L{chatd.core.events.Event.encoded}).  Every frame, control frames
    included, goes through the connection's L{Outbox}: a member that
    reads too slowly is cut off past C{sendq} bytes without delaying
    anyone else.  Its connection is aborted (a client that reads nothing
    would not read a close frame either); the reason is logged and is the
    quit reason others see.
  - Commands of one connection run one at a time, in order: while one
    waits for the store, reading from that client pauses.
  - Through a trusted proxy, the client's address is the one the proxy
    names in the opening handshake (L{chatd.frontends.proxies}), for the
    session, the logs and the bans.
"""

from typing import List, Optional

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.util import encode_truncate
from autobahn.websocket.protocol import PreparedMessage
from autobahn.websocket.types import ConnectionDeny
from twisted.internet.defer import fail
from twisted.logger import Logger
from zope.interface import implementer

from chatd.core import commands as cmd
from chatd.core.errors import Binary
from chatd.core.interfaces import ISink
from chatd.frontends import jsonapi
from chatd.frontends import peers, proxies
from chatd.frontends.handshake import hide_tls_from_autobahn, is_secure, origin_key, release_producer
from chatd.frontends.outbox import Outbox, SendLimit, SendLimited
from chatd.frontends.timerwheel import Wheel
from chatd.frontends.wsrest import AtRest, MadeOnUse, with_options
from chatd.wire import jsonproto

log = Logger(namespace="chatd.websocket")

#: Commands of one connection that may wait for the store at once.
PIPELINE = 64

#: Close code for a server shutdown or kick (RFC 6455 section 7.4.1).
GOING_AWAY = 1001

_OPEN = WebSocketServerProtocol.STATE_OPEN
_CLOSED = WebSocketServerProtocol.STATE_CLOSED


def _frame(payload: bytes) -> bytes:
    """A complete unmasked text frame carrying C{payload}."""
    return PreparedMessage(payload, False, False, True).payloadHybi


def frame_of(event) -> bytes:
    """
    The codec of L{chatd.core.events.Event.encoded}: the event's text frame.

    It reuses the event's shared JSON bytes, so a room's fan-out encodes
    and frames each event once, whatever the number of members.
    """
    return _frame(event.encoded(jsonproto.encode_event))


def _error(code: str, message: str) -> bytes:
    return _frame(jsonproto.encode(jsonproto.error(code, message)))


_BINARY = cmd.Refused(error=Binary(
    "Binary frames are not part of the protocol; send each command as JSON in a text frame."))
_INTERNAL = _error("internal", "The server failed to handle this frame; it has been logged.")


@implementer(ISink)
class WebSocketMember(AtRest, WebSocketServerProtocol):
    """
    One WebSocket connection: a core session's sink.  Once open, it keeps
    no more of Autobahn's state than it needs (L{chatd.frontends.wsrest}).
    """

    session = None
    outbox: Optional[Outbox] = None
    _paused = False
    #: Commands not yet answered, in order: made for a command, dropped once all are answered.
    _inbox = MadeOnUse(list)
    #: The front end its bytes count for in C{chatd_bytes_out_total}.
    bytes_out = "bytes_out:websocket"

    # -- connection --------------------------------------------------------

    def connectionMade(self) -> None:
        self.secure = is_secure(self.transport)
        hide_tls_from_autobahn(self.transport)
        super().connectionMade()
        self.address = peers.describe(self.transport.getPeer())
        self.host = peers.host_of(self.transport.getPeer())
        release_producer(self.transport)
        factory = self.factory
        self.outbox = Outbox(
            self.transport, factory.send_limit, self._too_slow, factory.turn, factory.hub.stats, self.bytes_out
        )

    def onConnect(self, request) -> None:
        """Take the client's address from a trusted proxy; refuse a browser page from a foreign origin (403)."""
        found = proxies.handshake_client(self.transport.getPeer(), request, self.factory.proxies)
        if found is not None:
            self.address, self.host = found.describe(), found.host
        origin = request.headers.get("origin")
        if origin is None:
            return None  # not a browser: nothing to protect against
        try:
            key = origin_key(origin)
            scheme = "https" if self.secure else "http"
            own = origin_key(f"{scheme}://{request.headers.get('host', '')}")
        except Exception:
            log.failure("Origin check failed for {peer}; refused with 500", peer=self.address)
            raise ConnectionDeny(ConnectionDeny.INTERNAL_SERVER_ERROR, "Internal Server Error")
        if key is not None and (key == own or key in self.factory.allowed_origins):
            return None
        log.info(
            "Refused a WebSocket from {peer}: origin {origin!r} is not this site ({host!r}) nor allowed",
            peer=self.address,
            origin=origin[:200],
            host=request.headers.get("host", "")[:200],
        )
        raise ConnectionDeny(ConnectionDeny.FORBIDDEN, "Forbidden: cross-origin WebSocket refused")

    def onOpen(self) -> None:
        factory = self.factory
        secure = self.secure or peers.is_local(self.transport.getPeer())
        self.session = factory.hub.connect(self, peer=self.address, frontend="websocket", host=self.host,
                                           secure=secure)
        log.info("websocket connection from {peer}", peer=self.address)
        self._write(factory.welcome)

    def onClose(self, wasClean: bool, code, reason) -> None:
        if self.session is not None:
            # A client's close reason is its quit message (the core cleans it).
            why = self.remoteCloseReason if wasClean and self.remoteCloseReason else "Connection closed"
            self.session.close(why)
            log.info("websocket connection from {peer} closed", peer=self.address)
        self._inbox.clear()

    def connectionLost(self, reason) -> None:
        super().connectionLost(reason)
        # Autobahn keeps this timer when the peer drops the TCP connection
        # during our closing handshake; it would fire into a dead protocol.
        call, self.closeHandshakeTimeoutCall = getattr(self, "closeHandshakeTimeoutCall", None), None
        if call is not None:
            call.cancel()

    # -- output ------------------------------------------------------------

    def sendData(self, data, sync=False, chopsize=None) -> None:
        """
        Autobahn's own bytes (handshake answer, pings, pongs, close frames)
        go through the outbox too, after our queued frames: every byte
        queued for a client counts against its sendq.  (chatd never asks
        Autobahn to chop or pace writes.)
        """
        if self.outbox is None:
            super().sendData(data, sync, chopsize)
        else:
            self.outbox.write_now(data)

    def onPing(self, payload: bytes) -> None:
        """
        Pong through the outbox, with no grace past sendq: a client that
        pings without reading the answers is cut off at its bound (pongs
        that bypassed it once let a ping flood take hundreds of MiB).
        """
        if self.state == _OPEN and self.outbox is not None:
            # A control frame's payload is at most 125 bytes (RFC 6455 5.5).
            self.outbox.write_now(bytes((0x8A, len(payload))) + payload, strict=True)

    def _write(self, frame: bytes) -> None:
        """Queue one complete data frame; dropped once the connection closes."""
        if self.state == _OPEN and self.outbox is not None:
            self.outbox.write(frame)

    def _too_slow(self, queued: int) -> None:
        self.factory.hub.stats["slow_dropped"] += 1
        reason = f"too slow: outgoing buffer over {self.factory.sendq} bytes"
        log.warn(
            "Disconnecting {nick} ({peer}): {reason}",
            nick=self.session.logname if self.session else "a client",
            peer=self.address,
            reason=reason,
        )
        if self.session is not None:
            self.session.close(reason)

    def deliver(self, event) -> None:
        try:
            self._write(event.encoded(frame_of))
        except Exception:
            log.failure("Could not deliver a {type} event to {peer}", type=event.type, peer=self.address)

    def disconnect(self, reason: str) -> None:
        """Tell the client why (a C{shutdown} object and close 1001), then close."""
        try:
            self._write(_frame(jsonproto.encode({"type": "shutdown", "reason": reason})))
            if self.state == _OPEN:
                self.sendCloseFrame(code=GOING_AWAY, reasonUtf8=encode_truncate(reason, 123))
            elif self.state != _CLOSED:
                self.dropConnection(abort=True)
            if self.session is not None:
                # After the close frame: answers to commands that will never
                # run (held by flood control) would only follow the reason.
                self.session.close(reason)
        except Exception:
            log.failure("Could not disconnect {peer} cleanly; aborting", peer=self.address)
            self.transport.abortConnection()

    # -- input -------------------------------------------------------------

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        """
        Hand the command to flood control, which runs it now or, for a
        client going faster than the flood rate, later; replies go out in
        command order.  Several commands may be waiting for the store at
        once (so one sender's messages share group commits); past
        L{PIPELINE} of them, reading from this client pauses until half
        have been answered.  Commands held by flood control do not pause
        reading: they count against the session's C{recvq} instead.
        """
        slot: List = [None]
        self._inbox.append(slot)
        self._handle(payload, isBinary).addCallback(self._settle, slot)
        if self._running() > PIPELINE and not self._paused:
            self._paused = True
            self.transport.pauseProducing()

    def _running(self) -> int:
        """Commands sent but not answered, less those flood control holds."""
        held = self.session.held if self.session is not None else 0
        return len(self.__dict__.get("_inbox", ())) - held

    def _settle(self, frames: List[bytes], slot: List) -> None:
        slot[0] = frames
        inbox = self._inbox
        while inbox and inbox[0][0] is not None:
            for frame in inbox.pop(0)[0]:
                self._write(frame)
        if not inbox:
            del self._inbox
        if self._paused and self._running() <= PIPELINE // 2 and self.state != _CLOSED:
            self._paused = False
            self.transport.resumeProducing()

    def _handle(self, payload: bytes, isBinary: bool):
        """A Deferred firing with the frames that answer this one."""
        if isBinary:
            d = jsonapi.execute(self.session, _BINARY, None, len(payload))
        else:
            try:
                d = jsonapi.run(self.session, payload)
            except Exception:
                d = fail()
        return d.addCallback(lambda replies: [_frame(reply) for reply in replies]).addErrback(self._internal)

    def _internal(self, failure) -> List[bytes]:
        log.failure("Failed to handle a frame from {peer}; the client got an 'internal' error", failure, peer=self.address)
        return [_INTERNAL]


class WebSocketMemberFactory(SendLimited, WebSocketServerFactory):
    """
    Builds L{WebSocketMember}s sharing one hub, with every Autobahn limit
    taken from C{config.web}.

    @param config: the whole L{chatd.config.Config} (C{sendq} is shared
        with the line front end).
    """

    protocol = WebSocketMember
    noisy = False

    def __init__(self, hub, config, reactor=None, turn=None) -> None:
        super().__init__(server="chatd", reactor=reactor)
        #: Autobahn's per-connection timers (pings, timeouts), a few dozen bytes each.
        self.timers = self._batched_timer = Wheel(self.reactor)
        web = config.web
        limits = {
            "maxFramePayloadSize": web.max_frame,
            "maxMessagePayloadSize": web.max_message,
            "maxConnections": web.max_connections,
            "autoPingInterval": web.ping_interval,
            "autoPingTimeout": web.ping_timeout,
            "openHandshakeTimeout": web.open_handshake_timeout,
            "closeHandshakeTimeout": web.close_handshake_timeout,
        }
        for name, value in limits.items():
            if not value > 0:
                raise ValueError(f"WebSocket limit {name} is {value!r}; 0 would switch it off.")
        if not config.sendq > 0:
            raise ValueError(f"sendq is {config.sendq!r}; 0 would switch it off.")
        self.setProtocolOptions(
            webStatus=False,
            failByDrop=False,  # send the close code (1009, 1002) before closing
            perMessageCompressionAccept=lambda offers: None,
            allowedOrigins=["*"],  # checked in WebSocketMember.onConnect
            allowNullOrigin=True,  # likewise: "null" is refused there with 403
            **limits,
        )
        self.hub = hub
        self.turn = turn
        #: The send-queue bound, shared by every connection (a reload reaches them all).
        self.send_limit = SendLimit(config.sendq)
        self.allowed_origins = frozenset(self.origin_keys(web.allowed_origins))
        #: Whose word about a client's address is taken (the service shares the gate's, reloaded in place).
        self.proxies = proxies.TrustedProxies(web.trusted_proxies)
        self.max_frame = web.max_frame
        self._welcome = (None, b"")

    def setProtocolOptions(self, **options) -> None:
        """Autobahn's options, held by a protocol class of this factory's rather than copied to every connection."""
        super().setProtocolOptions(**options)
        self.protocol = with_options(type(self).protocol, self)

    @property
    def welcome(self) -> bytes:
        """The welcome frame, with the limits in force (encoded again only after a reload changes them)."""
        rules, frame = self._welcome
        if rules is not self.hub.rules:
            rules = self.hub.rules
            frame = _frame(jsonproto.encode(jsonproto.welcome(
                self.hub.name, jsonproto.limits(rules, frame=self.max_frame), "websocket")))
            self._welcome = (rules, frame)
        return frame

    def reload(self, old, new) -> List[str]:
        """A reload: sendq applies to every connection; allowed origins to new handshakes."""
        self.sendq = new.sendq
        if new.web.allowed_origins == old.web.allowed_origins:
            return []
        try:
            self.allowed_origins = frozenset(self.origin_keys(new.web.allowed_origins))
        except ValueError as e:
            return [f"error: [web] allowed_origins not changed: {e}"]
        return ["allowed origins updated"]

    @staticmethod
    def origin_keys(origins):
        for origin in origins:
            key = origin_key(origin)
            if key is None:
                raise ValueError(f"[web] allowed_origins: {origin!r} is not an origin like https://chat.example:8443")
            yield key
