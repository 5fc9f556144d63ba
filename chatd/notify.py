# -*- test-case-name: tests.test_notify -*-
"""
Tell systemd how the daemon is doing (C{sd_notify(3)}), without a library.

Under C{Type=notify} systemd passes the path of a datagram socket in
C{$NOTIFY_SOCKET}; a daemon reports by sending it one datagram of
newline-separated C{KEY=value} assignments.  Outside systemd the variable
is unset and every call here does nothing, so the same daemon runs from a
shell, from tests, or under systemd.

The protocol is small and stable (man sd_notify): C{READY=1} once the
daemon serves, C{RELOADING=1} then C{READY=1} around a reload,
C{STOPPING=1} when it begins to stop, and C{STATUS=} for
C{systemctl status}.  A path starting with C{@} is a socket in the abstract
namespace.
"""

import os
import socket
import time
from typing import Mapping, Optional

from twisted.logger import Logger

log = Logger(namespace="chatd.notify")


def notify(state: str, env: Mapping[str, str] = os.environ) -> bool:
    """
    Send C{state} (e.g. C{"READY=1\\nSTATUS=serving"}) to systemd.

    Never raises: a daemon must not die because its supervisor went away.

    @param env: where to look for C{NOTIFY_SOCKET} (the process
        environment; tests pass their own).
    @return: whether a datagram was sent; C{False} when not under
        systemd's supervision or when sending failed (logged).
    """
    address = env.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    elif not address.startswith("/"):
        # systemd >= 254 may also pass vsock: addresses (VMs); not for us.
        log.warn("NOTIFY_SOCKET={address!r} is not a unix socket path; not notifying systemd",
                 address=address)
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.connect(address)
            s.sendall(state.encode("utf-8"))
    except OSError as e:
        log.warn("Could not notify systemd through {address!r}: {error}",
                 address=env["NOTIFY_SOCKET"], error=e)
        return False
    return True


def _status(text: str) -> str:
    """One C{STATUS=} line: the protocol is line-based, so no line breaks."""
    return "STATUS=" + " ".join(text.split())


def monotonic_usec() -> int:
    """CLOCK_MONOTONIC in microseconds, the clock systemd compares against."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def ready(status: Optional[str] = None, env: Mapping[str, str] = os.environ) -> bool:
    """
    The daemon serves: every listener accepts and the store is open.
    Also ends a reload begun with L{reloading}.
    """
    state = "READY=1"
    if status:
        state += "\n" + _status(status)
    return notify(state, env)


def reloading(status: Optional[str] = None, env: Mapping[str, str] = os.environ) -> bool:
    """
    A reload has begun; send L{ready} when it is over (even if it failed:
    the old settings are still in force).

    C{MONOTONIC_USEC} goes with it: systemd >= 253 needs it to tell this
    reload from an earlier one under C{Type=notify-reload}.
    """
    state = f"RELOADING=1\nMONOTONIC_USEC={monotonic_usec()}"
    if status:
        state += "\n" + _status(status)
    return notify(state, env)


def stopping(status: Optional[str] = None, env: Mapping[str, str] = os.environ) -> bool:
    """The daemon has begun to stop (systemd then waits for it to exit)."""
    state = "STOPPING=1"
    if status:
        state += "\n" + _status(status)
    return notify(state, env)


def status(text: str, env: Mapping[str, str] = os.environ) -> bool:
    """Free-form status shown by C{systemctl status}."""
    return notify(_status(text), env)


__all__ = ["notify", "ready", "reloading", "stopping", "status", "monotonic_usec"]
