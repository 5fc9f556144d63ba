# -*- test-case-name: tests.cluster.test_cluster_conversation -*-
"""
Tests on a real redis-server that what a conversation gained in issue 18
crosses nodes whole: a reply (its quote) and reactions, stored by one
node and published by the store's script; typing in a room, published by
a node and stored nowhere; a read marker and typing in a private
conversation, handed to a user's connections on another node.
"""

import pytest_twisted
from redisworld import wait_for

from chatd.core import directives as dv
from chatd.core import events as ev


def shown(event):
    """What a member sees of an event, whatever its type."""
    names = ("type", "id", "room", "nick", "text", "reply_to", "reply_nick", "reply_text", "message", "reaction",
             "state", "to", "account", "via", "cid", "ts")
    return tuple(getattr(event, name, None) for name in names)


@pytest_twisted.ensureDeferred
async def test_a_reply_and_reactions_stored_on_one_node_reach_every_node_as_stored(world):
    n1, n2 = await world.node("n1"), await world.node("n2")
    got1, got2 = [], []
    await n1.hub.bus.subscribe("#t", got1.append)
    await n2.hub.bus.subscribe("#t", got2.append)
    await n1.store.append("#T", "message", "alice", "line one\nline two", 10.0, "alice", None)
    quote = {"reply_to": 1, "reply_nick": "alice", "reply_text": "line one"}
    await n2.store.append("#t", "message", "bob", "agreed", 11.0, "bob", "c1", via=3, account="Bob", extra=quote)
    await n1.store.append("#t", "react", "carol", "🎉", 12.0, "carol", None, via=4, extra={"message": 2})
    await n2.store.append("#t", "unreact", "carol", "🎉", 13.0, "carol", None, via=5, extra={"message": 2})
    await wait_for(lambda: len(got1) == len(got2) == 4, "both nodes hear all four")
    assert [shown(e) for e in got1] == [shown(e) for e in got2] == [
        ("message", 1, "#T", "alice", "line one\nline two", None, None, None, None, None, None, None, None, None,
         None, 10.0),
        ("message", 2, "#T", "bob", "agreed", 1, "alice", "line one", None, None, None, None, "Bob", 3, "c1", 11.0),
        ("react", 3, "#T", "carol", None, None, None, None, 2, "🎉", None, None, None, 4, None, 12.0),
        ("unreact", 4, "#T", "carol", None, None, None, None, 2, "🎉", None, None, None, 5, None, 13.0),
    ]
    assert all(e.reactions == () for e in got2[:2])
    history, more = await n2.store.recent("#t", 10)
    assert [shown(e)[:-4] for e in history] == [shown(e)[:-4] for e in got1] and not more
    assert [e.id for e in await n1.store.reactions("#t", [1, 2])] == [3, 4]


@pytest_twisted.ensureDeferred
async def test_typing_in_a_room_crosses_nodes_and_is_stored_nowhere(world):
    n1, n2 = await world.node("n1"), await world.node("n2")
    got = []
    await n2.hub.bus.subscribe("#t", got.append)
    for state in ("active", "paused", "done"):
        n1.hub.bus.publish("#t", ev.Typing(room="#t", nick="alice", state=state, ts=1.0))
    await wait_for(lambda: len(got) == 3, "n2 hears the typing")
    assert [shown(e) for e in got] == [("typing", None, "#t", "alice", None, None, None, None, None, None, state,
                                        None, None, None, None, 1.0) for state in ("active", "paused", "done")]
    assert await n1.store.last_id("#t") == 0
    assert await n2.store.recent("#t", 10) == ([], False)


@pytest_twisted.ensureDeferred
async def test_a_read_marker_and_private_typing_reach_the_user_on_another_node(world):
    n1, n2 = await world.node("n1"), await world.node("n2")
    bob, b = await n2.connect("bob")
    await n1.connect("alice")
    b.clear()
    marker = ev.ReadMarker(room="#t", message=7, ts=2.0)
    private = ev.ReadMarker(to="alice", message=3, ts=2.5)
    typing = ev.Typing(nick="alice", to="bob", state="active", ts=3.0)
    for event in (marker, private, typing):
        n1.nodes.tell("n2", dv.ToUser(uid=bob.user.uid, event=event))
    await wait_for(lambda: len(b.events) == 3, "bob's connection on n2 gets all three")
    assert [(e.type, e.room, e.to, e.message) for e in b.events[:2]] == [("read", "#t", None, 7),
                                                                         ("read", None, "alice", 3)]
    assert shown(b.events[2]) == shown(typing)
