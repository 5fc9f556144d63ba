"""
End to end, as an operator sees it: systemd readiness over a fake
NOTIFY_SOCKET, SIGHUP, the metrics endpoint, the admin socket, and SIGTERM
telling every front end.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from chatclients import LineClient, PollClient, WSUser


def notify_socket(tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify.sock"
    sock.bind(str(path))
    sock.settimeout(10)
    return sock, str(path)


def datagrams(sock, until: str, timeout: float = 10.0):
    got = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got.append(sock.recv(4096).decode())
        if until in got[-1]:
            return got
    raise AssertionError(f"no {until!r} in {got!r}")


def test_ready_reloading_stopping_reach_systemd(make_daemon, tmp_path):
    """READY=1 once listening and the store is open; RELOADING=1/READY=1 around SIGHUP; STOPPING=1 on SIGTERM."""
    sock, path = notify_socket(tmp_path)
    d = make_daemon(env={"NOTIFY_SOCKET": path})
    assert any(m.startswith("READY=1") for m in datagrams(sock, "READY=1"))
    LineClient(d.lines_port).login("alice")  # listening for real by then
    d.send_signal(signal.SIGHUP)
    got = datagrams(sock, "READY=1")
    assert any("RELOADING=1" in m and "MONOTONIC_USEC=" in m for m in got)
    d.send_signal(signal.SIGTERM)
    assert any("STOPPING=1" in m for m in datagrams(sock, "STOPPING=1"))
    sock.close()


def test_metrics_endpoint_answers(make_daemon):
    """--metrics serves Prometheus text with connections, messages and deliveries."""
    d = make_daemon(args=["--metrics", "tcp:0:interface=127.0.0.1"])
    alice = LineClient(d.lines_port).login("alice", "#lobby")
    bob = WSUser(d.ws_url, "bob", "#lobby")
    alice.send("counted")
    bob.expect(lambda e: e.get("text") == "counted")
    text = requests.get(f"http://127.0.0.1:{d.port('metrics')}/metrics", timeout=5).text
    values = {}
    for row in text.splitlines():
        if row and not row.startswith("#"):
            name, _, value = row.rpartition(" ")
            values[name] = float(value)
    assert values['chatd_sessions{frontend="lines"}'] == 1
    assert values['chatd_sessions{frontend="websocket"}'] == 1
    assert values["chatd_rooms"] == 1
    assert values["chatd_messages_received_total"] >= 1
    assert values["chatd_deliveries_total"] >= 2
    assert "process_resident_memory_bytes" in values


CHATCTL = str(Path(sys.executable).with_name("chatctl"))


def chatctl(*words, cwd=None, env=None):
    """The installed chatctl console script, as an operator runs it."""
    environ = {k: v for k, v in os.environ.items() if k != "CHATD_ADMIN_SOCKET"}
    environ.update(env or {})
    return subprocess.run([CHATCTL, *words], capture_output=True, text=True, timeout=30, cwd=cwd, env=environ)


def test_admin_socket_status_kick_broadcast(make_daemon, tmp_path):
    """The admin socket answers status, kicks a user (others see the kick) and broadcasts a notice."""
    sock_path = tmp_path / "admin.sock"
    admin = f"unix:{sock_path}:mode=600"  # the string the daemon took, given to chatctl as is
    d = make_daemon(args=["--admin", admin])
    assert oct(sock_path.stat().st_mode & 0o777) == "0o600"
    assert f"chatd admin listener ready on {sock_path} ({admin})" in d.log()
    alice = LineClient(d.lines_port).login("alice", "#lobby")
    bob = LineClient(d.lines_port).login("bob", "#lobby")

    status = chatctl("--admin", admin, "status")
    assert status.returncode == 0, status.stderr
    assert "lines" in status.stdout
    assert chatctl("--socket", admin, "broadcast", "maintenance at noon").returncode == 0
    alice.expect("maintenance at noon")
    assert chatctl("--socket", str(sock_path), "kick", "bob", "spamming").returncode == 0
    assert alice.expect("bob was kicked") == "[#lobby] -!- bob was kicked by an operator (spamming)"
    assert bob.wait_closed()
    nobody = chatctl("kick", "nobody", env={"CHATD_ADMIN_SOCKET": admin})
    assert (nobody.returncode, nobody.stderr) == (1, "error nobody is called nobody\n")
    assert "b'" not in d.log()


def test_chatctl_finds_the_admin_endpoint_in_tap_cfg(make_daemon, tmp_path):
    """With [admin] listen only in the daemon's tap.cfg, chatctl --config FILE (or ./tap.cfg) finds it."""
    sock_path = tmp_path / "run:1" / "admin.sock"  # a colon, escaped in tap.cfg
    sock_path.parent.mkdir()
    escaped = str(sock_path).replace(":", "\\:")
    d = make_daemon({("admin", "listen"): f"unix:{escaped}:mode=600"})
    assert oct(sock_path.stat().st_mode & 0o777) == "0o600"
    assert f"chatd admin listener ready on {sock_path} (unix:{escaped}:mode=600)" in d.log()
    alice = LineClient(d.lines_port).login("alice", "#lobby")

    by_config = chatctl("--config", str(d.config_path), "sessions")
    assert by_config.returncode == 0, by_config.stderr
    assert by_config.stdout.startswith("ok 1 sessions\nalice lines 127.0.0.1:")
    found = chatctl("status", cwd=d.workdir)  # ./tap.cfg, the first place chatctl looks
    assert found.returncode == 0, found.stderr
    assert "sessions_lines 1" in found.stdout.splitlines()

    alice.close()
    d.stop()
    gone = chatctl("--config", str(d.config_path), "status")
    assert gone.returncode == 2
    assert gone.stderr == (f"chatctl: cannot talk to chatd on unix:{escaped}:mode=600 "
                           f"([admin] listen in {d.config_path}): No such file or directory\n")


