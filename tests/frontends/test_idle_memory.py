"""
What one idle connection costs chatd, counted by tracemalloc: WebSocket
and line connections driven in memory (the transports are the test's,
not counted), opened the way a busy server sees them (many handshakes
before the first nick), then registered and joined to rooms of 10.

The bounds sit between what chatd needs today (about 2,900 bytes per
WebSocket, 1,850 per line connection, 3,000 per IRC connection) and what
it needed before the idle-memory work (9,650, 2,490 and 5,600;
docs/performance.md, "Memory"): a WebSocket kept Autobahn's options,
handshake and send queue, and line and IRC connections set attributes
after dozens of others existed, which gave each its own dictionary.  The last tests check, one by one, what
L{chatd.frontends.wsrest} and L{chatd.frontends.timerwheel} assume of
Autobahn, so that a later Autobahn that does otherwise fails here.
"""

import ast
import gc
import inspect
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Callable, List

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransportWithDisconnection
from test_websocket import RELAXED, Client, World, clock  # noqa: F401 (a fixture: txaio on a Clock)

from chatd.config import Config, WebConfig
from chatd.core.hub import Hub
from chatd.core.text import skeleton
from chatd.frontends.lines import LineFactory
from chatd.frontends.wsrest import HANDSHAKE_ONLY
from chatd.store.memory import MemoryStore

#: Connections per measurement: enough that the hub's and the rooms'
#: own tables are a small share of the count.
N = 400

#: Bytes of chatd's (and Autobahn's) objects per idle connection.
WEBSOCKET_BOUND = 4500
LINES_BOUND = 2300
IRC_BOUND = 3600


def per_connection(open_all: Callable[[int], List]) -> float:
    """tracemalloc's growth per connection while C{open_all(N)} opens N, the test's own objects aside."""
    skeleton("warm")  # loads the look-alike table once for the process (800 KB), at the first nick
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        kept = open_all(N)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    ours = [tracemalloc.Filter(False, "*/twisted/internet/testing.py"), tracemalloc.Filter(False, "*/tests/*"),
            tracemalloc.Filter(False, tracemalloc.__file__)]
    grown = sum(stat.size_diff for stat in after.filter_traces(ours).compare_to(before.filter_traces(ours), "filename"))
    assert kept
    return grown / N


@pytest.fixture
def make_world(clock):
    worlds = []

    def make(**web) -> World:
        worlds.append(World(clock, Config(web=WebConfig(**web), rules=RELAXED)))
        return worlds[-1]

    yield make
    for world in worlds:
        world.finish()


def websockets(world: World):
    def open_all(n: int) -> List[Client]:
        clients = [world.connect() for _ in range(n)]  # every handshake first, as under load
        for i, client in enumerate(clients):
            assert client.status == 101
            client.login(f"u{i}", f"#room{i % (n // 10)}")
        for client in clients:
            client.events()
        return clients
    return open_all


def test_an_idle_websocket_costs_under_4500_bytes(make_world, clock):
    world = make_world()
    cost = per_connection(websockets(world))
    assert cost < WEBSOCKET_BOUND, f"{cost:.0f} bytes per idle WebSocket"


def test_an_idle_websocket_pinged_costs_no_more(make_world, clock):
    """After the auto-ping's round trip the connection gives back what decoding its frames took."""
    world = make_world(ping_interval=10, ping_timeout=5)

    def open_and_ping(n: int) -> List[Client]:
        clients = websockets(world)(n)
        clock.advance(10)
        for client in clients:
            [(opcode, payload)] = client._read()
            assert opcode == 9
            client.send_raw(payload, opcode=10)
        clock.advance(6)
        assert not any(client.transport.disconnected for client in clients)
        return clients

    cost = per_connection(open_and_ping)
    assert cost < WEBSOCKET_BOUND, f"{cost:.0f} bytes per idle WebSocket after a ping"


