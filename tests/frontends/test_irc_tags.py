"""
The client-only tags chatd carries, in memory: a reply (C{+draft/reply}
on a PRIVMSG), reactions (C{+draft/react}, C{+draft/unreact} on a
TAGMSG) and typing notices (C{+typing}), both ways, to clients with
message-tags, and nothing of them to clients without.
"""

import pytest

from chatd.frontends.irc.render import room_tag
from ircworld import World, commands, only, texts, world  # noqa: F401

TAGS = ("message-tags", "server-time", "batch", "standard-replies")
ECHO = TAGS + ("echo-message", "labeled-response")


def said(world, speaker, reader, text: str, room: str = "#lobby") -> str:
    """C{speaker} says C{text}; the msgid C{reader} (with message-tags) sees on it."""
    speaker.send(f"PRIVMSG {room} :{text}")
    for line in reader.read():
        if line.command == "PRIVMSG" and line.params[-1] == text:
            return line.tags["msgid"]
    raise AssertionError(f"{text!r} never reached the reader")


@pytest.fixture
def room(world):
    """alice and bob with message-tags, carol without, in #lobby."""
    alice = world.irc_user("alice", "#lobby", caps=TAGS)
    bob = world.irc_user("bob", "#lobby", caps=TAGS)
    carol = world.irc_user("carol", "#lobby")
    for c in (alice, bob, carol):
        c.read()
    return alice, bob, carol


# -- replies -----------------------------------------------------------------------------------------------------


def test_a_reply_carries_the_msgid_it_answers(world, room):
    alice, bob, carol = room
    original = said(world, alice, bob, "who is in?")
    carol.read()
    alice.read()
    bob.send(f"@+draft/reply={original} PRIVMSG #lobby :me")
    seen = only(alice.read(), "PRIVMSG")
    assert [(m.params, m.tags["+draft/reply"]) for m in seen] == [(["#lobby", "me"], original)]
    assert seen[0].tags["msgid"] != original
    assert [m.format() for m in carol.read()] == [":bob!~bob@user/bob PRIVMSG #lobby me"]


def test_history_keeps_the_reply(world, room):
    alice, bob, _ = room
    original = said(world, alice, bob, "question")
    bob.send(f"@+draft/reply={original} PRIVMSG #lobby :answer")
    alice.read()
    alice.send("CHATHISTORY LATEST #lobby * 10")
    answer = [m for m in only(alice.read(), "PRIVMSG") if m.params[-1] == "answer"]
    assert answer[0].tags["+draft/reply"] == original


def test_a_reply_to_a_msgid_of_another_room_is_refused(world, room):
    alice, bob, carol = room
    bob.send(f"@+draft/reply=1.{room_tag('#elsewhere')} PRIVMSG #lobby :lost")
    refused = bob.read()
    assert [m.params[:3] for m in only(refused, "FAIL")] == [["PRIVMSG", "NO_SUCH_MESSAGE", "#lobby"]]
    assert alice.read() == [] and carol.read() == []


def test_a_reply_to_a_message_that_does_not_exist_is_refused(world, room):
    alice, bob, _ = room
    bob.send(f"@+draft/reply=99.{room_tag('#lobby')} PRIVMSG #lobby :to nothing")
    assert [m.params[:2] for m in only(bob.read(), "FAIL")] == [["PRIVMSG", "NO_SUCH_MESSAGE"]]
    assert alice.read() == []


def test_a_reply_tag_on_a_private_message_is_dropped(world, room):
    """chatd's replies are to room messages: a private message with one is delivered as it is."""
    alice, bob, _ = room
    bob.send(f"@+draft/reply=1.{room_tag('#lobby')} PRIVMSG alice :psst")
    assert texts(alice.read()) == ["psst"]


# -- reactions ---------------------------------------------------------------------------------------------------


