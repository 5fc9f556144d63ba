"""
Every core command and every error code, as a client of any front end sees
them: a real Hub over a MemoryStore, recording sinks, a Twisted Clock.
"""

import pytest
from twisted.internet.defer import Deferred

from chatcore_helpers import T0, World, fails, raises, result
from chatd.core import events as ev
from chatd.core.errors import (
    ChatError,
    EmptyText,
    InvalidNick,
    InvalidRoom,
    InvalidText,
    NickInUse,
    NoNick,
    NoSuchNick,
    NoSuchRoom,
    NotInRoom,
    TooLong,
    TooManyRooms,
)
from chatd.core.events import RoomInfo


# -- nick ------------------------------------------------------------------


def test_first_nick_is_silent(world):
    """Taking a first nick returns None and delivers nothing (nobody can see us yet)."""
    session, sink = world.connect()
    assert result(session.set_nick("alice")) is None
    assert session.nick == "alice"
    assert sink.events == []
    assert world.holder("alice") is session


@pytest.mark.parametrize("taken, wanted", [
    ("alice", "alice"),
    ("alice", "Alice"),
    ("Alice", "ALICE"),
    ("alice", "Ａｌｉｃｅ"),
    ("Ａｌｉｃｅ", "alice"),
    ("Straße", "STRASSE"),
    ("strasse", "Straße"),
])
def test_nick_in_use_after_folding(world, taken, wanted):
    """A nick equal to a held one after folding is refused with nick-in-use, naming the holder."""
    world.connect(taken)
    other, sink = world.connect()
    e = raises(NickInUse, other.set_nick, wanted)
    assert e.code == "nick-in-use"
    assert f"(by {taken})" in e.message
    assert other.nick is None
    assert sink.events == []


@pytest.mark.parametrize("bad", ["", "a b", "#alice", "/alice", "&x", "a,b", "a:b", "x" * 33, "a\x1bb", "a\u200bb"])
def test_set_nick_refuses_invalid_nicks(world, bad):
    """set_nick refuses nicks breaking the rules with invalid-nick and keeps the old one."""
    session, _ = world.connect("alice")
    e = raises(InvalidNick, session.set_nick, bad)
    assert e.code == "invalid-nick"
    assert session.nick == "alice"


def test_nick_change_is_seen_by_room_members_and_frees_old_nick(world):
    """A nick change reaches the changer and co-members, and the old nick becomes free."""
    alice, a = world.member("alice", "#lobby")
    bob, b = world.member("bob", "#lobby")
    carol, c = world.member("carol", "#elsewhere")
    a.clear()
    event = result(bob.set_nick("robert"))
    assert event.type == ev.NICK and event.old == "bob" and event.nick == "robert"
    assert event.room is None and event.id is None
    assert a.events == [event]
    assert b.events == [event]
    assert c.events == []
    assert bob.nick == "robert" and world.holder("bob") is None
    dave, _ = world.connect("bob")
    assert dave.nick == "bob"
    assert result(alice.join("#lobby")).nicks == ("alice", "robert")


def test_nick_change_without_rooms_tells_only_self(world):
    """A session in no room still gets its own nick event."""
    alice, a = world.connect("alice")
    event = result(alice.set_nick("alicia"))
    assert a.events == [event]


def test_changing_case_of_own_nick_is_allowed(world):
    """A session may re-case its own nick (same folded key) and everyone sees it."""
    alice, a = world.member("alice", "#lobby")
    event = result(alice.set_nick("ALICE"))
    assert event.old == "alice" and event.nick == "ALICE"
    assert a.events == [event]
    assert world.holder("alice") is alice


def test_setting_the_same_nick_again_does_nothing(world):
    """Re-sending one's exact nick is accepted silently."""
    alice, a = world.member("alice", "#lobby")
    assert result(alice.set_nick("alice")) is None
    assert a.events == []


def test_nick_change_delivered_once_to_members_sharing_several_rooms(world):
    """A co-member in three shared rooms gets the nick event once, not three times."""
    alice, a = world.member("alice", "#a", "#b", "#c")
    bob, b = world.member("bob", "#a", "#b", "#c")
    carol, c = world.member("carol", "#b")
    a.clear()
    b.clear()
    event = result(alice.set_nick("alicia"))
    assert a.events == [event]
    assert b.events == [event]
    assert c.events == [event]


