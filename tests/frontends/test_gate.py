"""Connection limits per address and in total, shared by every listener."""

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransportWithDisconnection

from chatd.frontends.gate import Gate, GatedFactory, OperatorGate, address_key, http_refusal, lines_refusal


class Echo(Protocol):
    pass


def connect(factory, host, family="ipv4"):
    addr = IPv4Address("TCP", host, 5000) if family == "ipv4" else IPv6Address("TCP", host, 5000)
    proto = factory.buildProtocol(addr)
    transport = StringTransportWithDisconnection(peerAddress=addr)
    transport.protocol = proto
    proto.makeConnection(transport)
    return proto, transport


def test_ipv6_counts_per_64_and_mapped_ipv4_as_ipv4():
    """Addresses in one IPv6 /64 are one client; ::ffff:1.2.3.4 is 1.2.3.4."""
    assert address_key("2001:db8::1") == address_key("2001:db8::ffff:1") == "2001:db8::/64"
    assert address_key("2001:db8:0:1::1") != address_key("2001:db8::1")
    assert address_key("::ffff:127.0.0.1") == "127.0.0.1"


def test_per_address_limit_is_shared_across_listeners():
    """Two listeners share one gate: the 3rd connection from an address is refused on either."""
    gate = Gate(per_address=2, total=100)
    lines = GatedFactory(gate, Factory.forProtocol(Echo), lines_refusal, "lines")
    web = GatedFactory(gate, Factory.forProtocol(Echo), http_refusal, "web")
    connect(lines, "10.0.0.1")
    connect(web, "10.0.0.1")
    _, t = connect(lines, "10.0.0.1")
    assert t.value() == b"! too-many-connections: Too many connections from your address; close some and try again.\r\n"
    assert not t.connected
    _, t = connect(web, "10.0.0.1")
    assert t.value().startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b'"code":"too-many-connections"' in t.value()
    _, other = connect(lines, "10.0.0.2")
    assert other.connected and other.value() == b""
    assert gate.stats["connections_refused:too-many-connections"] == 2


def test_closing_frees_the_slot():
    """When a connection closes, its address may connect again."""
    gate = Gate(per_address=1, total=100)
    f = GatedFactory(gate, Factory.forProtocol(Echo), lines_refusal, "lines")
    _, t = connect(f, "10.0.0.1")
    t.loseConnection()
    _, t2 = connect(f, "10.0.0.1")
    assert t2.connected
    assert gate.count == 1


def test_total_limit_and_bans():
    """Past the total everyone is refused; a banned address is refused at once."""
    gate = Gate(per_address=10, total=2, banned=lambda host: host == "10.6.6.6")
    f = GatedFactory(gate, Factory.forProtocol(Echo), lines_refusal, "lines")
    _, t = connect(f, "10.6.6.6")
    assert t.value().startswith(b"! banned:")
    connect(f, "10.0.0.1")
    connect(f, "10.0.0.2")
    _, t = connect(f, "10.0.0.3")
    assert t.value().startswith(b"! server-full:")


def test_unix_socket_clients_are_not_counted():
    """Local unix-socket connections (operators) pass the gate uncounted."""
    gate = Gate(per_address=1, total=1)
    f = GatedFactory(gate, Factory.forProtocol(Echo), lines_refusal, "lines")
    assert isinstance(f.buildProtocol(UNIXAddress(None)).wrappedProtocol, Echo)
    assert gate.count == 0


def connect_unix(factory):
    proto = factory.buildProtocol(UNIXAddress(None))
    transport = StringTransportWithDisconnection()
    transport.protocol = proto
    proto.makeConnection(transport)
    return proto, transport


def test_the_admin_socket_has_its_own_cap_and_never_counts_against_the_gate():
    """
    A server full of clients still lets an operator in; the admin socket
    itself takes at most its cap, then says why.
    """
    gate = Gate(per_address=1, total=1)
    GatedFactory(gate, Factory.forProtocol(Echo), lines_refusal, "lines")
    gate.admit("10.0.0.1")  # the server is full
    admin = OperatorGate(Factory.forProtocol(Echo), most=2, idle=600, clock=Clock())
    first, second = connect_unix(admin)[1], connect_unix(admin)[1]
    assert first.connected and second.connected and gate.count == 1
    _, third = connect_unix(admin)
    assert third.value() == b"error server-full: 2 admin connections are open already; close one and try again.\n"
    assert not third.connected
    first.loseConnection()
    assert connect_unix(admin)[1].connected


def test_an_idle_admin_connection_is_closed():
    """Silence for the idle period closes it; any byte either way restarts the period."""
    clock = Clock()
    admin = OperatorGate(Factory.forProtocol(Echo), most=2, idle=600, clock=clock)
    proto, transport = connect_unix(admin)
    clock.advance(599)
    proto.dataReceived(b"status\n")
    clock.advance(599)
    assert transport.connected
    clock.advance(1)
    assert not transport.connected
