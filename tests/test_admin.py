"""
The admin socket's commands (chatd.admin.protocol, reports, moderation,
control) over a StringTransport with a real Hub and MemoryStore, Bans on
a Clock, and chatctl against a real listening unix or tcp socket.
"""

import os
import stat

import pytest
import pytest_twisted
from twisted.internet.address import UNIXAddress
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import formatEvent, globalLogPublisher
from zope.interface import implementer

from chatd import chatctl
from chatd.admin.bans import Bans
from chatd.admin.protocol import AdminFactory
from chatd.core.events import KICK, NOTICE, QUIT
from chatd.core.hub import Hub
from chatd.core.interfaces import ISink
from chatd.core.rules import Rules
from chatd.store.memory import MemoryStore

T0 = 1_700_000_000.0


@implementer(ISink)
class Sink:
    """Records events; disconnect ends the session with the reason, as the front ends do."""

    def __init__(self):
        self.events, self.disconnects, self.session = [], [], None

    def deliver(self, event):
        self.events.append(event)

    def disconnect(self, reason):
        self.disconnects.append(reason)
        self.session.close(reason)


class Server:
    """A hub with sessions, the admin factory, and one operator connection."""

    def __init__(self, reload=None):
        self.clock = Clock()
        self.clock.advance(T0)
        self.hub = Hub(self.clock, MemoryStore(), Rules(flood_rate=100000, flood_burst=100000))
        self.bans = Bans(self.clock)
        self.factory = AdminFactory(self.hub, self.bans, reload=reload, started=T0 - 3600)
        self.proto = self.factory.buildProtocol(UNIXAddress(None))
        self.transport = StringTransport()
        self.proto.makeConnection(self.transport)

    def connect(self, nick, frontend="lines", peer="192.0.2.1:5000", rooms=()):
        sink = Sink()
        # What a front end passes as the client's IP: long-poll peers carry no port.
        host = peer if frontend == "longpoll" else peer.rpartition(":")[0]
        session = sink.session = self.hub.connect(sink, peer=peer, frontend=frontend, host=host)
        session.set_nick(nick)
        for room in rooms:
            session.join(room)
        sink.events.clear()
        return sink

    def send(self, data: bytes):
        self.proto.dataReceived(data)
        out = self.transport.value().decode("utf-8")
        self.transport.clear()
        return out.splitlines()

    def ask(self, command: str):
        return self.send(command.encode("utf-8") + b"\n")


@pytest.fixture
def server():
    return Server()


@pytest.fixture
def logged():
    events = []
    globalLogPublisher.addObserver(events.append)
    yield lambda: [e for e in events if e.get("log_namespace") == "chatd.admin"]
    globalLogPublisher.removeObserver(events.append)


def test_status(server):
    server.connect("alice", "lines", rooms=["#lobby"])
    server.connect("bob", "websocket", "198.51.100.2:1", rooms=["#lobby", "#ops"])
    server.connect("carol", "longpoll", "203.0.113.9")
    reply = server.ask("status")
    assert reply[0] == "ok status" and reply[-1] == "."
    fields = dict(line.split(" ", 1) for line in reply[1:-1])
    assert fields["uptime_seconds"] == "3600"
    assert fields["sessions"] == "3"
    assert fields["sessions_lines"] == fields["sessions_websocket"] == fields["sessions_longpoll"] == "1"
    assert fields["rooms"] == "2" and fields["members"] == "3"
    assert int(fields["rss_bytes"]) > 1_000_000
    assert fields["bans"] == "0"


def test_rooms_lists_members_with_addresses(server):
    server.connect("alice", "lines", "192.0.2.1:5000", rooms=["#lobby"])
    server.connect("bob", "websocket", "[2001:db8::2]:443", rooms=["#lobby"])
    server.hub.rooms["#lobby"].topic = "Be nice"
    assert server.ask("rooms") == [
        "ok 1 rooms",
        "#lobby members=2 topic=Be nice",
        "  alice lines 192.0.2.1:5000",
        "  bob websocket [2001:db8::2]:443",
        ".",
    ]


def test_sessions_include_those_without_rooms(server):
    server.connect("alice", rooms=["#a", "#b"])
    server.hub.connect(Sink(), peer="192.0.2.9:1", frontend="lines")  # no nick yet
    assert server.ask("sessions") == [
        "ok 2 sessions", "alice lines 192.0.2.1:5000 rooms=#a,#b", "- lines 192.0.2.9:1 rooms=-", ".",
    ]


def test_kick(server, logged):
    """The session is disconnected with the reason; its rooms see a kick event; the action is logged."""
    alice = server.connect("alice", rooms=["#lobby"])
    bob = server.connect("bob", peer="192.0.2.2:1", rooms=["#lobby"])
    assert server.ask("kick Alice spamming links") == ["ok kicked alice (lines 192.0.2.1:5000)"]
    assert alice.disconnects == ["Kicked by an operator: spamming links"]
    (kick,) = [e for e in bob.events if e.type == KICK]
    assert (kick.room, kick.nick, kick.by, kick.reason) == ("#lobby", "alice", "an operator", "spamming links")
    assert [e for e in bob.events if e.type == QUIT] == []
    assert alice.events[-1].type == "kick" and alice.events[-1].nick == "alice"
    assert server.hub.find("alice") is None
    (event,) = logged()
    assert event["nick"] == "alice" and event["peer"] == "192.0.2.1:5000" and event["frontend"] == "lines"
    assert event["operator"] == "unknown"  # a StringTransport has no socket to ask


