"""TLS listeners: ssl: strings become tcp: plus a reloadable certificate."""

import shutil

import pytest
from cryptography import x509
from OpenSSL import SSL

from certs import make_cert
from chatd.tls import ReloadableTLS, listener, parse_ssl


def handshake(tls, max_version=None):
    """
    A client's TLS handshake with a new connection from C{tls}, in memory:
    the serial number of the certificate the client was shown.

    @raise SSL.Error: the server refused the handshake.
    """
    client_context = SSL.Context(SSL.TLS_METHOD)
    if max_version is not None:
        # Let this client offer the old versions the server must refuse.
        client_context.set_max_proto_version(max_version)
        client_context.set_cipher_list(b"DEFAULT:@SECLEVEL=0")
    client = SSL.Connection(client_context, None)
    client.set_connect_state()
    server = tls.serverConnectionForTLS(None)
    server.set_accept_state()
    unfinished = [client, server]
    for _ in range(10):
        for side in list(unfinished):
            try:
                side.do_handshake()
                unfinished.remove(side)
            except SSL.WantReadError:
                pass
        for source, sink in ((client, server), (server, client)):
            try:
                sink.bio_write(source.bio_read(65536))
            except SSL.WantReadError:
                pass
        if not unfinished:
            return client.get_peer_certificate().to_cryptography().serial_number
    raise AssertionError("the handshake did not finish")


def serial(cert_path):
    return x509.load_pem_x509_certificate(cert_path.read_bytes()).serial_number


def test_parse_ssl_keeps_socket_options_and_reads_tls_options():
    """ssl:PORT:interface=...:privateKey=...:certKey=... splits into a tcp: string and file names."""
    tcp, args = parse_ssl("ssl:2424:interface=127.0.0.1:privateKey=/k.pem:certKey=/c.pem:backlog=50")
    assert tcp == "tcp:2424:interface=127.0.0.1:backlog=50"
    assert args == {"privateKey": "/k.pem", "certKey": "/c.pem"}
    assert parse_ssl("tcp:2323") is None
    with pytest.raises(ValueError, match="no certKey"):
        parse_ssl("ssl:2424")


def test_reload_swaps_certificate_for_new_connections(tmp_path):
    """After reload a new connection is shown the new certificate."""
    key, cert = make_cert(tmp_path, "a")
    tls = ReloadableTLS(certKey=str(cert), privateKey=str(key))
    assert handshake(tls) == serial(cert)
    key2, cert2 = make_cert(tmp_path, "b")
    shutil.copy(key2, key)
    shutil.copy(cert2, cert)
    assert tls.reload() is True
    assert handshake(tls) == serial(cert2)


def test_bad_new_certificate_keeps_the_old(tmp_path):
    """A broken or mismatched new certificate is refused: new connections are still shown the old one."""
    key, cert = make_cert(tmp_path, "a")
    tls = ReloadableTLS(certKey=str(cert), privateKey=str(key))
    before = serial(cert)
    cert.write_text("not a certificate")
    assert tls.reload() is False
    assert handshake(tls) == before
    _, other_cert = make_cert(tmp_path, "other")
    shutil.copy(other_cert, cert)  # a certificate that does not match the key
    assert tls.reload() is False
    assert handshake(tls) == before


@pytest.mark.parametrize("version", [SSL.TLS1_VERSION, SSL.TLS1_1_VERSION])
def test_minimum_tls_version_is_1_2(tmp_path, version):
    """A client that speaks only TLS 1.0 or 1.1 is refused; TLS 1.2 is served."""
    key, cert = make_cert(tmp_path)
    tls = ReloadableTLS(certKey=str(cert), privateKey=str(key))
    with pytest.raises(SSL.Error, match="unsupported protocol"):
        handshake(tls, max_version=version)
    assert handshake(tls, max_version=SSL.TLS1_2_VERSION) == serial(cert)


def test_listener_wraps_only_ssl(tmp_path):
    """tcp: strings pass through unchanged; ssl: strings get a TLS factory."""
    key, cert = make_cert(tmp_path)
    factory = object()
    assert listener("tcp:0", factory) == ("tcp:0", factory, None)
    endpoint, wrapped, tls = listener(f"ssl:0:privateKey={key}:certKey={cert}", factory)
    assert endpoint == "tcp:0" and wrapped.wrappedFactory is factory and tls is not None
