"""
The sender's account on room events (for IRCv3 account-tag and
extended-join): a message, an action and a join say which account their
sender is logged in to, on this node and on the others; guests' and
history's say none.
"""

import pytest

from chatd.core import events as ev

from chatcore_helpers import World, result
from fakecluster import Cluster

PASSWORD = "correct horse"


@pytest.fixture
def world():
    return World(nick_grace=30)


def logged_in(node, nick, *rooms):
    """A user who registered C{nick} (so is logged in to it), then joined C{rooms}."""
    session, sink = node.connect(nick)
    result(session.register(PASSWORD))
    for room in rooms:
        result(session.join(room))
    return session, sink


def test_a_logged_in_users_message_and_action_name_its_account(world):
    """Everyone in the room, the sender too, sees the account as registered (not folded)."""
    alice, a = logged_in(world, "Alice", "#r")
    bob, b = world.member("bob", "#r")
    a.clear()
    said = result(alice.say("#r", "hi"))
    acted = result(alice.act("#r", "waves"))
    assert (said.account, acted.account) == ("Alice", "Alice")
    for sink in (a, b):
        assert [(e.type, e.nick, e.account) for e in sink.events] == [
            ("message", "Alice", "Alice"), ("action", "Alice", "Alice")]


def test_a_guests_message_has_no_account(world):
    alice, a = logged_in(world, "alice", "#r")
    bob, b = world.member("bob", "#r")
    a.clear()
    result(bob.say("#r", "hello"))
    assert [(e.nick, e.account) for e in a.of_type(ev.MESSAGE)] == [("bob", None)]


def test_the_account_follows_login_and_logout(world):
    """A message says the account its sender is logged in to when it is said."""
    bob, b = world.member("bob", "#r")
    result(bob.say("#r", "before"))
    result(bob.register(PASSWORD))
    result(bob.say("#r", "during"))
    result(bob.logout())
    result(bob.say("#r", "after"))
    assert [(e.text, e.account) for e in b.of_type(ev.MESSAGE)] == [
        ("before", None), ("during", "bob"), ("after", None)]


def test_a_join_names_the_joiners_account(world):
    """Members see a logged-in user join with its account, a guest without."""
    alice, a = world.member("alice", "#r")
    bob, b = logged_in(world, "Bob")
    result(bob.join("#r"))
    carol, _ = world.connect("carol")
    result(carol.join("#r"))
    assert [(e.nick, e.account) for e in a.of_type(ev.JOIN)] == [("Bob", "Bob"), ("carol", None)]
    assert [(e.nick, e.account) for e in b.of_type(ev.JOIN)] == [("Bob", "Bob"), ("carol", None)]


def test_history_carries_no_account(world):
    """The store keeps no account: messages read back have none."""
    alice, _ = logged_in(world, "alice", "#r")
    result(alice.say("#r", "hi"))
    assert [m.account for m in result(alice.history("#r")).messages] == [None]


def test_the_account_crosses_nodes():
    """A member on another node sees the account on the join and on the message."""
    cluster = Cluster()
    n1, n2 = cluster.node("n1"), cluster.node("n2")
    carol, c = n2.member("carol", "#r")
    cluster.pump()
    c.clear()
    alice, _ = logged_in(n1, "Alice", "#r")
    result(alice.say("#r", "hi"))
    cluster.pump()
    assert [(e.type, e.account) for e in c.events if e.type in (ev.JOIN, ev.MESSAGE)] == [
        ("join", "Alice"), ("message", "Alice")]