# -- no nick -----------------------------------------------------------------


def test_commands_need_a_nick(world):
    """join, say, act, private and set_topic refuse with no-nick before a nick is chosen."""
    world.member("bob", "#lobby")
    anon, sink = world.connect()
    for call, args in [
        (anon.join, ("#lobby",)),
        (anon.say, ("#lobby", "hi")),
        (anon.act, ("#lobby", "waves")),
        (anon.private, ("bob", "psst")),
        (anon.set_topic, ("#lobby", "x")),
    ]:
        e = raises(NoNick, call, *args)
        assert e.code == "no-nick"
    assert sink.events == []


def test_reading_commands_work_without_a_nick(world):
    """who, topic, list_rooms and history need no nick."""
    alice, _ = world.member("alice", "#lobby")
    result(alice.say("#lobby", "hi"))
    anon, _ = world.connect()
    assert result(anon.who("#lobby")).nicks == ("alice",)
    assert result(anon.topic("#lobby")).topic == ""
    assert [r.name for r in result(anon.list_rooms()).rooms] == ["#lobby"]
    assert [m.text for m in result(anon.history("#lobby")).messages] == ["hi"]


# -- join ----------------------------------------------------------------------


def test_join_tells_existing_members(world):
    """Members already in the room get the joiner's join event."""
    alice, a = world.member("alice", "#lobby")
    bob, b = world.connect("bob")
    result(bob.join("#lobby"))
    assert [(e.type, e.room, e.nick) for e in a.events] == [("join", "#lobby", "bob")]
    assert a.events[0] is b.events[0]


def test_join_returns_members_sorted_case_insensitively(world):
    """The members event lists every member, sorted by folded nick, with the topic."""
    world.member("bob", "#lobby")
    world.member("Zed", "#lobby")
    world.member("alice", "#lobby")
    carl, c = world.connect("Carl")
    members = result(carl.join("#lobby"))
    assert members.type == ev.MEMBERS
    assert members.nicks == ("alice", "bob", "Carl", "Zed")
    assert members.room == "#lobby" and members.topic == ""
    assert c.of_type(ev.MEMBERS) == [members]


def test_join_twice_is_harmless(world):
    """Joining a room one is in changes nothing and tells nobody."""
    alice, a = world.member("alice", "#lobby")
    bob, b = world.member("bob", "#lobby")
    a.clear()
    members = result(bob.join("#LOBBY"))
    assert members.nicks == ("alice", "bob")
    assert a.events == [] and b.events == []
    assert len(world.hub.rooms["#lobby"].members) == 2


def test_room_keeps_first_spelling_and_folds_later_joins(world):
    """#Lobby then #ＬＯＢＢＹ is one room shown as first spelled."""
    world.member("alice", "#Lobby")
    bob, b = world.connect("bob")
    members = result(bob.join("#ＬＯＢＢＹ"))
    assert members.room == "#Lobby"
    assert members.nicks == ("alice", "bob")
    assert [(r.name, r.members) for r in result(bob.list_rooms()).rooms] == [("#Lobby", 2)]


@pytest.mark.parametrize("bad", ["lobby", "#", "#a b", "#a,b", "#a\x1b", "#" + "x" * 50])
def test_join_refuses_invalid_room(world, bad):
    """join refuses a bad room name with invalid-room and creates nothing."""
    alice, a = world.connect("alice")
    e = raises(InvalidRoom, alice.join, bad)
    assert e.code == "invalid-room"
    assert world.hub.rooms == {} and a.events == []


def test_too_many_rooms_per_session():
    """A session at rooms_per_session is refused with too-many-rooms until it parts one."""
    world = World(rooms_per_session=2)
    alice, a = world.member("alice", "#a", "#b")
    e = raises(TooManyRooms, alice.join, "#c")
    assert e.code == "too-many-rooms"
    assert "#c" not in world.hub.rooms
    assert result(alice.join("#a")).room == "#a"  # already in it: fine
    alice.part("#a")
    assert result(alice.join("#c")).room == "#c"


