"""
The C{account} event (for IRCv3 account-notify): when a user logs in or
out, or its account is dropped, everyone who shares a room with it is
told once, as a nick change is told, on every node.
"""

import pytest

from chatd.core import commands as cmd
from chatd.core import events as ev

from chatcore_helpers import World, result
from fakecluster import Cluster

PASSWORD = "correct horse"


@pytest.fixture
def world():
    return World(nick_grace=30)


def told(sink):
    return [(e.nick, e.account) for e in sink.of_type(ev.ACCOUNT)]


def test_registering_tells_the_rooms_once(world):
    """Members sharing two rooms with the user hear it once; the user's own connection too; strangers not."""
    alice, a = world.member("Alice", "#r", "#s")
    bob, b = world.member("bob", "#r", "#s")
    carol, c = world.member("carol", "#s")
    dave, d = world.member("dave", "#elsewhere")
    result(alice.handle(cmd.Register(password=PASSWORD)))
    assert told(a) == told(b) == told(c) == [("Alice", "Alice")]
    assert told(d) == []


def test_logging_in_and_out_is_told(world):
    alice, a = world.member("alice", "#r")
    result(alice.register(PASSWORD))
    result(alice.logout())
    bob, b = world.member("bob", "#r")
    result(alice.handle(cmd.Login(account="alice", password=PASSWORD)))
    result(alice.handle(cmd.Logout()))
    assert told(b) == [("alice", "alice"), ("alice", None)]


def test_logging_in_under_another_nick_names_the_account_as_registered(world):
    """A user whose nick is not its account's name is told by nick, with the account's name."""
    owner, _ = world.connect("Alice")
    result(owner.register(PASSWORD))
    owner.close("bye")
    al, a = world.member("al", "#r")
    bob, b = world.member("bob", "#r")
    result(al.login("alice", PASSWORD))
    assert told(b) == [("al", "Alice")]


def test_dropping_the_account_is_a_logout(world):
    alice, a = world.member("alice", "#r")
    result(alice.register(PASSWORD))
    bob, b = world.member("bob", "#r")
    result(alice.drop(PASSWORD))
    assert told(b) == [("alice", None)]
    assert told(a)[-1] == ("alice", None)


def test_one_connection_logging_out_changes_nothing_for_the_rooms(world):
    """The account's other connection stays logged in: the rooms are not told of any change."""
    alice, a = world.member("alice", "#r")
    result(alice.register(PASSWORD))
    second, _ = world.connect()
    result(second.login("alice", PASSWORD))
    bob, b = world.member("bob", "#r")
    result(second.logout())
    assert told(b) == []


def test_a_user_without_a_nick_is_told_nothing(world):
    """Logging in before choosing a nick takes the account's nick; nobody could see an account change."""
    owner, _ = world.connect("alice")
    result(owner.register(PASSWORD))
    owner.close("bye")
    fresh, f = world.connect()
    result(fresh.login("alice", PASSWORD))
    assert told(f) == []
    assert fresh.nick == "alice"


def test_the_account_event_crosses_nodes():
    """A member on another node hears the login and the logout once each."""
    cluster = Cluster()
    n1, n2 = cluster.node("n1"), cluster.node("n2")
    alice, _ = n1.member("alice", "#r", "#s")
    bob, b = n2.member("bob", "#r", "#s")
    cluster.pump()
    b.clear()
    result(alice.register(PASSWORD))
    cluster.pump()
    result(alice.logout())
    cluster.pump()
    assert told(b) == [("alice", "alice"), ("alice", None)]
