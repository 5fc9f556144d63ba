"""
The IStore contract, run against every store.

A test module mixes L{StoreContract} into a test class and provides a
C{store} fixture yielding an opened store.
"""

import pytest
import pytest_twisted
from twisted.internet.defer import gatherResults
from zope.interface.verify import verifyObject

from chatd.core.events import ACTION, MESSAGE
from chatd.core.interfaces import IStore
from chatd.store.records import RoomRecord


def ids(rows):
    return [e.id for e in rows]


def say(store, room, text, ts=1000.0, nick="alice", cid=None, type=MESSAGE):
    """Append one message from C{nick} (its folded nick is its identity)."""
    return store.append(room, type, nick, text, ts, nick.lower(), cid)


def fill(store, room, count, ts=1000.0):
    """Append C{count} messages, one second apart; fire when all are stored."""
    return gatherResults([say(store, room, f"m{i}", ts + i) for i in range(count)])


class StoreContract:
    """What every L{IStore} does, whatever keeps the data."""

    def test_interface(self, store):
        """The store provides IStore and names itself."""
        assert verifyObject(IStore, store)
        assert isinstance(store.name, str) and store.name

    @pytest_twisted.inlineCallbacks
    def test_ids_per_room(self, store):
        """Ids start at 1 and increase by one per room, independently."""
        results = yield gatherResults(
            [say(store, room, "hi", ts=10.0 + i) for i, room in enumerate(["#a", "#b", "#a", "#a", "#b"])]
        )
        assert [r[0] for r in results] == [1, 1, 2, 3, 2]
        assert results[0] == (1, 10.0, True)
        assert (yield store.last_id("#a")) == 3
        assert (yield store.last_id("#b")) == 2
        assert (yield store.last_id("#nowhere")) == 0

    @pytest_twisted.inlineCallbacks
    def test_rooms_are_folded(self, store):
        """Spellings that fold alike are one room with one counter."""
        yield say(store, "#Lobby", "one")
        id, _, _ = yield say(store, "#LOBBY", "two")
        assert id == 2
        assert (yield store.last_id("#lobby")) == 2
        rows, _ = yield store.recent("#ｌｏｂｂｙ", 10)
        assert [e.text for e in rows] == ["one", "two"]

    @pytest_twisted.inlineCallbacks
    def test_cid_is_idempotent(self, store):
        """A repeated (identity, cid) returns the first copy and stores nothing."""
        first = yield say(store, "#a", "hello", ts=100.0, cid="c1")
        again = yield say(store, "#a", "hello", ts=105.0, cid="c1")
        assert first == (1, 100.0, True)
        assert again == (1, 100.0, False)
        assert (yield store.last_id("#a")) == 1
        rows, more = yield store.recent("#a", 10)
        assert (ids(rows), more) == ([1], False)
        other = yield say(store, "#a", "hello", ts=106.0, nick="bob", cid="c1")
        assert other == (2, 106.0, True)
        plain = yield gatherResults([say(store, "#a", "x"), say(store, "#a", "x")])
        assert [p[0] for p in plain] == [3, 4]

    @pytest_twisted.inlineCallbacks
    def test_cid_window(self, store):
        """A client message id is forgotten once the window has passed."""
        yield say(store, "#a", "hello", ts=0.0, cid="c1")
        late = yield say(store, "#a", "hello", ts=86400.0, cid="c1")
        assert late == (2, 86400.0, True)
        again = yield say(store, "#a", "hello", ts=86401.0, cid="c1")
        assert again == (2, 86400.0, False)

    @pytest_twisted.inlineCallbacks
    def test_recent_rows(self, store):
        """Rows are message and action events, oldest first."""
        yield say(store, "#a", "hello", ts=5.0)
        yield say(store, "#a", "waves", ts=6.0, nick="Bob", type=ACTION)
        rows, more = yield store.recent("#a", 10)
        assert not more
        got = [(e.type, e.room, e.nick, e.text, e.id, e.ts) for e in rows]
        assert got == [(MESSAGE, "#a", "alice", "hello", 1, 5.0), (ACTION, "#a", "Bob", "waves", 2, 6.0)]

    @pytest_twisted.inlineCallbacks
    def test_recent_limit(self, store):
        """The newest C{limit} rows; C{more} says older ones were left out."""
        yield fill(store, "#a", 10)
        assert (yield self.page(store, 3)) == ([8, 9, 10], True)
        assert (yield self.page(store, 10)) == (list(range(1, 11)), False)
        assert (yield self.page(store, 20)) == (list(range(1, 11)), False)
        assert (yield self.page(store, 0)) == ([], True)

    @pytest_twisted.inlineCallbacks
    def test_recent_before(self, store):
        """C{before} pages back through older messages."""
        yield fill(store, "#a", 10)
        assert (yield self.page(store, 2, before=5)) == ([3, 4], True)
        assert (yield self.page(store, 5, before=3)) == ([1, 2], False)
        assert (yield self.page(store, 5, before=1)) == ([], False)

    @pytest_twisted.inlineCallbacks
    def test_recent_after(self, store):
        """C{after} reads what followed an id: still the newest C{limit}."""
        yield fill(store, "#a", 10)
        assert (yield self.page(store, 10, after=7)) == ([8, 9, 10], False)
        assert (yield self.page(store, 3, after=2)) == ([8, 9, 10], True)
        assert (yield self.page(store, 3, after=10)) == ([], False)
        assert (yield self.page(store, 10, after=0)) == (list(range(1, 11)), False)
        assert (yield self.page(store, 2, after=3, before=7)) == ([5, 6], True)

    @pytest_twisted.inlineCallbacks
    def test_recent_unknown_room(self, store):
        """A room nobody spoke in has no history, and nothing more."""
        rows, more = yield store.recent("#empty", 10, after=5)
        assert (rows, more) == ([], False)

    @pytest_twisted.inlineCallbacks
    def test_topic(self, store):
        """Topics are kept per folded room; unknown rooms have none."""
        assert (yield store.room("#a")) is None
        yield store.set_topic("#A", "Welcome", "alice")
        assert (yield store.room("#a")) == RoomRecord("#A", topic="Welcome", topic_by="alice")
        yield store.set_topic("#a", "", "bob")
        assert (yield store.room("#a")) == RoomRecord("#A", topic_by="bob")

    @pytest_twisted.inlineCallbacks
    def test_no_room(self, store):
        """A room nothing was ever stored about has no record and no ids."""
        assert (yield store.room("#nowhere")) is None
        assert (yield store.last_id("#nowhere")) == 0

    @pytest_twisted.inlineCallbacks
    def test_room_made_by_a_message(self, store):
        """The first message makes the record, named as first spelled; ids count in it."""
        yield say(store, "#Lobby", "one")
        yield say(store, "#LOBBY", "two")
        record = yield store.room("#lobby")
        assert record == RoomRecord("#Lobby", last_id=2)
        assert (record.topic, record.topic_by, dict(record.settings), record.pruned_below) == ("", "", {}, 0)

    @pytest_twisted.inlineCallbacks
    def test_save_room_settings(self, store):
        """Settings come back as they were saved: text, whole numbers and true/false, types kept."""
        settings = {"moderated": True, "invite_only": False, "limit": 25, "owner": "alice", "key": "1"}
        yield store.save_room(RoomRecord("#Den", topic="Quiet", topic_by="alice", settings=settings))
        record = yield store.room("#DEN")
        assert record == RoomRecord("#Den", "Quiet", "alice", settings)
        assert [type(record.settings[k]) for k in settings] == [bool, bool, int, str, str]
        yield store.save_room(RoomRecord("#den", settings={"limit": 30}))
        assert (yield store.room("#Den")) == RoomRecord("#den", settings={"limit": 30})

    @pytest_twisted.inlineCallbacks
    def test_save_room_keeps_ids(self, store):
        """Saving a record never moves the room's id counter: only messages do."""
        yield fill(store, "#a", 3)
        yield store.save_room(RoomRecord("#a", topic="t", last_id=99, pruned_below=50))
        assert (yield store.room("#a")) == RoomRecord("#a", topic="t", last_id=3)
        assert (yield say(store, "#a", "next"))[0] == 4
        yield store.save_room(RoomRecord("#new", last_id=7))
        assert (yield store.last_id("#new")) == 0
        assert (yield say(store, "#new", "first"))[0] == 1

    @pytest_twisted.inlineCallbacks
    def test_save_room_needs_a_record(self, store):
        """Anything but a RoomRecord is refused, and nothing is stored."""
        with pytest.raises(TypeError, match="RoomRecord"):
            yield store.save_room({"name": "#a"})
        assert (yield store.room("#a")) is None

    @pytest_twisted.inlineCallbacks
    def test_empty_room_stays(self, store):
        """Pruning every message leaves the record, its counter and what was pruned."""
        yield fill(store, "#a", 10)
        yield store.set_topic("#a", "Still here", "alice")
        assert (yield store.prune(4, None, now=5000.0)) == 6
        assert (yield store.room("#a")).pruned_below == 7
        assert (yield store.prune(0, None, now=5000.0)) == 4
        assert (yield store.room("#a")) == RoomRecord("#a", "Still here", "alice", last_id=10, pruned_below=11)
        assert (yield store.last_id("#a")) == 10
        assert (yield self.page(store, 10, after=5)) == ([], True)
        assert (yield say(store, "#a", "again"))[0] == 11

    @pytest_twisted.inlineCallbacks
    def test_results_in_call_order(self, store):
        """Results fire in the order the calls were made; reads see the writes made before them."""
        fired = []
        calls = []
        for i in range(80):
            room = ("#a", "#b", "#c")[i % 3]
            if i % 10 == 9:
                d = store.recent(room, 5)
            elif i % 10 == 4:
                d = store.set_topic(room, f"t{i}", "alice")
            elif i % 10 == 6:
                d = store.last_id(room)
            elif i % 10 == 7:
                d = store.room(room)
            elif i % 20 == 2:
                d = store.save_room(RoomRecord(room, topic=f"s{i}"))
            else:
                d = say(store, room, f"m{i}")
            calls.append(d.addCallback(lambda r, i=i: fired.append(i) or r))
        results = yield gatherResults(calls)
        assert fired == list(range(80))
        stored = {}  # room -> ids appended so far
        topics = {}
        for i, r in enumerate(results):
            room = i % 3
            if isinstance(r, tuple) and len(r) == 3:
                stored.setdefault(room, []).append(r[0])
            elif i % 10 == 4 or i % 20 == 2:
                topics[room] = f"t{i}" if i % 10 == 4 else f"s{i}"
            elif i % 10 == 6:
                assert r == len(stored.get(room, []))
            elif i % 10 == 7:
                assert (r.last_id, r.topic) == (len(stored.get(room, [])), topics.get(room, ""))
        for got in stored.values():
            assert got == list(range(1, len(got) + 1))

    @pytest_twisted.inlineCallbacks
    def test_message_by_id(self, store):
        """One stored message is read back by its id, from any spelling of its room."""
        yield say(store, "#Lobby", "hello", ts=5.0, cid="c1")
        yield say(store, "#LOBBY", "waves", ts=6.0, nick="Bob", type=ACTION)
        one, two = yield gatherResults([store.message("#lobby", 1), store.message("#ＬＯＢＢＹ", 2)])
        assert (one.type, one.room, one.nick, one.text, one.id, one.ts, one.cid) == (
            MESSAGE, "#Lobby", "alice", "hello", 1, 5.0, "c1")
        assert (two.type, two.room, two.nick, two.text, two.id, two.ts) == (ACTION, "#Lobby", "Bob", "waves", 2, 6.0)
        assert (yield store.message("#lobby", 3)) is None
        assert (yield store.message("#lobby", 0)) is None
        assert (yield store.message("#nowhere", 1)) is None

    @pytest_twisted.inlineCallbacks
    def test_delete_message(self, store):
        """A deleted message is gone from the history and by id; deleting it again, or an unknown id, answers False."""
        yield fill(store, "#a", 5)
        assert (yield store.delete_message("#A", 3)) is True
        assert (yield store.message("#a", 3)) is None
        assert (yield self.page(store, 10)) == ([1, 2, 4, 5], False)
        assert (yield self.page(store, 2)) == ([4, 5], True)
        assert (yield self.page(store, 10, before=4)) == ([1, 2], False)
        assert (yield self.page(store, 10, after=2)) == ([4, 5], False)  # deleted is not pruned: no gap
        assert (yield store.delete_message("#a", 3)) is False
        assert (yield store.delete_message("#a", 6)) is False
        assert (yield store.delete_message("#nowhere", 1)) is False
        assert (yield store.room("#a")) == RoomRecord("#a", last_id=5)

    @pytest_twisted.inlineCallbacks
    def test_deleted_id_never_reused(self, store):
        """Deleting the newest message keeps its id used: the next message gets the one after."""
        yield fill(store, "#a", 2)
        yield gatherResults([store.delete_message("#a", 2), store.delete_message("#a", 1)])
        assert (yield store.last_id("#a")) == 2
        assert (yield say(store, "#a", "next"))[0] == 3
        assert (yield self.page(store, 10, after=0)) == ([3], False)

    @pytest_twisted.inlineCallbacks
    def test_deleted_message_not_sent_again(self, store):
        """A client repeating a deleted message's id is answered with the old id and nothing is stored."""
        assert (yield say(store, "#a", "oops", ts=10.0, cid="c1")) == (1, 10.0, True)
        yield store.delete_message("#a", 1)
        assert (yield say(store, "#a", "oops", ts=11.0, cid="c1")) == (1, 10.0, False)
        assert (yield self.page(store, 10)) == ([], False)

    @pytest_twisted.inlineCallbacks
    def test_prune_counts_messages_not_ids(self, store):
        """Retention by count keeps that many messages: deleted ones do not count."""
        yield fill(store, "#a", 10)
        yield gatherResults([store.delete_message("#a", i) for i in (8, 9)])
        assert (yield store.prune(3, None, now=5000.0)) == 5
        assert (yield self.page(store, 10)) == ([6, 7, 10], False)
        assert (yield self.page(store, 10, after=4)) == ([6, 7, 10], True)
        assert (yield self.page(store, 10, after=5)) == ([6, 7, 10], False)

    @staticmethod
    def page(store, limit, **kw):
        return store.recent("#a", limit, **kw).addCallback(lambda r: (ids(r[0]), r[1]))


class DurableContract:
    """
    What a store that outlives its process does.  The test class provides
    a C{reopen} fixture: a function taking an opened store, closing it,
    and returning a Deferred firing with a new store on the same data.
    """

    @pytest_twisted.inlineCallbacks
    def test_restart_keeps_rooms(self, store, reopen):
        """Records, settings, topics and id counters survive a restart; ids go on from there."""
        yield fill(store, "#a", 5)
        yield store.prune(2, None, now=5000.0)
        yield store.save_room(RoomRecord("#A", "Hello", "alice", {"moderated": True, "limit": 9}))
        yield store.save_room(RoomRecord("#Empty", settings={"owner": "bob"}))
        store = yield reopen(store)
        assert (yield store.room("#a")) == RoomRecord("#A", "Hello", "alice", {"moderated": True, "limit": 9}, 5, 4)
        assert (yield store.room("#empty")) == RoomRecord("#Empty", settings={"owner": "bob"})
        assert type((yield store.room("#a")).settings["moderated"]) is bool
        assert (yield store.last_id("#a")) == 5
        assert (yield say(store, "#a", "next"))[0] == 6
        assert (yield StoreContract.page(store, 10, after=0)) == ([4, 5, 6], True)
