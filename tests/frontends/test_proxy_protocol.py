"""
HAProxy's PROXY protocol on the line and IRC listeners, in memory: the
listeners as the daemon builds them from a configuration
([lines] / [irc] proxy_protocol, [web] trusted_proxies = 10.0.0.1), and
StringTransport connections from the balancer or from anyone else.
"""

import socket
import struct

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransportWithDisconnection
from twisted.python.failure import Failure

from chatd.config import Config, IrcConfig, WebConfig
from chatd.core.hub import Hub
from chatd.core.rules import Rules
from chatd.frontends import irc as irc_front
from chatd.frontends import lines as lines_front
from chatd.frontends.gate import Gate
from chatd.frontends.proxyheader import HEADER_TIMEOUT
from chatd.frontends.registry import Shared
from chatd.passwords import SyncHasher
from chatd.store.memory import MemoryStore

from test_jsonapi import logged  # noqa: F401  (a fixture: every log event during the test)

BALANCER = "10.0.0.1"
ALICE = "203.0.113.7"
BOB = "198.51.100.20"
SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(source: str, port: int = 51000) -> bytes:
    family = "TCP6" if ":" in source else "TCP4"
    destination = "2001:db8::1" if ":" in source else "10.0.0.2"
    return f"PROXY {family} {source} {destination} {port} 2323\r\n".encode()


def v2(source: str, port: int = 51000, command: int = 0x21, tlvs: bytes = b"") -> bytes:
    """A v2 PROXY (or, with command 0x20, LOCAL) header over TCP."""
    if ":" in source:
        family, addresses = 0x21, socket.inet_pton(socket.AF_INET6, source) + socket.inet_pton(
            socket.AF_INET6, "2001:db8::1")
    else:
        family, addresses = 0x11, socket.inet_aton(source) + socket.inet_aton("10.0.0.2")
    body = addresses + struct.pack("!HH", port, 6667) + tlvs
    return SIGNATURE + bytes((command, family)) + struct.pack("!H", len(body)) + body


class Listener:
    """A line or IRC listener of a daemon that trusts the balancer at 10.0.0.1."""

    def __init__(self, kind: str, version: str, per_address: int = 2, total: int = 100, banned=(),
                 trusted=(BALANCER,)) -> None:
        self.clock = Clock()
        config = Config(web=WebConfig(trusted_proxies=trusted), irc=IrcConfig(proxy_protocol=version),
                        lines_proxy_protocol=version, connections_per_ip=per_address, max_connections=total,
                        rules=Rules(flood_rate=1000, flood_burst=1000))
        self.hub = Hub(self.clock, MemoryStore(), config.rules, hasher=SyncHasher())
        self.gate = Gate(per_address, total, banned=lambda host: host in banned, proxies=config.web.trusted_proxies)
        shared = Shared(hub=self.hub, reactor=self.clock, gate=self.gate, turn=None, bans=None, reload=lambda: [])
        built = (lines_front if kind == "lines" else irc_front).build(config, shared)
        self.factory = built.outer(built.factory)
        self.reload = built.reload
        self.config = config

    def connect(self, peer: str, port: int = 40000) -> "Connection":
        return Connection(self.factory, IPv4Address("TCP", peer, port))

    def peers(self):
        return sorted((s.peer, s.host) for s in self.hub.sessions)


class Connection:
    def __init__(self, factory, address) -> None:
        self.proto = factory.buildProtocol(address)
        self.transport = StringTransportWithDisconnection(peerAddress=address)
        self.transport.protocol = self.proto
        self.proto.makeConnection(self.transport)

    def send(self, data: bytes) -> "Connection":
        self.proto.dataReceived(data)
        return self

    def text(self) -> str:
        return self.transport.value().decode()

    @property
    def open(self) -> bool:
        return self.transport.connected

    def close(self) -> None:
        if self.transport.connected:
            self.transport.loseConnection()  # calls connectionLost, as a TCP transport does


def said(logged, level=None):
    return [e["log_format"].format(**e) for e in logged
            if e.get("log_namespace") == "chatd.proxy" and (level is None or e["log_level"].name == level)]


@pytest.mark.parametrize("version, header, peer, host", [
    ("v1", v1(ALICE), f"{ALICE}:51000", ALICE),
    ("v1", v1("2001:db8::7"), "[2001:db8::7]:51000", "2001:db8::7"),
    ("v2", v2(ALICE), f"{ALICE}:51000", ALICE),
    ("v2", v2("2001:db8::7"), "[2001:db8::7]:51000", "2001:db8::7"),
    ("v2", v2("::ffff:203.0.113.7"), f"{ALICE}:51000", ALICE),
    ("v2", v2(ALICE, tlvs=b"\x04\x00\x03abc"), f"{ALICE}:51000", ALICE),  # a TLV after the addresses
])
def test_a_line_user_behind_the_balancer_has_its_own_address(version, header, peer, host):
    """Nothing is said before the header; after it, the user is greeted, and its session has the address it names."""
    listener = Listener("lines", version)
    c = listener.connect(BALANCER)
    assert c.text() == "" and not listener.hub.sessions
    c.send(header + b"alice\r\n")
    assert "Welcome to chatd." in c.text() and "You are now alice" in c.text()
    assert listener.peers() == [(peer, host)]


