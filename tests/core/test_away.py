"""
Away as a core feature: a user marks itself away (or back) with the
C{away} command, the same from every front end; whoever shares a room
with it is told once, and C{who}, C{whois} and a private message to it
say it is away.
"""

import pytest

from chatd.core import commands as cmd
from chatd.core import events as ev
from chatd.core.errors import InvalidText, NoNick

from chatcore_helpers import World, fails, result

PASSWORD = "correct horse"


@pytest.fixture
def world():
    return World(nick_grace=30)


def told(sink):
    return [(e.nick, e.away) for e in sink.of_type(ev.AWAY)]


def whois(session, nick):
    return result(session.handle(cmd.Whois(nick=nick))).away


def test_going_away_tells_everyone_sharing_a_room_once(world):
    """Members sharing two rooms hear it once; the user's own connection too; strangers not."""
    alice, a = world.member("alice", "#r", "#s")
    bob, b = world.member("bob", "#r", "#s")
    carol, c = world.member("carol", "#s")
    dave, d = world.member("dave", "#elsewhere")
    answer = result(alice.handle(cmd.Away(text="lunch")))
    assert (answer.type, answer.nick, answer.away) == ("away", "alice", "lunch")
    assert told(a) == told(b) == told(c) == [("alice", "lunch")]
    assert told(d) == []


def test_only_a_change_is_told(world):
    alice, _ = world.member("alice", "#r")
    bob, b = world.member("bob", "#r")
    result(alice.handle(cmd.Away()))  # back while not away: nothing to tell
    result(alice.handle(cmd.Away(text="lunch")))
    again = result(alice.handle(cmd.Away(text="lunch")))
    result(alice.handle(cmd.Away(text="meeting")))
    result(alice.handle(cmd.Away(text="")))
    result(alice.handle(cmd.Away(text="   ")))
    assert again.away == "lunch"  # the answer says the state even when nothing changed
    assert told(b) == [("alice", "lunch"), ("alice", "meeting"), ("alice", None)]


def test_the_message_is_cleaned_like_a_reason_and_cut_at_200_characters(world):
    alice, _ = world.member("alice", "#r")
    assert result(alice.handle(cmd.Away(text="  gone\tfishing  "))).away == "gone fishing"
    assert result(alice.handle(cmd.Away(text="x" * 250))).away == "x" * 200
    error = fails(alice.handle(cmd.Away(text="bell \x07")), InvalidText)
    assert "away message" in error.message and "control character" in error.message
    assert whois(alice, "alice") == "x" * 200  # a refused message changes nothing


def test_a_session_without_a_nick_cannot_be_away(world):
    fresh, _ = world.connect()
    fails(fresh.handle(cmd.Away(text="lunch")), NoNick)


def test_who_and_whois_say_who_is_away(world):
    alice, _ = world.member("alice", "#r")
    bob, _ = world.member("bob", "#r")
    result(alice.handle(cmd.Away(text="lunch")))
    members = result(bob.handle(cmd.Who(room="#r")))
    assert (members.nicks, members.away) == (("alice", "bob"), ("alice",))
    assert whois(bob, "alice") == "lunch"
    assert whois(alice, "bob") is None
    carol, c = world.connect("carol")
    result(carol.join("#r"))
    [joined] = c.of_type(ev.MEMBERS)  # the members a join shows
    assert joined.away == ("alice",)
    result(alice.handle(cmd.Away()))
    assert result(bob.handle(cmd.Who(room="#r"))).away == ()
    assert whois(bob, "alice") is None


def test_a_private_message_to_an_away_user_tells_the_sender(world):
    """The sender's copy names the away message; the recipient's does not."""
    alice, a = world.member("alice")
    bob, b = world.member("bob")
    result(alice.handle(cmd.Away(text="lunch")))
    sent = result(bob.handle(cmd.Msg(to="alice", text="hi")))
    assert (sent.text, sent.away) == ("hi", "lunch")
    assert [(e.text, e.away) for e in b.of_type(ev.PRIVATE)] == [("hi", "lunch")]
    assert [(e.text, e.away) for e in a.of_type(ev.PRIVATE)] == [("hi", None)]
    result(alice.handle(cmd.Msg(to="bob", text="back soon")))
    assert a.of_type(ev.PRIVATE)[-1].away is None  # bob is not away


def test_a_stored_private_message_between_accounts_tells_the_sender_too(world):
    alice, a = world.member("alice")
    result(alice.register(PASSWORD))
    bob, b = world.member("bob")
    result(bob.register(PASSWORD))
    result(alice.handle(cmd.Away(text="lunch")))
    sent = result(bob.handle(cmd.Msg(to="alice", text="hi")))
    assert (sent.id, sent.away) == (1, "lunch")
    assert [e.away for e in a.of_type(ev.PRIVATE)] == [None]


def test_a_user_that_quits_is_no_longer_away(world):
    alice, _ = world.member("alice", "#r")
    bob, _ = world.member("bob", "#r")
    result(alice.handle(cmd.Away(text="lunch")))
    alice.close("bye")
    again, _ = world.member("alice", "#r")
    assert whois(bob, "alice") is None
    assert result(bob.handle(cmd.Who(room="#r"))).away == ()


def test_every_connection_of_an_account_is_away(world):
    """A connection that logs in to an away account's user is away too; back from one is back on all."""
    alice, a = world.member("alice", "#r")
    result(alice.register(PASSWORD))
    result(alice.handle(cmd.Away(text="lunch")))
    phone, p = world.connect()
    result(phone.login("alice", PASSWORD))
    bob, b = world.member("bob", "#r")
    assert whois(bob, "alice") == "lunch"
    result(phone.handle(cmd.Away()))
    assert told(a)[-1] == told(p)[-1] == ("alice", None)
    assert told(b) == [("alice", None)]
    assert whois(bob, "alice") is None