def test_chatctl_on_a_tcp_admin_listener(make_daemon):
    """A loopback tcp: admin listener: chatctl takes the daemon's string with the port it got."""
    d = make_daemon(args=["--admin", "tcp:0:interface=127.0.0.1"])
    status = chatctl("--admin", f"tcp:{d.port('admin')}:interface=127.0.0.1", "status")
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("ok status\n")


def test_sigterm_tells_every_front_end(make_daemon):
    """SIGTERM: lines get a notice, WebSocket a shutdown event and close 1001, long-poll a shutdown event."""
    d = make_daemon()
    line = LineClient(d.lines_port).login("liner", "#lobby")
    ws = WSUser(d.ws_url, "webber", "#lobby")
    poll = PollClient(d.web_url, "poller", "#lobby")
    poll.expect(lambda e: e["type"] == "history")
    held = {}
    waiter = threading.Thread(target=lambda: held.setdefault("r", poll.poll(timeout=20)))
    waiter.start()  # a long-poll client always has a poll held, as the browser does
    time.sleep(0.3)
    d.send_signal(signal.SIGTERM)
    line.expect("shutting down")
    assert ws.expect(lambda e: e["type"] == "shutdown")["reason"].startswith("The server is shutting down")
    try:
        ws.recv(timeout=5)
        raise AssertionError("the WebSocket should be closed")
    except Exception as e:
        assert getattr(getattr(e, "rcvd", None), "code", 1001) == 1001
    waiter.join(15)
    body = held["r"].json()
    events = body["events"]
    if not any(e["type"] == "shutdown" for e in events):  # answered by a quit first: poll on
        events += poll.poll(timeout=5, after=body["last"]).json()["events"]
    shutdown = [e for e in events if e["type"] == "shutdown"]
    assert shutdown and "shutting down" in shutdown[0]["reason"], (held["r"].status_code, held["r"].text)
    d.proc.wait(20)
    assert d.proc.returncode in (0, -signal.SIGTERM)
    assert "Traceback" not in d.log()


def test_a_kick_is_seen_alike_on_every_front_end(make_daemon, tmp_path):
    """chatctl kick: telnet, WebSocket and long-poll members all see the kick; the kicked one is told and let go."""
    sock_path = tmp_path / "admin.sock"
    d = make_daemon(args=["--admin", f"unix:{sock_path}"])
    telnet = LineClient(d.lines_port).login("tel", "#den")
    web = WSUser(d.ws_url, nick="webby", room="#den")
    poller = PollClient(d.web_url, nick="polly", room="#den")
    target = WSUser(d.ws_url, nick="troll", room="#den")
    telnet.expect("troll has joined")

    kicked = chatctl("--admin", f"unix:{sock_path}", "kick", "troll", "posting spam")
    assert kicked.returncode == 0, kicked.stderr
    assert telnet.expect("troll was") == "[#den] -!- troll was kicked by an operator (posting spam)"
    expected = {"type": "kick", "room": "#den", "nick": "troll", "by": "an operator", "reason": "posting spam"}
    for client in (web, poller, target):
        got = client.expect(lambda e: e["type"] == "kick")
        assert {k: v for k, v in got.items() if k not in ("ts", "seq")} == expected  # seq: the long-poll cursor
    farewell = target.expect(lambda e: e["type"] == "shutdown")
    assert farewell["reason"] == "Kicked by an operator: posting spam"
    for client in (web, poller):
        assert not [e for e in client.seen if e["type"] == "quit"], "a kick is not also a quit"
    telnet.send("and the room goes on")
    web.expect(lambda e: e.get("text") == "and the room goes on")
