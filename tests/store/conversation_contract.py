"""
What every store keeps of a conversation besides its lines (issue 18),
run against every store like L{store_contract} and L{account_contract}:
replies and multi-line text, reactions as numbered rows of the room,
found again by the message they are on, and per account read markers
and preferences.

A test module mixes L{ConversationContract} into the test class that
provides a C{store} fixture; a durable store also mixes in
L{DurableConversationContract} and provides C{reopen}.
"""

import pytest
import pytest_twisted
from account_contract import account
from store_contract import StoreContract, fill, say
from twisted.internet.defer import gatherResults

from chatd.core.errors import NoSuchAccount
from chatd.core.events import ACTION, MESSAGE, REACT, UNREACT


def reply(store, room, text, to, ts=1000.0, nick="bob"):
    """Append a reply from C{nick} to message C{to} of alice's, with the excerpt the core would store."""
    extra = {"reply_to": to, "reply_nick": "alice", "reply_text": f"excerpt of {to}"}
    return store.append(room, MESSAGE, nick, text, ts, nick.lower(), None, extra=extra)


def react(store, room, message, reaction, nick="bob", ts=1000.0, type=REACT):
    """Append C{nick}'s reaction (or with C{type=UNREACT} its removal) to message C{message}."""
    return store.append(room, type, nick, reaction, ts, nick.lower(), None, extra={"message": message})


def shown(event):
    """What a front end shows of a stored row."""
    if event.type in (REACT, UNREACT):
        return (event.type, event.id, event.nick, event.message, event.reaction)
    return (event.type, event.id, event.nick, event.text, event.reply_to, event.reply_nick, event.reply_text)


def page(store, limit, **kw):
    return StoreContract.page(store, limit, **kw)