def test_too_many_rooms_on_the_server():
    """At max_rooms nobody may create a room, but existing rooms can still be joined."""
    world = World(max_rooms=2)
    world.member("alice", "#a", "#b")
    bob, b = world.connect("bob")
    e = raises(TooManyRooms, bob.join, "#c")
    assert e.code == "too-many-rooms"
    assert result(bob.join("#a")).nicks == ("alice", "bob")
    assert sorted(world.hub.rooms) == ["#a", "#b"]


# -- part ------------------------------------------------------------------------


def test_part_tells_members_and_self(world):
    """Parting sends one part event (with reason) to the room, the leaver included."""
    alice, a = world.member("alice", "#lobby")
    bob, b = world.member("bob", "#lobby")
    a.clear()
    event = bob.part("#lobby", "lunch")
    assert (event.type, event.room, event.nick, event.reason) == ("part", "#lobby", "bob", "lunch")
    assert a.events == [event] and b.events == [event]
    assert world.members("#lobby") == ("alice",)
    result(alice.say("#lobby", "still here"))
    assert b.events == [event]


def test_part_reason_is_cut_not_refused_for_length():
    """A long reason is cut; blank is none; a tab is a space."""
    world = World(max_reason=5)
    for reason, shown in [("goodbye all", "goodb"), ("   ", None), ("", None), (" \tx", "x")]:
        alice, _ = world.member("alice", "#r")
        assert alice.part("#r", reason).reason == shown
        alice.close()


def test_part_reason_with_a_control_or_bidi_override_is_refused():
    """A part whose reason could not be relayed is refused by name, and the member stays."""
    world = World()
    _, bob = world.member("bob", "#r")
    alice, _ = world.member("alice", "#r")
    world.settle()
    for reason, named in [("bye\x1b[2J", "U+001B (ESCAPE)"), ("bye \u202e all", "U+202E (RIGHT-TO-LEFT OVERRIDE)")]:
        error = raises(InvalidText, alice.part, "#r", reason)
        assert error.code == "invalid-text" and named in error.message
    assert bob.types() == []
    assert alice.part("#r", "bye \u2067all\u2069").reason == "bye \u2067all\u2069"


def test_quit_reason_that_could_not_be_relayed_is_dropped():
    """Leaving is never refused: a quit's bad reason is left out."""
    world = World()
    _, bob = world.member("bob", "#r")
    alice, _ = world.member("alice", "#r")
    alice.close("bye \u202e all")
    assert bob.of_type("quit")[0].reason is None


def test_part_refuses_room_not_joined(world):
    """Parting a room one is not in is not-in-room (existing or not); a bad name is invalid-room."""
    world.member("bob", "#lobby")
    alice, _ = world.connect("alice")
    assert raises(NotInRoom, alice.part, "#lobby").code == "not-in-room"
    assert raises(NotInRoom, alice.part, "#nowhere").code == "not-in-room"
    assert raises(InvalidRoom, alice.part, "lobby").code == "invalid-room"


def test_empty_room_disappears_but_topic_persists(world):
    """When the last member leaves, the room leaves listings; its topic stays in the store."""
    alice, a = world.member("alice", "#lobby")
    result(alice.set_topic("#lobby", "Welcome"))
    alice.part("#lobby")
    assert world.hub.rooms == {}
    assert result(alice.list_rooms()).rooms == ()
    assert raises(NoSuchRoom, alice.who, "#lobby").code == "no-such-room"
    topic = result(alice.topic("#lobby"))
    assert (topic.topic, topic.nick) == ("Welcome", "alice")
    members = result(alice.join("#lobby"))
    assert (members.topic, members.nick) == ("Welcome", "alice")


# -- say / act ---------------------------------------------------------------------


def test_say_stores_then_delivers_to_everyone(world):
    """A message reaches every member, the sender included, with an id and the clock's time."""
    alice, a = world.member("alice", "#lobby")
    bob, b = world.member("bob", "#lobby")
    carol, c = world.member("carol", "#other")
    world.settle()
    world.clock.advance(7.25)
    event = result(alice.say("#lobby", "hello"))
    assert (event.type, event.room, event.nick, event.text, event.id) == ("message", "#lobby", "alice", "hello", 1)
    assert event.ts == T0 + 7.25
    assert event.cid is None
    assert a.events == [event] and b.events == [event] and c.events == []
    assert result(world.store.last_id("#lobby")) == 1


