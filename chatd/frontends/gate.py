# -*- test-case-name: tests.frontends.test_gate -*-
"""
Connection limits shared by every listener: per client address, in total,
and operator bans.  The admin socket has its own small cap instead
(L{OperatorGate}), so a server full of clients never locks its operators
out.

Counting happens when a TCP connection is accepted, before any protocol
work, so 10,000 connections from one address cost 10,000 accepts and
closes, not 10,000 sessions.  IPv6 clients are counted per /64, the block
one customer usually gets, so one host cannot dodge the limit by rotating
addresses.  (Twisted's own LimitConnectionsByPeer is broken on current
Twisted, twisted/twisted#12183.)

A trusted proxy's connection (C{[web] trusted_proxies}) carries clients
of many addresses: it counts in the total only, and each client behind
it is held to the per-address limit and the bans by its own address once
that is known (L{Gate.claim}): at each web request (L{GatedConnection}),
or at the PROXY protocol header (L{chatd.frontends.proxyheader}).
"""

import ipaddress
from collections import Counter
from typing import Callable, Optional

from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.protocols.policies import ProtocolWrapper, TimeoutFactory, WrappingFactory

from chatd.frontends.proxies import TrustedProxies

log = Logger(namespace="chatd.gate")


def address_key(host: str) -> str:
    """The unit a limit counts: an IPv4 address, or an IPv6 /64."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class Gate:
    """
    @param per_address: most open connections from one address (or /64).
    @param total: most open connections altogether.
    @param banned: optional callable, address -> True to refuse it.
    @param proxies: the trusted proxies ([web] trusted_proxies), whose
        word about a client's address every listener takes; a reload
        changes them in place.
    """

    def __init__(self, per_address: int, total: int, banned: Optional[Callable[[str], bool]] = None, stats=None,
                 proxies=()) -> None:
        self.per_address = per_address
        self.total = total
        self.banned = banned
        self.open: Counter = Counter()
        self.count = 0
        self.stats = stats if stats is not None else Counter()
        self.proxies = TrustedProxies(proxies)

    def admit(self, host: str) -> Optional[str]:
        """Count a new connection; return why it is refused, or C{None}."""
        if self.banned is not None and self.banned(host):
            return self._refused("banned")
        if self.count >= self.total:
            return self._refused("server-full")
        reason = self._count(host)
        if reason is None:
            self.count += 1
        return reason

    def admit_relay(self) -> Optional[str]:
        """Count a trusted proxy's connection, in the total only; return why it is refused, or C{None}."""
        if self.count >= self.total:
            return self._refused("server-full")
        self.count += 1
        return None

    def claim(self, host: str) -> Optional[str]:
        """
        Count a client behind a trusted proxy against its address's
        limit; return why it is refused (its address is banned, or has as
        many connections as it may), or C{None}.
        """
        if self.banned is not None and self.banned(host):
            return self._refused("banned")
        return self._count(host)

    def _count(self, host: str) -> Optional[str]:
        key = address_key(host)
        if self.open[key] >= self.per_address:
            return self._refused("too-many-connections")
        self.open[key] += 1
        return None

    def _refused(self, reason: str) -> str:
        self.stats["connections_refused:" + reason] += 1
        return reason

    def release(self, host: str) -> None:
        self.count -= 1
        self.unclaim(host)

    def release_relay(self) -> None:
        self.count -= 1

    def unclaim(self, host: str) -> None:
        key = address_key(host)
        self.open[key] -= 1
        if self.open[key] <= 0:
            del self.open[key]


MESSAGES = {
    "banned": "This address is banned from this server.",
    "server-full": "The server has as many connections as it allows; try again later.",
    "too-many-connections": "Too many connections from your address; close some and try again.",
}


