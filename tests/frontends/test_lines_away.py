"""
A terminal user and away: C{/away [text]} marks the user away or back,
C{/whois} shows who is away, a private message to an away user says so,
and others going away show nothing.
"""

from twisted.internet.task import Clock
from test_lines import Terminal

from chatd.core import events as ev
from chatd.core.hub import Hub
from chatd.core.rules import Rules
from chatd.frontends.lines import LineFactory
from chatd.passwords import SyncHasher
from chatd.store.memory import MemoryStore
from chatd.wire import lines as wire


def terminals(*nicks):
    hub = Hub(Clock(), MemoryStore(), Rules(flood_rate=1000, flood_burst=1000), hasher=SyncHasher())
    factory = LineFactory(hub, max_line=1024, sendq=4096, motd="Be nice.")
    out = []
    for nick in nicks:
        terminal = Terminal(factory)
        terminal.type(nick, "/join #r")
        out.append(terminal)
    for terminal in out:
        terminal.output()
    return out


def test_away_and_back_are_answered_and_the_room_sees_nothing():
    alice, bob = terminals("alice", "bob")
    alice.type("/away gone to lunch")
    assert alice.output() == ["-!- You are marked away: gone to lunch"]
    assert bob.output() == []
    alice.type("/away")
    assert alice.output() == ["-!- You are back"]
    assert bob.output() == []


def test_whois_shows_the_away_message():
    alice, bob = terminals("alice", "bob")
    alice.type("/away lunch")
    bob.type("/whois alice")
    assert bob.output()[-1] == "-!- alice is away: lunch"
    alice.type("/away")
    bob.type("/whois alice")
    assert not any("away" in shown for shown in bob.output())


def test_a_private_message_to_an_away_user_tells_the_sender():
    alice, bob = terminals("alice", "bob")
    alice.type("/away lunch")
    alice.output()
    bob.type("/msg alice are you there?")
    assert bob.output() == ["-> *alice* are you there?", "-!- alice is away: lunch"]
    assert alice.output() == ["*bob* are you there?"]


def test_a_bad_away_message_is_refused_by_the_text_rules():
    alice, = terminals("alice")
    alice.type("/away \x1b[2J")
    [error] = alice.output()
    assert error.startswith("! invalid-text: The away message holds the control character")


def test_the_away_event_renders_as_nothing():
    assert wire.render_event(ev.AwayChanged(nick="alice", away="lunch")) == b""
    assert wire.render_event(ev.AwayChanged(nick="alice")) == b""


def test_away_is_in_help():
    assert "/away [text]" in "\n".join(wire.help_text())
    assert wire.parse("/away  be right back ") == wire.parse("/away be right back")
    assert wire.parse("/away be right back").text == "be right back"
    assert wire.parse("/away").text is None
