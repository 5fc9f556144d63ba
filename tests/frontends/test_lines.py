"""
The line front end driven in memory: StringTransport connections on a hub
with a fake clock; no sockets, no real time.
"""

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransportWithDisconnection

from chatd.core.hub import Hub
from chatd.core.rules import Rules
from chatd.frontends.lines import MAX_OVERLONG, LineFactory
from chatd.store.memory import MemoryStore


class Terminal:
    """One connected line user and what their terminal shows."""

    port = 40000

    def __init__(self, factory: LineFactory) -> None:
        Terminal.port += 1
        self.proto = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", Terminal.port))
        self.transport = StringTransportWithDisconnection(
            peerAddress=IPv4Address("TCP", "127.0.0.1", Terminal.port)
        )
        self.transport.protocol = self.proto
        self.proto.makeConnection(self.transport)
        self.read = 0

    def type(self, *lines: str) -> None:
        for line in lines:
            self.proto.dataReceived(line.encode("utf-8") + b"\r\n")

    def output(self) -> list:
        """Lines written since the last call."""
        data = self.transport.value()[self.read:]
        self.read += len(data)
        return [line.decode("utf-8") for line in data.split(b"\r\n") if line]

    @property
    def connected(self) -> bool:
        return self.transport.connected


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def factory(clock):
    hub = Hub(clock, MemoryStore(), Rules(max_message=100, flood_rate=1000, flood_burst=1000))
    return LineFactory(hub, max_line=1024, sendq=4096, motd="Be nice.")


@pytest.fixture
def user(factory):
    def make(nick=None, room=None):
        t = Terminal(factory)
        if nick:
            t.type(nick)
        if room:
            t.type(f"/join {room}")
        t.output()
        return t

    return make


def test_banner_asks_for_a_nick(factory):
    """On connect, a short banner tells the user to choose a nick."""
    t = Terminal(factory)
    assert t.output() == [
        "-!- chatd: Be nice.",
        "-!- Choose a nick: type it and press Enter. /help lists commands.",
    ]


def test_first_plain_line_is_the_nick(user):
    """Until a nick is set, a plain line is taken as the nick."""
    t = user()
    t.type("alice")
    assert "You are now alice" in t.output()[0]
    assert t.proto.session.nick == "alice"


def test_messages_and_actions_render_once_for_all(user):
    """Room messages and actions read '[#room] <nick> text' and '[#room] * nick text'."""
    alice, bob, carol = user("alice", "#lobby"), user("bob", "#lobby"), user("carol", "#lobby")
    alice.output()
    bob.output()
    alice.type("hello", "/me waves")
    assert bob.output() == ["[#lobby] <alice> hello", "[#lobby] * alice waves"]
    assert carol.output() == ["[#lobby] <alice> hello", "[#lobby] * alice waves"]
    assert alice.output() == []  # not echoed back to the sender


def test_join_confirms_with_members_and_topic(user):
    """/join confirms with the member count and topic, and sets the current room."""
    alice = user("alice", "#lobby")
    alice.type("/topic Welcome all")
    bob = user("bob")
    bob.type("/join #lobby")
    assert bob.output() == [
        "[#lobby] -!- You joined #lobby",
        "[#lobby] -!- 2 members: alice, bob",
        "[#lobby] -!- Topic: Welcome all (set by alice)",
        "-!- Your current room is #lobby; plain lines are said there.",
    ]


def test_nc_bare_lf_and_crlf_both_work(user):
    """nc sends bare LF, telnet CRLF: both split lines."""
    t = user("alice", "#lobby")
    other = user("bob", "#lobby")
    other.output()
    t.proto.dataReceived(b"one\ntwo\r\nthree\r\x00")
    assert other.output() == ["[#lobby] <alice> one", "[#lobby] <alice> two", "[#lobby] <alice> three"]


def test_every_command(user):
    """Each documented command does what /help says."""
    alice = user("alice", "#lobby")
    bob = user("bob", "#lobby")
    alice.output()
    bob.type("/nick robert")
    assert alice.output() == ["-!- bob is now known as robert"]
    alice.type("/msg robert hi there")
    assert bob.output()[-1] == "*alice* hi there"
    assert alice.output() == ["-> *robert* hi there"]
    alice.type("/topic #lobby New topic")
    assert bob.output() == ["[#lobby] -!- alice set the topic to: New topic"]
    alice.output()
    alice.type("/topic")
    assert alice.output() == ["[#lobby] -!- Topic: New topic (set by alice)"]
    alice.type("/who")
    assert alice.output()[0] == "[#lobby] -!- 2 members: alice, robert"
    alice.type("/rooms")
    assert alice.output() == ["-!- 1 room:", "-!-   #lobby (2) New topic"]
    bob.type("said one", "said two")
    alice.output()
    alice.type("/history 1")
    out = alice.output()
    assert out[0] == "[#lobby] -!- Scrollback (1 message):"
    assert out[1] == "[#lobby] -!- (older messages not shown; /history N shows more)"
    assert out[2].endswith("<robert> said two")
    assert out[-1] == "[#lobby] -!- End of scrollback"
    alice.type("/help")
    assert alice.output()[0] == "Commands:"
    alice.type("/join #other", "in other")
    assert alice.proto.current == "#other"
    alice.type("/part")
    assert alice.proto.current == "#lobby"
    alice.output()
    bob.output()
    alice.type("/part #lobby bye now")
    assert bob.output() == ["[#lobby] -!- alice has left (bye now)"]
    bob.type("/quit gone")
    assert not bob.connected


