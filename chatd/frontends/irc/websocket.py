# -*- test-case-name: tests.frontends.test_irc_websocket -*-
"""
IRC over WebSocket at C{/irc}, as the IRCv3 WebSocket specification has
it: one IRC line per message, without CR LF, in text frames
(C{text.ircv3.net}, or no subprotocol at all, which gamja and Kiwi IRC
send) or binary frames (C{binary.ircv3.net}).

The connection is a L{chatd.frontends.websocket.WebSocketMember} for
everything the JSON WebSocket already does right (the Origin check, the
frame limits, the outbox and its sendq, pings), and an
L{chatd.frontends.irc.connection.IrcConnection} for everything IRC.
"""

from typing import Dict, List, Tuple

from autobahn.websocket.protocol import PreparedMessage
from twisted.logger import Logger

from chatd.frontends import peers
from chatd.frontends.irc.connection import IrcConnection
from chatd.frontends.websocket import WebSocketMember, WebSocketMemberFactory
from chatd.wire import irc

log = Logger(namespace="chatd.irc")

TEXT = "text.ircv3.net"
BINARY = "binary.ircv3.net"

#: Longest IRC line accepted in one message: tags and the rest (L{irc.LineDecoder}'s limits).
MAX_LINE = 8191 + 512


class Framer:
    """An event's IRC lines as WebSocket messages, one per line: shared by every connection of a profile and framing."""

    def __init__(self, render, binary: bool) -> None:
        self.render = render
        self.binary = binary

    def frames(self, event) -> bytes:
        data = event.encoded(self.render)
        return b"".join(_frame(line, self.binary) for line in data.split(b"\r\n") if line)


_framers: Dict[Tuple[object, bool], Framer] = {}


def _framer(renderer, binary: bool) -> Framer:
    key = (renderer, binary)
    found = _framers.get(key)
    if found is None:
        found = _framers[key] = Framer(renderer.render, binary)
    return found


def _frame(line: bytes, binary: bool) -> bytes:
    return PreparedMessage(line, binary, False, True).payloadHybi


class IrcWebSocketMember(IrcConnection, WebSocketMember):
    """One browser IRC client (gamja, Kiwi IRC) on C{/irc}."""

    binary = False
    bytes_out = "bytes_out:irc"

    def onConnect(self, request):
        super().onConnect(request)  # the Origin check: refuses a foreign page with 403
        for protocol in request.protocols:
            if protocol in (TEXT, BINARY):
                self.binary = protocol == BINARY
                return protocol
        return None  # no subprotocol: text frames, as gamja and Kiwi IRC expect

    def onOpen(self) -> None:
        settings = self.settings = self.factory.settings
        secure = self.secure or peers.is_local(self.transport.getPeer())
        self.peer = self.address
        self.session = settings.hub.connect(self, peer=self.address, frontend="irc", host=self.host, secure=secure)
        log.info("irc websocket connection from {peer}", peer=self.address)
        self.start()

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        if self.session is None or self.session.closed:
            return
        if len(payload) > MAX_LINE:
            self.input_failed(irc.LineTooLongError("The line is over 8,703 bytes."))
            return
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            self.input_failed(irc.InvalidUTF8Line("The line is not UTF-8 text; send UTF-8."))
            return
        for line in text.replace("\r", "").split("\n"):
            if not line:
                continue
            rest = line.split(" ", 1)[1] if line.startswith("@") and " " in line else line
            if len(rest.encode("utf-8")) + 2 > 512:  # the limit a TCP client is held to (irc.LineDecoder)
                self.input_failed(irc.LineTooLongError("The line is over 512 bytes without its tags."))
                continue
            self.line_received(line, len(line.encode("utf-8")) + 2)

    def onClose(self, wasClean: bool, code, reason) -> None:
        self.stopped()
        if self.session is not None:
            self.session.close("Connection closed")
            log.info("irc websocket connection from {peer} closed", peer=self.address)

    def send(self, data: bytes) -> None:
        for line in data.split(b"\r\n"):
            if line:
                self._write(_frame(line, self.binary))

    def send_event(self, event) -> None:
        data = event.encoded(_framer(self.renderer, self.binary).frames)
        if data:
            self._write(data)

    # The IRC side's, not the JSON WebSocket's (which comes later in the MRO).
    deliver = IrcConnection.deliver
    disconnect = IrcConnection.disconnect

    def close_connection(self) -> None:
        if self.state == WebSocketMember.STATE_OPEN:
            self.sendCloseFrame(code=1000)
        elif self.state != WebSocketMember.STATE_CLOSED:
            self.dropConnection(abort=True)


class IrcWebSocketFactory(WebSocketMemberFactory):
    """The C{/irc} connections: the JSON WebSocket's limits and origins, IRC's settings."""

    protocol = IrcWebSocketMember

    def __init__(self, settings, config, reactor=None) -> None:
        super().__init__(settings.hub, config, reactor=reactor, turn=settings.turn)
        self.settings = settings
        self.send_limit = settings.send_limit

    def reload(self, old, new) -> List[str]:
        super().reload(old, new)
        return []