def test_a_reaction_reaches_tag_clients_as_a_tagmsg_and_plain_ones_not_at_all(world, room):
    alice, bob, carol = room
    original = said(world, alice, bob, "cake in the kitchen")
    alice.read()
    carol.read()
    bob.send(f"@+draft/react=🎂;+draft/reply={original} TAGMSG #lobby")
    got = alice.read()
    assert commands(got) == ["TAGMSG"]
    tagmsg = got[0]
    assert tagmsg.source == "bob!~bob@user/bob" and tagmsg.params == ["#lobby"]
    assert tagmsg.tags["+draft/react"] == "🎂" and tagmsg.tags["+draft/reply"] == original
    assert "msgid" in tagmsg.tags and "time" in tagmsg.tags
    assert carol.read() == []  # a plain client is not told: it has no way to show one
    assert bob.read() == []  # no echo-message: the sender is not told either


def test_taking_a_reaction_back_is_an_unreact_tagmsg(world, room):
    alice, bob, _ = room
    original = said(world, alice, bob, "hot take")
    alice.read()
    bob.send(f"@+draft/react=👍;+draft/reply={original} TAGMSG #lobby",
             f"@+draft/unreact=👍;+draft/reply={original} TAGMSG #lobby")
    got = only(alice.read(), "TAGMSG")
    assert [("+draft/react" in m.tags, m.tags.get("+draft/unreact")) for m in got] == [(True, None), (False, "👍")]


def test_a_labelled_reaction_is_echoed_with_its_label(world):
    alice = world.irc_user("alice", "#lobby", caps=TAGS)
    bob = world.irc_user("bob", "#lobby", caps=ECHO)
    original = said(world, alice, bob, "vote")
    bob.read()
    bob.send(f"@label=R1;+draft/react=+1;+draft/reply={original} TAGMSG #lobby")
    echo = bob.read()
    assert [(m.command, m.tags["label"], m.tags["+draft/react"]) for m in echo] == [("TAGMSG", "R1", "+1")]


def test_a_labelled_reaction_without_echo_is_acknowledged(world):
    alice = world.irc_user("alice", "#lobby", caps=TAGS)
    bob = world.irc_user("bob", "#lobby", caps=TAGS + ("labeled-response",))
    original = said(world, alice, bob, "vote")
    bob.send(f"@label=R2;+draft/react=+1;+draft/reply={original} TAGMSG #lobby")
    assert [(m.command, m.tags["label"]) for m in bob.read()] == [("ACK", "R2")]


def test_a_reaction_without_a_message_is_refused(world, room):
    alice, bob, _ = room
    bob.send("@+draft/react=👍 TAGMSG #lobby")
    assert [m.params[:2] for m in only(bob.read(), "FAIL")] == [["TAGMSG", "BAD_COMMAND"]]
    bob.send(f"@+draft/react=👍;+draft/reply=5.{room_tag('#lobby')} TAGMSG #lobby")
    assert [m.params[:2] for m in only(bob.read(), "FAIL")] == [["TAGMSG", "NO_SUCH_MESSAGE"]]
    assert alice.read() == []


def test_a_reaction_with_a_space_is_refused(world, room):
    alice, bob, _ = room
    original = said(world, alice, bob, "hi")
    alice.read()
    bob.send(f"@+draft/react=two\\swords;+draft/reply={original} TAGMSG #lobby")
    assert [m.params[:2] for m in only(bob.read(), "FAIL")] == [["TAGMSG", "INVALID_TEXT"]]
    assert alice.read() == []


def test_a_muted_member_may_not_react(world):
    world.account("alice")
    founder = world.terminal("alice")
    founder.type("/identify correct-horse-staple", "/join #den", "/room register")
    bob = world.irc_user("bob", "#den", caps=TAGS)
    dan = world.irc_user("dan", "#den", caps=TAGS)
    original = said(world, dan, bob, "hello", "#den")
    founder.type("/mute bob")
    founder.output()
    bob.read()
    dan.read()
    bob.send(f"@+draft/react=👍;+draft/reply={original} TAGMSG #den")
    assert "404" in commands(bob.read())
    assert dan.read() == []


def test_a_reaction_in_a_private_conversation_is_dropped(world, room):
    alice, bob, _ = room
    bob.send(f"@+draft/react=👍;+draft/reply=1.{room_tag('#lobby')} TAGMSG alice")
    assert alice.read() == [] and bob.read() == []