class Refusal(Protocol):
    """Says why, once, and hangs up."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def connectionMade(self) -> None:
        self.transport.write(self.data)
        self.transport.loseConnection()


def lines_refusal(reason: str) -> bytes:
    return f"! {reason}: {MESSAGES[reason]}\r\n".encode()


def refusal_body(reason: str) -> bytes:
    """The JSON error a refused web client reads."""
    return f'{{"type":"error","code":"{reason}","message":"{MESSAGES[reason]}"}}'.encode()


def http_refusal(reason: str) -> bytes:
    body = refusal_body(reason)
    return (
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        b"Cache-Control: no-store\r\nConnection: close\r\nContent-Length: "
        + str(len(body)).encode() + b"\r\n\r\n" + body
    )


class GatedConnection(ProtocolWrapper):
    """
    A connection counted at the gate.  One from a trusted proxy
    (C{relayed}) counts in the total only; the clients of its requests
    are counted by their own addresses while they last (L{claim}).
    """

    #: The address counted for this connection (None: nothing, or a relay).
    gate_host: Optional[str] = None
    relayed = False

    def claim(self, host: str) -> Optional[str]:
        """Count C{host}, a client of this relayed connection; return why it is refused, or C{None}."""
        reason = self.factory.gate.claim(host)
        if reason is None:
            self.__dict__.setdefault("claims", []).append(host)
        return reason

    def unclaim(self, host: str) -> None:
        """That client's request is over (twice is harmless: the connection may have closed first)."""
        claims = self.__dict__.get("claims", [])
        if host in claims:
            claims.remove(host)
            self.factory.gate.unclaim(host)

    def released(self) -> None:
        """The connection is gone: give back everything it holds at the gate."""
        gate = self.factory.gate
        if self.relayed:
            self.relayed = False
            gate.release_relay()
            for host in self.__dict__.pop("claims", []):
                gate.unclaim(host)
        elif self.gate_host is not None:
            gate.release(self.gate_host)
            self.gate_host = None


class GatedFactory(WrappingFactory):
    """
    Wraps a listener's factory so its connections count against a L{Gate}.

    @param forwarded: whether the listener reads client addresses from a
        trusted proxy's requests (the web listener does): its connections
        are then relays (L{GatedConnection}).
    """

    protocol = GatedConnection
    noisy = False

    def __init__(self, gate: Gate, wrapped, refusal: Callable[[str], bytes], kind: str,
                 forwarded: bool = False) -> None:
        super().__init__(wrapped)
        self.gate = gate
        self.refusal = refusal
        self.kind = kind
        self.forwarded = forwarded

    def buildProtocol(self, addr):
        host = getattr(addr, "host", None)
        if host is None:
            return super().buildProtocol(addr)  # unix sockets: local operators
        relayed = self.forwarded and host in self.gate.proxies
        reason = self.gate.admit_relay() if relayed else self.gate.admit(host)
        if reason is not None:
            log.info("Refused a {kind} connection from {peer}{proxy}: {reason}", kind=self.kind, peer=host,
                     proxy=" (a trusted proxy)" if relayed else "", reason=reason)
            return Refusal(self.refusal(reason))
        protocol = super().buildProtocol(addr)
        if relayed:
            protocol.relayed = True
        else:
            protocol.gate_host = host
        return protocol

    def unregisterProtocol(self, protocol) -> None:
        super().unregisterProtocol(protocol)
        protocol.released()


#: The admin socket: operator connections open at once, and the seconds
#: one may stay silent before it is closed.
OPERATOR_CONNECTIONS = 16
OPERATOR_IDLE = 600


class OperatorGate(TimeoutFactory):
    """
    Wraps an operator listener (the admin socket): at most C{most}
    connections open at once, each closed after C{idle} seconds without a
    byte either way.  Not counted by the shared L{Gate}: an operator must
    get in to ban whoever fills it.
    """

    noisy = False

    def __init__(self, wrapped, most: int, idle: float, clock, kind: str = "admin") -> None:
        super().__init__(wrapped, timeoutPeriod=idle)
        self.most = most
        self.clock = clock
        self.kind = kind

    def callLater(self, period, func):
        return self.clock.callLater(period, func)

    def buildProtocol(self, addr):
        if len(self.protocols) >= self.most:
            log.info("Refused an {kind} connection: {most} are open already", kind=self.kind, most=self.most)
            return Refusal(
                f"error server-full: {self.most} {self.kind} connections are open already; "
                "close one and try again.\n".encode())
        return super().buildProtocol(addr)


def let_go(member) -> None:
    """
    A line or IRC connection ended: give its place at the gate back, and
    end its session, saying why (a reader too slow for its sendq, or just
    gone).
    """
    if member.gate_host is not None and member.factory.gate is not None:
        member.factory.gate.release(member.gate_host)
        member.gate_host = None
    if member.session is not None:
        why = "Connection closed"
        if member.outbox is not None and member.outbox.overflowed:
            why = "Too slow to receive messages"
        member.session.close(why)
