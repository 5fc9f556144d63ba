"""
Multi-line messages, replies and reactions in the core (issue 18): the
rules every front end obeys, through the session's one entry point.
"""

import pytest

from chatd.core import commands as cmd
from chatd.core import events as ev
from chatd.core.errors import BadCommand, InvalidText, Muted, NoSuchMessage, NotInRoom, TooLong

from chatcore_helpers import World, fails, result


def said(session, text, room="#den", **fields):
    return result(session.handle(cmd.Say(room=room, text=text, **fields)))


# -- multi-line ----------------------------------------------------------------------------


def test_a_multi_line_message_reaches_everyone_with_its_line_breaks(world):
    alice, _ = world.member("alice", "#den")
    _, b = world.member("bob", "#den")
    sent = said(alice, "one\r\ntwo\n\nthree\n")
    assert sent.text == "one\ntwo\n\nthree"
    assert [e.text for e in b.of_type(ev.MESSAGE)] == ["one\ntwo\n\nthree"]
    # History gives it back as sent.
    page = result(alice.handle(cmd.History(room="#den")))
    assert [m.text for m in page.messages] == ["one\ntwo\n\nthree"]


def test_too_many_lines_are_refused_naming_the_limit():
    world = World(max_lines=3)
    alice, _ = world.member("alice", "#den")
    error = fails(alice.handle(cmd.Say(room="#den", text="1\n2\n3\n4")), TooLong)
    assert "4 lines" in error.message and "max_lines" in error.message
    assert said(alice, "1\n2\n3").text == "1\n2\n3"


def test_each_line_is_checked_like_a_message(world):
    alice, _ = world.member("alice", "#den")
    error = fails(alice.handle(cmd.Say(room="#den", text="fine\nbad \x1b[2J")), InvalidText)
    assert "control character" in error.message
    fails(alice.handle(cmd.Say(room="#den", text="a\u2028b")), InvalidText)


def test_a_private_message_may_have_lines_too(world):
    alice, a = world.member("alice")
    _, b = world.member("bob")
    result(alice.handle(cmd.Msg(to="bob", text="hi\nthere")))
    assert [e.text for e in b.of_type(ev.PRIVATE)] == ["hi\nthere"]


# -- replies ---------------------------------------------------------------------------------


def test_a_reply_quotes_the_original_for_everyone_and_in_history(world):
    alice, _ = world.member("alice", "#den")
    bob, b = world.member("bob", "#den")
    original = said(alice, "lunch at noon?\nor one?")
    reply = said(bob, "noon", reply_to=original.id)
    assert (reply.reply_to, reply.reply_nick, reply.reply_text) == (original.id, "alice", "lunch at noon? …")
    live = b.of_type(ev.MESSAGE)[-1]
    assert (live.reply_to, live.reply_nick, live.reply_text) == (original.id, "alice", "lunch at noon? …")
    # History and a resume keep the quote (it is stored with the reply).
    page = result(bob.handle(cmd.History(room="#den")))
    assert [(m.text, m.reply_to, m.reply_nick) for m in page.messages] == [
        ("lunch at noon?\nor one?", None, None), ("noon", original.id, "alice")]
    late, l = world.connect("late")
    result(late.handle(cmd.Join(room="#den", since=original.id)))
    replayed = l.of_type(ev.HISTORY)[-1].messages
    assert [(m.id, m.reply_to, m.reply_text) for m in replayed] == [(reply.id, original.id, "lunch at noon? …")]


def test_a_long_original_is_cut_in_the_quote(world):
    alice, _ = world.member("alice", "#den")
    original = said(alice, "x" * 200)
    reply = said(alice, "yes", reply_to=original.id)
    assert len(reply.reply_text) == 80 and reply.reply_text.endswith("\u2026")


def test_a_reply_to_a_message_that_is_not_there_is_refused(world):
    alice, _ = world.member("alice", "#den", "#other")
    elsewhere = said(alice, "in other", room="#other")
    for missing in (999, elsewhere.id + 50):
        error = fails(alice.handle(cmd.Say(room="#den", text="hm", reply_to=missing)), NoSuchMessage)
        assert str(missing) in error.message and "#den" in error.message
    # The message of another room is not this room's (ids are per room).
    said(alice, "first in den")
    assert fails(alice.handle(cmd.Say(room="#den", text="hm", reply_to=2)), NoSuchMessage)
    assert fails(alice.handle(cmd.Say(room="#den", text="hm", reply_to=0)), BadCommand)
    assert result(world.store.last_id("#den")) == 1  # nothing refused was stored


# -- reactions ------------------------------------------------------------------------------