def test_history_shows_reactions_after_their_message(world, room):
    """CHATHISTORY (and a JOIN's scrollback): each reaction still standing, as its reactor's TAGMSG, in the batch."""
    alice, bob, carol = room
    original = said(world, alice, bob, "lunch?")
    bob.send(f"@+draft/react=🍕;+draft/reply={original} TAGMSG #lobby")
    carol.send("PRIVMSG #lobby :later")
    alice.read()
    dave = world.irc_user("dave", caps=TAGS)
    dave.read()
    dave.send("JOIN #lobby")
    scrollback = [m for m in dave.read() if m.command in ("PRIVMSG", "TAGMSG")]
    assert [(m.command, m.params[-1], m.tags.get("+draft/react"), m.tags.get("+draft/reply"))
            for m in scrollback] == [("PRIVMSG", "lunch?", None, None), ("TAGMSG", "#lobby", "🍕", original),
                                      ("PRIVMSG", "later", None, None)]
    assert len({m.tags["batch"] for m in scrollback}) == 1
    alice.send("CHATHISTORY LATEST #lobby * 10")
    page = [m for m in alice.read() if m.command in ("PRIVMSG", "TAGMSG")]
    assert [m.command for m in page] == ["PRIVMSG", "TAGMSG", "PRIVMSG"]
    carol.read()
    carol.send("CHATHISTORY LATEST #lobby * 10")
    assert commands(carol.read()) == ["PRIVMSG", "PRIVMSG"]


# -- typing ------------------------------------------------------------------------------------------------------


def test_typing_in_a_room_reaches_tag_clients(world, room):
    alice, bob, carol = room
    bob.send("@+typing=active TAGMSG #lobby")
    got = alice.read()
    assert [(m.command, m.source, m.params, m.tags["+typing"]) for m in got] == [
        ("TAGMSG", "bob!~bob@user/bob", ["#lobby"], "active")]
    assert carol.read() == [] and bob.read() == []


def test_repeated_active_notices_are_passed_on_every_few_seconds(world, room):
    alice, bob, _ = room
    bob.send("@+typing=active TAGMSG #lobby")
    world.clock.advance(1)
    bob.send("@+typing=active TAGMSG #lobby")
    world.clock.advance(1)
    bob.send("@+typing=paused TAGMSG #lobby")
    world.clock.advance(4)
    bob.send("@+typing=active TAGMSG #lobby")
    assert [m.tags["+typing"] for m in alice.read()] == ["active", "paused", "active"]


def test_typing_to_a_nick_reaches_that_user_only(world, room):
    alice, bob, carol = room
    bob.send("@+typing=active TAGMSG alice")
    got = alice.read()
    assert [(m.command, m.params, m.tags["+typing"]) for m in got] == [("TAGMSG", ["alice"], "active")]
    assert carol.read() == []


def test_a_bad_typing_state_is_refused(world, room):
    alice, bob, _ = room
    bob.send("@+typing=furious TAGMSG #lobby")
    assert [m.params[:2] for m in only(bob.read(), "FAIL")] == [["TAGMSG", "BAD_COMMAND"]]
    assert alice.read() == []


def test_a_tagmsg_chatd_does_not_carry_is_dropped_and_acknowledged(world):
    alice = world.irc_user("alice", "#lobby", caps=TAGS)
    bob = world.irc_user("bob", "#lobby", caps=TAGS + ("labeled-response",))
    alice.read()
    bob.send("@label=X;+example.org/wave=1 TAGMSG #lobby")
    assert [(m.command, m.tags["label"]) for m in bob.read()] == [("ACK", "X")]
    assert alice.read() == []


def test_isupport_names_the_tags_chatd_carries():
    world = World()
    welcome = world.client().register("alice")
    tokens = [p for m in welcome if m.command == "005" for p in m.params]
    assert "CLIENTTAGDENY=*,-draft/reply,-draft/react,-draft/unreact,-typing" in tokens
