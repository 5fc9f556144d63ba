# -*- test-case-name: tests.frontends.test_proxies -*-
"""
Who a client is when a proxy stands between it and chatd: the one place
that decides it, for every listener.

A proxy's TCP connection says only where the proxy is.  A reverse proxy
(nginx) names the client in a header, X-Forwarded-For or RFC 7239's
Forwarded; a TCP load balancer (HAProxy) in a PROXY protocol header
(L{chatd.frontends.proxyheader}).  Anyone can write those headers, so
chatd believes them only from the addresses in C{[web] trusted_proxies}
(L{TrustedProxies}), and reads a chain from the right, from the proxy
that connected: the client is the first address that is not itself a
trusted proxy (L{client}).  Everything left of it was written by the
client and proves nothing.

X-Forwarded-For is read when a request has one, else Forwarded: every
common proxy (nginx, HAProxy, Apache, Caddy, Traefik, Envoy, cloud load
balancers) appends to X-Forwarded-For, and one that writes only
Forwarded must then drop the client's X-Forwarded-For.
"""

import ipaddress
from typing import Callable, Iterable, List, NamedTuple, Optional, Union

from twisted.internet.address import IPv4Address, IPv6Address

IP = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

#: The IPv4-mapped IPv6 block (::ffff:0:0/96): such addresses are their IPv4 address.
_MAPPED = ipaddress.ip_network("::ffff:0:0/96")


def parse_ip(text: str) -> Optional[IP]:
    """
    The address in C{text} (C{[::1]}, C{fe80::1%eth0}), an IPv4-mapped
    IPv6 address as IPv4 (what a dual-stack socket reports); C{None} if
    it is none.
    """
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _network(entry: str) -> Network:
    """One entry of C{trusted_proxies}: an address or a network, as an operator writes it."""
    text = entry.strip()
    if text.startswith("[") and "]" in text:  # [::1] or [2001:db8::]/32
        text = text[1:].replace("]", "", 1)
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as e:
        if "host bits set" in str(e):
            wide = ipaddress.ip_network(text, strict=False)
            raise ValueError(f"{entry} has bits set past its prefix length; for the whole network write {wide}")
        raise ValueError(f"{entry} is not an address or a network like 10.0.0.0/8, ::1 or 2001:db8::/32")
    if network.version == 6 and network.prefixlen >= 96 and network.network_address in _MAPPED:
        mapped = network.network_address.ipv4_mapped
        network = ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}")
    return network


class TrustedProxies:
    """
    The proxies whose word about a client's address chatd takes
    (C{[web] trusted_proxies}); empty, it trusts no one.  One instance
    serves every listener, and a reload changes it in place (L{set}).
    """

    def __init__(self, entries: Iterable[str] = ()) -> None:
        self.set(entries)

    def set(self, entries: Iterable[str]) -> None:
        """
        Trust these addresses and networks from now on.

        @raise ValueError: an entry is neither; the message names it.
        """
        self.networks = tuple(_network(entry) for entry in entries)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __contains__(self, host) -> bool:
        if not self.networks or not isinstance(host, str):
            return False
        ip = parse_ip(host)
        return ip is not None and any(ip in network for network in self.networks)


class Client(NamedTuple):
    """A client address a proxy reported: the host, and its port if the proxy said it."""

    host: str
    port: Optional[int] = None

    def describe(self) -> str:
        """As L{chatd.frontends.peers.describe} writes addresses: C{192.0.2.7:5000}, C{[2001:db8::7]:5000}."""
        if self.port is None:
            return self.host
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def address(self, via=None) -> Union[IPv4Address, IPv6Address]:
        """
        As a Twisted address (port 0 when the proxy did not say it).

        @param via: the proxy's own address, kept as the address's C{via}
            (L{chatd.frontends.peers.is_local} judges the connection by it).
        """
        kind = IPv6Address if ":" in self.host else IPv4Address
        address = kind("TCP", self.host, self.port or 0)
        if via is not None:
            address.via = via
        return address