def test_the_header_may_come_in_pieces():
    listener = Listener("lines", "v2")
    c = listener.connect(BALANCER)
    for byte in v2(ALICE) + b"alice\r\n":
        c.send(bytes([byte]))
    assert listener.peers() == [(f"{ALICE}:51000", ALICE)] and "You are now alice" in c.text()


@pytest.mark.parametrize("version, header", [
    ("v1", b"PROXY UNKNOWN\r\n"),
    ("v1", b"PROXY UNKNOWN ffff:f::1 ffff:f::2 1 2\r\n"),
    ("v2", v2(ALICE, command=0x20)),  # LOCAL: the balancer's health check
])
def test_a_header_that_names_nobody_leaves_the_balancer_as_the_client(version, header):
    listener = Listener("lines", version)
    c = listener.connect(BALANCER, 40007)
    c.send(header + b"probe\r\n")
    assert listener.peers() == [(f"{BALANCER}:40007", BALANCER)]
    assert c.open


@pytest.mark.parametrize("version, data, why", [
    ("v1", b"alice\r\n", "it did not begin with a PROXY protocol v1 header"),
    ("v2", b"alice\r\n", "it did not begin with a PROXY protocol v2 header"),
    ("v1", v2(ALICE), "it sent a PROXY protocol v2 header; this listener expects v1"),
    ("v2", v1(ALICE), "it sent a PROXY protocol v1 header; this listener expects v2"),
    ("v1", b"PROXY TCP4 203.0.113.999 10.0.0.2 1 2\r\n", "header names no valid client address"),
    ("v1", b"PROXY TCP4 203.0.113.7 10.0.0.2 x 2\r\n", "header is malformed"),
    ("v1", b"PROXY TCP4 203.0.113.7 10.0.0.2 70000 2\r\n", "header names no valid client address"),
    ("v1", b"PROXY TCP5 203.0.113.7 10.0.0.2 1 2\r\n", "header is malformed"),
    ("v1", b"PROXY TCP4 203.0.113.7\r\n", "header is malformed"),
    ("v1", b"PROXY " + b"1" * 200, "has no line end within 107 bytes"),
    ("v2", SIGNATURE + b"\x11\x11\x00\x0c" + b"\x00" * 12, "is not version 2"),
    ("v2", SIGNATURE + b"\x21\x11\x00\x02" + b"\x00" * 2, "header is malformed"),  # too short for its addresses
    ("v2", SIGNATURE + b"\x21\x51\x00\x0c" + b"\x00" * 12, "header is malformed"),  # no such family
])
def test_a_trusted_connection_without_a_good_header_is_closed_and_logged(logged, version, data, why):
    listener = Listener("lines", version)
    c = listener.connect(BALANCER)
    c.send(data)
    assert not c.open and c.text() == "" and not listener.hub.sessions
    [line] = said(logged, "warn")
    assert line.startswith(f"Closed a lines connection from the trusted proxy {BALANCER}: ") and why in line
    assert line.endswith(f"([lines] proxy_protocol = {version})")
    assert listener.gate.count == 0


def test_a_balancer_that_sends_no_header_is_closed_after_a_while(logged):
    listener = Listener("lines", "v1")
    c = listener.connect(BALANCER)
    listener.clock.advance(HEADER_TIMEOUT - 1)
    assert c.open
    listener.clock.advance(1)
    assert not c.open
    assert said(logged, "warn") == [f"Closed a lines connection from the trusted proxy {BALANCER}: no PROXY protocol "
                                    f"header within {HEADER_TIMEOUT} seconds ([lines] proxy_protocol = v1)"]
    assert listener.gate.count == 0 and not listener.clock.getDelayedCalls()


def test_anyone_else_is_served_directly_and_its_header_is_not_believed(logged):
    """
    A direct user is greeted at once, with its own address, whatever its
    first bytes (even ones a header starts with); one that sends a PROXY
    header is closed, with a warning naming it.
    """
    listener = Listener("lines", "v1")
    direct = listener.connect(BOB, 40001)
    assert "Welcome to chatd." in direct.text()
    direct.send(b"P").send(b"at\r\n")  # could have been "PROXY "; it is a nick
    assert "You are now Pat" in direct.text()
    empty = listener.connect(BOB, 40002)
    empty.send(b"\r\n").send(b"eve\r\n")  # the v2 signature begins with CR LF
    assert "You are now eve" in empty.text()
    for header in (v1(ALICE), v2(ALICE)):
        liar = listener.connect(BOB, 40003)
        liar.send(header[:3]).send(header[3:] + b"mallory\r\n")
        assert not liar.open and "mallory" not in liar.text()
    assert listener.peers() == [(f"{BOB}:40001", BOB), (f"{BOB}:40002", BOB)]
    assert said(logged, "warn") == [
        f"Closed a lines connection from {BOB}: it sent a PROXY protocol header, but it is not in "
        "[web] trusted_proxies (a client passing for another, or a proxy missing from that list)"] * 2