class ConversationContract:
    """Replies, reactions, read markers and preferences, as every store keeps them."""

    @pytest_twisted.inlineCallbacks
    def test_reply_kept_with_the_message(self, store):
        """A reply's id, author and excerpt of the original come back with it, by page and by id."""
        yield say(store, "#a", "original")
        yield reply(store, "#A", "an answer", to=1)
        rows, _ = yield store.recent("#a", 10)
        assert [shown(e) for e in rows] == [
            (MESSAGE, 1, "alice", "original", None, None, None),
            (MESSAGE, 2, "bob", "an answer", 1, "alice", "excerpt of 1"),
        ]
        one = yield store.message("#a", 2)
        assert (one.room, shown(one)) == ("#a", shown(rows[1]))

    @pytest_twisted.inlineCallbacks
    def test_multiline_text_kept(self, store):
        """A message's line breaks are kept as they were sent."""
        yield say(store, "#a", "one\ntwo\n  three")
        assert (yield store.message("#a", 1)).text == "one\ntwo\n  three"

    @pytest_twisted.inlineCallbacks
    def test_reactions_are_numbered_rows(self, store):
        """Reactions take the room's next ids and come back among the messages, but are no message by id."""
        yield say(store, "#a", "hello", ts=5.0)
        assert (yield react(store, "#a", 1, "👍", ts=6.0)) == (2, 6.0, True)
        yield react(store, "#a", 1, "👍", ts=7.0, type=UNREACT)
        yield say(store, "#a", "bye", ts=8.0, type=ACTION)
        rows, more = yield store.recent("#a", 10)
        assert not more
        assert [shown(e) for e in rows] == [
            (MESSAGE, 1, "alice", "hello", None, None, None),
            (REACT, 2, "bob", 1, "👍"),
            (UNREACT, 3, "bob", 1, "👍"),
            (ACTION, 4, "alice", "bye", None, None, None),
        ]
        assert [(e.room, e.ts) for e in rows[1:3]] == [("#a", 6.0), ("#a", 7.0)]
        assert (yield page(store, 2, after=1)) == ([3, 4], True)
        assert (yield store.message("#a", 2)) is None
        assert (yield store.message("#a", 3)) is None
        assert (yield store.message("#a", 4)).text == "bye"

    @pytest_twisted.inlineCallbacks
    def test_reactions_of_messages(self, store):
        """C{reactions} gives the rows aimed at the messages asked for, oldest first, and no other."""
        yield fill(store, "#a", 3)
        yield react(store, "#a", 1, "+1", nick="bob")
        yield react(store, "#a", 2, "lol", nick="carol")
        yield react(store, "#b", 1, "🎉", nick="dave")  # another room's message 1
        yield react(store, "#a", 1, "🎉", nick="carol")
        yield react(store, "#a", 1, "+1", nick="bob", type=UNREACT)
        got = yield store.reactions("#A", [1, 3])
        assert [shown(e) for e in got] == [
            (REACT, 4, "bob", 1, "+1"), (REACT, 6, "carol", 1, "🎉"), (UNREACT, 7, "bob", 1, "+1"),
        ]
        assert all(e.room == "#a" for e in got)
        assert [e.id for e in (yield store.reactions("#a", {2}))] == [5]
        assert [e.id for e in (yield store.reactions("#a", range(1, 4)))] == [4, 5, 6, 7]
        assert (yield store.reactions("#a", [3, 4, 99])) == []
        assert (yield store.reactions("#a", [])) == []
        assert (yield store.reactions("#nowhere", [1])) == []

    @pytest_twisted.inlineCallbacks
    def test_reactions_pruned_like_messages(self, store):
        """Retention counts and drops reaction rows as messages; a pruned message has no reactions left."""
        yield fill(store, "#a", 3)
        yield react(store, "#a", 1, "a")
        yield react(store, "#a", 3, "b")
        assert (yield store.prune(3, None, now=5000.0)) == 2
        assert (yield page(store, 10)) == ([3, 4, 5], False)
        assert [e.id for e in (yield store.reactions("#a", [1, 2, 3]))] == [5]
        assert (yield store.prune(1, None, now=5000.0)) == 2
        assert (yield store.reactions("#a", [3])) == []

    @pytest_twisted.inlineCallbacks
    def test_deleted_reaction_is_gone(self, store):
        """A deleted reaction row is not given back any more."""
        yield say(store, "#a", "hello")
        yield react(store, "#a", 1, "a")
        yield react(store, "#a", 1, "b")
        assert (yield store.delete_message("#a", 2)) is True
        assert [e.id for e in (yield store.reactions("#a", [1]))] == [3]
        assert (yield page(store, 10)) == ([1, 3], False)

    @pytest_twisted.inlineCallbacks
    def test_read_markers(self, store):
        """A marker per room and per private conversation, that only ever moves forward."""
        yield gatherResults([store.create_account(account("alice")), store.create_account(account("bob"))])
        assert (yield store.reads("alice")) == {}
        assert (yield store.set_read("alice", "#den", 5)) == 5
        assert (yield store.set_read("alice", "@bob", 2)) == 2
        assert (yield store.set_read("alice", "#den", 3)) == 5  # an older device reads less: kept
        assert (yield store.set_read("alice", "#den", 9)) == 9
        assert (yield store.set_read("bob", "#den", 1)) == 1
        assert (yield store.set_read("alice", "@carol", 0)) == 0  # read nothing yet, but opened
        assert (yield store.reads("alice")) == {"#den": 9, "@bob": 2, "@carol": 0}
        assert (yield store.reads("bob")) == {"#den": 1}

    @pytest_twisted.inlineCallbacks
    def test_read_markers_in_call_order(self, store):
        """Markers set at once end at the highest, whatever order they come in."""
        yield store.create_account(account("alice"))
        got = yield gatherResults([store.set_read("alice", "#den", id) for id in (4, 7, 2, 7, 6)])
        assert got == [4, 7, 7, 7, 7]
        assert (yield store.reads("alice")) == {"#den": 7}

    @pytest_twisted.inlineCallbacks
    def test_preferences(self, store):
        """Preferences are text by name; setting one again replaces it."""
        yield store.create_account(account("alice"))
        assert (yield store.preferences("alice")) == {}
        assert (yield store.set_preference("alice", "timestamps", "on")) is None
        yield store.set_preference("alice", "colour", "blue")
        yield store.set_preference("alice", "timestamps", "off")
        assert (yield store.preferences("alice")) == {"timestamps": "off", "colour": "blue"}

    @pytest_twisted.inlineCallbacks
    def test_markers_and_preferences_need_account(self, store):
        """Nothing is kept for an account that is not there."""
        with pytest.raises(NoSuchAccount):
            yield store.set_read("ghost", "#den", 1)
        with pytest.raises(NoSuchAccount):
            yield store.set_preference("ghost", "timestamps", "on")
        assert (yield store.reads("ghost")) == {}
        assert (yield store.preferences("ghost")) == {}

    @pytest_twisted.inlineCallbacks
    def test_drop_forgets_markers_and_preferences(self, store):
        """A dropped name registered again starts with no marker and no preference."""
        yield gatherResults([store.create_account(account("alice")), store.create_account(account("bob"))])
        yield gatherResults([store.set_read("alice", "#den", 5), store.set_preference("alice", "timestamps", "on"),
                             store.set_read("bob", "#den", 3), store.set_preference("bob", "timestamps", "on")])
        yield store.drop_account("alice")
        assert ((yield store.reads("alice")), (yield store.preferences("alice"))) == ({}, {})
        yield store.create_account(account("alice"))
        assert ((yield store.reads("alice")), (yield store.preferences("alice"))) == ({}, {})
        assert (yield store.set_read("alice", "#den", 1)) == 1
        assert ((yield store.reads("bob")), (yield store.preferences("bob"))) == ({"#den": 3}, {"timestamps": "on"})


class DurableConversationContract:
    """What a store that outlives its process keeps of replies, reactions, markers and preferences."""

    @pytest_twisted.inlineCallbacks
    def test_restart_keeps_replies_and_reactions(self, store, reopen):
        """Replies and reactions read back after a restart as they were stored."""
        yield say(store, "#a", "original")
        yield reply(store, "#a", "an answer", to=1)
        yield react(store, "#a", 1, "👍")
        yield react(store, "#a", 2, "ok", type=UNREACT)
        before = [shown(e) for e in (yield store.recent("#a", 10))[0]]
        store = yield reopen(store)
        assert [shown(e) for e in (yield store.recent("#a", 10))[0]] == before
        assert [e.id for e in (yield store.reactions("#a", [1, 2]))] == [3, 4]
        assert (yield store.message("#a", 2)).reply_to == 1

    @pytest_twisted.inlineCallbacks
    def test_restart_keeps_markers_and_preferences(self, store, reopen):
        """Read markers and preferences survive a restart, and still only move forward."""
        yield store.create_account(account("alice"))
        yield gatherResults([store.set_read("alice", "#den", 5), store.set_read("alice", "@bob", 2),
                             store.set_preference("alice", "timestamps", "on")])
        store = yield reopen(store)
        assert (yield store.reads("alice")) == {"#den": 5, "@bob": 2}
        assert (yield store.preferences("alice")) == {"timestamps": "on"}
        assert (yield store.set_read("alice", "#den", 4)) == 5
