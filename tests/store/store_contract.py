"""
The IStore contract, run against every store.

A test module mixes L{StoreContract} into a test class and provides a
C{store} fixture yielding an opened store.
"""

import pytest_twisted
from twisted.internet.defer import gatherResults
from zope.interface.verify import verifyObject

from chatd.core.events import ACTION, MESSAGE
from chatd.core.interfaces import IStore


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
        assert store.last_id("#a") == 3
        assert store.last_id("#b") == 2
        assert store.last_id("#nowhere") == 0

    @pytest_twisted.inlineCallbacks
    def test_rooms_are_folded(self, store):
        """Spellings that fold alike are one room with one counter."""
        yield say(store, "#Lobby", "one")
        id, _, _ = yield say(store, "#LOBBY", "two")
        assert id == 2
        assert store.last_id("#lobby") == 2
        rows, _ = yield store.recent("#ｌｏｂｂｙ", 10)
        assert [e.text for e in rows] == ["one", "two"]

    @pytest_twisted.inlineCallbacks
    def test_cid_is_idempotent(self, store):
        """A repeated (identity, cid) returns the first copy and stores nothing."""
        first = yield say(store, "#a", "hello", ts=100.0, cid="c1")
        again = yield say(store, "#a", "hello", ts=105.0, cid="c1")
        assert first == (1, 100.0, True)
        assert again == (1, 100.0, False)
        assert store.last_id("#a") == 1
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
        assert store.topic("#a") == ("", "")
        yield store.set_topic("#A", "Welcome", "alice")
        assert store.topic("#a") == ("Welcome", "alice")
        yield store.set_topic("#a", "", "bob")
        assert store.topic("#a") == ("", "bob")

    @pytest_twisted.inlineCallbacks
    def test_results_in_call_order(self, store):
        """Results fire in the order the calls were made, reads included."""
        fired = []
        calls = []
        for i in range(60):
            room = ("#a", "#b", "#c")[i % 3]
            if i % 10 == 9:
                d = store.recent(room, 5)
            elif i % 10 == 4:
                d = store.set_topic(room, f"t{i}", "alice")
            else:
                d = say(store, room, f"m{i}")
            calls.append(d.addCallback(lambda r, i=i: fired.append(i) or r))
        results = yield gatherResults(calls)
        assert fired == list(range(60))
        per_room = {}
        for i, r in enumerate(results):
            if isinstance(r, tuple) and len(r) == 3:
                per_room.setdefault(i % 3, []).append(r[0])
        for got in per_room.values():
            assert got == list(range(1, len(got) + 1))

    @staticmethod
    def page(store, limit, **kw):
        return store.recent("#a", limit, **kw).addCallback(lambda r: (ids(r[0]), r[1]))