def test_the_gate_counts_the_client_not_the_balancer():
    """
    connections_per_ip = 1: connections waiting for their header are not
    the balancer's address; each client is counted, and refused in the
    line front end's words, by its own; closing gives the place back.
    """
    listener = Listener("lines", "v1", per_address=1)
    waiting = [listener.connect(BALANCER, 41000 + i) for i in range(3)]
    alice = waiting[0].send(v1(ALICE) + b"alice\r\n")
    bob = waiting[1].send(v1(BOB) + b"bob\r\n")
    again = waiting[2].send(v1(ALICE, 51001))
    assert alice.open and bob.open
    assert again.text() == ("! too-many-connections: Too many connections from your address; close some and try "
                            "again.\r\n") and not again.open
    alice.close()
    assert listener.connect(BALANCER).send(v1(ALICE, 51002) + b"alice2\r\n").open
    assert listener.gate.stats["connections_refused:too-many-connections"] == 1


def test_a_banned_client_behind_the_balancer_is_refused():
    listener = Listener("lines", "v2", banned={ALICE})
    c = listener.connect(BALANCER).send(v2(ALICE))
    assert c.text() == "! banned: This address is banned from this server.\r\n" and not c.open
    assert listener.connect(BALANCER).send(v2(BOB) + b"bob\r\n").open


def test_the_total_is_counted_when_the_balancer_connects():
    listener = Listener("lines", "v1", total=1)
    first = listener.connect(BALANCER)
    second = listener.connect(BALANCER)
    assert second.text().startswith("! server-full: ") and not second.open
    first.close()
    assert listener.gate.count == 0


def test_irc_behind_the_balancer(logged):
    listener = Listener("irc", "v2", banned={BOB})
    c = listener.connect(BALANCER).send(v2(ALICE) + b"NICK ivan\r\nUSER ivan 0 * :Ivan\r\n")
    assert " 001 ivan " in c.text()
    assert listener.peers() == [(f"{ALICE}:51000", ALICE)]
    refused = listener.connect(BALANCER).send(v2(BOB))
    assert refused.text() == "ERROR :Closing link: banned: This address is banned from this server.\r\n"
    liar = listener.connect("192.0.2.50").send(v1(ALICE))
    assert not liar.open and "PROXY" not in liar.text()
    assert said(logged, "warn")[0].startswith("Closed an irc connection from 192.0.2.50: it sent a PROXY protocol")


def test_an_irc_client_on_the_line_port_behind_the_balancer_keeps_its_address():
    listener = Listener("lines", "v1")
    c = listener.connect(BALANCER).send(v1(ALICE) + b"NICK ivan\r\nUSER ivan 0 * :Ivan\r\n")
    assert " 001 ivan " in c.text()
    assert listener.peers() == [(f"{ALICE}:51000", ALICE)]
    c.send(b"PING :still-here\r\n")  # later bytes reach the IRC connection too
    assert c.text().endswith(":chatd PONG chatd still-here\r\n")
    c.close()
    assert listener.gate.count == 0 and not listener.gate.open


def test_changing_the_version_needs_a_restart():
    from dataclasses import replace

    listener = Listener("lines", "v1")
    report = listener.reload(listener.config, replace(listener.config, lines_proxy_protocol="v2"))
    assert "needs a restart to take effect: [lines] proxy_protocol" in report


def test_a_connection_lost_before_its_header_gives_its_place_back():
    listener = Listener("lines", "v1")
    c = listener.connect(BALANCER).send(b"PROXY TCP4 ")
    c.proto.connectionLost(Failure(ConnectionDone()))
    assert listener.gate.count == 0 and not listener.hub.sessions and not listener.clock.getDelayedCalls()


@pytest.mark.parametrize("balancer, insecure", [("127.0.0.1", False), (BALANCER, True)])
def test_a_password_may_come_through_a_balancer_on_this_machine(balancer, insecure):
    """
    As on the web listener, whether a password may travel in the clear is
    the connection's business: a balancer on this machine (which ends TLS
    itself) is local, whoever it names; one elsewhere is not.
    """
    listener = Listener("lines", "v1", trusted=(balancer,))
    c = listener.connect(balancer).send(v1(ALICE) + b"alice\r\n/login alice correct-horse\r\n")
    assert listener.peers() == [(f"{ALICE}:51000", ALICE)]
    assert ("! insecure: " in c.text()) is insecure, c.text()
