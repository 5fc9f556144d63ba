"""TLS listeners: ssl: strings become tcp: plus a reloadable certificate."""

import shutil

import pytest
from OpenSSL import SSL

from certs import make_cert
from chatd.tls import ReloadableTLS, listener, parse_ssl


def test_parse_ssl_keeps_socket_options_and_reads_tls_options():
    """ssl:PORT:interface=...:privateKey=...:certKey=... splits into a tcp: string and file names."""
    tcp, args = parse_ssl("ssl:2424:interface=127.0.0.1:privateKey=/k.pem:certKey=/c.pem:backlog=50")
    assert tcp == "tcp:2424:interface=127.0.0.1:backlog=50"
    assert args == {"privateKey": "/k.pem", "certKey": "/c.pem"}
    assert parse_ssl("tcp:2323") is None
    with pytest.raises(ValueError, match="no certKey"):
        parse_ssl("ssl:2424")


def test_reload_swaps_certificate_for_new_connections(tmp_path):
    """After reload a new connection gets the new certificate."""
    key, cert = make_cert(tmp_path, "a")
    tls = ReloadableTLS(certKey=str(cert), privateKey=str(key))
    first = tls.serverConnectionForTLS(None).get_context()
    key2, cert2 = make_cert(tmp_path, "b")
    shutil.copy(key2, key)
    shutil.copy(cert2, cert)
    assert tls.reload() is True
    assert tls.serverConnectionForTLS(None).get_context() is not first


def test_bad_new_certificate_keeps_the_old(tmp_path):
    """A broken or mismatched new certificate is reported and the old one stays."""
    key, cert = make_cert(tmp_path, "a")
    tls = ReloadableTLS(certKey=str(cert), privateKey=str(key))
    before = tls._context
    cert.write_text("not a certificate")
    assert tls.reload() is False
    assert tls._context is before
    _, other_cert = make_cert(tmp_path, "other")
    shutil.copy(other_cert, cert)  # a certificate that does not match the key
    assert tls.reload() is False
    assert tls._context is before


def test_minimum_tls_version_is_1_2(tmp_path):
    """TLS 1.0 and 1.1 are refused by the context."""
    key, cert = make_cert(tmp_path)
    ctx = ReloadableTLS(certKey=str(cert), privateKey=str(key))._context
    options = ctx.set_options(0)
    assert options & SSL.OP_NO_TLSv1 and options & SSL.OP_NO_TLSv1_1


def test_listener_wraps_only_ssl(tmp_path):
    """tcp: strings pass through unchanged; ssl: strings get a TLS factory."""
    key, cert = make_cert(tmp_path)
    factory = object()
    assert listener("tcp:0", factory) == ("tcp:0", factory, None)
    endpoint, wrapped, tls = listener(f"ssl:0:privateKey={key}:certKey={cert}", factory)
    assert endpoint == "tcp:0" and wrapped.wrappedFactory is factory and tls is not None
