"""
Issue 18 through the real line front end and core, in memory: a message
typed over several lines, replies, reactions, typing (never shown),
C{/set timestamps}, what C{/part} and C{/nick} tell their user, and /help.
"""

import pytest
from twisted.internet.task import Clock
from zope.interface import implementer

from chatd.core import commands as cmd
from chatd.core.hub import Hub
from chatd.core.interfaces import ISink
from chatd.core.rules import Rules
from chatd.frontends.lines import LineFactory
from chatd.passwords import SyncHasher
from chatd.store.memory import MemoryStore

from test_lines import Terminal

START = 1_764_273_600  # 2025-11-27 20:00:00 UTC


@pytest.fixture
def clock():
    clock = Clock()
    clock.advance(START)
    return clock


@pytest.fixture
def factory(clock):
    rules = Rules(max_message=400, max_lines=4, flood_rate=1000, flood_burst=1000)
    return LineFactory(Hub(clock, MemoryStore(), rules, hasher=SyncHasher()), max_line=200, sendq=65536, motd="Hi.")


@pytest.fixture
def user(factory):
    def make(nick, room="#lobby"):
        t = Terminal(factory)
        t.type(nick)
        if room:
            t.type(f"/join {room}")
        t.output()
        return t
    return make


@pytest.fixture
def users(user):
    """Terminals in #lobby, each one's screen cleared once all have joined."""
    def make(*nicks):
        made = [user(nick) for nick in nicks]
        quiet(*made)
        return made
    return make


def quiet(*terminals):
    for t in terminals:
        t.output()


@implementer(ISink)
class WebUser:
    """A JSON client's session, as the core sees it: it only records what it is sent."""

    def __init__(self, hub, nick, room="#lobby"):
        self.events = []
        self.session = hub.connect(self, peer="web", frontend="websocket", host="127.0.0.1", secure=True)
        self.run(cmd.Nick(nick=nick))
        self.run(cmd.Join(room=room))

    def deliver(self, event):
        self.events.append(event)

    def run(self, command):
        results = []
        self.session.handle(command, 10).addBoth(results.append)
        return results[0]


# -- a message over several lines -----------------------------------------------------------


def test_lines_ending_in_a_backslash_are_sent_as_one_message(users, factory):
    alice, bob = users("alice", "bob")
    alice.output()
    web = WebUser(factory.hub, "wes")
    quiet(alice, bob)
    alice.type("lunch at noon?\\", "the usual place\\")
    assert bob.output() == []  # held until its last line
    alice.type("my treat")
    assert bob.output() == [
        "[#lobby] <alice> lunch at noon?",
        "                 the usual place",
        "                 my treat",
    ]
    assert web.events[-1].text == "lunch at noon?\nthe usual place\nmy treat"
    assert alice.output() == []  # not echoed, as any line said


def test_an_action_continues_too_and_two_backslashes_send_one(users):
    alice, bob = users("alice", "bob")
    alice.type("/me waves\\", "and bows")
    assert bob.output() == ["[#lobby] * alice waves", "                 and bows"]
    alice.type("see C:\\\\", "next")
    assert bob.output() == ["[#lobby] <alice> see C:\\", "[#lobby] <alice> next"]


def test_a_command_takes_its_trailing_backslash_as_typed(users):
    """A private message (like a password) ending in a backslash is sent at once; the next line is its own."""
    alice, bob = users("alice", "bob")
    alice.type("/msg bob look in C:\\", "hello")
    assert bob.output() == ["*alice* look in C:\\", "[#lobby] <alice> hello"]


def test_a_message_over_max_lines_is_refused_once_and_the_rest_dropped(users):
    alice, bob = users("alice", "bob")
    alice.type("1\\", "2\\", "3\\", "4\\", "5\\", "6")
    assert alice.output() == [
        "! too-long: That message is over 4 lines; it was discarded (a line ending in \\ continues it)."]
    assert bob.output() == []
    alice.type("after")
    assert bob.output() == ["[#lobby] <alice> after"]


def test_a_message_over_max_line_bytes_is_refused(users):
    alice, bob = users("alice", "bob")
    alice.type("x" * 150 + "\\", "y" * 60)
    assert alice.output() == [
        "! too-long: That message is over 200 bytes; it was discarded (a line ending in \\ continues it)."]
    assert bob.output() == []