def test_quit_on_disconnect_tells_the_room(user):
    """A dropped connection is a quit, seen by the room, and frees the nick."""
    alice, bob = user("alice", "#lobby"), user("bob", "#lobby")
    alice.output()
    bob.transport.loseConnection()
    assert alice.output() == ["[#lobby] -!- bob has quit (Connection closed)"]
    again = user()
    again.type("bob")
    assert "You are now bob" in again.output()[0]


def test_errors_are_bang_lines(user):
    """Every error is one line starting with '! ' and naming the problem."""
    t = user()
    t.type("/join #lobby")
    assert t.output() == ["! no-nick: Choose a nick first."]
    t.type("al ice")
    assert t.output()[0].startswith("! invalid-nick: ")
    t.type("alice", "text before joining")
    assert t.output()[-1].startswith("! not-in-room: ")
    t.type("/join #lobby")
    t.output()
    t.type("x" * 101)
    assert t.output() == ["! too-long: The message is 101 characters long; the limit is 100."]


def test_overlong_line_is_refused_then_abuser_closed(user):
    """An over-long line gets an error and is dropped; repeated ones close the connection."""
    t = user("alice", "#lobby")
    t.proto.dataReceived(b"x" * 2000 + b"\n")
    assert t.output() == ["! line-too-long: That line is over 1024 bytes; it was discarded."]
    t.type("fine")
    assert t.connected
    for _ in range(MAX_OVERLONG):
        t.proto.dataReceived(b"y" * 2000 + b"\n")
    assert not t.connected


def test_endless_line_without_newline_is_closed(user):
    """Bytes that never end a line are discarded, then the connection is closed."""
    t = user("alice")
    for _ in range(70):
        t.proto.dataReceived(b"z" * 1024)
        if not t.connected:
            break
    assert not t.connected


def test_control_characters_never_reach_others(user):
    """NUL, ESC sequences and invalid UTF-8 are refused with an error, never relayed."""
    alice, bob = user("alice", "#lobby"), user("bob", "#lobby")
    alice.output()
    alice.proto.dataReceived(b"a\x00b\r\n\x1b]0;pwned\x07\r\n\xc3\x28\r\n")
    errors = alice.output()
    assert [e.split(":")[0] for e in errors] == ["! invalid-text", "! invalid-text", "! invalid-utf8"]
    assert bob.output() == []


def test_exception_in_a_command_is_contained(user, monkeypatch):
    """An unexpected exception gives '! internal', is logged, and the connection lives on."""
    from twisted.logger import globalLogPublisher

    seen = []
    globalLogPublisher.addObserver(seen.append)
    try:
        t = user("alice", "#lobby")
        monkeypatch.setattr(type(t.proto.session), "list_rooms", lambda self: 1 / 0)
        t.type("/rooms")
        assert t.output()[0].startswith("! internal: ")
        assert t.connected
        assert any(e.get("log_failure") is not None for e in seen)
        t.type("/who")
        assert "member" in t.output()[0]
    finally:
        globalLogPublisher.removeObserver(seen.append)


def test_slow_reader_is_dropped_without_slowing_the_room(user):
    """A member whose transport is paused is disconnected past sendq; others keep receiving."""
    alice, bob, slow = user("alice", "#lobby"), user("bob", "#lobby"), user("slow", "#lobby")
    slow.proto.outbox.pauseProducing()  # its kernel buffer is full: it reads nothing
    bob.output()
    for i in range(200):
        alice.type(f"message number {i}")
    seen = bob.output()
    assert [line for line in seen if "<alice>" in line] == [f"[#lobby] <alice> message number {i}" for i in range(200)]
    assert "[#lobby] -!- slow has quit (Too slow to receive messages)" in seen
    assert not slow.connected
    assert slow.proto.outbox.queued <= 4096 + 100
    assert alice.proto.session.hub.find("slow") is None


def test_shutdown_notice(user, factory):
    """Shutdown tells each line user why, then closes."""
    a, b = user("alice", "#lobby"), user("bob")
    factory.hub.shutdown("The server is shutting down")
    assert a.output()[-1] == "-!- The server is shutting down"
    assert b.output()[-1] == "-!- The server is shutting down"
    assert not a.connected and not b.connected


def test_a_connection_that_never_chooses_a_nick_is_closed(clock, factory):
    """Without a nick within registration_timeout, the client is told why and closed."""
    factory.registration_timeout = 60
    t = Terminal(factory)
    t.output()
    clock.advance(59)
    assert t.connected
    clock.advance(1)
    assert t.output() == ["-!- Closing: you did not choose a nick within 60 seconds."]
    assert not t.connected


def test_choosing_a_nick_stops_the_registration_timer(clock, factory):
    """Once a nick is set the registration deadline no longer applies (idle_timeout 0: no idle limit)."""
    t = Terminal(factory)
    t.type("alice")
    clock.advance(3600)
    assert t.connected
    assert clock.getDelayedCalls() == []


def test_idle_timeout_closes_silent_users_only(clock, factory):
    """With idle_timeout set, a user silent for that long is closed; any input resets the clock."""
    factory.idle_timeout = 300
    talker, quiet = Terminal(factory), Terminal(factory)
    talker.type("talker")
    quiet.type("quiet")
    for _ in range(3):
        clock.advance(200)
        talker.type("/who #nowhere")
    assert talker.connected and not quiet.connected
    assert quiet.output()[-1] == "-!- Closing: you did not send anything within 300 seconds."


def test_shutdown_sends_no_quit_lines(user, factory):
    """At shutdown each user's last line is the reason, not a list of others quitting."""
    a, b = user("alice", "#lobby"), user("bob", "#lobby")
    a.output()
    b.output()
    factory.hub.shutdown("Going down")
    assert a.output() == ["-!- Going down"]
    assert b.output() == ["-!- Going down"]
