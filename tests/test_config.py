"""Configuration: defaults, tap.cfg, command-line overrides, and clear errors."""

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from chatd import config as cfg

ROOT = Path(__file__).resolve().parent.parent
TWISTD = str(Path(sys.executable).with_name("twistd"))


def test_shipped_tap_cfg_holds_exactly_the_defaults():
    """tap.cfg documents the defaults: loading it changes nothing."""
    loaded = cfg.load(str(ROOT / "tap.cfg"), {})
    defaults = cfg.build({})
    assert loaded.rules == defaults.rules
    assert loaded.web == cfg.WebConfig(listen=(cfg.DEFAULT_WEB,))
    assert loaded.lines_listeners() == defaults.lines_listeners() == (cfg.DEFAULT_LINES,)
    assert (loaded.db, loaded.max_line, loaded.sendq) == (defaults.db, defaults.max_line, defaults.sendq)


def test_command_line_listeners_replace_the_files(tmp_path):
    """A listener kind given on the command line replaces the file's listeners of that kind."""
    path = tmp_path / "c.cfg"
    path.write_text("[lines]\nlisten =\n    tcp:1111\n    tcp:2222\n[web]\nlisten = tcp:3333\n")
    c = cfg.load(str(path), {("lines", "listen"): ("tcp:4444",)})
    assert c.lines_listeners() == ("tcp:4444",)
    assert c.web_listeners() == ("tcp:3333",)


def test_inline_comments_and_percent_signs(tmp_path):
    """'  # comment' after a value is a comment; '%' needs no escaping."""
    path = tmp_path / "c.cfg"
    path.write_text("[server]\nmotd = 100% uptime  # not part of it\n[limits]\nmax_message = 500 # chars\n")
    c = cfg.load(str(path), {})
    assert c.motd == "100% uptime"
    assert c.rules.max_message == 500


@pytest.mark.parametrize(
    "text, message",
    [
        ("[limits]\nmax_message = lots\n", "[limits] max_message = 'lots': expected a whole number."),
        ("[web]\nmax_frame = 0\n", "[web] max_frame = 0: must be at least 1 (0 would switch the limit off)."),
        ("[limits]\nmax_mesage = 5\n", "unknown setting [limits] max_mesage"),
        ("[nosuch]\nx = 1\n", "unknown setting [nosuch] x"),
        ("[history]\ndurability = maybe\n", "durability = 'maybe'"),
        ("no section header\n", "not a valid INI file"),
        ("[limits]\nmax_topic = 0\n", "[limits] max_topic = 0: must be at least 1."),
        ("[history]\nhistory_max = 0\n", "[history] history_max = 0: must be at least 1."),
        ("[web]\ntrusted_proxies = nginx.local\n", "[web] trusted_proxies: nginx.local is not an address or a network "
         "like 10.0.0.0/8, ::1 or 2001:db8::/32."),
        ("[web]\ntrusted_proxies = 10.1.2.3/8\n", "[web] trusted_proxies: 10.1.2.3/8 has bits set past its prefix "
         "length; for the whole network write 10.0.0.0/8."),
        ("[web]\ntrusted_proxies = 127.0.0.1\n[lines]\nproxy_protocol = yes\n", "[lines] proxy_protocol = 'yes': "
         "expected off, v1 or v2"),
        ("[irc]\nproxy_protocol = v2\n", "[irc] proxy_protocol = v2 needs [web] trusted_proxies"),
    ],
)
def test_bad_values_name_the_problem(tmp_path, text, message):
    """Every bad value is one ConfigError naming section, key and value."""
    path = tmp_path / "c.cfg"
    path.write_text(text)
    with pytest.raises(cfg.ConfigError) as e:
        cfg.load(str(path), {})
    assert message in str(e.value)


