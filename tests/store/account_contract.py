"""
The IAccountStore and IModerationStore contracts, run against every store.

A test module mixes L{AccountContract} and L{ModerationContract} into a test
class that provides a C{store} fixture yielding an opened store; a durable
store also mixes in L{DurableAccountContract} and provides C{reopen}.
"""

import pytest
import pytest_twisted
from store_contract import fill, ids
from twisted.internet.defer import gatherResults
from zope.interface.verify import verifyObject

from chatd.core.errors import AccountExists, NoSuchAccount
from chatd.core.interfaces import IAccountStore, IModerationStore
from chatd.core.text import fold, skeleton
from chatd.store.records import AccountRecord, BanRecord, MarkRecord, RoomRecord


def account(name, hash="$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA", **kw):
    """The record the core makes for C{name}: its key and look computed as chatd computes them."""
    return AccountRecord(name, fold(name), skeleton(name), hash, **kw)


def dm(store, key, text, ts=1000.0, nick="alice", to="bob"):
    """Keep one private message in C{key}'s stream."""
    return store.append_private(key, nick, to, text, ts)


def dms(store, key, count, ts=1000.0):
    """Keep C{count} private messages, one second apart; fire with their ids."""
    return gatherResults([dm(store, key, f"p{i}", ts + i) for i in range(count)])


def privates(store, key, limit, **kw):
    return store.privates(key, limit, **kw).addCallback(lambda r: (ids(r[0]), r[1]))