def test_act_is_an_action(world):
    """act delivers an action event numbered in the same sequence as messages."""
    alice, a = world.member("alice", "#lobby")
    result(alice.say("#lobby", "hi"))
    event = result(alice.act("#lobby", "waves"))
    assert (event.type, event.text, event.id) == ("action", "waves", 2)
    assert a.events[-1] is event


def test_ids_increase_per_room_independently(world):
    """Ids count 1, 2, 3... in each room, whatever happens in other rooms."""
    alice, _ = world.member("alice", "#a", "#b")
    ids = [(room, result(alice.say(room, "x")).id) for room in ["#a", "#b", "#a", "#a", "#b"]]
    assert ids == [("#a", 1), ("#b", 1), ("#a", 2), ("#a", 3), ("#b", 2)]
    assert result(alice.act("#b", "y")).id == 3


def test_event_times_come_from_the_clock(world):
    """Every event's ts is the injected clock's time when it happened."""
    alice, a = world.member("alice", "#lobby")
    bob, b = world.connect("bob")
    world.clock.advance(10)
    result(bob.join("#lobby"))
    world.clock.advance(5)
    message = result(alice.say("#lobby", "hi"))
    world.clock.advance(1.5)
    nick = result(bob.set_nick("robert"))
    world.clock.advance(2)
    part = bob.part("#lobby")
    assert [(e.type, e.ts) for e in a.events] == [
        ("join", T0 + 10), ("message", T0 + 15), ("nick", T0 + 16.5), ("part", T0 + 18.5)
    ]
    assert message.ts == T0 + 15 and nick.ts == T0 + 16.5 and part.ts == T0 + 18.5
    world.clock.advance(100)
    history = result(alice.history("#lobby"))
    assert history.ts == T0 + 118.5
    assert history.messages[0].ts == T0 + 15  # stored time, not read time


@pytest.mark.parametrize("call", ["say", "act"])
def test_saying_into_a_room_not_joined_is_not_in_room(world, call):
    """Saying into a room not joined is not-in-room, whether or not the room exists."""
    world.member("bob", "#exists")
    alice, a = world.connect("alice")
    for room in ("#exists", "#nowhere"):
        e = raises(NotInRoom, getattr(alice, call), room, "hi")
        assert e.code == "not-in-room"
        assert room in e.message
    assert result(world.store.last_id("#exists")) == 0
    assert "#nowhere" not in world.hub.rooms


@pytest.mark.parametrize("call", ["say", "act"])
@pytest.mark.parametrize("text, error", [
    ("a\x1b[2Jb", InvalidText),
    ("line\u2028break", InvalidText),
    ("nul\x00", InvalidText),
    ("\ud800", InvalidText),
    ("", EmptyText),
    ("   ", EmptyText),
    ("\t \t", EmptyText),
    ("x" * 4001, TooLong),
])
def test_say_refuses_bad_text(world, call, text, error):
    """Bad text is refused with its code; nothing is stored or delivered."""
    alice, a = world.member("alice", "#lobby")
    e = raises(error, getattr(alice, call), "#lobby", text)
    assert e.code in ("invalid-text", "empty", "too-long")
    assert a.events == []
    assert result(world.store.last_id("#lobby")) == 0


def test_say_limit_is_configurable():
    """max_message characters are fine; one more is too-long."""
    world = World(max_message=5)
    alice, _ = world.member("alice", "#lobby")
    assert result(alice.say("#lobby", "12345")).text == "12345"
    assert raises(TooLong, alice.say, "#lobby", "123456").code == "too-long"


def test_say_replaces_tabs(world):
    """A TAB in a message is relayed as one space."""
    alice, a = world.member("alice", "#lobby")
    assert result(alice.say("#lobby", "a\tb")).text == "a b"


def test_say_refuses_invalid_room_name(world):
    """Saying into a malformed room name is invalid-room."""
    alice, _ = world.connect("alice")
    assert raises(InvalidRoom, alice.say, "lobby", "hi").code == "invalid-room"


