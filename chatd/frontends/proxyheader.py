# -*- test-case-name: tests.frontends.test_proxy_protocol -*-
"""
HAProxy's PROXY protocol on the line and IRC listeners (C{[lines]} and
C{[irc] proxy_protocol = v1 | v2}): a TCP load balancer names the client
in a header before the client's first byte.

Twisted decodes the header (C{twisted.protocols.haproxy}'s parsers).  Its
wrapper (C{proxyEndpoint}) is not used: it believes any peer, and starts
the wrapped protocol before the header has arrived, so a line user would
be greeted, counted and logged as the balancer.  Here, on a listener
that expects the header:

  - a connection from a trusted proxy (the gate's C{proxies}) counts in
    the gate's total only, and must begin with a header of the expected
    version within L{HEADER_TIMEOUT} seconds; the client's protocol is
    built only then, for the address the header names, and counted at
    the gate by it (per-address limit, bans).  A header that names no
    client (C{PROXY UNKNOWN}, a v2 C{LOCAL} health check) leaves the
    balancer as the client.  Anything else is closed and logged.
  - a connection from anyone else is served as it is, from its own
    address, at once; if it begins with a PROXY header it is trying to
    pass for someone else, or is a balancer missing from
    C{[web] trusted_proxies}: it is closed and logged with a warning.

The wrapper sits outside TLS (the header comes before the handshake).
"""

import struct
from typing import Callable, Optional

from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.protocols.haproxy._exceptions import InvalidProxyHeader
from twisted.protocols.haproxy._v1parser import V1Parser
from twisted.protocols.haproxy._v2parser import V2Parser
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.protocols.tls import TLSMemoryBIOFactory
from zope.interface import directlyProvides, providedBy

from chatd.frontends.gate import Refusal
from chatd.frontends.proxies import Client, parse_ip

log = Logger(namespace="chatd.proxy")

#: Seconds a trusted proxy's connection may take to send its header.
HEADER_TIMEOUT = 10

V1 = b"PROXY "
V2 = V2Parser.PREFIX
#: Longest v1 header, CR LF included (the specification's 107 bytes).
V1_MAX = 107


class BadHeader(Exception):
    """The connection's first bytes are not the header expected; the message says how, for the log."""


def _could_be(data: bytes, signature: bytes) -> bool:
    """Whether C{data} begins with C{signature}, or is the start of it."""
    return data[:len(signature)] == signature[:len(data)]


def _version_of(data: bytes) -> Optional[str]:
    """C{v1} or C{v2} for the start of a header of that version; C{None} for anything else."""
    if _could_be(data, V1):
        return "v1"
    if _could_be(data, V2):
        return "v2"
    return None


def read_header(data: bytes, version: str):
    """
    Decode the header at the start of C{data}: C{(client, rest)}, where
    client is a L{Client} or C{None} (the header names nobody), and rest
    the bytes after it; C{None} while the header is incomplete.

    @raise BadHeader: it is not a header of C{version}.
    """
    sent = _version_of(data)
    if sent != version:
        if sent is None:
            raise BadHeader(f"it did not begin with a PROXY protocol {version} header")
        raise BadHeader(f"it sent a PROXY protocol {sent} header; this listener expects {version}")
    if version == "v1":
        end = data.find(b"\r\n", 0, V1_MAX)
        if end < 0:
            if len(data) >= V1_MAX:
                raise BadHeader(f"its PROXY protocol v1 header has no line end within {V1_MAX} bytes")
            return None
        line, rest = data[:end], data[end + 2:]
        if line == b"PROXY UNKNOWN" or line.startswith(b"PROXY UNKNOWN "):
            return None, rest  # Twisted's parser wants addresses after UNKNOWN; the specification does not
        parse = V1Parser.parse
    else:
        if len(data) < 16:
            return None
        if data[12] >> 4 != 2:
            raise BadHeader("its PROXY protocol v2 header is not version 2")
        size = 16 + struct.unpack("!H", data[14:16])[0]
        if len(data) < size:
            return None
        line, rest = data[:size], data[size:]
        parse = V2Parser.parse
    try:
        info = parse(line)
    except (InvalidProxyHeader, ValueError, KeyError) as e:
        raise BadHeader(f"its PROXY protocol {version} header is malformed ({type(e).__name__})")
    return _client(info.source, version), rest


def _client(source, version: str) -> Optional[Client]:
    """The client a parsed header names, checked (Twisted's v1 parser takes any text for an address)."""
    host = getattr(source, "host", None)
    if host is None or getattr(source, "type", "TCP") != "TCP":
        return None  # UNKNOWN, LOCAL, a unix socket or UDP: the balancer speaks for itself
    ip = parse_ip(host)
    port = getattr(source, "port", -1)
    if ip is None or not 0 <= port <= 65535:
        raise BadHeader(f"its PROXY protocol {version} header names no valid client address")
    return Client(str(ip), port)


class ProxyHeaderReader(ProtocolWrapper):
    """
    One connection of a listener that expects PROXY headers: a trusted
    proxy's (C{relayed}) until its header is read, then its client's; or
    a direct client's, watched for a header it must not send.
    """

    #: The client the header named, as a Twisted address (None: the peer itself).
    client = None
    _timer = None

    def __init__(self, factory: "ProxyHeaderFactory", wrappedProtocol, relayed: bool = False) -> None:
        super().__init__(factory, wrappedProtocol)
        self.relayed = relayed
        #: Bytes held until the header is read (or ruled out); None after.
        self.held: Optional[bytes] = b""

    def logPrefix(self) -> str:
        return f"{self.factory.kind} (PROXY)"

    def makeConnection(self, transport) -> None:
        if not self.relayed:
            super().makeConnection(transport)  # a direct client starts now
            return
        directlyProvides(self, providedBy(transport))
        Protocol.makeConnection(self, transport)
        self.factory.registerProtocol(self)
        self._timer = self.factory.clock.callLater(HEADER_TIMEOUT, self._timed_out)

    def getPeer(self):
        return self.client if self.client is not None else self.transport.getPeer()

    def dataReceived(self, data: bytes) -> None:
        if self.held is None:
            self.wrappedProtocol.dataReceived(data)
            return
        data = self.held + data
        if self.relayed:
            self._header(data)
        else:
            self._watch(data)

    def _watch(self, data: bytes) -> None:
        """A direct client: pass its bytes on, unless they are (or could be) a PROXY header."""
        sent = _version_of(data)
        if sent is None:
            self.held = None
            self.wrappedProtocol.dataReceived(data)
        elif len(data) >= len(V1 if sent == "v1" else V2):
            log.warn("Closed {connection} from {peer}: it sent a PROXY protocol header, but it is not in "
                     "[web] trusted_proxies (a client passing for another, or a proxy missing from that list)",
                     connection=self.factory.connection, peer=self.transport.getPeer().host)
            self.held = None
            self.transport.abortConnection()
        else:
            self.held = data

    def _header(self, data: bytes) -> None:
        """A trusted proxy: read its header, then start its client's protocol."""
        try:
            found = read_header(data, self.factory.version)
        except BadHeader as e:
            self._refuse(str(e))
            return
        if found is None:
            self.held = data
            return
        client, rest = found
        self.held = None
        self._stop_timer()
        if client is not None:
            self.client = client.address(via=self.transport.getPeer())
        self.relayed = False
        self.factory.gate.release_relay()  # counted again below, by the client's own address
        inner = self.factory.wrappedFactory.buildProtocol(self.getPeer())
        if inner is None:
            self.transport.loseConnection()
            return
        self.wrappedProtocol = inner
        inner.makeConnection(self)
        if rest and self.transport is not None and not self.disconnecting:
            inner.dataReceived(rest)

    def _refuse(self, why: str) -> None:
        log.warn("Closed {connection} from the trusted proxy {peer}: {why} ([{kind}] proxy_protocol = {version})",
                 connection=self.factory.connection, kind=self.factory.kind, peer=self.transport.getPeer().host,
                 why=why, version=self.factory.version)
        self.held = None
        self.transport.abortConnection()

    def _timed_out(self) -> None:
        self._timer = None
        self._refuse(f"no PROXY protocol header within {HEADER_TIMEOUT} seconds")

    def _stop_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def connectionLost(self, reason) -> None:
        self._stop_timer()
        if self.relayed:  # gone before its header: no client was built
            self.relayed = False
            self.factory.gate.release_relay()
        if self.wrappedProtocol is None:
            self.factory.unregisterProtocol(self)
            return
        super().connectionLost(reason)


class ProxyHeaderFactory(WrappingFactory):
    """
    Wraps a line or IRC listener's factory (outside TLS) to read PROXY
    headers from trusted proxies.

    @param version: C{v1} or C{v2}, the header expected.
    @param gate: the connection gate, whose C{proxies} are trusted.
    @param refusal: the listener's words for a refused connection.
    @param kind: the listener's section, for logs (C{lines}, C{irc}).
    """

    protocol = ProxyHeaderReader
    noisy = False

    def __init__(self, wrapped, version: str, gate, clock, kind: str, refusal: Callable[[str], bytes]) -> None:
        super().__init__(wrapped)
        self.version = version
        self.gate = gate
        self.clock = clock
        self.kind = kind
        #: For log lines: "a lines connection", "an irc connection".
        self.connection = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} connection"
        self.refusal = refusal

    def buildProtocol(self, addr):
        host = getattr(addr, "host", None)
        if host is None or host not in self.gate.proxies:
            inner = self.wrappedFactory.buildProtocol(addr)  # counted at the gate by its own address
            return None if inner is None else self.protocol(self, inner)
        reason = self.gate.admit_relay()
        if reason is not None:
            log.info("Refused {connection} from the trusted proxy {peer}: {reason}", connection=self.connection,
                     peer=host, reason=reason)
            # Behind TLS, words in the clear would only garble the handshake.
            return Refusal(b"" if isinstance(self.wrappedFactory, TLSMemoryBIOFactory) else self.refusal(reason))
        return self.protocol(self, None, relayed=True)


__all__ = ["HEADER_TIMEOUT", "ProxyHeaderFactory", "ProxyHeaderReader", "read_header"]


def behind_balancer(factory, reload, version: str, setting: str, shared, kind: str, refusal):
    """
    A stream front end as built, read through a PROXY header first when
    C{version} (C{setting}, e.g. C{[lines] proxy_protocol}) is not C{off}.
    Changing C{version} needs a restart: its reload says so.
    """
    from chatd.frontends.registry import Built

    def reloaded(old, new) -> list:
        report = reload(old, new)
        if _setting(new, setting) != version:
            report.append(f"needs a restart to take effect: {setting}")
        return report

    if version == "off":
        return Built(factory, reloaded)
    return Built(factory, reloaded, outer=lambda inner: ProxyHeaderFactory(
        inner, version, shared.gate, shared.reactor, kind, refusal))


def _setting(config, setting: str) -> str:
    return config.irc.proxy_protocol if setting.startswith("[irc]") else config.lines_proxy_protocol