class AccountContract:
    """What every L{IAccountStore} does."""

    def test_account_interface(self, store):
        assert verifyObject(IAccountStore, store)

    @pytest_twisted.inlineCallbacks
    def test_create_and_find(self, store):
        """An account is found by its key, or by anything that looks like its name."""
        alice = account("Alice", email="alice@example.org", created=12.5)
        assert (yield store.create_account(alice)) is None
        assert (yield store.account("alice")) == alice
        assert (yield store.account("bob")) is None
        assert (yield store.find_account("alice", "whatever")) == alice
        assert (yield store.find_account(fold("AIice"), skeleton("AIice"))) == alice
        assert (yield store.find_account("bob", skeleton("bob"))) is None

    @pytest_twisted.inlineCallbacks
    def test_find_prefers_the_name(self, store):
        """When one account has the name and another the look, the name wins."""
        yield gatherResults([store.create_account(account("alice")), store.create_account(account("bob"))])
        assert (yield store.find_account("alice", skeleton("bob"))).name == "alice"

    @pytest_twisted.inlineCallbacks
    def test_unique_by_key(self, store):
        """A name that folds like an account's is refused, naming the account; the account is unchanged."""
        alice = account("Alice")
        yield store.create_account(alice)
        with pytest.raises(AccountExists) as caught:
            yield store.create_account(account("ALICE", hash="other"))
        assert caught.value.message == "An account called Alice exists already; choose another nick."
        assert caught.value.code == "account-exists"
        assert (yield store.account("alice")) == alice

    @pytest_twisted.inlineCallbacks
    def test_unique_by_look(self, store):
        """A name that only looks like an account's (Cyrillic а) is refused too."""
        yield store.create_account(account("alice"))
        with pytest.raises(AccountExists, match="^\u0430lice looks like the account alice; choose another nick.$"):
            yield store.create_account(account("\u0430lice"))
        assert (yield store.account(fold("\u0430lice"))) is None

    @pytest_twisted.inlineCallbacks
    def test_refusal_fails_only_its_call(self, store):
        """Calls made with a refused one still happen, in order."""
        yield store.create_account(account("alice"))
        made, refused, said = (store.create_account(account("bob")), store.create_account(account("Alice")),
                               store.append("#a", "message", "bob", "hi", 1.0, "bob", None))
        with pytest.raises(AccountExists):
            yield refused
        assert (yield made) is None
        assert (yield said)[0] == 1
        assert (yield store.account("bob")) == account("bob")

    @pytest_twisted.inlineCallbacks
    def test_create_needs_a_record(self, store):
        with pytest.raises(TypeError, match="AccountRecord"):
            yield store.create_account({"name": "alice"})

    @pytest_twisted.inlineCallbacks
    def test_set_password(self, store):
        """Only the hash changes; an account that is not there is said to be missing."""
        yield store.create_account(account("alice", created=3.0))
        yield store.set_password("alice", "new-hash")
        assert (yield store.account("alice")) == account("alice", hash="new-hash", created=3.0)
        with pytest.raises(NoSuchAccount, match="There is no account bob"):
            yield store.set_password("bob", "x")

    @pytest_twisted.inlineCallbacks
    def test_tokens(self, store):
        """A token names its account until it expires or is removed."""
        yield store.create_account(account("alice"))
        yield gatherResults([store.add_token("d1", "alice", 100.0), store.add_token("d2", "alice", 200.0)])
        assert (yield store.token_account("d1", 99.9)) == "alice"
        assert (yield store.token_account("nope", 0.0)) is None
        yield store.remove_token("d2")
        assert (yield store.token_account("d2", 150.0)) is None
        yield store.remove_token("d2")  # twice is harmless

    @pytest_twisted.inlineCallbacks
    def test_token_expiry(self, store):
        """A token is expired from its expiry on, and stays forgotten once seen expired."""
        yield store.create_account(account("alice"))
        yield store.add_token("d1", "alice", 100.0)
        assert (yield store.token_account("d1", 100.0)) is None
        assert (yield store.token_account("d1", 50.0)) is None

    @pytest_twisted.inlineCallbacks
    def test_token_needs_account(self, store):
        """No token for an account that is not there: a later account of that name must not inherit it."""
        with pytest.raises(NoSuchAccount):
            yield store.add_token("d1", "ghost", 100.0)
        yield store.create_account(account("ghost"))
        assert (yield store.token_account("d1", 0.0)) is None

    @pytest_twisted.inlineCallbacks
    def test_private_streams(self, store):
        """Each account numbers its own private messages from 1."""
        yield gatherResults([store.create_account(account("alice")), store.create_account(account("bob"))])
        got = yield gatherResults([dm(store, "alice", "a1"), dm(store, "bob", "b1"), dm(store, "alice", "a2"),
                                   dm(store, "bob", "b2"), dm(store, "alice", "a3")])
        assert got == [1, 1, 2, 2, 3]
        rows, more = yield store.privates("alice", 10)
        assert not more
        assert [(e.type, e.nick, e.to, e.text, e.id, e.ts) for e in rows] == [
            ("private", "alice", "bob", f"a{i}", i, 1000.0) for i in (1, 2, 3)
        ]
        assert [e.text for e in (yield store.privates("bob", 10))[0]] == ["b1", "b2"]

    @pytest_twisted.inlineCallbacks
    def test_privates_resume(self, store):
        """C{privates} pages like C{recent}: the newest C{limit}, C{before}, C{after}, and C{more}."""
        yield store.create_account(account("alice"))
        yield dms(store, "alice", 10)
        assert (yield privates(store, "alice", 3)) == ([8, 9, 10], True)
        assert (yield privates(store, "alice", 10)) == (list(range(1, 11)), False)
        assert (yield privates(store, "alice", 0)) == ([], True)
        assert (yield privates(store, "alice", 2, before=5)) == ([3, 4], True)
        assert (yield privates(store, "alice", 5, before=3)) == ([1, 2], False)
        assert (yield privates(store, "alice", 10, after=7)) == ([8, 9, 10], False)
        assert (yield privates(store, "alice", 3, after=2)) == ([8, 9, 10], True)
        assert (yield privates(store, "alice", 3, after=10)) == ([], False)
        assert (yield privates(store, "alice", 2, after=3, before=7)) == ([5, 6], True)

    @pytest_twisted.inlineCallbacks
    def test_privates_need_account(self, store):
        """No stream for an account that is not there: nothing to read, nothing kept."""
        assert (yield store.privates("ghost", 10, after=3)) == ([], False)
        with pytest.raises(NoSuchAccount):
            yield dm(store, "ghost", "boo")

    @pytest_twisted.inlineCallbacks
    def test_drop_account(self, store):
        """
        Dropping removes the account, its tokens, roles and private messages;
        its bans and the rooms naming it stay.  The name, registered again,
        inherits nothing and numbers its messages from 1.
        """
        yield gatherResults([store.create_account(account("alice")), store.create_account(account("bob"))])
        yield gatherResults([
            store.add_token("d1", "alice", 100.0), store.add_token("d2", "bob", 100.0),
            store.set_role("#den", "alice", "founder"), store.set_role("#den", "bob", "voice"),
            store.set_role("#pub", "alice", "operator"),
            store.add_ban("#den", BanRecord("~a:alice", "bob", 1.0)),
            store.save_room(RoomRecord("#den", settings={"founder": "alice"})),
            dms(store, "alice", 3), dm(store, "bob", "kept"),
        ])
        yield store.drop_account("alice")
        assert (yield store.account("alice")) is None
        assert (yield store.find_account("alice", skeleton("alice"))) is None
        assert (yield store.token_account("d1", 0.0)) is None
        assert (yield store.token_account("d2", 0.0)) == "bob"
        assert (yield store.roles("#den")) == {"bob": "voice"}
        assert (yield store.roles("#pub")) == {}
        assert (yield privates(store, "alice", 10)) == ([], False)
        assert (yield privates(store, "bob", 10)) == ([1], False)
        assert [b.mask for b in (yield store.bans("#den"))] == ["~a:alice"]
        assert (yield store.room("#den")).settings == {"founder": "alice"}
        yield store.drop_account("alice")  # twice is harmless

        yield store.create_account(account("alice"))
        assert (yield dm(store, "alice", "new")) == 1
        assert (yield store.token_account("d1", 0.0)) is None
        assert (yield store.roles("#den")) == {"bob": "voice"}

    @pytest_twisted.inlineCallbacks
    def test_prune_privates(self, store):
        """Retention keeps the same count of private messages per account as of room messages; ids go on."""
        yield gatherResults([store.create_account(account("alice")), store.create_account(account("bob"))])
        yield gatherResults([dms(store, "alice", 10), dms(store, "bob", 2), fill(store, "#a", 6)])
        assert (yield store.prune(4, None, now=5000.0)) == 6 + 2
        assert (yield privates(store, "alice", 10)) == ([7, 8, 9, 10], False)
        assert (yield privates(store, "alice", 10, after=5)) == ([7, 8, 9, 10], True)
        assert (yield privates(store, "alice", 10, after=6)) == ([7, 8, 9, 10], False)
        assert (yield privates(store, "bob", 10, after=0)) == ([1, 2], False)
        assert (yield dm(store, "alice", "next")) == 11

    @pytest_twisted.inlineCallbacks
    def test_prune_privates_by_age(self, store):
        """Private messages older than the age go, as room messages do; pruning all keeps the count."""
        yield store.create_account(account("alice"))
        yield dms(store, "alice", 10, ts=1000.0)  # ts 1000..1009
        assert (yield store.prune(None, 5, now=1010.0)) == 5
        assert (yield privates(store, "alice", 10, after=0)) == ([6, 7, 8, 9, 10], True)
        assert (yield store.prune(0, None, now=1010.0)) == 5
        assert (yield privates(store, "alice", 10, after=9)) == ([], True)
        assert (yield privates(store, "alice", 10, after=10)) == ([], False)
        assert (yield dm(store, "alice", "again")) == 11

    @pytest_twisted.inlineCallbacks
    def test_prune_tokens(self, store):
        """Pruning forgets expired tokens: asked afterwards about an earlier time, they are unknown."""
        yield store.create_account(account("alice"))
        yield gatherResults([store.add_token("old", "alice", 100.0), store.add_token("new", "alice", 300.0)])
        assert (yield store.prune(None, None, now=200.0)) == 0
        assert (yield store.token_account("old", 50.0)) is None
        assert (yield store.token_account("new", 50.0)) == "alice"