def test_idempotent_cid(world):
    """A retry with the same cid returns the same id and is neither stored nor delivered again."""
    alice, a = world.member("alice", "#lobby")
    bob, b = world.member("bob", "#lobby")
    first = result(alice.say("#lobby", "hello", cid="c-1"))
    assert first.cid == "c-1" and first.id == 1
    world.clock.advance(60)
    retry = result(alice.say("#lobby", "hello", cid="c-1"))
    assert retry.id == first.id and retry.ts == first.ts and retry.cid == "c-1"
    assert [e.id for e in b.of_type(ev.MESSAGE)] == [1]
    assert [e.id for e in a.of_type(ev.MESSAGE)] == [1]
    assert result(world.store.last_id("#lobby")) == 1
    other = result(alice.say("#lobby", "again", cid="c-2"))
    assert other.id == 2
    assert result(bob.say("#lobby", "mine", cid="c-1")).id == 3  # cids are per sender
    assert [e.id for e in b.of_type(ev.MESSAGE)] == [1, 2, 3]


def test_cid_is_checked(world):
    """A cid over 64 characters is too-long; one with a control character is invalid-text."""
    alice, a = world.member("alice", "#lobby")
    assert result(alice.say("#lobby", "ok", cid="c" * 64)).cid == "c" * 64
    assert raises(TooLong, alice.say, "#lobby", "hi", "c" * 65).code == "too-long"
    assert raises(InvalidText, alice.say, "#lobby", "hi", "c\x1b").code == "invalid-text"
    assert result(world.store.last_id("#lobby")) == 1


# -- private -------------------------------------------------------------------------


def test_private_reaches_both_ends_only(world):
    """Both ends get the private event once; nobody else does; rooms are not needed."""
    alice, a = world.member("alice", "#lobby")
    bob, b = world.connect("Bob")
    carol, c = world.member("carol", "#lobby")
    world.settle()
    event = result(alice.private("bob", "psst"))
    assert (event.type, event.nick, event.to, event.text, event.room) == ("private", "alice", "Bob", "psst", None)
    assert a.events == [event] and b.events == [event] and c.events == []


def test_private_to_self_is_delivered_once(world):
    """Messaging oneself delivers the event once."""
    alice, a = world.connect("alice")
    result(alice.private("ALICE", "note to self"))
    assert len(a.events) == 1


def test_private_errors(world):
    """Unknown target is no-such-nick, malformed target invalid-nick, bad text its code."""
    alice, a = world.connect("alice")
    world.connect("bob")
    assert raises(NoSuchNick, alice.private, "nobody", "hi").code == "no-such-nick"
    assert raises(InvalidNick, alice.private, "#bob", "hi").code == "invalid-nick"
    assert raises(EmptyText, alice.private, "bob", " ").code == "empty"
    assert raises(InvalidText, alice.private, "bob", "\x1b[2J").code == "invalid-text"
    assert raises(TooLong, alice.private, "bob", "x" * 4001).code == "too-long"
    assert a.events == []


def test_private_to_quit_nick_is_no_such_nick(world):
    """After its holder quits, a nick cannot be messaged."""
    alice, _ = world.connect("alice")
    bob, _ = world.connect("bob")
    bob.close()
    assert raises(NoSuchNick, alice.private, "bob", "hi").code == "no-such-nick"


# -- topic ------------------------------------------------------------------------------


def test_topic_set_and_get(world):
    """Setting a topic tells the room and is read back with its setter."""
    alice, a = world.member("alice", "#lobby")
    bob, b = world.member("bob", "#lobby")
    world.settle()
    world.clock.advance(3)
    event = result(alice.set_topic("#lobby", "  Welcome  "))
    assert (event.type, event.room, event.nick, event.topic, event.ts) == ("topic", "#lobby", "alice", "Welcome", T0 + 3)
    assert event.id is None
    assert a.events == [event] and b.events == [event]
    carol, _ = world.connect("carol")
    got = result(carol.topic("#LOBBY"))
    assert (got.type, got.room, got.topic, got.nick) == ("topic", "#lobby", "Welcome", "alice")
    record = result(world.store.room("#lobby"))
    assert (record.topic, record.topic_by) == ("Welcome", "alice")
    members = result(carol.join("#lobby"))
    assert (members.topic, members.nick) == ("Welcome", "alice")


