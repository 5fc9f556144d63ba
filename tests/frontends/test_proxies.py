"""
Who the client is behind a proxy: the trusted list, the hops of
X-Forwarded-For and Forwarded (RFC 7239), and the rule that picks the
client, as tables of what proxies and liars send.
"""

import re

import pytest

from chatd.frontends.proxies import Client, TrustedProxies, client, forwarded, node, x_forwarded_for

TRUSTED = TrustedProxies(["127.0.0.1", "10.0.0.0/8", "2001:db8:ffff::/48"])


@pytest.mark.parametrize("host, trusted", [
    ("127.0.0.1", True),
    ("::ffff:127.0.0.1", True),  # a dual-stack socket's way of writing it
    ("10.200.3.4", True),
    ("2001:db8:ffff:1::9", True),
    ("[2001:db8:ffff::1]", True),
    ("127.0.0.2", False),
    ("11.0.0.1", False),
    ("2001:db8:fffe::1", False),
    ("::1", False),
    ("", False),
    ("not an address", False),
    (None, False),
])
def test_who_is_trusted(host, trusted):
    assert (host in TRUSTED) is trusted


def test_nobody_is_trusted_by_default():
    nobody = TrustedProxies()
    assert not nobody and "127.0.0.1" not in nobody


@pytest.mark.parametrize("entry, message", [
    ("localhost", "localhost is not an address or a network like 10.0.0.0/8, ::1 or 2001:db8::/32"),
    ("10.0.0.5/8", "10.0.0.5/8 has bits set past its prefix length; for the whole network write 10.0.0.0/8"),
    ("10.0.0.0/33", "10.0.0.0/33 is not an address or a network"),
    ("10.0.0.1,", "10.0.0.1, is not an address or a network"),
])
def test_an_entry_that_is_no_address_is_named(entry, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        TrustedProxies([entry])


def test_a_mapped_entry_trusts_the_ipv4_address_and_a_reload_replaces_the_list():
    trusted = TrustedProxies(["::ffff:192.0.2.1", "[::1]"])
    assert "192.0.2.1" in trusted and "::1" in trusted
    trusted.set(["192.0.2.2"])
    assert "192.0.2.1" not in trusted and "192.0.2.2" in trusted


@pytest.mark.parametrize("text, found", [
    ("192.0.2.7", Client("192.0.2.7")),
    (" 192.0.2.7 ", Client("192.0.2.7")),
    ("192.0.2.7:5000", Client("192.0.2.7", 5000)),
    ("2001:db8::7", Client("2001:db8::7")),
    ("2001:DB8:0:0::7", Client("2001:db8::7")),
    ("[2001:db8::7]", Client("2001:db8::7")),
    ("[2001:db8::7]:5000", Client("2001:db8::7", 5000)),
    ('"[2001:db8::7]:5000"', Client("2001:db8::7", 5000)),
    ("::ffff:192.0.2.7", Client("192.0.2.7")),
    ("fe80::1%eth0", Client("fe80::1")),
    ("192.0.2.7:_hidden", Client("192.0.2.7")),  # an obfuscated port (RFC 7239 6.3)
    ("unknown", None),
    ("_hidden", None),
    ("_", None),
    ("", None),
    ("192.0.2", None),
    ("192.0.2.7:", None),
    ("192.0.2.7:99999", None),
    ("192.0.2.7:80x", None),
    ("[2001:db8::7", None),
    ("[2001:db8::7]5000", None),
    ("[2001:db8::7]:", None),
    ("chat.example.org", None),
    ("1.2.3.4 5.6.7.8", None),
])
def test_a_hop(text, found):
    assert node(text) == found


def test_x_forwarded_for_lines_join_in_order_and_empty_elements_are_ignored():
    assert x_forwarded_for(["203.0.113.9, 10.0.0.2", " ,10.0.0.3,,"]) == ["203.0.113.9", "10.0.0.2", "10.0.0.3"]
    assert x_forwarded_for([]) == [] and x_forwarded_for([""]) == []


@pytest.mark.parametrize("lines, hops", [
    (["for=192.0.2.60;proto=http;by=203.0.113.43"], ["192.0.2.60"]),
    (['for="[2001:db8:cafe::17]:4711"'], ["[2001:db8:cafe::17]:4711"]),
    (["for=192.0.2.43, for=198.51.100.17"], ["192.0.2.43", "198.51.100.17"]),
    (["for=192.0.2.43", "For=198.51.100.17"], ["192.0.2.43", "198.51.100.17"]),
    (["FOR=unknown"], ["unknown"]),
    (["for=_gazonk"], ["_gazonk"]),
    (['proto=https;for="10.0.0.1";host="a,b;c"'], ["10.0.0.1"]),
    (['for="_a\\"b", for=192.0.2.1'], ['_a"b', "192.0.2.1"]),
    (["proto=https"], [""]),  # an element naming no one
    (["for=1.2.3.4;for=5.6.7.8"], [""]),  # twice in one element: malformed
    (['for="192.0.2.1'], [""]),  # no closing quote: the rest is one malformed element
    (['for="192.0.2.1"x'], [""]),
    (["for=192.0.2.1 x"], [""]),
    (["for="], [""]),
    ([", ,"], []),
])
def test_forwarded_elements(lines, hops):
    assert forwarded(lines) == hops


def headers(**lines):
    return lambda name: lines.get(name.replace("-", "_"), [])


@pytest.mark.parametrize("peer, lines, found", [
    # nginx at 127.0.0.1 appended the client it saw.
    ("127.0.0.1", {"x_forwarded_for": ["203.0.113.9"]}, Client("203.0.113.9")),
    # The client wrote its own header first: only the hop nginx added counts.
    ("127.0.0.1", {"x_forwarded_for": ["198.51.100.1, 203.0.113.9"]}, Client("203.0.113.9")),
    # Two proxies of ours (10.0.0.5 in front of nginx): the first hop that is not one of ours.
    ("127.0.0.1", {"x_forwarded_for": ["198.51.100.1, 203.0.113.9, 10.0.0.5"]}, Client("203.0.113.9")),
    # Every hop is one of ours: the farthest.
    ("127.0.0.1", {"x_forwarded_for": ["10.0.0.7, 10.0.0.5"]}, Client("10.0.0.7")),
    # A hop nobody can name: the proxy that wrote it is all we know.
    ("127.0.0.1", {"x_forwarded_for": ["203.0.113.9, unknown"]}, None),
    ("127.0.0.1", {"x_forwarded_for": ["203.0.113.9, unknown, 10.0.0.5"]}, Client("10.0.0.5")),
    ("127.0.0.1", {"x_forwarded_for": ["garbage"]}, None),
    ("127.0.0.1", {"x_forwarded_for": ["", " , "]}, None),
    # Forwarded, when there is no X-Forwarded-For.
    ("127.0.0.1", {"forwarded": ['for="[2001:db8::9]:4711";proto=https']}, Client("2001:db8::9", 4711)),
    ("127.0.0.1", {"forwarded": ["for=198.51.100.1, for=203.0.113.9;proto=https"]}, Client("203.0.113.9")),
    ("127.0.0.1", {"forwarded": ["for=_hidden"]}, None),
    ("127.0.0.1", {"forwarded": ["proto=https"]}, None),
    # X-Forwarded-For wins over Forwarded: it is the one every proxy appends to.
    ("127.0.0.1", {"x_forwarded_for": ["203.0.113.9"], "forwarded": ["for=198.51.100.66"]}, Client("203.0.113.9")),
    # No header: the proxy is the client.
    ("127.0.0.1", {}, None),
    # From anyone else, whatever the header says, the connection is its own client.
    ("127.0.0.2", {"x_forwarded_for": ["203.0.113.9"]}, None),
    ("198.51.100.1", {"forwarded": ["for=203.0.113.9"]}, None),
    (None, {"x_forwarded_for": ["203.0.113.9"]}, None),  # a unix socket
    # A trusted peer over IPv6, a client over IPv4-mapped IPv6.
    ("2001:db8:ffff::2", {"x_forwarded_for": ["::ffff:203.0.113.9"]}, Client("203.0.113.9")),
])
def test_the_client_behind_a_proxy(peer, lines, found):
    assert client(peer, TRUSTED, headers(**lines)) == found


def test_nobody_is_believed_with_an_empty_list():
    assert client("127.0.0.1", TrustedProxies(), headers(x_forwarded_for=["203.0.113.9"])) is None


@pytest.mark.parametrize("found, text", [
    (Client("203.0.113.9"), "203.0.113.9"),
    (Client("203.0.113.9", 4711), "203.0.113.9:4711"),
    (Client("2001:db8::9"), "2001:db8::9"),
    (Client("2001:db8::9", 4711), "[2001:db8::9]:4711"),
])
def test_a_client_is_written_as_peers_are(found, text):
    assert found.describe() == text
    assert found.address().host == found.host and found.address().port == (found.port or 0)