@pytest.mark.parametrize("command, error", [
    ("kick", "error usage: kick NICK [reason]"),
    ("kick nobody", "error nobody is called nobody"),
    ("kick " + "x" * 40, "error The nick is 40 characters long"),
])
def test_kick_errors(server, command, error):
    (line,) = server.ask(command)
    assert line.startswith(error)


def test_ban_by_nick_kicks_every_session_from_that_address(server, logged):
    server.connect("alice", peer="192.0.2.7:1000")
    alt = server.connect("alice2", "websocket", "::ffff:192.0.2.7:2000")
    other = server.connect("bob", peer="192.0.2.8:1000")
    assert server.ask("ban alice 30") == ["ok banned 192.0.2.7/32 for 30 minutes; kicked 2 sessions"]
    assert alt.disconnects == ["Banned by an operator for 30 minutes."]
    assert other.disconnects == []
    assert server.bans.is_banned("192.0.2.7") and server.bans.is_banned("::ffff:192.0.2.7")
    assert not server.bans.is_banned("192.0.2.8")
    assert logged()[0]["network"] == "192.0.2.7/32"
    server.clock.advance(30 * 60 - 1)
    assert server.bans.is_banned("192.0.2.7")
    server.clock.advance(1)
    assert not server.bans.is_banned("192.0.2.7")
    assert server.ask("bans") == ["ok 0 bans", "."]


def test_ban_logs_a_session_without_a_nick_in_words(server, logged):
    sink = Sink()
    sink.session = server.hub.connect(sink, peer="192.0.2.9:1000", frontend="lines", host="192.0.2.9")  # no nick
    assert server.ask("ban 192.0.2.9") == ["ok banned 192.0.2.9/32 for 60 minutes; kicked 1 sessions"]
    texts = [formatEvent(e) for e in logged()]
    assert "Disconnecting banned a client without a nick (lines 192.0.2.9:1000)" in texts
    assert not [t for t in texts if "None" in t]


def test_ban_network_and_ipv6_peers(server):
    v6 = server.connect("dave", "lines", "2001:db8::5:4444")  # host:port, unbracketed
    poll = server.connect("erin", "longpoll", "2001:db8::6")  # long-poll peers have no port
    elsewhere = server.connect("frank", "lines", "2001:db9::1:1")
    assert server.ask("ban 2001:db8::/64") == ["ok banned 2001:db8::/64 for 60 minutes; kicked 2 sessions"]
    assert v6.disconnects and poll.disconnects and not elsewhere.disconnects
    assert server.bans.is_banned("2001:db8::ffff") and server.bans.is_banned("fe80::1%eth0") is False
    assert server.ask("bans") == ["ok 1 bans", "2001:db8::/64 remaining_seconds=3600", "."]
    assert server.ask("unban 2001:db8::/64") == ["ok unbanned 2001:db8::/64"]
    assert not server.bans.is_banned("2001:db8::1")
    assert server.ask("unban 2001:db8::/64") == ["error 2001:db8::/64 is not banned"]


@pytest.mark.parametrize("command, error", [
    ("ban", "error usage"),
    ("ban 127.0.0.1", "error 127.0.0.1/32 is loopback"),
    ("ban ::1", "error ::1/128 is loopback"),
    ("ban 0.0.0.0/0", "error 0.0.0.0/0 is every address"),
    ("ban 192.0.2.1 0", "error minutes must be a whole number"),
    ("ban 192.0.2.1 soon", "error minutes must be a whole number"),
    ("ban 192.0.2.300", "error '192.0.2.300' is not an IP address"),
    ("ban ghost", "error nobody is called ghost"),
])
def test_ban_errors(server, command, error):
    (line,) = server.ask(command)
    assert line.startswith(error)
    assert not server.bans.active()


def test_ban_session_without_address(server):
    server.connect("unixuser", "lines", "/run/chatd/lines.sock")
    (line,) = server.ask("ban unixuser")
    assert line.startswith("error unixuser has no IP address")


def test_broadcast(server, logged):
    a = server.connect("alice")
    b = server.connect("bob", peer="192.0.2.2:1")
    assert server.ask("broadcast Restarting in 5 minutes") == ["ok sent to 2 sessions"]
    for sink in (a, b):
        (notice,) = sink.events
        assert notice.type == NOTICE and notice.text == "Restarting in 5 minutes"
    assert logged()[0]["text"] == "Restarting in 5 minutes"
    assert server.ask("broadcast") == ["error usage: broadcast TEXT"]
    (line,) = server.ask("broadcast \x1b[2Jgotcha")
    assert line.startswith("error ") and len(a.events) == 1