#: What an operator must never read: Python's own words.
PYTHON_SPEAK = ("Traceback", "invalid literal", "Errno", "b'", "None", "\\\\")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--config", "/nonexistent/tap.cfg"], "cannot read config file /nonexistent/tap.cfg: No such file or directory."),
        (["--web", "tcp:80x"], "[web] listen: 'tcp:80x': the port must be a number from 0 to 65535"),
        (["--lines", "tcp:70000"], "[lines] listen: 'tcp:70000': the port must be a number from 0 to 65535"),
        (["--lines", "tcp:port=x1"], "[lines] listen: 'tcp:port=x1': the port must be a number from 0 to 65535"),
        (["--lines", "tcpx:1"], "[lines] listen: 'tcpx:1': 'tcpx' is not an endpoint type; use one of tcp:, tcp6:, ssl:, unix:, systemd:"),
        (["--lines", "2323"], "[lines] listen: '2323': '2323' is not an endpoint type"),
        (["--web", "ssl:0:privateKey=/nonexistent.pem"], "[web] listen: 'ssl:0:privateKey=/nonexistent.pem': privateKey=/nonexistent.pem: there is no such file"),
        (["--web", "ssl:0:privateKey=/etc/hostname:certKey=/no/cert.pem"], "certKey=/no/cert.pem: there is no such file"),
        (["--web", "ssl:0"], "an ssl: endpoint needs privateKey=FILE"),
        (["--lines", "tcp:2323:interface=::1"], "an IPv6 address needs its colons escaped, as in tcp6:2323:interface=\\:\\:1"),
        (["--lines", "tcp:2323:interface=\\:\\:1"], "interface=::1 is an IPv6 address: listen with tcp6:"),
        (["--lines", "tcp6:2323:interface=127.0.0.1"], "interface=127.0.0.1 is an IPv4 address: listen with tcp:"),
        (["--lines", "tcp:2323:interface=127.0.0.300"], "interface=127.0.0.300 is not an IPv4 address"),
        (["--lines", "tcp:2323:interface=my host"], "interface=my host is not an IPv4 address"),
        (["--admin", "unix:/tmp/admin.sock:mode=rw"], "[admin] listen: 'unix:/tmp/admin.sock:mode=rw': mode=rw: the mode must be octal"),
        (["--admin", "unix:"], "[admin] listen: 'unix:': a unix: endpoint needs a socket path"),
        (["--metrics", "tcp:"], "[metrics] listen: 'tcp:': "),
        (["--lines", "systemd:domain=INET6:name=lines"], "[lines] listen: 'systemd:domain=INET6:name=lines': "
         "systemd passed chatd no such socket: start chatd from its socket units"),
    ],
)
def test_daemon_refuses_bad_config_with_one_line(tmp_path, args, message):
    """twistd chatd with a bad config exits non-zero with one line in tap.cfg's words, no Python."""
    base = tmp_path / "base.cfg"  # never the real ports, should a bad string get through
    base.write_text("[lines]\nlisten = tcp:0:interface=127.0.0.1\n[web]\nlisten = tcp:0:interface=127.0.0.1\n"
                    "[history]\ndb = :memory:\n")
    if args[0] != "--config":
        args = ["--config", str(base), *args]
    proc = subprocess.run(
        [TWISTD, "--nodaemon", "--pidfile=", "chatd", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=20,
    )
    assert proc.returncode != 0
    assert proc.stderr.startswith("chatd: configuration error: ")
    assert message in proc.stderr
    speaks = [w for w in PYTHON_SPEAK if w in proc.stderr.replace(message, "") + proc.stdout]
    assert not speaks, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def _sections(lines):
    """{section: [key, ...]} of INI lines, in order."""
    out, section = {}, None
    for line in lines:
        if line.startswith("["):
            section = line.strip("[]")
            out[section] = []
        elif line and not line.startswith((" ", "#", "chatd:")):
            out[section].append(line.split("=", 1)[0].strip())
    return out


def test_check_config_prints_tap_cfg_sections_and_keys(tmp_path):
    """--check-config prints every setting under its tap.cfg section and key, in tap.cfg's order, and exits 0."""
    path = tmp_path / "c.cfg"
    path.write_text("[limits]\nmax_message = 500\n[history]\nscrollback = 20\n[web]\nlisten =\n    tcp:8081\n    tcp:8082\n")
    proc = subprocess.run(
        [TWISTD, "--nodaemon", "--pidfile=", "chatd", "--config", str(path), "--db", ":memory:", "--check-config"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.endswith("chatd: configuration OK\n")
    section = {name: text for name, text in re.findall(r"^\[(\w+)\]\n(.*?)(?=^\[|^chatd:)", out, re.M | re.S)}
    assert "\nmax_message = 500\n" in section["limits"] and "\nmax_message = 65536\n" in section["web"]
    assert "db = :memory:\n" in section["history"] and "\nscrollback = 20\n" in section["history"]
    assert section["web"].startswith("listen =\n    tcp:8081\n    tcp:8082\n")
    assert section["lines"].startswith("listen =\n    tcp:2323:interface=127.0.0.1\n")  # the effective default
    assert section["admin"] == "listen =\n\n"
    for internal in ("rules.", "web.max_frame", "'"):
        assert internal not in out
    printed = _sections(out.splitlines())
    # The shipped tap.cfg documents every setting: the same sections, in
    # the same order, with the same keys.
    shipped = _sections((ROOT / "tap.cfg").read_text().splitlines())
    assert list(printed) == list(shipped)
    assert {s: sorted(k) for s, k in printed.items()} == {s: sorted(k) for s, k in shipped.items()}


def test_a_listener_that_cannot_start_is_named_in_words(tmp_path):
    """A port in use or a missing socket directory: one line saying why and what to check, no errno or bytes."""
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    cases = [
        (["--lines", f"tcp:{port}:interface=127.0.0.1"],
         f"chatd: cannot listen for lines on tcp:{port}:interface=127.0.0.1: Address already in use "
         "(another program, or another chatd, listens there already)"),
        (["--admin", f"unix:{tmp_path}/missing/admin.sock:mode=600"],
         f"chatd: cannot listen for admin on unix:{tmp_path}/missing/admin.sock:mode=600: No such file or directory "
         "(the socket's directory does not exist)"),
    ]
    try:
        for args, message in cases:
            proc = subprocess.run(
                [TWISTD, "--nodaemon", "--pidfile=", "chatd", "--lines", "tcp:0:interface=127.0.0.1",
                 "--web", "tcp:0:interface=127.0.0.1", "--irc", "tcp:0:interface=127.0.0.1", "--db", ":memory:", *args],
                cwd=tmp_path, capture_output=True, text=True, timeout=20,
            )
            assert proc.returncode != 0
            out = proc.stdout + proc.stderr
            assert message in out
            assert not [w for w in PYTHON_SPEAK if w in out.replace(message, "")], out
    finally:
        blocker.close()


def test_wamp_settings_reach_the_config_and_nonsense_is_refused():
    config = cfg.build(cfg.parse("[wamp]\ncall_timeout = 5\npending_calls = 3\n", "t.cfg"))
    assert (config.web.wamp_call_timeout, config.web.wamp_pending_calls) == (5, 3)
    with pytest.raises(cfg.ConfigError, match=r"\[wamp\] pending_calls = 0: must be 1 or more"):
        cfg.build(cfg.parse("[wamp]\npending_calls = 0\n", "t.cfg"))


def test_trusted_proxies_and_proxy_protocol_reach_the_config():
    config = cfg.build(cfg.parse("[web]\ntrusted_proxies =\n    127.0.0.1\n    10.0.0.0/8 ::1\n"
                                 "[lines]\nproxy_protocol = v1\n[irc]\nproxy_protocol = v2\n", "t.cfg"))
    assert config.web.trusted_proxies == ("127.0.0.1", "10.0.0.0/8", "::1")
    assert (config.lines_proxy_protocol, config.irc.proxy_protocol) == ("v1", "v2")
    defaults = cfg.Config()
    assert (defaults.web.trusted_proxies, defaults.lines_proxy_protocol, defaults.irc.proxy_protocol) == ((), "off", "off")