def test_a_refused_line_discards_the_message_it_continued(users):
    alice, bob = users("alice", "bob")
    alice.type("first\\")
    alice.proto.dataReceived(b"bad \xc3( line\r\n")
    assert alice.output() == [
        "-!- The message you were continuing was discarded with that line.",
        "! invalid-utf8: That line is not valid UTF-8 (byte 0xC3 at position 5); set your terminal to UTF-8.",
    ]
    alice.type("fresh")
    assert bob.output() == ["[#lobby] <alice> fresh"]


def test_before_a_nick_a_backslash_is_part_of_the_nick_typed(factory):
    """The first plain line is the nick: it never waits for a next line."""
    t = Terminal(factory)
    t.output()
    t.type("tilde\\")
    assert t.output()[0].startswith("-!- You are now tilde\\. ")


# -- replies and reactions ------------------------------------------------------------------


def test_a_reply_quotes_what_it_answers(users, factory):
    alice, bob = users("alice", "bob")
    web = WebUser(factory.hub, "wes")
    quiet(alice, bob)
    alice.type("lunch at noon?")
    bob.output()
    bob.type("/reply 1 sure\\", "my treat")
    assert alice.output() == [
        "[#lobby] <bob> ↪ alice: lunch at noon?",
        "               sure",
        "               my treat",
    ]
    reply = web.events[-1]
    assert (reply.reply_to, reply.reply_nick, reply.text) == (1, "alice", "sure\nmy treat")


def test_a_reply_to_no_message_is_refused(user):
    alice = user("alice")
    alice.type("/reply 99 hello?")
    assert alice.output()[0].startswith("! no-such-message: ")


def test_reactions_are_notices_for_everyone(users, factory):
    alice, bob = users("alice", "bob")
    web = WebUser(factory.hub, "wes")
    quiet(alice, bob)
    alice.type("lunch at noon?")
    bob.output()
    bob.type("/react 1 👍")
    assert alice.output() == ["[#lobby] -!- bob reacted 👍 to message 1"]
    assert bob.output() == ["[#lobby] -!- bob reacted 👍 to message 1"]  # the reactor sees it took
    assert (web.events[-1].type, web.events[-1].message, web.events[-1].reaction) == ("react", 1, "👍")
    bob.type("/unreact 1 👍")
    assert alice.output() == ["[#lobby] -!- bob took back 👍 from message 1"]
    web.run(cmd.React(room="#lobby", id=1, reaction="+1"))
    assert alice.output() == ["[#lobby] -!- wes reacted +1 to message 1"]


def test_a_reaction_to_no_message_is_refused(user):
    alice = user("alice")
    alice.type("/react 7 👍")
    assert alice.output()[0].startswith("! no-such-message: ")


def test_history_shows_ids_replies_and_reactions(users):
    alice, bob = users("alice", "bob")
    alice.type("lunch?")
    bob.type("/reply 1 sure", "/react 1 🎉")
    alice.output()
    alice.type("/history")
    assert alice.output() == [
        "[#lobby] -!- Scrollback (2 messages):",
        "[#lobby] 20:00 (1) <alice> lunch?",
        "                           reactions: 🎉 bob",
        "[#lobby] 20:00 (2) <bob> ↪ alice: lunch?",
        "                         sure",
        "[#lobby] -!- End of scrollback",
    ]


def test_a_join_scrollback_shows_replies_and_reactions(users):
    alice, bob = users("alice", "bob")
    alice.type("line one\\", "line two")
    bob.type("/reply 1 yes", "/react 1 👍")
    carol = Terminal(alice.proto.factory)
    carol.type("carol", "/join #lobby")
    shown = carol.output()
    start = shown.index("[#lobby] -!- Scrollback (2 messages):")
    assert shown[start + 1:start + 6] == [
        "[#lobby] 20:00 <alice> line one",
        "                       line two",
        "                       reactions: 👍 bob",
        "[#lobby] 20:00 <bob> ↪ alice: line one …",
        "                     yes",
    ]


# -- typing and read markers are never shown --------------------------------------------------


def test_typing_never_reaches_a_terminal(users, factory):
    alice, bob = users("alice", "bob")
    web = WebUser(factory.hub, "wes")
    quiet(alice, bob)
    assert web.run(cmd.Typing(room="#lobby", state="active")).type == "typing"
    web.run(cmd.Typing(to="alice", state="paused"))
    alice.proto.session.handle(cmd.Typing(room="#lobby"), 0)  # its own, which its connections get too
    assert [e.type for e in web.events[-2:]] == ["typing", "typing"]  # a browser gets them
    assert alice.output() == [] and bob.output() == []