def test_topic_of_live_room_without_topic(world):
    """A live room with no topic reads as an empty topic with no setter."""
    world.member("alice", "#lobby")
    bob, _ = world.connect("bob")
    got = result(bob.topic("#lobby"))
    assert (got.topic, got.nick) == ("", None)


def test_topic_can_be_cleared(world):
    """An empty (or blank) topic clears it."""
    alice, a = world.member("alice", "#lobby")
    result(alice.set_topic("#lobby", "x"))
    assert result(alice.set_topic("#lobby", "   ")).topic == ""
    assert result(alice.topic("#lobby")).topic == ""


def test_topic_errors(world):
    """Topic reads and writes refuse with the documented codes."""
    world.member("bob", "#lobby")
    alice, a = world.member("alice", "#mine")
    assert raises(NoSuchRoom, alice.topic, "#nowhere").code == "no-such-room"
    assert raises(InvalidRoom, alice.topic, "nowhere").code == "invalid-room"
    assert raises(NotInRoom, alice.set_topic, "#lobby", "mine now").code == "not-in-room"
    assert raises(NotInRoom, alice.set_topic, "#nowhere", "x").code == "not-in-room"
    assert raises(InvalidText, alice.set_topic, "#mine", "a\nb").code == "invalid-text"
    assert raises(TooLong, alice.set_topic, "#mine", "x" * 391).code == "too-long"
    assert result(alice.set_topic("#mine", "x" * 390)).topic == "x" * 390
    assert result(world.store.room("#lobby")) is None, "nothing was ever stored for #lobby: no topic"


# -- who / rooms --------------------------------------------------------------------------


def test_who_lists_members_of_any_live_room(world):
    """who works for rooms one is not in; unknown rooms are no-such-room."""
    world.member("bob", "#lobby")
    world.member("alice", "#lobby")
    carol, _ = world.connect("carol")
    members = result(carol.who("#Lobby"))
    assert (members.type, members.room, members.nicks) == ("members", "#lobby", ("alice", "bob"))
    assert raises(NoSuchRoom, carol.who, "#empty").code == "no-such-room"
    assert raises(InvalidRoom, carol.who, "lobby").code == "invalid-room"


def test_list_rooms(world):
    """Rooms with members are listed sorted by folded name, with counts and topics."""
    alice, _ = world.member("alice", "#zoo", "#Beta", "#alpha")
    world.member("bob", "#Beta")
    result(alice.set_topic("#zoo", "animals"))
    rooms = result(alice.list_rooms())
    assert rooms.type == ev.ROOMS
    assert rooms.rooms == (
        RoomInfo("#alpha", 1, ""), RoomInfo("#Beta", 2, ""), RoomInfo("#zoo", 1, "animals")
    )
    alice.close()
    assert result(world.hub.presence.rooms()) == (RoomInfo("#Beta", 1, ""),)


def test_commands_after_close_are_refused(world):
    """A closed session cannot join or change nick: it would leave a ghost member behind."""
    alice, _ = world.connect("alice")
    alice.close()
    for call in (lambda: alice.join("#lobby"), lambda: result(alice.set_nick("alice2"))):
        with pytest.raises(ChatError) as e:
            call()
        assert e.value.code == "unavailable"
    assert world.hub.rooms == {} and world.holder("alice") is None


def test_list_rooms_when_there_are_none(world):
    """With no rooms the listing is empty."""
    alice, _ = world.connect("alice")
    assert result(alice.list_rooms()).rooms == ()


# -- history -----------------------------------------------------------------------------


def fill(session, room, n):
    return [result(session.say(room, f"m{i}")).id for i in range(1, n + 1)]


def test_history_default_is_scrollback():
    """Without a limit, history returns the newest `scrollback` messages, oldest first."""
    world = World(scrollback=3)
    alice, _ = world.member("alice", "#lobby")
    fill(alice, "#lobby", 5)
    h = result(alice.history("#lobby"))
    assert (h.type, h.room) == ("history", "#lobby")
    assert [m.id for m in h.messages] == [3, 4, 5]
    assert [m.text for m in h.messages] == ["m3", "m4", "m5"]
    assert h.truncated is True


