"""
A terminal user keeps quiet about other users' logins: the C{account}
event (for IRC's account-notify) shows nothing on the line front end, and
never breaks it.
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


def test_logins_show_nothing_to_the_room():
    hub = Hub(Clock(), MemoryStore(), Rules(flood_rate=1000, flood_burst=1000), hasher=SyncHasher())
    factory = LineFactory(hub, max_line=1024, sendq=4096, motd="Be nice.")
    alice, bob = Terminal(factory), Terminal(factory)
    alice.type("alice", "/join #r")
    bob.type("bob", "/join #r")
    alice.output(), bob.output()
    alice.type("/register correct-horse-battery")
    assert bob.output() == []
    assert alice.output() == ["-!- You registered the account alice and are logged in to it."]
    alice.type("/logout")
    assert bob.output() == []
    assert alice.output()[-1] == "-!- You are logged out."
    alice.type("still here")
    assert bob.output() == ["[#r] <alice> still here"]


def test_the_account_event_renders_as_nothing():
    assert wire.render_event(ev.AccountChanged(nick="alice", account="alice")) == b""
    assert wire.render_event(ev.AccountChanged(nick="alice")) == b""