class ModerationContract:
    """What every L{IModerationStore} does."""

    def test_moderation_interface(self, store):
        assert verifyObject(IModerationStore, store)

    @pytest_twisted.inlineCallbacks
    def test_roles(self, store):
        """Roles are per room, in any spelling of it; a new role replaces the old, None takes it away."""
        yield gatherResults([store.create_account(account(n)) for n in ("alice", "bob", "carol")])
        yield gatherResults([store.set_role("#Den", "alice", "founder"), store.set_role("#DEN", "bob", "voice"),
                             store.set_role("#pub", "carol", "operator")])
        assert (yield store.roles("#den")) == {"alice": "founder", "bob": "voice"}
        yield store.set_role("#den", "bob", "operator")
        yield store.set_role("#den", "alice", None)
        yield store.set_role("#den", "carol", None)  # none to take away
        assert (yield store.roles("#ＤＥＮ")) == {"bob": "operator"}
        assert (yield store.roles("#pub")) == {"carol": "operator"}
        assert (yield store.roles("#nowhere")) == {}

    @pytest_twisted.inlineCallbacks
    def test_role_refusals(self, store):
        """Only the three roles, and only for an account that exists; neither makes a room record."""
        with pytest.raises(NoSuchAccount):
            yield store.set_role("#den", "ghost", "voice")
        yield store.create_account(account("alice"))
        with pytest.raises(ValueError, match="founder, operator, voice, or none; not owner"):
            yield store.set_role("#den", "alice", "owner")
        assert (yield store.roles("#den")) == {}
        assert (yield store.room("#den")) is None

    @pytest_twisted.inlineCallbacks
    def test_bans_scoped(self, store):
        """A room's bans are its own, in any spelling; the server's (scope None) are apart."""
        den = BanRecord("spam*", "alice", 10.0, "spam", 500.0)
        server = BanRecord("192.0.2.0/24", "root", 11.0)
        yield gatherResults([store.add_ban("#Den", den), store.add_ban(None, server)])
        assert (yield store.bans("#ＤＥＮ")) == [den]
        assert (yield store.bans(None)) == [server]
        assert (yield store.bans("#pub")) == []
        assert (yield store.room("#den")) is None

    @pytest_twisted.inlineCallbacks
    def test_ban_order_and_replacement(self, store):
        """Bans come in setting order; a mask set again (in any case) replaces its ban and moves last."""
        first, second, third = (BanRecord(m, "alice", t) for m, t in (("~a:Bob", 1.0), ("spam*", 2.0), ("x?", 3.0)))
        for ban in (first, second, third):
            yield store.add_ban("#den", ban)
        again = BanRecord("~a:bob", "carol", 4.0, "again", 99.0)
        yield store.add_ban("#den", again)
        assert (yield store.bans("#den")) == [second, third, again]

    @pytest_twisted.inlineCallbacks
    def test_remove_ban(self, store):
        """Lifting says whether there was a ban; the mask matches in any case, only in its scope."""
        yield gatherResults([store.add_ban("#den", BanRecord("Spam*", "alice", 1.0)),
                             store.add_ban(None, BanRecord("spam*", "root", 1.0))])
        assert (yield store.remove_ban("#DEN", "SPAM*")) is True
        assert (yield store.remove_ban("#den", "spam*")) is False
        assert (yield store.bans("#den")) == []
        assert [b.by for b in (yield store.bans(None))] == ["root"]

    @pytest_twisted.inlineCallbacks
    def test_bans_expire_when_pruned(self, store):
        """Expired bans are listed (the core judges the time) until pruning removes them."""
        lasting, brief = BanRecord("a*", "op", 1.0), BanRecord("b*", "op", 1.0, "flood", 100.0)
        later = BanRecord("c*", "op", 1.0, until=300.0)
        yield gatherResults([store.add_ban("#den", lasting), store.add_ban("#den", brief), store.add_ban(None, later)])
        assert (yield store.bans("#den")) == [lasting, brief]
        yield store.prune(None, None, now=100.0)
        assert (yield store.bans("#den")) == [lasting]
        assert (yield store.bans(None)) == [later]

    @pytest_twisted.inlineCallbacks
    def test_add_ban_needs_a_record(self, store):
        with pytest.raises(TypeError, match="BanRecord"):
            yield store.add_ban("#den", {"mask": "x"})

    @pytest_twisted.inlineCallbacks
    def test_marks(self, store):
        """
        Marks are per room, in any spelling of it, in setting order; one per
        kind and C{who}, set again it is replaced and moves last.  Neither
        makes a room record.
        """
        mute = MarkRecord("mute", "~a:bob", "alice", 10.0, 70.0)
        invite = MarkRecord("invite", "~a:bob", "alice", 11.0)
        other = MarkRecord("mute", "~u:u-17", "alice", 12.0)
        eve = MarkRecord("invite", "~n:eve", "op", 1.0)
        yield gatherResults([store.set_mark("#Den", mute), store.set_mark("#DEN", invite),
                             store.set_mark("#den", other), store.set_mark("#pub", eve)])
        assert (yield store.marks("#ＤＥＮ")) == [mute, invite, other]
        again = MarkRecord("mute", "~a:bob", "carol", 20.0)
        yield store.set_mark("#den", again)
        assert (yield store.marks("#den")) == [invite, other, again]
        assert (yield store.marks("#pub")) == [eve]
        assert (yield store.marks("#nowhere")) == []
        assert (yield store.room("#den")) is None

    @pytest_twisted.inlineCallbacks
    def test_remove_mark(self, store):
        """Lifting a mark says whether there was one; only that kind, on exactly that C{who}, in that room."""
        mute, invite = MarkRecord("mute", "~a:bob", "alice", 1.0), MarkRecord("invite", "~a:bob", "alice", 2.0)
        yield gatherResults([store.set_mark("#den", mute), store.set_mark("#den", invite),
                             store.set_mark("#pub", mute)])
        assert (yield store.remove_mark("#DEN", "mute", "~a:bob")) is True
        assert (yield store.remove_mark("#den", "mute", "~a:bob")) is False
        assert (yield store.remove_mark("#den", "invite", "~a:BOB")) is False
        assert (yield store.remove_mark("#nowhere", "mute", "~a:bob")) is False
        assert (yield store.marks("#den")) == [invite]
        assert (yield store.marks("#pub")) == [mute]

    @pytest_twisted.inlineCallbacks
    def test_marks_expire_when_pruned(self, store):
        """Expired marks are listed (the core judges the time) until pruning removes them."""
        lasting, brief = MarkRecord("invite", "~n:eve", "op", 1.0), MarkRecord("mute", "~a:bob", "op", 1.0, 100.0)
        later = MarkRecord("mute", "~a:carol", "op", 1.0, 300.0)
        yield gatherResults([store.set_mark("#den", lasting), store.set_mark("#den", brief),
                             store.set_mark("#pub", later)])
        assert (yield store.marks("#den")) == [lasting, brief]
        yield store.prune(None, None, now=100.0)
        assert (yield store.marks("#den")) == [lasting]
        assert (yield store.marks("#pub")) == [later]

    @pytest_twisted.inlineCallbacks
    def test_marks_outlive_the_account(self, store):
        """Dropping an account leaves the marks on it, as it leaves its bans."""
        yield store.create_account(account("bob"))
        mute = MarkRecord("mute", "~a:bob", "alice", 1.0)
        yield store.set_mark("#den", mute)
        yield store.drop_account("bob")
        assert (yield store.marks("#den")) == [mute]

    @pytest_twisted.inlineCallbacks
    def test_set_mark_needs_a_record(self, store):
        with pytest.raises(TypeError, match="MarkRecord"):
            yield store.set_mark("#den", {"kind": "mute"})
        assert (yield store.marks("#den")) == []


