# -*- test-case-name: tests.frontends.test_irc_protocol -*-
"""
The IRC front end: irssi, WeeChat, HexChat and irc-framework on
C{[irc] listen}, and browser IRC clients (gamja, Kiwi IRC) at C{/irc} on
the web listener (L{chatd.frontends.irc.websocket}).

Bytes go through L{chatd.wire.irc.LineDecoder} and the handlers of
L{chatd.frontends.irc.commands} into core commands; events come back
rendered once per capability profile (L{chatd.frontends.irc.render}).
docs/irc.md says what clients see.
"""

import time
import weakref
from dataclasses import dataclass, field
from typing import Callable, List, Optional

from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from zope.interface import implementer

from chatd.core.interfaces import ISink
from chatd.frontends import peers
from chatd.frontends.gate import MESSAGES, Refusal, let_go
from chatd.frontends.handshake import is_secure
from chatd.frontends.irc.connection import IrcConnection
from chatd.frontends.outbox import Outbox, SendLimit, SendLimited
from chatd.frontends.registry import Built, FrontEnd
from chatd.wire import irc

log = Logger(namespace="chatd.irc")

#: Bytes without a line feed before a connection is closed (many times the longest line).
UNTERMINATED_MAX = 65536


@dataclass
class IrcSettings:
    """What every IRC connection of one daemon shares; a reload changes it in place."""

    hub: object
    clock: object
    server: str
    network: str
    motd: Callable[[], str]
    ping_interval: float = 90
    ping_timeout: float = 60
    registration_timeout: float = 60
    started: float = field(default_factory=time.time)
    turn: object = None
    send_limit: SendLimit = field(default_factory=lambda: SendLimit(262144))
    #: [server] motd as configured now (a reload changes it); C{motd} reads it.
    motd_text: str = ""


_settings: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def settings_for(config, shared) -> IrcSettings:
    """The one L{IrcSettings} of a daemon's hub (the IRC listeners and C{/irc} share it)."""
    hub = shared.hub
    found = _settings.get(hub)
    if found is None:
        found = _settings[hub] = IrcSettings(
            hub=hub, clock=hub.clock, server=hub.name, network=config.irc.network or hub.name,
            motd=lambda: found.motd_text, turn=shared.turn,
        )
    apply(found, config)
    return found


def apply(settings: IrcSettings, config) -> None:
    settings.network = config.irc.network or settings.server
    settings.ping_interval = config.irc.ping_interval
    settings.ping_timeout = config.irc.ping_timeout
    settings.registration_timeout = config.registration_timeout
    settings.motd_text = config.motd
    settings.send_limit.bytes = config.sendq


@implementer(ISink)
class IrcMember(IrcConnection, Protocol):
    """One IRC client on a TCP or TLS connection."""

    outbox: Optional[Outbox] = None
    gate_host: Optional[str] = None

    def connectionMade(self) -> None:
        self.unterminated = 0  # set before start(), with the others (see IrcConnection.start)
        settings = self.settings = self.factory.settings
        address = self.transport.getPeer()
        self.peer = peers.describe(address)
        self.decoder = irc.LineDecoder()
        self.outbox = Outbox(self.transport, settings.send_limit, self._too_slow, settings.turn,
                             settings.hub.stats, "bytes_out:irc")
        secure = peers.is_local(address) or is_secure(self.transport)
        self.session = settings.hub.connect(self, peer=self.peer, frontend="irc", host=peers.host_of(address),
                                            secure=secure)
        log.info("irc connection from {peer}", peer=self.peer)
        self.start()

    #: Bytes received since the last line feed: past L{UNTERMINATED_MAX}, the connection is closed.
    unterminated = 0

    def dataReceived(self, data: bytes) -> None:
        if b"\n" in data:
            self.unterminated = len(data) - data.rfind(b"\n") - 1
        else:
            self.unterminated += len(data)
            if self.unterminated > UNTERMINATED_MAX:
                self.disconnect(f"You sent over {UNTERMINATED_MAX} bytes without a line end.")
                return
        for item in self.decoder.feed(data):
            if self.session is None or self.session.closed:
                return
            if isinstance(item, str):
                self.line_received(item, len(item) + 2)
            else:
                self.input_failed(item)

    def send(self, data: bytes) -> None:
        if self.outbox is not None:
            self.outbox.write(data)

    def send_event(self, event) -> None:
        data = event.encoded(self.renderer.render)
        if data and self.outbox is not None:
            self.outbox.write(data)

    def close_connection(self) -> None:
        if self.outbox is not None:
            self.outbox.loseConnection()

    def _too_slow(self, queued: int) -> None:
        self.settings.hub.stats["slow_dropped"] += 1
        log.warn("Disconnecting {nick} ({peer}): over {bound} bytes waiting to be sent; it reads too slowly",
                 nick=self.session.logname if self.session else "a client", peer=self.peer,
                 bound=self.settings.send_limit.bytes)

    def connectionLost(self, reason) -> None:
        self.stopped()
        let_go(self)
        log.info("irc connection from {peer} closed", peer=getattr(self, "peer", "?"))


class IrcFactory(SendLimited, Factory):
    """Builds L{IrcMember}s; connections count against the gate here, as line connections do."""

    protocol = IrcMember
    noisy = False
    gate = None

    def __init__(self, settings: IrcSettings) -> None:
        self.settings = settings
        self.send_limit = settings.send_limit

    def buildProtocol(self, addr, gated: bool = True):
        """A connection, counted against the gate (C{gated=False}: the line port counted it already)."""
        host = getattr(addr, "host", None)
        if gated and self.gate is not None and host is not None:
            reason = self.gate.admit(host)
            if reason is not None:
                log.info("Refused an irc connection from {peer}: {reason}", peer=host, reason=reason)
                return Refusal(irc_refusal(reason))
        member = super().buildProtocol(addr)
        member.gate_host = host if gated else None
        return member


def irc_refusal(reason: str) -> bytes:
    """What a refused IRC client reads before the connection closes."""
    return irc.line("ERROR", f"Closing link: {reason}: {MESSAGES[reason]}").encode() + b"\r\n"


def build(config, shared) -> Built:
    """The IRC front end on every C{[irc] listen} endpoint (behind a TCP load balancer with C{proxy_protocol})."""
    settings = settings_for(config, shared)
    factory = IrcFactory(settings)
    factory.gate = shared.gate

    def reload(old, new) -> List[str]:
        apply(settings, new)
        return ["irc settings updated"] if (old.irc, old.motd) != (new.irc, new.motd) else []

    from chatd.frontends.proxyheader import behind_balancer

    return behind_balancer(factory, reload, config.irc.proxy_protocol, "[irc] proxy_protocol", shared, "irc",
                           irc_refusal)


FRONT_END = FrontEnd("irc", lambda config: config.irc_listeners(), build)

__all__ = ["FRONT_END", "IrcMember", "IrcFactory", "IrcSettings", "settings_for"]