def test_reload_reports(server):
    server.factory.reload = lambda: ["motd updated", ".dotted line"]
    assert server.ask("reload") == ["ok reloaded", "motd updated", "..dotted line", "."]
    server.factory.reload = lambda: []
    assert server.ask("reload") == ["ok reloaded", "no changes", "."]
    server.factory.reload = lambda: ["error: [limits] flood_rate = 'x': expected a whole number."]
    assert server.ask("reload") == [
        "error reload refused, the running configuration stays: [limits] flood_rate = 'x': expected a whole number."]


def test_reload_crash_is_an_error_reply(server):
    def broken():
        raise RuntimeError("certificate file vanished")
    server.factory.reload = broken
    assert server.ask("reload") == ["error reload failed: certificate file vanished"]
    assert server.ask("help")[0] == "ok commands", "the connection still works"


def test_no_reload_callable(server):
    assert server.ask("reload") == ["error reload is not available here"]


def test_replies_keep_command_order_while_reload_runs(server):
    pending = Deferred()
    server.factory.reload = lambda: pending
    assert server.send(b"reload\nbroadcast hi\n") == []
    pending.callback(["limits updated"])
    assert server.send(b"") == ["ok reloaded", "limits updated", ".", "ok sent to 0 sessions"]


def test_help_unknown_blank_and_quit(server):
    reply = server.ask("HELP")
    assert reply[0] == "ok commands" and reply[-1] == "." and any(l.startswith("kick NICK") for l in reply)
    assert server.send(b"\r\n\n") == []
    assert server.ask("shutdown now") == ["error unknown command 'shutdown'; try help"]
    assert server.ask("cmd_status") == ["error unknown command 'cmd_status'; try help"]
    assert server.send(b"\xff\xfe\n")[0].startswith("error unknown command")
    assert server.ask("status\r")[0] == "ok status", "CRLF is fine"
    assert server.ask("quit") == ["ok bye"]
    assert server.transport.disconnecting


def test_overlong_line_closes(server):
    assert server.send(b"x" * 9000) == ["error line too long"]
    assert server.transport.disconnecting


@pytest_twisted.inlineCallbacks
def test_chatctl_against_a_real_socket(tmp_path, capsys):
    """chatctl (blocking, in a thread) talks to the admin factory listening on a mode-0600 unix socket."""
    from twisted.internet import reactor
    from twisted.internet.endpoints import serverFromString
    from twisted.internet.threads import deferToThread

    server = Server(reload=lambda: ["motd updated", ".starts with a dot"])
    server.connect("alice", rooms=["#lobby"])
    path = str(tmp_path / "admin:1.sock")  # a colon, escaped in the endpoint string
    endpoint = "unix:" + path.replace(":", "\\:") + ":mode=600"
    port = yield serverFromString(reactor, endpoint).listen(server.factory)
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        ok, lines = yield deferToThread(chatctl.request, path, "status")
        assert ok and lines[0] == "ok status" and "sessions 1" in lines and lines[-1] != "."
        ok, lines = yield deferToThread(chatctl.request, endpoint, "reload")
        assert ok and lines == ["ok reloaded", "motd updated", ".starts with a dot"]

        capsys.readouterr()
        code = yield deferToThread(chatctl.main, ["--admin", endpoint, "kick", "alice", "bye", "now"])
        assert code == 0
        assert capsys.readouterr().out == "ok kicked alice (lines 192.0.2.1:5000)\n"
        config = tmp_path / "tap.cfg"
        config.write_text(f"[server]\nname = test\n[admin]\nlisten = {endpoint}\n")
        code = yield deferToThread(chatctl.main, ["--config", str(config), "kick", "alice"])
        assert code == 1
        assert capsys.readouterr().err == "error nobody is called alice\n"
        code = yield deferToThread(chatctl.main, ["--socket", path, "help"])
        assert code == 0 and capsys.readouterr().out.startswith("ok commands\n")
    finally:
        yield port.stopListening()


@pytest_twisted.inlineCallbacks
def test_chatctl_over_a_tcp_admin_endpoint(capsys, logged):
    """An admin listener on tcp: (the daemon allows one) is reached with the same string; the log names the operator's address."""
    from twisted.internet import reactor
    from twisted.internet.endpoints import serverFromString
    from twisted.internet.threads import deferToThread

    server = Server()
    server.connect("alice")
    port = yield serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(server.factory)
    try:
        endpoint = f"tcp:{port.getHost().port}:interface=127.0.0.1"
        code = yield deferToThread(chatctl.main, ["--admin", endpoint, "status"])
        assert code == 0
        assert capsys.readouterr().out.startswith("ok status\n")
        code = yield deferToThread(chatctl.main, ["--admin", endpoint, "kick", "alice"])
        assert code == 0
        (kicked,) = [formatEvent(e) for e in logged() if "kicked" in e["log_format"]]
        assert kicked.startswith("Operator 127.0.0.1:") and " kicked alice " in kicked and "uid=" not in kicked
    finally:
        yield port.stopListening()
