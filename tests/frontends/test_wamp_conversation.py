"""
Issue 18 through WAMP, in memory: every new JSON command is a chatd.*
procedure and the new events arrive as JSON event objects, on the room's
topic (reactions, typing in a room) or on the session's (typing to the
user, its account's read markers).
"""

import pytest

from wampworld import World, topic_of

LOBBY = topic_of("#lobby")


@pytest.fixture
def world():
    return World()


def test_replies_reactions_and_typing_are_procedures_and_room_events(world):
    ann = world.wamp_user("ann", "#lobby")
    bob = world.wamp_user("bob", "#lobby")
    first = ann.call("chatd.say", "#lobby", "line one\nline two").kwargs["id"]
    reply = bob.call("chatd.say", "#lobby", "yes", reply_to=first)
    assert reply.kwargs["id"] == first + 1
    react = bob.call("chatd.react", "#lobby", first, "👍")
    assert react.kwargs["id"] == first + 2
    bob.call("chatd.typing", room="#lobby", state="paused")
    seen = [e for e in ann.events() if e["type"] != "join"]
    assert [(e["type"], e.get("text"), e.get("reply_to"), e.get("reaction"), e.get("state")) for e in seen] == [
        ("message", "line one\nline two", None, None, None),
        ("message", "yes", first, None, None),
        ("react", None, None, "👍", None),
        ("typing", None, None, None, "paused"),
    ]
    wrong = bob.call("chatd.react", "#lobby", 999, "👍")
    assert wrong.error == "chatd.error.no-such-message"


def test_typing_to_a_user_arrives_on_its_session_topic(world):
    ann = world.wamp_user("ann")
    mine = ann.subscribe(ann.private_topic)
    bob = world.wamp_user("bob")
    bob.call("chatd.typing", to="ann")
    assert [(e["type"], e["nick"], e["to"], e["state"]) for e in ann.events(mine)] == [
        ("typing", "bob", "ann", "active")]


def test_a_read_marker_reaches_the_accounts_other_session(world):
    world.account("carol")
    laptop, phone = world.client(), world.client()
    laptop.login("carol")
    phone.login("carol")
    mine = phone.subscribe(phone.private_topic)
    laptop.call("chatd.join", "#lobby")
    said = laptop.call("chatd.say", "#lobby", "remember this").kwargs["id"]
    assert laptop.call("chatd.read", room="#lobby", id=said).kwargs["id"] == said
    markers = [e for e in phone.events() if e["type"] == "read"]
    assert markers == [{"type": "read", "room": "#lobby", "id": said}]
    assert phone.call("chatd.read", room="#lobby").kwargs["id"] == said
