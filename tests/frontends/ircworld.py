"""
Helpers for the IRC front end's tests in memory: IRC clients and terminal
users on one hub, over StringTransports, on a fake clock.  What the server
sends is read with irctokens, a parser that is not chatd's own.
"""

import base64

import irctokens
import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransportWithDisconnection

from chatd.core.hub import Hub
from chatd.core.rules import Rules
from chatd.frontends.irc import IrcFactory, IrcSettings
from chatd.frontends.lines import LineFactory
from chatd.passwords import SyncHasher
from chatd.store.memory import MemoryStore
from test_lines import Terminal

#: The clock starts here: 2023-11-14T22:13:20Z.
T0 = 1_700_000_000.0
SERVER = "chatd"
PASSWORD = "correct-horse-staple"


class World:
    """A hub on a fake clock with an IRC front end and a line front end."""

    def __init__(self, motd: str = "Be nice.", store=None, **rules) -> None:
        self.clock = Clock()
        self.clock.advance(T0)
        rules = {"flood_rate": 1000, "flood_burst": 1000, **rules}
        self.hub = Hub(self.clock, store or MemoryStore(), Rules(**rules), name=SERVER, hasher=SyncHasher())
        self.motd = motd
        self.settings = IrcSettings(hub=self.hub, clock=self.clock, server=SERVER, network="TestNet",
                                    motd=lambda: self.motd, ping_interval=90, ping_timeout=60,
                                    registration_timeout=60)
        self.irc = IrcFactory(self.settings)
        self.lines = LineFactory(self.hub, motd="Be nice.")

    def client(self) -> "IrcClient":
        return IrcClient(self.irc)

    def terminal(self, nick=None, *rooms) -> Terminal:
        """A line (telnet) user, with C{nick}, in C{rooms}, its output read."""
        t = Terminal(self.lines)
        if nick:
            t.type(nick)
        for room in rooms:
            t.type(f"/join {room}")
        t.output()
        return t

    def account(self, nick: str, password: str = PASSWORD) -> None:
        """Register the account C{nick} as a terminal user would, and leave."""
        t = self.terminal(nick)
        t.type(f"/register {password}")
        assert not any(line.startswith("! ") for line in t.output())
        t.type("/quit")

    def irc_user(self, nick, *rooms, caps=(), login=False) -> "IrcClient":
        """A registered IRC client (logged in to its account by SASL with C{login}) in C{rooms}."""
        c = self.client()
        c.register(nick, caps=caps, sasl=(nick, PASSWORD) if login else None)
        for room in rooms:
            c.send(f"JOIN {room}")
        c.read()
        return c


class IrcClient:
    """One IRC connection and what the server wrote to it."""

    port = 46000

    def __init__(self, factory: IrcFactory) -> None:
        IrcClient.port += 1
        address = IPv4Address("TCP", "127.0.0.1", IrcClient.port)
        self.proto = factory.buildProtocol(address)
        self.transport = StringTransportWithDisconnection(peerAddress=address)
        self.transport.protocol = self.proto
        self.proto.makeConnection(self.transport)
        self.seen = 0

    def send(self, *lines: str) -> None:
        for line in lines:
            self.proto.dataReceived(line.encode("utf-8") + b"\r\n")

    def raw(self) -> list:
        """The lines (bytes, without CR LF) written since the last read."""
        data = self.transport.value()[self.seen:]
        self.seen += len(data)
        assert data == b"" or data.endswith(b"\r\n"), data
        return data.split(b"\r\n")[:-1]

    def read(self) -> list:
        """The lines written since the last read, parsed."""
        return [irctokens.tokenise(line.decode("utf-8")) for line in self.raw()]

    def register(self, nick: str, caps=(), sasl=None) -> list:
        """
        Negotiate C{caps}, log in with SASL PLAIN (account, password), register
        as C{nick}; return what the server said from 001 on.
        """
        self.send("CAP LS 302")
        wanted = list(caps) + (["sasl"] if sasl else [])
        if wanted:
            self.send("CAP REQ :" + " ".join(wanted))
        if sasl:
            self.send("AUTHENTICATE PLAIN", "AUTHENTICATE " + plain(*sasl))
        self.send(f"NICK {nick}", f"USER {nick} 0 * :{nick.title()}", "CAP END")
        seen = self.read()
        assert "001" in commands(seen), [line.format() for line in seen]
        return seen[commands(seen).index("001"):]

    @property
    def connected(self) -> bool:
        return self.transport.connected


def plain(account: str, password: str) -> str:
    return base64.b64encode(f"\0{account}\0{password}".encode()).decode()


def changes(modes) -> list:
    """MODE lines as (sign and flag, argument) pairs: C{-o+v a b} is (-o, a), (+v, b)."""
    out = []
    for line in modes:
        args = list(line.params[2:])
        sign = "+"
        for flag in line.params[1]:
            if flag in "+-":
                sign = flag
            else:
                out.append((sign + flag, args.pop(0) if flag in "ovbk" or flag == "l" and sign == "+" else None))
    return out


def commands(lines) -> list:
    return [line.command for line in lines]


def only(lines, command: str) -> list:
    return [line for line in lines if line.command == command]


def texts(lines, command: str = "PRIVMSG") -> list:
    return [line.params[-1] for line in lines if line.command == command]


@pytest.fixture
def world():
    return World()


ALL_TAGS = ("message-tags", "server-time", "batch")


def make_den(world):
    """
    #den registered by alice from a terminal; alice (founder) and bob on
    IRC logged in, carol (an account) on a terminal, dave an IRC guest.
    """
    for nick in ("alice", "bob", "carol"):
        world.account(nick)
    founder = world.terminal("alice")
    founder.type(f"/identify {PASSWORD}", "/join #den", "/room register")
    assert not any(line.startswith("! ") for line in founder.output())
    founder.type("/quit")
    alice = world.irc_user("alice", "#den", login=True)
    bob = world.irc_user("bob", "#den", login=True)
    carol = world.terminal("carol")
    carol.type(f"/identify {PASSWORD}", "/join #den")
    carol.output()
    dave = world.irc_user("dave", "#den")
    for c in (alice, bob):
        c.read()
    return alice, bob, carol, dave


@pytest.fixture
def den(world):
    return make_den(world)
