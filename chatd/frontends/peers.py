# -*- test-case-name: tests.frontends.test_peers -*-
"""
Addresses as an operator writes them, the one place they are formatted:
in log lines, in C{chatctl sessions}, and in what a session calls its peer.
"""

import ipaddress
import os
from typing import Optional


def describe(address) -> str:
    """
    C{127.0.0.1:2323}, C{[::1]:2323}, or a unix socket's path (Twisted
    keeps it as bytes; Linux's abstract sockets are written C{@name}, as
    ss(8) does).
    """
    host = getattr(address, "host", None)
    if host is not None:
        return f"[{host}]:{address.port}" if ":" in host else f"{host}:{address.port}"
    name = getattr(address, "name", None)
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    if name and name.startswith("\0"):
        return "@" + name[1:]
    return name or "an unnamed socket"


def host_of(address) -> Optional[str]:
    """The IP address of C{address}, or None (a unix socket has none)."""
    return getattr(address, "host", None)


def is_local(address) -> bool:
    """
    Whether C{address}'s connection comes from this machine: a loopback
    address, a unix socket, or a client that a proxy on this machine
    names (the address's C{via}: TLS, or its absence, is that proxy's).
    """
    address = getattr(address, "via", None) or address
    host = getattr(address, "host", None)
    if host is None:
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback
