"""
One delivery path (chatd.core.bus, chatd.core.feed): room events reach
members only through the room bus and each room's feed, which delivers
messages once each, in id order, however the bus delays, reorders or
repeats them, and fills gaps from the store.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatd.core import events as ev
from chatd.core.feed import RoomFeed
from chatd.core.room import Room

from chatcore_helpers import World, result
from chaosbus import ChaosBus, SlowReads


def ids(sink, start=0, end=None):
    """Message ids a member saw in its events [start:end]: history rows, then live, in order."""
    seen = []
    for e in sink.events[start:end]:
        if e.type == ev.HISTORY:
            seen.extend(m.id for m in e.messages)
        elif e.type in ev.NUMBERED:
            seen.append(e.id)
    return seen


def chaos_world(**rules):
    bus = ChaosBus()
    world = World(store=SlowReads(), **rules)
    world.hub.bus = bus
    return world, bus


def settle(world, bus):
    """Let every publication and every read through until nothing is left."""
    while bus.queue or world.store.reads:
        bus.flush()
        world.store.answer_all()


# -- the feed, by example ------------------------------------------------------------------


def test_repeats_are_dropped_and_order_is_restored():
    """3, 1, 2, 2, 1: members get 1, 2, 3 once each."""
    world, bus = chaos_world()
    alice, a = world.connect("alice")
    joined = alice.join("#r")
    settle(world, bus)
    assert result(joined).type == ev.MEMBERS
    for n in range(3):
        result(alice.say("#r", f"m{n}"))
    a.clear()
    for index in (2, 0, 0):
        bus.deliver(index)
        world.store.answer_all()
    bus.repeat(1)
    bus.repeat(0)
    assert ids(a) == [1, 2, 3]
    assert [e.text for e in a.events if e.type == ev.MESSAGE] == ["m0", "m1", "m2"]


def test_a_gap_is_filled_from_the_store_before_what_follows():
    """Message 3 arrives first: 1 and 2 are read from the store and delivered before it."""
    world, bus = chaos_world()
    alice, a = world.connect("alice")
    alice.join("#r")
    settle(world, bus)
    for n in range(3):
        result(alice.say("#r", f"m{n}"))
    a.clear()
    bus.deliver(2)  # id 3: a gap, read from the store
    assert ids(a) == [] and len(world.store.reads) == 1
    bus.deliver(0)  # id 1 arrives while the fill is on its way: it waits
    world.store.answer(0)
    assert ids(a) == [1, 2, 3]
    bus.flush()
    assert ids(a) == [1, 2, 3]


def test_presence_waits_behind_a_gap_being_filled():
    """A join published after message 2 is not delivered before the fill that brings 2."""
    world, bus = chaos_world()
    alice, a = world.connect("alice")
    alice.join("#r")
    settle(world, bus)
    result(alice.say("#r", "one"))
    result(alice.say("#r", "two"))
    bob, _ = world.connect("bob")
    bob.join("#r")
    a.clear()
    bus.deliver(1)  # id 2 first: fill
    bus.deliver(1)  # bob's join: waits behind the fill
    assert a.types() == []
    world.store.answer_all()
    assert [(e.type, getattr(e, "text", e.nick)) for e in a.events] == [
        ("message", "one"), ("message", "two"), ("join", "bob")]


def test_a_gap_the_store_cannot_fill_is_announced():
    """Messages pruned before they could be delivered: a truncated history says so, then live goes on."""
    clock_world, bus = chaos_world()
    store = clock_world.store
    alice, a = clock_world.connect("alice")
    alice.join("#r")
    settle(clock_world, bus)
    for n in range(5):
        result(alice.say("#r", f"m{n}"))
    result(store.prune(1, None, clock_world.hub.now()))  # keeps only id 5
    a.clear()
    bus.deliver(4)  # id 5
    store.answer_all()
    (history, message) = a.events
    assert history.type == ev.HISTORY and history.truncated and history.messages == ()
    assert message.id == 5


def test_the_feed_holds_everything_until_the_room_is_open():
    """Events for a room still loading its record wait; then they go out in order."""
    room = Room("#r", "#r")
    got = []
    class Member:
        nick = "alice"

    room.members[Member()] = got.append

    class Hub:
        store = None
        stats = {"bus_repeats": 0}
        rules = None

    feed = RoomFeed(room, Hub())
    feed.receive(ev.Join(room="#r", nick="bob"))
    feed.receive(ev.Message(room="#r", nick="bob", text="hi", id=8))
    assert got == []
    feed.start(7)
    assert [e.type for e in got] == ["join", "message"]


# -- the property -----------------------------------------------------------------------------

MEMBERS = ["alice", "bob", "carol", "dave"]

steps = st.lists(
    st.one_of(
        st.tuples(st.just("say"), st.integers(0, 3)),
        st.tuples(st.just("deliver"), st.integers(0, 50)),
        st.tuples(st.just("repeat"), st.integers(0, 50)),
        st.tuples(st.just("answer"), st.integers(0, 10)),
        st.tuples(st.just("join"), st.integers(0, 3), st.booleans()),
        st.tuples(st.just("part"), st.integers(0, 3)),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps)
def test_every_member_sees_each_message_once_in_order_whatever_the_bus_does(steps):
    """
    Members talk, join (fresh or resuming with since), part and rejoin while
    the bus delays, reorders and repeats publications and the store answers
    reads in any order.  Every stay of every member sees a contiguous run of
    ids, each once, starting right after its since when it resumed; those
    still in the room at the end have seen the room's last message.
    """
    world, bus = chaos_world(scrollback=3)
    sessions = {}
    stays = {nick: [] for nick in MEMBERS}  # (sink start index, since) per stay
    for nick in MEMBERS:
        sessions[nick] = world.connect(nick)
    last_seen = {nick: 0 for nick in MEMBERS}

    def join(nick, resume):
        session, sink = sessions[nick]
        if "#r" in session.rooms:
            return
        seen = ids(sink, stays[nick][-1][0]) if stays[nick] else []
        if seen:
            last_seen[nick] = seen[-1]
        since = last_seen[nick] if resume and stays[nick] else None
        stays[nick].append((len(sink.events), since))
        session.join("#r", since)

    for nick in MEMBERS[:2]:
        join(nick, False)
    for step in steps:
        kind, arg = step[0], step[1]
        if kind == "say":
            session, _ = sessions[MEMBERS[arg]]
            if "#r" in session.rooms:
                session.say("#r", f"from {session.nick}")
        elif kind == "deliver":
            bus.deliver(arg)
        elif kind == "repeat":
            bus.repeat(arg)
        elif kind == "answer":
            world.store.answer(arg)
        elif kind == "join":
            join(MEMBERS[arg], step[2])
        elif kind == "part":
            session, _ = sessions[MEMBERS[arg]]
            if "#r" in session.rooms:
                session.part("#r")
    settle(world, bus)

    last = result(world.store.last_id("#r"))
    for nick in MEMBERS:
        session, sink = sessions[nick]
        for n, (start, since) in enumerate(stays[nick]):
            end = stays[nick][n + 1][0] if n + 1 < len(stays[nick]) else None
            seen = ids(sink, start, end)
            if not seen:
                continue
            assert seen == list(range(seen[0], seen[0] + len(seen))), (nick, n, seen)
            if since is not None:
                assert seen[0] == since + 1, (nick, n, since, seen)
        if "#r" in session.rooms:
            start, since = stays[nick][-1]
            seen = ids(sink, start)
            assert (seen[-1] if seen else since or 0) == last, (nick, seen, since, last)
