# -*- test-case-name: tests.frontends.test_websocket -*-
"""
What a WebSocket connection needs to know about its HTTP beginnings: the
page's origin, whether it came over TLS (through any protocol wrappers),
and the two adjustments Autobahn needs once twisted.web has handed the
connection over.
"""

from typing import Optional, Tuple
from urllib.parse import urlsplit

from twisted.internet.interfaces import ISSLTransport
from twisted.protocols.policies import ProtocolWrapper
from twisted.protocols.tls import TLSMemoryBIOProtocol
from zope.interface import noLongerProvides

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_key(origin: str) -> Optional[Tuple[str, str, int]]:
    """
    C{(scheme, host, port)} of an http(s) origin, lower-cased, with the
    scheme's default port filled in; C{None} for anything else (C{null},
    other schemes, paths, junk).
    """
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username is not None:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def is_secure(transport) -> bool:
    """
    Whether the connection is TLS, looking through protocol wrappers: a
    C{TLSMemoryBIOProtocol} (chatd's reloadable TLS listeners) may sit
    under other wrappers (the connection gate), and a Twisted C{ssl:}
    endpoint's transport provides L{ISSLTransport}.
    """
    for _ in range(8):  # wrappers nest a few deep at most
        if ISSLTransport.providedBy(transport) or isinstance(transport, TLSMemoryBIOProtocol):
            return True
        if not isinstance(transport, ProtocolWrapper):
            return False
        transport = transport.transport
    return False


def hide_tls_from_autobahn(transport) -> None:
    """
    Autobahn derives a TLS channel binding (for WAMP authentication) from
    any transport providing L{ISSLTransport} and raises unless that
    transport is the TLS protocol itself.  Under a protocol wrapper (the
    connection gate) it is not, so the wrapper stops claiming
    L{ISSLTransport} for this connection, which twisted.web has handed
    over for good.  chatd needs no channel binding, and L{is_secure}
    looks beneath wrappers.
    """
    if ISSLTransport.providedBy(transport) and not isinstance(transport, TLSMemoryBIOProtocol):
        try:
            noLongerProvides(transport, ISSLTransport)
        except ValueError:
            pass  # declared by its class; Autobahn copes with those it knows


def release_producer(transport) -> None:
    """
    Free the transport's producer slot for our L{Outbox}.  After
    C{WebSocketResource} takes a connection over, twisted.web's HTTP
    channel is still registered there; it has nothing left to produce.
    """
    try:
        transport.unregisterProducer()
    except RuntimeError:
        pass  # nothing registered (test transports say so loudly)
