"""
chatd.notify against a real AF_UNIX datagram socket standing in for
systemd's NOTIFY_SOCKET.
"""

import os
import socket
import time

import pytest
from twisted.logger import globalLogPublisher

from chatd import notify


@pytest.fixture
def systemd(tmp_path):
    """A bound datagram socket, like the one systemd passes in NOTIFY_SOCKET."""
    path = str(tmp_path / "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(2)
    yield s, {"NOTIFY_SOCKET": path}
    s.close()


@pytest.fixture
def logged():
    events = []
    globalLogPublisher.addObserver(events.append)
    yield events
    globalLogPublisher.removeObserver(events.append)


def received(s) -> dict:
    data = s.recv(4096).decode("utf-8")
    assert data.count("\n") == len(data.splitlines()) - 1, "no empty or trailing lines"
    return dict(line.split("=", 1) for line in data.split("\n"))


def test_unset_is_a_no_op():
    """Outside systemd nothing is sent and nothing fails."""
    assert notify.notify("READY=1", env={}) is False
    assert notify.ready("up", env={}) is False
    assert notify.stopping(env={"NOTIFY_SOCKET": ""}) is False


def test_ready_sends_one_datagram(systemd):
    """READY=1 with a one-line STATUS, in one datagram."""
    s, env = systemd
    assert notify.ready("listening on 2 endpoints\nstore open", env=env) is True
    assert received(s) == {"READY": "1", "STATUS": "listening on 2 endpoints store open"}


def test_reloading_carries_monotonic_usec(systemd):
    """RELOADING=1 comes with MONOTONIC_USEC from CLOCK_MONOTONIC (systemd >= 253)."""
    s, env = systemd
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert notify.reloading(env=env) is True
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    state = received(s)
    assert state["RELOADING"] == "1"
    assert before <= int(state["MONOTONIC_USEC"]) <= after


def test_stopping_and_status(systemd):
    s, env = systemd
    assert notify.stopping("telling clients", env=env)
    assert received(s) == {"STOPPING": "1", "STATUS": "telling clients"}
    assert notify.status("3 sessions", env=env)
    assert received(s) == {"STATUS": "3 sessions"}


def test_raw_notify_sends_exactly_the_state(systemd):
    s, env = systemd
    assert notify.notify("WATCHDOG=1", env=env)
    assert s.recv(4096) == b"WATCHDOG=1"


def test_abstract_socket():
    """A NOTIFY_SOCKET starting with @ names a socket in the abstract namespace."""
    if not os.path.exists("/proc/net/unix"):  # abstract sockets are Linux-only
        if os.environ.get("CI") == "true":
            pytest.fail("abstract unix sockets are not available (Linux only)")
        pytest.skip("abstract unix sockets are Linux-only")
    name = f"chatd-test-notify-{os.getpid()}-{time.monotonic_ns()}"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.bind("\0" + name)
        s.settimeout(2)
        assert notify.ready(env={"NOTIFY_SOCKET": "@" + name}) is True
        assert s.recv(4096) == b"READY=1"
    finally:
        s.close()


def test_missing_socket_is_logged_not_raised(tmp_path, logged):
    """systemd gone (or a wrong path): False and a warning, never an exception."""
    env = {"NOTIFY_SOCKET": str(tmp_path / "nobody-here.sock")}
    assert notify.ready(env=env) is False
    warnings = [e for e in logged if e.get("log_namespace") == "chatd.notify"]
    assert len(warnings) == 1
    assert warnings[0]["address"] == env["NOTIFY_SOCKET"]


def test_unsupported_address_family(logged):
    """vsock: addresses (systemd >= 254, for VMs) are not unix sockets: skipped with a warning."""
    assert notify.notify("READY=1", env={"NOTIFY_SOCKET": "vsock:2:1234"}) is False
    assert any(e.get("log_namespace") == "chatd.notify" for e in logged)
