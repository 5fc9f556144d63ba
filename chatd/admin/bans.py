# -*- test-case-name: tests.test_admin_bans -*-
"""
Address bans: L{Bans} refuse addresses and networks for a while.  The
connection gate consults L{Bans.is_banned} for every new connection.
Bans live in memory; a restart forgets them.
"""

import ipaddress
from typing import Dict, List, Optional, Tuple, Union

DEFAULT_BAN_MINUTES = 60
MAX_BAN_MINUTES = 366 * 24 * 60

Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


def parse_ip(host: str) -> Optional[Address]:
    """
    The address in C{host} (C{[::1]}, C{fe80::1%eth0}), IPv4-mapped IPv6
    as IPv4 (what an C{INET6} systemd socket reports); C{None} if none.
    """
    host = host.strip().strip("[]").split("%", 1)[0]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def looks_like_address(target: str) -> bool:
    """A ban target with C{:} or C{/}, or digits and dots, is an address, not a nick."""
    return ":" in target or "/" in target or target.replace(".", "").isdigit()


class Bans:
    """
    Addresses and networks refused until a deadline.

    @param clock: C{IReactorTime} (a Clock in tests).
    """

    def __init__(self, clock) -> None:
        self.clock = clock
        self._until: Dict[Network, float] = {}

    @staticmethod
    def network(target: str) -> Network:
        """
        Parse an address or CIDR network to ban.

        @raise ValueError: not an address, everything, or loopback (which,
            behind a local reverse proxy, is every web user).
        """
        try:
            net = ipaddress.ip_network(target.strip().strip("[]"), strict=False)
        except ValueError:
            raise ValueError(f"{target!r} is not an IP address or network")
        if net.version == 6 and net.prefixlen >= 96 and net.network_address.ipv4_mapped is not None:
            net = ipaddress.ip_network(f"{net.network_address.ipv4_mapped}/{net.prefixlen - 96}")
        if net.prefixlen == 0:
            raise ValueError(f"{net} is every address")
        if net.is_loopback:
            raise ValueError(f"{net} is loopback: a local reverse proxy connects from there, so this "
                             "would ban everyone behind it; kick the session instead")
        return net

    def add(self, target: Union[str, Network], seconds: float) -> Network:
        net = self.network(target) if isinstance(target, str) else target
        self._until[net] = self.clock.seconds() + seconds
        return net

    def remove(self, target: str) -> bool:
        return self._until.pop(self.network(target), None) is not None

    def is_banned(self, host: str) -> bool:
        """Whether a connection from C{host} (an address string) is refused now."""
        if not self._until:
            return False
        ip = parse_ip(host)
        if ip is None:
            return False
        now = self.clock.seconds()
        for net, until in tuple(self._until.items()):
            if until <= now:
                del self._until[net]
            elif ip in net:
                return True
        return False

    def active(self) -> List[Tuple[Network, float]]:
        """The bans in force, with the time each ends, soonest first."""
        now = self.clock.seconds()
        for net in [n for n, until in self._until.items() if until <= now]:
            del self._until[net]
        return sorted(self._until.items(), key=lambda item: item[1])