def _port(text: str) -> Optional[bool]:
    """Whether C{text} is a port: digits up to 65535, or an obfuscated one (C{_abc}, RFC 7239 section 6.3)."""
    if text.isascii() and text.isdigit():
        return len(text) <= 5 and int(text) <= 65535
    return len(text) > 1 and text[0] == "_" and all(c.isalnum() or c in "._-" for c in text[1:])


def node(text: str) -> Optional[Client]:
    """
    The client in one hop of a chain: C{192.0.2.7}, C{192.0.2.7:5000},
    C{2001:db8::7}, C{[2001:db8::7]:5000}; C{None} for anything else
    (C{unknown}, an obfuscated C{_name}, garbage).
    """
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    port = ""
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        port = rest[1:] if rest else ""
        if rest and not port:
            return None
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
        if not port:
            return None
    else:
        host = text
    if port and not _port(port):
        return None
    ip = parse_ip(host)
    if ip is None:
        return None
    return Client(str(ip), int(port) if port.isdigit() else None)


def x_forwarded_for(values: Iterable[str]) -> List[str]:
    """The hops of X-Forwarded-For header lines, client first (empty list elements ignored, RFC 9110 5.6.1)."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _split(text: str, separator: str) -> List[str]:
    """C{text} split at C{separator} outside quoted strings (where a backslash escapes the next character)."""
    parts: List[str] = []
    start, quoted, escaped = 0, False, False
    for i, char in enumerate(text):
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _unquote(value: str) -> Optional[str]:
    """A token, or a quoted string's content (RFC 9110 5.6.4); C{None} if it is neither."""
    value = value.strip()
    if not value.startswith('"'):
        return value if value and not any(c in value for c in '" \t\\') else None
    out: List[str] = []
    escaped = False
    for i, char in enumerate(value[1:], 1):
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return "".join(out) if i == len(value) - 1 else None
        else:
            out.append(char)
    return None  # no closing quote


def forwarded(values: Iterable[str]) -> List[str]:
    """
    The C{for} node of each element of RFC 7239 Forwarded header lines,
    client first; an element that has none, or is malformed, is C{""} (a
    hop nobody can name).
    """
    hops: List[str] = []
    for value in values:
        for element in _split(value, ","):
            if not element.strip():
                continue
            found: List[Optional[str]] = []
            for pair in _split(element, ";"):
                name, equals, raw = pair.partition("=")
                if equals and name.strip().lower() == "for":
                    found.append(_unquote(raw))
            hops.append((found[0] or "") if len(found) == 1 else "")
    return hops


def client(peer: Optional[str], trusted: TrustedProxies, header: Callable[[str], List[str]]) -> Optional[Client]:
    """
    The client a trusted proxy at C{peer} names, or C{None}: the
    connection is its own client (the peer is not trusted, sent no chain,
    or named nobody usable first).

    @param header: the lines of a request header by lower-case name.
    """
    if peer not in trusted:
        return None
    hops = x_forwarded_for(header("x-forwarded-for"))
    if not hops:
        hops = forwarded(header("forwarded"))
    nearest: Optional[Client] = None  # None: the peer itself
    for hop in reversed(hops):
        found = node(hop)
        if found is None:
            return nearest  # "unknown", hidden or garbage: the hop that wrote it is all we know
        if found.host not in trusted:
            return found
        nearest = Client(found.host)
    return nearest  # every hop is one of our proxies: the farthest of them


def web_client(peer, request, trusted: Optional[TrustedProxies]) -> Optional[Client]:
    """L{client} of a twisted.web request that came from C{peer}."""
    if not trusted:
        return None
    headers = request.requestHeaders
    return client(getattr(peer, "host", None), trusted,
                  lambda name: [v.decode("latin-1") for v in headers.getRawHeaders(name.encode("ascii"), ())])


def handshake_client(peer, request, trusted: Optional[TrustedProxies]) -> Optional[Client]:
    """L{client} of an Autobahn WebSocket opening handshake (its headers repeated are joined with commas)."""
    if not trusted:
        return None
    headers = request.headers
    return client(getattr(peer, "host", None), trusted, lambda name: [headers[name]] if name in headers else [])


__all__ = ["Client", "TrustedProxies", "client", "forwarded", "handshake_client", "node", "parse_ip", "web_client",
           "x_forwarded_for"]
