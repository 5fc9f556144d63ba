"""
chatctl without a daemon: its command line, how it finds the admin
listener, the errors it prints, and that it loads no Twisted.  (Its
talk with a real admin listener is in test_admin.py.)
"""

import socket
import subprocess
import sys

import pytest

from chatd import chatctl


def test_chatctl_usage_and_unreachable(tmp_path, capsys):
    missing = tmp_path / "none.sock"
    assert chatctl.main(["--socket", str(missing), "status"]) == 2
    assert capsys.readouterr().err == f"chatctl: cannot talk to chatd on {missing} (--admin): No such file or directory\n"
    assert chatctl.main(["--admin", f"unix:{missing}:mode=600", "status"]) == 2
    assert "No such file or directory" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        chatctl.main(["--socket", str(missing)])
    with pytest.raises(SystemExit):
        chatctl.main(["--socket", str(missing), "status\nquit"])


@pytest.mark.parametrize(
    "given, family, address",
    [
        ("/run/chatd/admin.sock", socket.AF_UNIX, "/run/chatd/admin.sock"),
        ("admin.sock", socket.AF_UNIX, "admin.sock"),
        ("unix:/run/chatd/admin.sock", socket.AF_UNIX, "/run/chatd/admin.sock"),
        ("unix:/run/chatd/admin.sock:mode=600", socket.AF_UNIX, "/run/chatd/admin.sock"),
        ("unix:address=/run/chatd/admin.sock:mode=660:lockfile=0", socket.AF_UNIX, "/run/chatd/admin.sock"),
        ("unix:/srv/chat\\:1/admin.sock:mode=600", socket.AF_UNIX, "/srv/chat:1/admin.sock"),
        ("tcp:9466:interface=127.0.0.1", socket.AF_INET, ("127.0.0.1", 9466)),
        ("tcp:9466", socket.AF_INET, ("127.0.0.1", 9466)),
        ("tcp:port=9466:interface=0.0.0.0", socket.AF_INET, ("127.0.0.1", 9466)),
        ("tcp6:9466:interface=\\:\\:1", socket.AF_INET6, ("::1", 9466)),
        ("tcp6:9466", socket.AF_INET6, ("::1", 9466)),
    ],
)
def test_chatctl_takes_the_endpoint_strings_the_daemon_takes(given, family, address):
    """--admin takes what twistd chatd --admin takes (escaped colons, options), or a bare path."""
    assert chatctl.address(given) == (family, address)


@pytest.mark.parametrize(
    "given, message",
    [
        ("systemd:domain=UNIX:name=admin", "chatctl connects to unix: and tcp: admin endpoints only, not systemd:"),
        ("ssl:9466:privateKey=key.pem", "not ssl:"),
        ("unx:/run/chatd/admin.sock", "'unx' is not an endpoint type"),
        ("tcp:94x6", "the port must be a number from 0 to 65535"),
        ("unix::mode=600", "a unix: endpoint needs a socket path"),
    ],
)
def test_chatctl_names_what_is_wrong_with_an_endpoint(given, message, capsys):
    assert chatctl.main(["--admin", given, "status"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"chatctl: cannot use {given} (--admin): ")
    assert message in err


def _cfg(path, listen):
    path.write_text(f"[server]\nname = test\n[admin]\nlisten = {listen}\n" if listen is not None else "[server]\nname = test\n")
    return str(path)


def test_chatctl_resolution_order(tmp_path):
    """--admin, then --config's [admin] listen, then $CHATD_ADMIN_SOCKET, then the first tap.cfg found, then the default."""
    given = _cfg(tmp_path / "given.cfg", "unix:/given.sock:mode=600")
    found = _cfg(tmp_path / "found.cfg", "unix:/found.sock")
    env = {"CHATD_ADMIN_SOCKET": "unix:/env.sock"}
    search = (str(tmp_path / "absent.cfg"), found)
    assert chatctl.resolve("tcp:1", given, env, search) == ("tcp:1", "--admin")
    assert chatctl.resolve(None, given, env, search) == ("unix:/given.sock:mode=600", f"[admin] listen in {given}")
    assert chatctl.resolve(None, None, env, search) == ("unix:/env.sock", "$CHATD_ADMIN_SOCKET")
    assert chatctl.resolve(None, None, {}, search) == ("unix:/found.sock", f"[admin] listen in {found}")
    assert chatctl.resolve(None, None, {}, search[:1]) == (chatctl.DEFAULT_ENDPOINT, f"the default: no {search[0]}")
    assert chatctl.DEFAULT_ENDPOINT == "unix:/run/chatd/admin.sock"
    assert chatctl.CONFIG_SEARCH == ("./tap.cfg", "/etc/chatd/tap.cfg")  # the order docs/operations.md gives


@pytest.mark.parametrize(
    "listen, message",
    [
        (None, "turns chatd's admin listener off ([admin] listen is empty)"),
        ("", "turns chatd's admin listener off ([admin] listen is empty)"),
    ],
)
def test_chatctl_says_when_the_config_turns_admin_off(tmp_path, capsys, listen, message):
    path = _cfg(tmp_path / "tap.cfg", listen)
    assert chatctl.main(["--config", path, "status"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"chatctl: {path} ") and message in err and "--admin ENDPOINT" in err


def test_chatctl_reports_an_unusable_config(tmp_path, capsys):
    assert chatctl.main(["--config", str(tmp_path / "nope.cfg"), "status"]) == 2
    assert capsys.readouterr().err.startswith(f"chatctl: cannot read config file {tmp_path / 'nope.cfg'}: No such file or directory.")
    bad = tmp_path / "bad.cfg"
    bad.write_text("[admin]\nlisten = unix:/a.sock\n[limits]\nmax_mesage = 5\n")
    assert chatctl.main(["--config", str(bad), "status"]) == 2
    err = capsys.readouterr().err
    assert "unknown setting [limits] max_mesage" in err and "--admin ENDPOINT skips the file" in err


def test_chatctl_loads_no_twisted():
    """chatctl is a plain blocking client: importing it loads neither Twisted nor the daemon's admin side."""
    code = ("import sys, chatd.chatctl; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('twisted', 'zope') "
            "or m in ('chatd.admin.protocol', 'chatd.core.hub')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout == "[]\n"


def test_python_m_chatd_admin_runs_chatctl(tmp_path):
    """python -m chatd.admin COMMAND is chatctl COMMAND."""
    missing = tmp_path / "none.sock"
    proc = subprocess.run([sys.executable, "-m", "chatd.admin", "--socket", str(missing), "status"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr == f"chatctl: cannot talk to chatd on {missing} (--admin): No such file or directory\n"