def test_an_idle_line_connection_costs_under_2300_bytes(clock):
    hub = Hub(clock, MemoryStore(), RELAXED)
    factory = LineFactory(hub, max_line=1024, sendq=4096, motd="Be nice.")

    def open_all(n: int) -> List:
        members = []
        for i in range(n):  # every connection first, as under load
            address = IPv4Address("TCP", "192.0.2.7", 40000 + i)
            member = factory.buildProtocol(address)
            transport = StringTransportWithDisconnection(peerAddress=address)
            transport.protocol = member
            member.makeConnection(transport)
            members.append((member, transport))
        for i, (member, transport) in enumerate(members):
            member.dataReceived(f"u{i}\n/join #room{i % (n // 10)}\n".encode())
        for member, transport in members:
            assert b"Your current room is" in transport.value()
            transport.clear()
        return members

    cost = per_connection(open_all)
    assert cost < LINES_BOUND, f"{cost:.0f} bytes per idle line connection"


def test_an_idle_irc_connection_costs_under_3600_bytes():
    """An IRC client registered and in a room: its 29 attributes share their class's key table."""
    from ircworld import IrcClient, World as IrcWorld

    world = IrcWorld()

    def open_all(n: int) -> List:
        clients = [IrcClient(world.irc) for _ in range(n)]  # every connection first, as under load
        for i, client in enumerate(clients):
            client.send(f"NICK u{i}", f"USER u{i} 0 * :someone", f"JOIN #room{i % (n // 10)}")
        for client in clients:
            assert any(line.command == "366" for line in client.read())  # end of NAMES: joined
        return clients

    cost = per_connection(open_all)
    assert cost < IRC_BOUND, f"{cost:.0f} bytes per idle IRC connection"


def test_the_first_nick_costs_the_server_under_2_mb():
    """
    The first nick loads Unicode's look-alike table for the whole
    process: read line by line into a compact table, not as one 2.7 MB
    string parsed at once (which peaked at 6 MB and kept 7 MiB of RSS).
    """
    code = ("import tracemalloc; from chatd.core.text import skeleton; tracemalloc.start(); "
            "assert skeleton('A1ice') == skeleton('alice'); print(tracemalloc.get_traced_memory()[1])")
    root = Path(__file__).resolve().parents[2]
    peak = int(subprocess.run([sys.executable, "-c", code], cwd=root, check=True, capture_output=True,
                              text=True, timeout=60).stdout)
    assert peak < 2_000_000, f"{peak} bytes at the peak of loading the look-alike table"


def test_an_open_websocket_has_no_copy_of_the_options_nor_the_handshake_and_its_ping_is_on_the_wheel(make_world):
    """
    What the memory bound above rests on, one assumption about Autobahn
    each: it copies an option only to a connection that has none, it
    keeps nothing of the handshake that chatd does not drop, and it asks
    the factory for its per-connection timers.
    """
    world = make_world()
    proto = world.member("alice").proto
    kept = set(vars(proto))
    assert kept & set(proto.CONFIG_ATTRS) == set()
    assert kept & {name for name in HANDSHAKE_ONLY if not name.startswith("_")} == set()
    assert world.factory.timers.pending == 1  # its auto-ping


def test_autobahn_reads_the_handshake_state_only_during_the_handshake():
    """
    An open connection keeps none of HANDSHAKE_ONLY: no method Autobahn
    runs after the handshake may read them.  A later Autobahn that does
    fails here (and needs HANDSHAKE_ONLY changed), not in production.
    """
    handshake = {"__init__", "connectionMade", "_connectionMade", "processHandshake", "succeedHandshake",
                 "failHandshake", "sendHttpErrorResponse", "sendHtml", "sendRedirect", "sendServerStatus",
                 "onOpenHandshakeTimeout", "onConnect", "_onOpen", "setTrackTimings", "transport_details"}
    import autobahn.twisted.websocket
    import autobahn.websocket.protocol

    readers = {}
    for module in (autobahn.websocket.protocol, autobahn.twisted.websocket):
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if not isinstance(node, ast.ClassDef) or "Client" in node.name or "Factory" in node.name:
                continue
            for function in node.body:
                if not isinstance(function, ast.FunctionDef) or function.name in handshake:
                    continue
                for read in ast.walk(function):
                    if (isinstance(read, ast.Attribute) and isinstance(read.ctx, ast.Load)
                            and isinstance(read.value, ast.Name) and read.value.id == "self"
                            and read.attr in HANDSHAKE_ONLY):
                        readers.setdefault(read.attr, []).append(f"{node.name}.{function.name}")
    assert readers == {}