def test_a_reaction_is_numbered_and_reaches_every_member(world):
    alice, a = world.member("alice", "#den")
    bob, b = world.member("bob", "#den")
    m = said(alice, "ship it?")
    a.clear()
    b.clear()
    answer = result(bob.handle(cmd.React(room="#den", id=m.id, reaction="\U0001f44d")))
    assert (answer.type, answer.id, answer.message, answer.nick) == ("react", m.id + 1, m.id, "bob")
    for sink in (a, b):
        assert [(e.type, e.id, e.message, e.reaction) for e in sink.events] == [
            ("react", m.id + 1, m.id, "\U0001f44d")]
    result(bob.handle(cmd.Unreact(room="#den", id=m.id, reaction="\U0001f44d")))
    assert [(e.type, e.id) for e in a.events] == [("react", m.id + 1), ("unreact", m.id + 2)]


def test_history_folds_reactions_into_their_messages(world):
    alice, _ = world.member("alice", "#den")
    bob, _ = world.member("bob", "#den")
    carol, _ = world.member("carol", "#den")
    first = said(alice, "one")
    second = said(alice, "two")
    for who, reaction in ((bob, "+1"), (carol, "+1"), (carol, "\U0001f389"), (bob, "+1")):
        result(who.handle(cmd.React(room="#den", id=first.id, reaction=reaction)))
    result(carol.handle(cmd.Unreact(room="#den", id=first.id, reaction="\U0001f389")))
    result(bob.handle(cmd.Unreact(room="#den", id=second.id, reaction="never")))
    page = result(alice.handle(cmd.History(room="#den")))
    assert [(m.text, m.reactions) for m in page.messages] == [
        ("one", (("+1", ("bob", "carol")),)), ("two", ())]
    # A page of only the newest message still knows its reactions from the whole stream.
    result(carol.handle(cmd.React(room="#den", id=second.id, reaction="ok")))
    said(alice, "three")
    page = result(alice.handle(cmd.History(room="#den", limit=1, before=first.id + 1)))
    assert [(m.text, m.reactions) for m in page.messages] == [("one", (("+1", ("bob", "carol")),))]


def test_a_first_join_sees_reactions_folded_and_a_resume_replays_them(world):
    alice, _ = world.member("alice", "#den")
    m = said(alice, "vote")
    result(alice.handle(cmd.React(room="#den", id=m.id, reaction="yes")))
    newcomer, n = world.connect("newcomer")
    result(newcomer.handle(cmd.Join(room="#den")))
    scrollback = n.of_type(ev.HISTORY)[-1].messages
    assert [(e.type, e.reactions) for e in scrollback] == [("message", (("yes", ("alice",)),))]
    # Someone away since the message gets the reaction that came after it.
    back, k = world.connect("back")
    result(back.handle(cmd.Join(room="#den", since=m.id)))
    replay = k.of_type(ev.HISTORY)[-1].messages
    assert [(e.type, e.message, e.reaction) for e in replay] == [("react", m.id, "yes")]


def test_who_may_react_and_with_what(world):
    alice, _ = world.member("alice", "#den")
    bob, _ = world.member("bob", "#den")
    outsider, _ = world.member("outsider")
    m = said(alice, "hello")
    fails(outsider.handle(cmd.React(room="#den", id=m.id, reaction="+1")), NotInRoom)
    fails(bob.handle(cmd.React(room="#den", id=m.id + 7, reaction="+1")), NoSuchMessage)
    for bad, error in (("two words", InvalidText), ("x" * 33, TooLong), ("", InvalidText),
                       ("\x07", InvalidText)):
        fails(bob.handle(cmd.React(room="#den", id=m.id, reaction=bad)), error)
    # A reaction is not a message to react to.
    r = result(bob.handle(cmd.React(room="#den", id=m.id, reaction="+1")))
    fails(bob.handle(cmd.React(room="#den", id=r.id, reaction="+1")), NoSuchMessage)
    fails(bob.handle(cmd.Say(room="#den", text="re", reply_to=r.id)), NoSuchMessage)


def test_a_muted_member_may_not_react(world):
    alice, _ = world.connect("alice")
    result(alice.register("correct horse"))
    result(alice.join("#den"))
    result(alice.room_command("#den", "register"))
    bob, _ = world.member("bob", "#den")
    m = said(alice, "hello")
    result(alice.handle(cmd.Mute(room="#den", nick="bob")))
    assert fails(bob.handle(cmd.React(room="#den", id=m.id, reaction="+1")), Muted).code == "muted"


def test_reactions_do_not_make_a_history_page_short(world):
    alice, _ = world.member("alice", "#den")
    bob, _ = world.member("bob", "#den")
    ids = [said(alice, f"m{i}").id for i in range(4)]
    for reaction in ("a", "b", "c"):
        result(bob.handle(cmd.React(room="#den", id=ids[-1], reaction=reaction)))
    back = result(alice.handle(cmd.History(room="#den", limit=2)))
    assert [m.text for m in back.messages] == ["m2", "m3"] and back.truncated
    assert [r for r, _ in back.messages[-1].reactions] == ["a", "b", "c"]
    forward = result(alice.handle(cmd.History(room="#den", limit=3, after=ids[1])))
    assert [m.text for m in forward.messages] == ["m2", "m3"] and not forward.truncated
    first = result(alice.handle(cmd.History(room="#den", limit=1, after=0)))
    assert [m.text for m in first.messages] == ["m0"] and first.truncated
