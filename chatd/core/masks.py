# -*- test-case-name: tests.core.test_moderation -*-
"""
Ban masks: who a ban is for.

  - C{~a:ACCOUNT}: whoever is logged in to that account, under any nick;
  - an address or a network (C{192.0.2.7}, C{2001:db8::/64}): whoever
    connects from there;
  - anything else is a nick pattern, C{*} and C{?} as wildcards
    (C{spam*}), compared after folding like nicks are.
"""

import ipaddress
import re
from dataclasses import dataclass
from typing import Optional, Union

from chatd.core.errors import InvalidMask
from chatd.core.text import check_nick, fold

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


@dataclass(frozen=True)
class Mask:
    """A parsed mask: C{text} as the operator wrote it (normalised), and what it matches."""

    text: str
    account: Optional[str] = None
    network: Optional[Network] = None
    pattern: Optional["re.Pattern"] = None

    def matches(self, account: Optional[str], nick_key: Optional[str], host: Optional[str]) -> bool:
        """Whether a user with this account, folded nick and address is meant."""
        if self.account is not None:
            return account == self.account
        if self.network is not None:
            ip = address(host)
            return ip is not None and ip.version == self.network.version and ip in self.network
        return nick_key is not None and self.pattern.fullmatch(nick_key) is not None


def parse(mask: str) -> Mask:
    """
    Read a mask.

    @raise InvalidMask: naming what a mask may be.
    """
    mask = mask.strip()
    if mask.lower().startswith("~a:"):
        name = mask[3:]
        try:
            key = check_nick(name)
        except Exception:
            raise InvalidMask(f"{mask!r} names no account: after ~a: comes an account name, as in ~a:alice.")
        return Mask(text=f"~a:{name}", account=key)
    network = _network(mask)
    if network is not None:
        return Mask(text=str(network) if network.num_addresses > 1 else str(network.network_address),
                    network=network)
    if not mask or any(ch.isspace() for ch in mask) or len(mask) > 64:
        raise InvalidMask(f"{mask!r} is not a mask: use ~a:ACCOUNT, a nick pattern like spam*, or an address.")
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in fold(mask))
    return Mask(text=mask, pattern=re.compile(regex, re.DOTALL))


def address(host: Optional[str]) -> Optional[Union[ipaddress.IPv4Address, ipaddress.IPv6Address]]:
    """The address in C{host} (IPv4-mapped IPv6 as IPv4), or None."""
    if not host:
        return None
    try:
        ip = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _network(text: str) -> Optional[Network]:
    if not any(ch.isdigit() for ch in text) or not any(ch in text for ch in ".:"):
        return None
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    mapped = getattr(network.network_address, "ipv4_mapped", None)
    if mapped is not None and network.prefixlen >= 96:
        return ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}")
    return network
