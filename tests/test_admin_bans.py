"""Address bans (chatd.admin.bans) on a Clock, without a socket or a hub."""

from twisted.internet.task import Clock

from chatd.admin.bans import Bans, parse_ip


def test_bans_object():
    """Expiry on the injected clock; garbage in is never banned."""
    clock = Clock()
    bans = Bans(clock)
    assert not bans.is_banned("192.0.2.1")
    bans.add("192.0.2.0/24", 10)
    bans.add("::ffff:198.51.100.1", 20)  # mapped: stored as IPv4
    assert bans.is_banned("192.0.2.200") and bans.is_banned("198.51.100.1")
    assert not bans.is_banned("not an address") and not bans.is_banned("")
    clock.advance(10)
    assert not bans.is_banned("192.0.2.200") and bans.is_banned("198.51.100.1")
    assert [str(n) for n, _ in bans.active()] == ["198.51.100.1/32"]
    assert parse_ip("[2001:db8::1]") == parse_ip("2001:db8::1")
