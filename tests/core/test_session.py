"""
A session's event stream: what a joiner receives and in which order, resume
with C{since}, fan-out (encode once, members leaving mid-fan-out), and no
gap and no duplicate between scrollback and live traffic while the store is
slow to answer.
"""

from collections import Counter

import pytest
from twisted.internet.defer import Deferred

from chatcore_helpers import T0, RecordingSink, World, fails, result
from chatd.core import events as ev
from chatd.store.memory import MemoryStore


def numbered(sink):
    """Ids of every message the client saw, scrollback and live, in order."""
    ids = []
    for e in sink.events:
        if e.type == ev.HISTORY:
            ids.extend(m.id for m in e.messages)
        elif e.type in ev.NUMBERED:
            ids.append(e.id)
    return ids


# -- join order ----------------------------------------------------------------


def test_joiner_gets_join_members_history_then_live(world):
    """A joiner sees its own join, then members, then scrollback, then live traffic."""
    alice, a = world.member("alice", "#lobby")
    for i in range(3):
        result(alice.say("#lobby", f"old {i}"))
    bob, b = world.connect("bob")
    members = result(bob.join("#lobby"))
    result(alice.say("#lobby", "new"))
    assert b.types() == ["join", "members", "history", "message"]
    join, got_members, history, live = b.events
    assert (join.room, join.nick) == ("#lobby", "bob")
    assert got_members is members and members.nicks == ("alice", "bob")
    assert history.room == "#lobby" and history.truncated is False
    assert [m.text for m in history.messages] == ["old 0", "old 1", "old 2"]
    assert [m.id for m in history.messages] == [1, 2, 3]
    assert (live.text, live.id) == ("new", 4)


def test_joining_empty_room_gives_empty_history(world):
    """The first member of a new room gets join, members (just itself), empty history."""
    alice, a = world.connect("alice")
    result(alice.join("#new"))
    assert a.types() == ["join", "members", "history"]
    assert a.events[1].nicks == ("alice",)
    assert a.events[2].messages == () and a.events[2].truncated is False


def test_scrollback_is_limited_and_marked_truncated():
    """Only the newest `scrollback` messages are replayed, and the gap is flagged."""
    world = World(scrollback=2)
    alice, _ = world.member("alice", "#lobby")
    for i in range(5):
        result(alice.say("#lobby", f"m{i}"))
    bob, b = world.connect("bob")
    result(bob.join("#lobby"))
    history = b.of_type(ev.HISTORY)[0]
    assert [m.id for m in history.messages] == [4, 5]
    assert history.truncated is True


def test_scrollback_zero_gives_empty_history():
    """With scrollback 0 the joiner gets an empty history and live traffic only."""
    world = World(scrollback=0)
    alice, _ = world.member("alice", "#lobby")
    result(alice.say("#lobby", "m"))
    bob, b = world.connect("bob")
    result(bob.join("#lobby"))
    assert b.of_type(ev.HISTORY)[0].messages == ()


def test_others_see_presence_events(world):
    """Members see join, part, quit, nick and topic events of others, in order."""
    alice, a = world.member("alice", "#lobby")
    bob, b = world.connect("bob")
    result(bob.join("#lobby"))
    result(bob.set_nick("robert"))
    result(bob.set_topic("#lobby", "hi all"))
    bob.part("#lobby", "brb")
    result(bob.join("#lobby"))
    bob.close("gone")
    assert [(e.type, e.nick) for e in a.events] == [
        ("join", "bob"), ("nick", "robert"), ("topic", "robert"), ("part", "robert"),
        ("join", "robert"), ("quit", "robert"),
    ]
    assert a.events[3].reason == "brb" and a.events[5].reason == "gone"
    assert all(e.id is None for e in a.events)


# -- resume -------------------------------------------------------------------


def test_since_replays_messages_after_the_id(world):
    """join with since returns exactly the messages after that id, then live."""
    alice, _ = world.member("alice", "#lobby")
    for i in range(6):
        result(alice.say("#lobby", f"m{i + 1}"))
    bob, b = world.connect("bob")
    result(bob.join("#lobby", since=4))
    history = b.of_type(ev.HISTORY)[0]
    assert [m.id for m in history.messages] == [5, 6]
    assert history.truncated is False
    result(alice.say("#lobby", "m7"))
    assert numbered(b) == [5, 6, 7]


def test_since_latest_id_replays_nothing(world):
    """Resuming from the newest id gives an empty, untruncated history."""
    alice, _ = world.member("alice", "#lobby")
    for i in range(3):
        result(alice.say("#lobby", "x"))
    bob, b = world.connect("bob")
    result(bob.join("#lobby", since=3))
    history = b.of_type(ev.HISTORY)[0]
    assert history.messages == () and history.truncated is False


def test_since_ignores_scrollback_size():
    """A resume replays everything missed even when that is more than the scrollback."""
    world = World(scrollback=2)
    alice, _ = world.member("alice", "#lobby")
    for i in range(8):
        result(alice.say("#lobby", "x"))
    bob, b = world.connect("bob")
    result(bob.join("#lobby", since=1))
    history = b.of_type(ev.HISTORY)[0]
    assert [m.id for m in history.messages] == [2, 3, 4, 5, 6, 7, 8]
    assert history.truncated is False


def test_since_truncated_when_over_replay_max():
    """Missing more than replay_max gives the newest replay_max messages, truncated."""
    world = World(replay_max=3)
    alice, _ = world.member("alice", "#lobby")
    for i in range(10):
        result(alice.say("#lobby", "x"))
    bob, b = world.connect("bob")
    result(bob.join("#lobby", since=2))
    history = b.of_type(ev.HISTORY)[0]
    assert [m.id for m in history.messages] == [8, 9, 10]
    assert history.truncated is True


def test_since_truncated_when_pruned():
    """Resuming from an id whose successors were pruned says truncated: no silent gap."""
    world = World(store=MemoryStore(keep=3))
    alice, _ = world.member("alice", "#lobby")
    for i in range(6):
        result(alice.say("#lobby", "x"))
    bob, b = world.connect("bob")
    result(bob.join("#lobby", since=1))
    history = b.of_type(ev.HISTORY)[0]
    assert [m.id for m in history.messages] == [4, 5, 6]
    assert history.truncated is True
    carol, c = world.connect("carol")
    result(carol.join("#lobby", since=3))
    history = c.of_type(ev.HISTORY)[0]
    assert [m.id for m in history.messages] == [4, 5, 6]
    assert history.truncated is False


# -- slow store: no gap, no duplicate ------------------------------------------


class SlowRecentStore(MemoryStore):
    """
    A MemoryStore whose C{recent} answers only when the test says so.

    @param snapshot: C{"call"} reads the rows when C{recent} is called (a
        store that read them before later messages committed); C{"fire"}
        reads them when the answer is released (a store that saw messages
        committed meanwhile).
    """

    def __init__(self, snapshot="call", **kw):
        super().__init__(**kw)
        self.snapshot = snapshot
        self.pending = []

    def recent(self, room, limit, before=None, after=None):
        d = Deferred()
        read = lambda: result(MemoryStore.recent(self, room, limit, before=before, after=after))  # noqa: E731
        rows = read() if self.snapshot == "call" else None
        self.pending.append((d, (lambda: rows) if rows is not None else read))
        return d

    def release(self):
        pending, self.pending = self.pending, []
        for d, read in pending:
            d.callback(read())

    def fail(self, error):
        pending, self.pending = self.pending, []
        for d, _ in pending:
            d.errback(error)


@pytest.mark.parametrize("snapshot", ["call", "fire"])
def test_no_gap_no_duplicate_while_history_is_read(snapshot):
    """Messages said while the joiner's history is read arrive after it, once each, in order."""
    store = SlowRecentStore(snapshot)
    world = World(store=store)
    alice, a = world.connect("alice")
    carol, c = world.connect("carol")
    alice.join("#lobby")
    carol.join("#lobby")
    store.release()
    for i in range(3):
        result(alice.say("#lobby", f"before {i}"))
    bob, b = world.connect("bob")
    joined = bob.join("#lobby")
    assert not joined.called
    for i in range(4):
        speaker = alice if i % 2 else carol
        result(speaker.say("#lobby", f"during {i}"))
    assert b.types() == ["join", "members"]
    store.release()
    assert result(joined).type == ev.MEMBERS
    result(alice.say("#lobby", "after"))
    assert b.types()[:3] == ["join", "members", "history"]
    ids = numbered(b)
    assert ids == list(range(1, 9)), ids
    history = b.of_type(ev.HISTORY)[0]
    last = history.messages[-1].id
    live = [e.id for e in b.events[3:]]
    assert all(i > last for i in live)
    assert b.events[-1].text == "after"


