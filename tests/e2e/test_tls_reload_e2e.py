"""
End to end: telnet-over-TLS, SIGHUP reloads (certificate, motd, limits)
without dropping anyone, and the per-address connection limit.
"""

import shutil
import signal
import socket
import ssl
import time
import warnings

from certs import make_cert
from chatclients import LineClient


class TLSLineClient(LineClient):
    """What `openssl s_client -connect` gives a user: lines over TLS."""

    def __init__(self, port: int, cafile) -> None:
        context = ssl.create_default_context(cafile=str(cafile))
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock = context.wrap_socket(raw, server_hostname="localhost")
        self.timeout = 5.0
        self.buf = b""
        self.seen = []
        self.closed = False

    def serial(self) -> int:
        from cryptography import x509

        return x509.load_der_x509_certificate(self.sock.getpeercert(binary_form=True)).serial_number


def tls_daemon(make_daemon, tmp_path, **settings):
    key, cert = make_cert(tmp_path, "live")
    d = make_daemon({
        ("lines", "listen"): f"tcp:0:interface=127.0.0.1\nssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}",
        **settings,
    })
    return d, key, cert


def test_lines_over_tls_chat_with_plain_telnet(make_daemon, tmp_path):
    """A TLS line client and a plain one chat in one room; TLS 1.1 is refused."""
    d, key, cert = tls_daemon(make_daemon, tmp_path)
    secure = TLSLineClient(_tls_port(d), cert).login("sec", "#lobby")
    plain = LineClient(d.lines_port).login("plain", "#lobby")
    secure.send("over TLS")
    assert plain.expect("<sec>") == "[#lobby] <sec> over TLS"
    plain.send("in the clear")
    assert secure.expect("<plain>") == "[#lobby] <plain> in the clear"
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname = False
    old.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    raw = socket.create_connection(("127.0.0.1", _tls_port(d)), timeout=5)
    try:
        old.wrap_socket(raw)
        raise AssertionError("TLS 1.1 handshake should fail")
    except (ssl.SSLError, OSError):
        pass
    finally:
        raw.close()


def _tls_port(d) -> int:
    return d.port("lines", "ssl")


def test_sighup_reloads_certificate_motd_and_limits_without_disconnects(make_daemon, tmp_path):
    """SIGHUP: new TLS connections get the new certificate, new motd and limits apply, nobody is dropped."""
    d, key, cert = tls_daemon(make_daemon, tmp_path)
    before = TLSLineClient(_tls_port(d), cert)
    old_serial = before.serial()
    before.login("before", "#lobby")
    plain = LineClient(d.lines_port).login("plain", "#lobby")

    key2, cert2 = make_cert(tmp_path, "next", common_name="chatd next")
    both = tmp_path / "both.pem"
    both.write_bytes(cert.read_bytes() + cert2.read_bytes())
    shutil.copy(key2, key)
    shutil.copy(cert2, cert)
    d.settings[("server", "motd")] = "Reloaded motd"
    d.settings[("limits", "max_message")] = "10"
    d.config_path.write_text(__import__("daemon").render_ini(d.settings))
    d.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "Reload: certificate" not in d.log():
        assert time.monotonic() < deadline, d.log()
        time.sleep(0.05)

    after = TLSLineClient(_tls_port(d), both)
    assert after.serial() != old_serial
    after.expect("Reloaded motd")
    before.send("still here")
    assert plain.expect("still here") == "[#lobby] <before> still here"
    plain.send("this is longer than ten")
    plain.expect(r"^! too-long: .*limit is 10")
    assert "needs a restart" not in d.log()


def test_broken_config_on_reload_keeps_the_old_one(make_daemon, tmp_path):
    """A config file broken before SIGHUP is rejected with a clear log line; the daemon carries on."""
    d = make_daemon()
    c = LineClient(d.lines_port).login("alice", "#lobby")
    d.config_path.write_text("[limits]\nmax_message = lots\n")
    d.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "Reload refused" not in d.log():
        assert time.monotonic() < deadline, d.log()
        time.sleep(0.05)
    assert "max_message = 'lots': expected a whole number" in d.log()
    c.send("x" * 200)
    c.send("/who")
    c.expect("1 member")
    assert not any(line.startswith("!") for line in c.seen)
    assert d.alive


def test_connections_per_address_are_limited(make_daemon):
    """Past [limits] connections_per_ip the next connection is refused with a reason; others are unaffected."""
    d = make_daemon({("limits", "connections_per_ip"): "3"})
    clients = [LineClient(d.lines_port) for _ in range(3)]
    for c in clients:
        c.expect("Choose a nick")
    refused = LineClient(d.lines_port)
    assert refused.expect("^!").startswith("! too-many-connections:")
    assert refused.wait_closed()
    clients[0].close()
    time.sleep(0.2)
    again = LineClient(d.lines_port)
    again.expect("Choose a nick")