def test_read_markers_never_reach_a_terminal(user, factory):
    alice = user("alice")
    alice.type("/register correct-horse-battery", "hello")
    alice.output()
    web = WebUser(factory.hub, "guest")
    web.run(cmd.Login(account="alice", password="correct-horse-battery"))
    alice.output()
    assert web.run(cmd.Read(room="#lobby", id=1)).message == 1
    assert alice.output() == []


# -- timestamps -----------------------------------------------------------------------------


def test_timestamps_start_every_line_with_its_time(user, users, clock):
    alice, bob = users("alice", "bob")
    alice.type("/set timestamps on")
    assert alice.output() == ["[20:00] -!- Timestamps are on: every line starts with its time, [HH:MM] in UTC."]
    clock.advance(8 * 60)
    bob.type("hello\\", "there", "/me waves")
    assert alice.output() == [
        "[20:08] [#lobby] <bob> hello",
        "                       there",
        "[20:08] [#lobby] * bob waves",
    ]
    assert bob.output() == []
    carol = user("carol")
    assert alice.output() == ["[20:08] [#lobby] -!- carol has joined"]
    assert carol.proto.session is not None and bob.output() == ["[#lobby] -!- carol has joined"]
    alice.type("/history 1")
    assert alice.output() == [
        "[20:08] [#lobby] -!- Scrollback (1 message):",
        "[20:08] [#lobby] -!- (older messages not shown; /history N shows more)",
        "[20:08] [#lobby] (2) * bob waves",
        "[20:08] [#lobby] -!- End of scrollback",
    ]
    alice.type("/set timestamps off")
    assert alice.output() == ["-!- Timestamps are off."]
    bob.type("untimed")
    assert alice.output() == ["[#lobby] <bob> untimed"]


def test_an_unknown_setting_is_refused_with_the_settings_there_are(user):
    alice = user("alice")
    alice.type("/set colours on", "/set timestamps maybe")
    out = alice.output()
    assert out[0] == '! bad-command: There is no setting "colours"; the settings are: timestamps.'
    assert out[1].startswith("! bad-command: timestamps is on or off")


def test_timestamps_are_remembered_for_an_account(user, factory):
    alice = user("alice")
    alice.type("/register correct-horse-battery", "/set timestamps on", "/quit")
    again = Terminal(factory)
    again.type("someone", "/join #lobby")
    again.output()
    again.type("/login alice correct-horse-battery")
    assert again.output()[-1].startswith("[20:00] -!- You are logged in as alice")
    bob = user("bob")
    bob.type("hi")
    assert again.output()[-1] == "[20:00] [#lobby] <bob> hi"


def test_timestamps_follow_the_account_to_its_other_connections(user, factory):
    """Set on one terminal of an account, they reach another as soon as it shows anything but a room line."""
    alice = user("alice")
    alice.type("/register correct-horse-battery")
    other = Terminal(factory)
    other.type("guest", "/login alice correct-horse-battery")
    other.output()
    alice.type("/set timestamps on")
    bob = user("bob")
    assert other.output() == ["[20:00] [#lobby] -!- bob has joined"]


# -- /part, /nick, /help --------------------------------------------------------------------


def test_part_tells_its_user_they_left(users):
    """Before: the user saw '[#den] -!- alice has left', the room's form of it."""
    alice, bob = users("alice", "bob")
    alice.type("/join #den")
    alice.output()
    alice.type("/part")
    assert alice.output() == ["[#den] -!- You left #den", "-!- Your current room is now #lobby"]
    alice.type("/part #lobby see you")
    assert alice.output() == ["[#lobby] -!- You left #lobby (see you)"]
    assert bob.output() == ["[#lobby] -!- alice has left (see you)"]


def test_a_nick_change_shows_one_notice(user, users):
    """Before: two lines, '-!- alice is now known as alicia' and '-!- You are now known as alicia'."""
    alice, bob = users("alice", "bob")
    alice.type("/nick alicia")
    assert alice.output() == ["-!- alice is now known as alicia"]
    assert bob.output() == ["-!- alice is now known as alicia"]
    lonely = user("lonely", room=None)
    lonely.type("/nick solo")
    assert lonely.output() == ["-!- lonely is now known as solo"]
    lonely.type("/nick solo")
    assert lonely.output() == ["-!- You are solo already."]


def test_help_shows_the_new_commands(user):
    alice = user("alice")
    alice.type("/help")
    out = "\n".join(alice.output())
    for form in ("/reply ID text", "/react ID REACTION", "/unreact ID REACTION", "/set timestamps on|off",
                 "ends in \\"):
        assert form in out