def test_presence_during_history_read_comes_after_history():
    """A join and a topic change while history is read are delivered after the history, in order."""
    store = SlowRecentStore()
    world = World(store=store)
    alice, _ = world.connect("alice")
    alice.join("#lobby")
    store.release()
    bob, b = world.connect("bob")
    joined = bob.join("#lobby")
    carol, _ = world.connect("carol")
    carol.join("#lobby")
    result(alice.set_topic("#lobby", "news"))
    result(alice.say("#lobby", "hi"))
    store.release()
    result(joined)
    assert [(e.type, e.nick) for e in b.events] == [
        ("join", "bob"), ("members", None), ("history", None), ("join", "carol"),
        ("topic", "alice"), ("message", "alice"),
    ]


def test_part_while_history_is_read_stops_delivery():
    """A joiner that parts before its history arrives gets no history and no room traffic."""
    store = SlowRecentStore()
    world = World(store=store)
    alice, a = world.connect("alice")
    alice.join("#lobby")
    store.release()
    bob, b = world.connect("bob")
    joined = bob.join("#lobby")
    result(alice.say("#lobby", "during"))
    bob.part("#lobby")
    store.release()
    result(joined)
    result(alice.say("#lobby", "after"))
    assert b.types() == ["join", "members"]
    assert world.members("#lobby") == ("alice",)


def test_quit_while_history_is_read():
    """A joiner that quits before its history arrives is gone for good."""
    store = SlowRecentStore()
    world = World(store=store)
    alice, a = world.connect("alice")
    alice.join("#lobby")
    store.release()
    bob, b = world.connect("bob")
    joined = bob.join("#lobby")
    bob.close()
    store.release()
    result(joined)
    result(alice.say("#lobby", "after"))
    assert b.types() == ["join", "members"]
    assert result(alice.who("#lobby")).nicks == ("alice",)


def test_history_read_failure_still_goes_live():
    """If the store cannot read history, the joiner is told (truncated, empty) and gets live traffic."""
    store = SlowRecentStore()
    world = World(store=store)
    alice, a = world.connect("alice")
    alice.join("#lobby")
    store.release()
    bob, b = world.connect("bob")
    joined = bob.join("#lobby")
    result(alice.say("#lobby", "during"))
    store.fail(RuntimeError("disk on fire"))
    fails(joined, RuntimeError)
    result(alice.say("#lobby", "after"))
    assert b.types() == ["join", "members", "history", "message", "message"]
    history = b.events[2]
    assert history.messages == () and history.truncated is True
    assert [e.text for e in b.events[3:]] == ["during", "after"]


# -- fan-out ---------------------------------------------------------------------


class EncodingSink(RecordingSink):
    """A front end that encodes each event with a shared codec, as real ones do."""

    def __init__(self, codec):
        super().__init__()
        self.codec = codec
        self.data = []

    def deliver(self, event):
        super().deliver(event)
        self.data.append(event.encoded(self.codec))


def test_fan_out_encodes_each_event_once():
    """N members sharing a codec cost one encoding per event, and share the bytes."""
    calls = Counter()

    def codec(event):
        calls[id(event)] += 1
        return f"{event.type}:{event.nick}".encode()

    world = World()
    sinks = []
    sessions = []
    for i in range(6):
        session, sink = world.connect(f"user{i}", sink=EncodingSink(codec))
        result(session.join("#lobby"))
        sessions.append(session)
        sinks.append(sink)
    calls.clear()
    for sink in sinks:
        sink.clear()
        sink.data.clear()
    message = result(sessions[0].say("#lobby", "hello"))
    nick = result(sessions[1].set_nick("renamed"))
    sessions[2].close()
    assert calls[id(message)] == 1
    assert calls[id(nick)] == 1
    assert all(n == 1 for n in calls.values()), calls
    live = sinks[:2] + sinks[3:]
    for sink in live:
        assert [e.type for e in sink.events] == ["message", "nick", "quit"]
    first = live[0].data
    for sink in live[1:]:
        assert all(x is y for x, y in zip(sink.data, first))


