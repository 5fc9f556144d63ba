# -*- test-case-name: tests.test_tls -*-
"""
TLS listeners whose certificate can be reloaded without a restart.

Twisted's C{ssl:} endpoint reads its certificate files once, when the string
is parsed.  chatd accepts the same C{ssl:} strings in tap.cfg and on the
command line, but listens on the equivalent C{tcp:} endpoint and wraps the
factory in TLS itself, with a L{ReloadableTLS} connection creator: on SIGHUP
the files are read again and new connections get the new certificate while
established ones keep theirs.  A bad new certificate is reported and the old
one stays in use.

TLS 1.2 is the minimum; Twisted's L{CertificateOptions} defaults give
modern AEAD ciphers with forward secrecy and no compression.
"""

import re
from typing import Dict, List, Optional, Tuple

from OpenSSL import SSL
from twisted.internet import ssl
from twisted.internet.interfaces import IOpenSSLServerConnectionCreator, IProtocolNegotiationFactory
from twisted.logger import Logger
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.filepath import FilePath
from zope.interface import implementer

log = Logger(namespace="chatd.tls")

#: ssl: keywords that describe the certificate, not the socket.
_TLS_KEYS = ("privateKey", "certKey", "extraCertChain", "sslmethod", "dhParameters")


def _split(description: str) -> List[str]:
    """Split an endpoint string on colons that are not escaped."""
    return re.split(r"(?<!\\):", description)


def parse_ssl(description: str) -> Optional[Tuple[str, Dict[str, str]]]:
    """
    For an C{ssl:} endpoint string return C{(tcp_description, tls_args)};
    for anything else C{None}.

    @raise ValueError: an C{ssl:} string without a port or a certKey.
    """
    parts = _split(description)
    if parts[0] != "ssl":
        return None
    positional, tls, socket_args = [], {}, []
    for part in parts[1:]:
        key, eq, value = part.partition("=")
        if not eq:
            positional.append(part)
        elif key in _TLS_KEYS:
            tls[key] = value.replace("\\:", ":")
        else:
            socket_args.append(part)
    if not positional and not any(a.startswith("port=") for a in socket_args):
        raise ValueError(f"{description!r} names no port")
    if "certKey" not in tls and "privateKey" not in tls:
        raise ValueError(f"{description!r} names no certKey or privateKey file")
    tls.setdefault("certKey", tls.get("privateKey", ""))
    tls.setdefault("privateKey", tls["certKey"])
    return ":".join(["tcp", *positional, *socket_args]), tls


@implementer(IOpenSSLServerConnectionCreator)
class ReloadableTLS:
    """
    Builds each new TLS connection from the current context; L{reload}
    swaps the context after checking the new files load and match.
    """

    def __init__(self, certKey: str, privateKey: str, extraCertChain: Optional[str] = None, **_ignored) -> None:
        self.cert_path = certKey
        self.key_path = privateKey
        self.chain_path = extraCertChain
        self._context = self._load()

    def _load(self) -> SSL.Context:
        key_pem = FilePath(self.key_path).getContent()
        cert_pem = FilePath(self.cert_path).getContent()
        if self.key_path == self.cert_path:
            pem = cert_pem
        else:
            pem = cert_pem + b"\n" + key_pem
        pc = ssl.PrivateCertificate.loadPEM(pem)
        chain = []
        if self.chain_path:
            data = FilePath(self.chain_path).getContent()
            chain = [ssl.Certificate.loadPEM(block).original for block in _pem_blocks(data)]
        options = ssl.CertificateOptions(
            privateKey=pc.privateKey.original,
            certificate=pc.original,
            extraCertChain=chain or None,
            raiseMinimumTo=ssl.TLSVersion.TLSv1_2,
        )
        context = options.getContext()
        context.check_privatekey()
        context.set_alpn_select_callback(_select_protocol)
        return context

    def reload(self) -> bool:
        """
        Read the certificate files again.  Returns True when the new
        certificate is in use, False (and logs why) when the old one stays.
        """
        try:
            self._context = self._load()
        except Exception as e:  # OpenSSL, I/O and PEM errors all mean "keep the old one"
            log.error(
                "TLS certificate reload failed for {cert}: {error}. The previous certificate stays in use; fix the files and send SIGHUP again.",
                cert=self.cert_path,
                error=str(e) or type(e).__name__,
            )
            return False
        log.info("TLS certificate reloaded from {cert}", cert=self.cert_path)
        return True

    def serverConnectionForTLS(self, tlsProtocol) -> SSL.Connection:
        connection = SSL.Connection(self._context, None)
        # Twisted's ALPN callback finds the protocol through the app data;
        # without it every client that offers ALPN (curl, browsers) fails.
        connection.set_app_data(tlsProtocol)
        return connection


def _select_protocol(connection: SSL.Connection, offered):
    """
    ALPN: pick the first protocol the application accepts (the web Site
    accepts http/1.1); with no overlap, go on without ALPN instead of
    failing the handshake, as a line client offering ALPN deserves.
    """
    factory = connection.get_app_data().factory.wrappedFactory
    while not IProtocolNegotiationFactory.providedBy(factory) and hasattr(factory, "wrappedFactory"):
        factory = factory.wrappedFactory
    if IProtocolNegotiationFactory.providedBy(factory):
        for protocol in factory.acceptableProtocols():
            if protocol in offered:
                return protocol
    return SSL.NO_OVERLAPPING_PROTOCOLS


def _pem_blocks(data: bytes) -> List[bytes]:
    return [m.group(0) for m in re.finditer(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", data, re.S)]


def listener(description: str, factory) -> Tuple[str, object, Optional[ReloadableTLS]]:
    """
    The endpoint string to listen on and the factory to give it: C{ssl:}
    strings become C{tcp:} plus a reloadable TLS wrapper.
    """
    parsed = parse_ssl(description)
    if parsed is None:
        return description, factory, None
    tcp, args = parsed
    creator = ReloadableTLS(**args)
    return tcp, TLSMemoryBIOFactory(creator, False, factory), creator