def test_history_limit_before_and_clamping():
    """limit picks how many, before pages back, and limits are clamped to 0..history_max."""
    world = World(history_max=4)
    alice, _ = world.member("alice", "#lobby")
    fill(alice, "#lobby", 10)
    assert [m.id for m in result(alice.history("#lobby", 2)).messages] == [9, 10]
    page = result(alice.history("#lobby", 3, 9))
    assert [m.id for m in page.messages] == [6, 7, 8] and page.truncated is True
    first = result(alice.history("#lobby", 3, 3))
    assert [m.id for m in first.messages] == [1, 2] and first.truncated is False
    clamped = result(alice.history("#lobby", 1000))
    assert [m.id for m in clamped.messages] == [7, 8, 9, 10] and clamped.truncated is True
    assert result(alice.history("#lobby", 0)).messages == ()
    assert result(alice.history("#lobby", -5)).messages == ()
    everything = result(alice.history("#lobby", 4, 5))
    assert [m.id for m in everything.messages] == [1, 2, 3, 4] and everything.truncated is False


def test_history_of_room_not_joined_or_never_used(world):
    """History of an unjoined room can be read; a never-used room is empty, not truncated."""
    alice, _ = world.member("alice", "#lobby")
    fill(alice, "#lobby", 2)
    alice.part("#lobby")
    bob, _ = world.connect()
    h = result(bob.history("#LOBBY"))
    assert [m.text for m in h.messages] == ["m1", "m2"]
    empty = result(bob.history("#never"))
    assert (empty.room, empty.messages, empty.truncated) == ("#never", (), False)
    e = raises(InvalidRoom, bob.history, "never")
    assert e.code == "invalid-room"


def test_history_room_name_is_the_live_spelling(world):
    """A history of a live room is labelled with the room's display name."""
    alice, _ = world.member("alice", "#Lobby")
    assert result(alice.history("#LOBBY")).room == "#Lobby"


# -- close / quit ---------------------------------------------------------------------------


def test_close_tells_every_room_and_frees_the_nick(world):
    """Quitting sends a quit event to each room's other members and frees the nick."""
    alice, a = world.member("alice", "#a", "#b")
    bob, b = world.member("bob", "#a", "#b")
    carol, c = world.member("carol", "#b")
    a.clear()
    b.clear()
    world.clock.advance(4)
    bob.close("Connection closed")
    quits = [(e.type, e.room, e.nick, e.reason, e.ts) for e in a.events]
    assert quits == [
        ("quit", "#a", "bob", "Connection closed", T0 + 4),
        ("quit", "#b", "bob", "Connection closed", T0 + 4),
    ]
    assert [(e.type, e.room) for e in c.events] == [("quit", "#b")]
    assert b.events == []
    assert bob.closed and bob.rooms == {}
    assert bob not in world.hub.sessions
    assert world.holder("bob") is None
    newbob, _ = world.connect("BOB")
    assert newbob.nick == "BOB"
    assert result(alice.who("#a")).nicks == ("alice",)


def test_close_closes_empty_rooms_and_is_idempotent(world):
    """The last member quitting closes its rooms; closing twice does nothing more."""
    alice, a = world.member("alice", "#a")
    bob, b = world.member("bob", "#b")
    alice.close()
    alice.close("again")
    assert sorted(world.hub.rooms) == ["#b"]
    assert b.events == []
    assert len(world.hub.sessions) == 1


def test_close_without_nick(world):
    """A session that never chose a nick can close cleanly."""
    anon, sink = world.connect()
    anon.close()
    assert world.hub.sessions == set() and sink.events == []


def test_quit_reason_is_cleaned(world):
    """A quit reason with an escape sequence is dropped, not relayed."""
    alice, a = world.member("alice", "#a")
    bob, _ = world.member("bob", "#a")
    bob.close("\x1b]0;owned\x07")
    assert a.events[-1].reason is None


def test_notice_and_shutdown_reach_every_session(world):
    """An operator notice reaches every session; shutdown disconnects every sink with the reason."""
    alice, a = world.member("alice", "#a")
    anon, n = world.connect()
    world.hub.notice("restarting")
    for sink in (a, n):
        assert [(e.type, e.nick, e.text) for e in sink.events] == [("notice", "chatd", "restarting")]
    world.hub.shutdown("bye now")
    assert a.disconnects == ["bye now"] and n.disconnects == ["bye now"]