class ClosingSink(RecordingSink):
    """A front end that drops its client on the first event matching C{when}."""

    def __init__(self, when):
        super().__init__()
        self.when = when

    def deliver(self, event):
        super().deliver(event)
        if self.when(event) and not self.session.closed:
            self.session.close("Too slow to receive messages")


def test_member_closing_mid_fan_out_does_not_stop_others():
    """A member whose sink closes its session while a message fans out does not make others miss it."""
    world = World()
    alice, a = world.member("alice", "#lobby")
    slow, s = world.connect("slow", sink=ClosingSink(lambda e: e.type == ev.MESSAGE))
    result(slow.join("#lobby"))
    carol, c = world.member("carol", "#lobby")
    dave, d = world.member("dave", "#lobby")
    world.settle()
    message = result(carol.say("#lobby", "hello"))
    for sink in (a, c, d):
        assert message in sink.events
        assert [(e.type, e.nick) for e in sink.of_type(ev.QUIT)] == [("quit", "slow")]
    assert s.events == [message]
    assert slow.closed
    assert result(alice.who("#lobby")).nicks == ("alice", "carol", "dave")
    result(alice.say("#lobby", "next"))
    assert s.events == [message]
    assert [e.text for e in d.of_type(ev.MESSAGE)] == ["hello", "next"]


def test_member_closing_during_nick_fan_out():
    """A co-member closing while a nick change fans out does not stop others seeing it."""
    world = World()
    closer, _ = world.connect("closer", sink=ClosingSink(lambda e: e.type == ev.NICK))
    result(closer.join("#a"))
    alice, a = world.member("alice", "#a")
    bob, b = world.member("bob", "#a")
    world.settle()
    event = result(alice.set_nick("alicia"))
    assert event in a.events and event in b.events
    assert closer.closed and result(alice.who("#a")).nicks == ("alicia", "bob")


def test_joiner_closing_on_its_own_join_leaves_no_trace():
    """A joiner whose sink drops it on its own join is not left in the room."""
    world = World()
    alice, a = world.member("alice", "#lobby")
    bob, b = world.connect("bob", sink=ClosingSink(lambda e: e.type == ev.JOIN))
    result(bob.join("#lobby"))
    assert bob.closed
    assert result(alice.who("#lobby")).nicks == ("alice",)
    result(alice.say("#lobby", "hi"))
    assert ev.MESSAGE not in b.types()


def test_joiner_closing_on_its_history_leaves_no_ghost():
    """A joiner whose sink drops it when the scrollback arrives is not left as a ghost member."""
    world = World()
    alice, a = world.member("alice", "#lobby")
    bob, b = world.connect("bob", sink=ClosingSink(lambda e: e.type == ev.HISTORY))
    result(bob.join("#lobby"))
    assert bob.closed
    result(alice.say("#lobby", "after"))
    assert ev.MESSAGE not in b.types()
    assert result(alice.who("#lobby")).nicks == ("alice",)


def test_room_of_joiner_closing_on_history_disappears():
    """If the only member drops on its scrollback, the room is gone from listings."""
    world = World()
    bob, b = world.connect("bob", sink=ClosingSink(lambda e: e.type == ev.HISTORY))
    result(bob.join("#lonely"))
    assert bob.closed
    watcher, _ = world.connect("watcher")
    assert result(watcher.list_rooms()).rooms == ()


def test_events_share_the_clock_time():
    """The join, members and history a joiner gets carry the clock's time at the join."""
    world = World()
    world.clock.advance(42.5)
    alice, a = world.connect("alice")
    result(alice.join("#lobby"))
    assert [e.ts for e in a.events] == [T0 + 42.5] * 3