class DurableAccountContract:
    """What a store that outlives its process keeps of accounts, roles, bans and deletions."""

    @pytest_twisted.inlineCallbacks
    def test_restart_keeps_accounts(self, store, reopen):
        """Accounts, tokens, roles, bans, marks, private streams and deletions survive a restart."""
        alice, bob = account("Alice", email="a@example.org", created=5.0), account("bob")
        den_ban, server_ban = BanRecord("spam*", "Alice", 7.0, "spam", 9e9), BanRecord("~a:eve", "root", 8.0)
        yield gatherResults([store.create_account(alice), store.create_account(bob)])
        yield gatherResults([
            store.add_token("d1", "alice", 9e9), store.set_role("#Den", "alice", "founder"),
            store.set_role("#den", "bob", "voice"), store.add_ban("#Den", den_ban), store.add_ban(None, server_ban),
            dms(store, "alice", 5), fill(store, "#den", 3),
        ])
        mute = MarkRecord("mute", "~a:bob", "alice", 9.0, 9e9)
        yield gatherResults([store.prune(3, None, now=1000.0), store.delete_message("#den", 2),
                             store.set_mark("#Den", mute)])
        store = yield reopen(store)
        assert (yield store.marks("#DEN")) == [mute]
        assert (yield store.account("alice")) == alice
        assert (yield store.find_account("bob", "x")) == bob
        assert (yield store.token_account("d1", 0.0)) == "alice"
        assert (yield store.roles("#DEN")) == {"alice": "founder", "bob": "voice"}
        assert ((yield store.bans("#den")), (yield store.bans(None))) == ([den_ban], [server_ban])
        assert (yield privates(store, "alice", 10, after=1)) == ([3, 4, 5], True)
        assert (yield dm(store, "alice", "next")) == 6
        assert ids((yield store.recent("#den", 10))[0]) == [1, 3]
        assert (yield store.message("#den", 2)) is None
        assert (yield store.append("#den", "message", "bob", "x", 9.0, "bob", None))[0] == 4
        with pytest.raises(AccountExists):
            yield store.create_account(account("ALICE"))
