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
"""

import ipaddress
from collections import Counter
from typing import Callable, Optional

from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.protocols.policies import ProtocolWrapper, TimeoutFactory, WrappingFactory

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
    """

    def __init__(self, per_address: int, total: int, banned: Optional[Callable[[str], bool]] = None, stats=None) -> None:
        self.per_address = per_address
        self.total = total
        self.banned = banned
        self.open: Counter = Counter()
        self.count = 0
        self.stats = stats if stats is not None else Counter()

    def admit(self, host: str) -> Optional[str]:
        """Count a new connection; return why it is refused, or C{None}."""
        key = address_key(host)
        if self.banned is not None and self.banned(host):
            reason = "banned"
        elif self.count >= self.total:
            reason = "server-full"
        elif self.open[key] >= self.per_address:
            reason = "too-many-connections"
        else:
            self.open[key] += 1
            self.count += 1
            return None
        self.stats["connections_refused:" + reason] += 1
        return reason

    def release(self, host: str) -> None:
        key = address_key(host)
        self.count -= 1
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


def http_refusal(reason: str) -> bytes:
    body = f'{{"type":"error","code":"{reason}","message":"{MESSAGES[reason]}"}}'.encode()
    return (
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        b"Cache-Control: no-store\r\nConnection: close\r\nContent-Length: "
        + str(len(body)).encode() + b"\r\n\r\n" + body
    )


class GatedFactory(WrappingFactory):
    """Wraps a listener's factory so its connections count against a L{Gate}."""

    protocol = ProtocolWrapper
    noisy = False

    def __init__(self, gate: Gate, wrapped, refusal: Callable[[str], bytes], kind: str) -> None:
        super().__init__(wrapped)
        self.gate = gate
        self.refusal = refusal
        self.kind = kind
        self._hosts: dict = {}

    def buildProtocol(self, addr):
        host = getattr(addr, "host", None)
        if host is None:
            return super().buildProtocol(addr)  # unix sockets: local operators
        reason = self.gate.admit(host)
        if reason is not None:
            log.info("Refused a {kind} connection from {peer}: {reason}", kind=self.kind, peer=host, reason=reason)
            return Refusal(self.refusal(reason))
        protocol = super().buildProtocol(addr)
        self._hosts[protocol] = host
        return protocol

    def unregisterProtocol(self, protocol) -> None:
        super().unregisterProtocol(protocol)
        host = self._hosts.pop(protocol, None)
        if host is not None:
            self.gate.release(host)


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
