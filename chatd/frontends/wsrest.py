# -*- test-case-name: tests.frontends.test_idle_memory -*-
"""
What an open WebSocket connection keeps, and no more.

Autobahn gives every connection about a hundred attributes: a copy of
each of its factory's 29 options, the opening handshake's request,
headers and response, a send queue, a UTF-8 validator, traffic counters,
two Deferreds, and dozens of flags that stay at their first value while
the connection is idle.  More than 29 names overflow the key table
CPython shares among a class's instances, so each connection also got a
hash table of its own, sized for all of them: 11.8 KiB per idle
WebSocket at 10,000 connections (docs/performance.md, "Memory").

Here:

  - L{with_options}: the options live on a class made for each factory
    (Autobahn copies an option only when the connection does not have it
    already);
  - L{AtRest}: once the connection is open, its attributes are rebuilt
    without what only the handshake reads and without whatever equals
    the class-level value it falls back to (again when the auto-ping
    finds it idle); the send queue, the UTF-8 validator and the close
    Deferred are made the first time something uses them; a frame's
    unmasker goes once the frame is handled; the traffic counters, which
    nothing reads, are one object for every connection.

Which attributes Autobahn reads after the handshake was checked against
its source (26.10); tests/frontends/test_idle_memory.py fails when
an Autobahn that reads them differently comes along.
"""

from collections import deque

import txaio
from autobahn.websocket.protocol import TrafficStats, WebSocketProtocol
from autobahn.websocket.utf8validator import Utf8Validator

#: Set during the opening handshake, read by nothing once it succeeded.
HANDSHAKE_ONLY = frozenset({
    "_wskey", "http_headers", "http_request_data", "http_request_host", "http_request_params",
    "http_request_path", "http_request_uri", "http_response_data", "http_status_line",
    "websocket_extensions", "websocket_origin", "websocket_protocols", "is_open", "_transport_details",
})

#: Autobahn's per-connection attributes and the value each keeps while
#: nothing is being received, closed or timed: the class holds these, a
#: connection only what differs.  (Autobahn sets every one of them again
#: before it reads it, or reads it as this value.)
AT_REST = {
    "_isMessageCompressed": False, "_perMessageCompress": None, "_transport_details": None,
    "autoPingPending": None, "autoPingPendingSent": None, "autoPingPendingSeq": 0,
    "autoPingTimeoutCall": None, "closeHandshakeTimeoutCall": None, "openHandshakeTimeoutCall": None,
    "closedByMe": False, "droppedByMe": False, "failedByMe": False, "wasClean": False,
    "wasNotCleanReason": None, "wasCloseHandshakeTimeout": False, "wasMaxFramePayloadSizeExceeded": False,
    "wasMaxMessagePayloadSizeExceeded": False, "wasOpenHandshakeTimeout": False,
    "wasServerConnectionDropTimeout": False, "wasServingFlashSocketPolicyFile": False,
    "localCloseCode": None, "localCloseReason": None, "remoteCloseCode": None, "remoteCloseReason": None,
    "current_frame": None, "current_frame_masker": None, "frame_data": None, "frame_length": 0,
    "inside_message": False, "message_data": None, "message_data_total_length": 0, "message_is_binary": False,
    "utf8validateIncomingCurrentMessage": True, "utf8validateLast": (True, True, 0, 0),
    "data": b"", "send_state": WebSocketProtocol.SEND_STATE_GROUND, "state": WebSocketProtocol.STATE_OPEN,
    "triggered": False, "trackedTimings": None, "websocket_protocol_in_use": None,
    "websocket_extensions_in_use": (), "websocket_version": 13, "connected": 1, "secure": False,
    "control_frame_data": None,
}

_ABSENT = object()
#: Empty containers a connection need not keep (made again when used).
_EMPTY_AT_REST = frozenset({"websocket_extensions_in_use", "send_queue"})
_UTF8_AT_REST = AT_REST["utf8validateLast"]


class MadeOnUse:
    """A per-connection object made the first time it is read, not for every connection."""

    def __init__(self, make) -> None:
        self.make = make
        self.name = ""

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.make()
        return value


class AtRest:
    """
    A mixin for an Autobahn server protocol: after the opening handshake,
    the connection keeps only the attributes that differ from the
    class-level values of L{AT_REST}; after each message and control
    frame, nothing of that frame's decoding.
    """

    #: Queued frames of Autobahn's own paced sends (chatd's outbox does the sending).
    send_queue = MadeOnUse(deque)
    #: Made for a text message; an idle connection gives it back when pinged.
    utf8validator = MadeOnUse(Utf8Validator)
    #: Made when something waits for the close, or at the close.
    is_closed = MadeOnUse(txaio.create_future)
    #: Autobahn's traffic counters, for all open connections together:
    #: nothing reads them, and a dozen counters each cost 300 bytes.
    trafficStats = TrafficStats()

    def __init__(self) -> None:
        super().__init__()
        # The event list of Autobahn's observable mixin: made again by on().
        del self.is_closed, self._valid_events, self._results

    def on(self, event, handler) -> None:
        if self._results is None:
            self.set_valid_events(["message"])
        super().on(event, handler)

    def connectionMade(self) -> None:
        super().connectionMade()
        self.is_open.addCallback(self._at_rest)

    def _at_rest(self, result):
        """The handshake is over: forget what only it needed."""
        self._rest(HANDSHAKE_ONLY)
        return result

    def _rest(self, forget=frozenset()) -> None:
        """
        Rebuild the connection's attributes without C{forget} and without
        what equals its class-level value (a dictionary never shrinks by
        itself: the one the handshake grew had room for a hundred).
        """
        idle = not self.inside_message
        kept = {}
        for name, value in self.__dict__.items():
            if name in forget or name == "trafficStats":
                continue
            rest = AT_REST.get(name, _ABSENT)
            if rest is not _ABSENT and type(value) is type(rest) and value == rest:
                continue
            if name in _EMPTY_AT_REST and not value:
                continue
            if name == "utf8validator" and idle:
                continue
            kept[name] = value
        self.__dict__ = kept

    def _settled(self) -> None:
        """A frame is decoded and handled: its unmasker and UTF-8 state go."""
        self.current_frame_masker = None
        self.utf8validateLast = _UTF8_AT_REST

    def _onMessage(self, payload: bytes, isBinary: bool) -> None:
        self._settled()
        super()._onMessage(payload, isBinary)

    def _onPing(self, payload: bytes) -> None:
        self._settled()
        super()._onPing(payload)

    def _onPong(self, payload: bytes) -> None:
        """
        A pong to Autobahn's auto-ping, sent after C{ping_interval} seconds
        without a frame from the client: an idle connection gives back what
        its last messages left (the UTF-8 validator, a dictionary grown for
        their decoding).
        """
        self._settled()
        if not self.inside_message:
            self._rest()
        super()._onPong(payload)


for _name, _value in AT_REST.items():
    setattr(AtRest, _name, _value)


def with_options(protocol, factory):
    """
    A subclass of C{protocol} holding C{factory}'s Autobahn options as
    class attributes, so that no connection copies them.
    """
    options = {}
    for name in protocol.CONFIG_ATTRS:
        value = getattr(factory, name)
        # A function option (perMessageCompressionAccept) must not become a method.
        options[name] = staticmethod(value) if hasattr(type(value), "__get__") else value
    options["__module__"] = protocol.__module__
    options["__qualname__"] = protocol.__qualname__
    return type(protocol.__name__, (protocol,), options)
