"""
What L{chatd.core.presence.IPresence} answers on a cluster, as a table of
behaviours every shared presence must show: the Redis one
(L{chatd.cluster.presence.RedisPresence}) and the in-memory model the core
tests run on (tests/core/fakecluster.py's C{SharedPresence}), so that the
model stays an honest stand-in for Redis.

A test class mixes in L{PresenceContract} and gives a C{cw} fixture: a
world with C{await cw.node(name)} (a node: C{hub}, C{presence},
C{connect(nick, host)}, C{member(nick, *rooms)}, C{account(nick, *rooms)}),
C{await cw.eventually(condition, what)} and
C{await cw.eventually_answer(ask, check, what)} (what crosses between nodes
has arrived).  Users are made through the core (set_nick, join, register,
login, close), as clients make them; presence's answers are then read.
"""

import pytest_twisted

from chatd.core.errors import NickInUse
from chatd.core.events import RoomInfo
from chatd.core.presence import Entered, Member, Person
from chatd.core.text import skeleton

from fakecluster import Cluster

PASSWORD = "correct horse"


async def refused(d, error):
    """The error C{d} failed with; fail the test if it did not."""
    try:
        value = await d
    except error as e:
        return e
    raise AssertionError(f"expected {error.__name__}, got {value!r}")


def claim(node, session, nick, take=False):
    """Presence's claim of C{nick} for C{session}'s user, as the core makes it."""
    return node.presence.claim(session.user, nick, nick.casefold(), skeleton(nick), take)


async def two_places(cw, *rooms):
    """alice's account on n1 (from 192.0.2.1) and on n2 (from 192.0.2.2), in C{rooms}: one uid, two nodes."""
    n1, n2 = await cw.node("n1"), await cw.node("n2")
    a1, _ = await n1.account("alice", *rooms, host="192.0.2.1")
    a2, _ = await n2.connect(host="192.0.2.2")
    await a2.login("alice", PASSWORD)
    await cw.eventually(lambda: all(r.casefold() in a2.rooms for r in rooms), "alice on n2 follows her rooms")
    return n1, n2, a1, a2


class PresenceContract:
    """Mixed into a test class with a C{cw} fixture."""

    # -- nicks -----------------------------------------------------------------------------

    @pytest_twisted.ensureDeferred
    async def test_a_claimed_nick_is_found_from_every_node(self, cw):
        n1, n2 = await cw.node("n1"), await cw.node("n2")
        alice, _ = await n1.connect("Alice", host="192.0.2.1")
        expected = Person(uid=alice.user.uid, nick="Alice", key="alice", look=skeleton("Alice"),
                          nodes=frozenset({"n1"}), hosts=("192.0.2.1",))
        assert await n1.presence.find("alice") == expected
        assert await n2.presence.find("alice") == expected
        assert await n2.presence.person(alice.user.uid) == expected
        assert await n2.presence.find("bob") is None
        assert await n2.presence.person("n9/1") is None

    @pytest_twisted.ensureDeferred
    async def test_a_taken_nick_or_a_look_alike_is_refused_naming_its_holder(self, cw):
        n1, n2 = await cw.node("n1"), await cw.node("n2")
        alice, _ = await n1.connect("Alice")
        bob, _ = await n2.connect("bob")
        taken = await refused(claim(n2, bob, "ALICE"), NickInUse)
        assert str(taken) == "The nick ALICE is taken (by Alice); choose another."
        twin = await refused(claim(n2, bob, "A1ice"), NickInUse)
        assert str(twin) == "The nick A1ice looks like Alice, who is online; choose another."
        assert (await n2.presence.find("alice")).uid == alice.user.uid
        assert (await n2.presence.find("bob")).nick == "bob"  # a refusal keeps the nick it had
        await claim(n1, alice, "Alice")  # its own nick again: no conflict with itself

    @pytest_twisted.ensureDeferred
    async def test_take_gets_the_nick_from_its_holder_who_cannot_free_it_afterwards(self, cw):
        n1, n2 = await cw.node("n1"), await cw.node("n2")
        alice, _ = await n1.connect("alice")
        bob, _ = await n2.connect("bob")
        await claim(n2, bob, "alice", take=True)
        assert (await n2.presence.find("alice")).uid == bob.user.uid
        assert await n2.presence.find("bob") is None  # the taker's old nick is free
        alice.close("gone")
        await cw.eventually_answer(lambda: n1.presence.person(alice.user.uid), lambda p: p is None,
                                   "alice's record is gone")
        assert (await n1.presence.find("alice")).uid == bob.user.uid

    @pytest_twisted.ensureDeferred
    async def test_a_new_nick_frees_the_old_one(self, cw):
        n1, n2 = await cw.node("n1"), await cw.node("n2")
        alice, _ = await n1.member("alice", "#r")
        await alice.set_nick("Alicia")
        assert await n1.presence.find("alice") is None
        assert await n1.presence.members("#r") == (Member("Alicia", None),)
        bob, _ = await n2.connect("bob")
        await claim(n2, bob, "A1ice")  # nobody looks like alice any more

    @pytest_twisted.ensureDeferred
    async def test_release_frees_the_nick_only_when_no_node_holds_the_user(self, cw):
        n1, n2, a1, a2 = await two_places(cw)
        assert (await n1.presence.find("alice")).nodes == {"n1", "n2"}
        a1.close("one tab closed")
        await cw.eventually_answer(lambda: n1.presence.find("alice"), lambda p: p is not None and p.nodes == {"n2"},
                                   "alice is held by n2 alone")
        a2.close("the other one too")
        await cw.eventually_answer(lambda: n2.presence.find("alice"), lambda p: p is None, "alice's nick is free")
        carol, _ = await n1.connect("carol")
        await claim(n1, carol, "alice")

    @pytest_twisted.ensureDeferred
    async def test_logging_in_and_out_moves_the_nick_and_memberships_to_the_new_uid(self, cw):
        n1, n2 = await cw.node("n1"), await cw.node("n2")
        alice, _ = await n1.member("alice", "#r")
        bob, _ = await n2.member("bob", "#r")
        guest = alice.user.uid
        await alice.register(PASSWORD)
        assert alice.user.uid == "~a:alice"
        found = await n2.presence.find("alice")
        assert (found.uid, found.account, found.account_name, found.rooms) == ("~a:alice", "alice", "alice", ("#r",))
        assert await n2.presence.person(guest) is None
        assert await n2.presence.members("#r") == (Member("alice", "alice"), Member("bob", None))
        assert (await n2.presence.member("#r", "alice")).uid == "~a:alice"
        await alice.logout()
        found = await n2.presence.find("alice")
        assert (found.uid, found.account, found.rooms) == (alice.user.uid, None, ("#r",))
        assert found.uid != "~a:alice"
        assert await n2.presence.person("~a:alice") is None
        assert await n2.presence.members("#r") == (Member("alice", None), Member("bob", None))

    # -- rooms -------------------------------------------------------------------------------

    @pytest_twisted.ensureDeferred
    async def test_enter_says_whether_the_user_is_new_there_and_whether_anyone_else_was(self, cw):
        n1, n2, a1, a2 = await two_places(cw, "#r")
        assert await n1.presence.leave("#r", a1) is False  # alice is still in #r through n2
        assert await n2.presence.leave("#r", a2) is True  # her last connection there
        assert await n2.presence.members("#r") is None
        assert await n2.presence.enter("#r", a2) == Entered(first=True, alone=True)
        assert await n1.presence.enter("#r", a1) == Entered(first=False, alone=True)  # only alice, elsewhere
        bob, _ = await n1.connect("bob")
        assert await n1.presence.enter("#r", bob) == Entered(first=True, alone=False)

    @pytest_twisted.ensureDeferred
    async def test_a_user_on_two_nodes_leaves_a_room_with_its_last_connection(self, cw):
        n1, n2, a1, a2 = await two_places(cw, "#r")
        bob, _ = await n1.member("bob", "#r")
        a1.close("one tab closed")
        await cw.eventually_answer(lambda: n1.presence.person("~a:alice"), lambda p: p.nodes == {"n2"},
                                   "alice is on n2 alone")
        assert await n1.presence.members("#r") == (Member("alice", "alice"), Member("bob", None))
        a2.close("all closed")
        await cw.eventually_answer(lambda: n2.presence.members("#r"), lambda m: m == (Member("bob", None),),
                                   "alice has left #r")

    @pytest_twisted.ensureDeferred
    async def test_members_are_sorted_by_folded_nick_with_their_accounts(self, cw):
        n1, n2 = await cw.node("n1"), await cw.node("n2")
        await n1.member("Zed", "#r")
        await n2.account("amy", "#r")
        await n1.member("Bob", "#r")
        await n2.member("carol", "#s")
        expected = (Member("amy", "amy"), Member("Bob", None), Member("Zed", None))
        assert await n1.presence.members("#r") == await n2.presence.members("#r") == expected
        assert await n1.presence.members("#nobody") is None

    @pytest_twisted.ensureDeferred
    async def test_member_finds_a_nick_in_a_room_only(self, cw):
        n1, n2 = await cw.node("n1"), await cw.node("n2")
        alice, _ = await n1.member("alice", "#r")
        bob, _ = await n2.member("bob", "#s")
        assert (await n2.presence.member("#r", "alice")).uid == alice.user.uid
        assert await n2.presence.member("#r", "bob") is None  # online, elsewhere
        assert await n2.presence.member("#r", "nobody") is None
        assert await n2.presence.member("#none", "alice") is None

    @pytest_twisted.ensureDeferred
    async def test_person_names_its_nodes_rooms_and_hosts(self, cw):
        n1, n2, a1, a2 = await two_places(cw, "#Den", "#r")
        person = await n1.presence.person("~a:alice")
        assert person.nodes == {"n1", "n2"}
        assert sorted(person.rooms) == ["#Den", "#r"]
        assert set(person.hosts) == {"192.0.2.1", "192.0.2.2"}
        assert (person.account, person.account_name, person.nick) == ("alice", "alice", "alice")

    @pytest_twisted.ensureDeferred
    async def test_away_is_known_on_every_node_until_the_user_is_gone(self, cw):
        n1, n2, a1, a2 = await two_places(cw, "#r")
        bob, _ = await n2.member("bob", "#r")
        assert await n1.presence.set_away(a1.user, "lunch") is None
        assert await n2.presence.set_away(a2.user, "meeting") == "lunch"
        assert (await n1.presence.person("~a:alice")).away == "meeting"
        assert (await n2.presence.find("alice")).away == "meeting"
        expected = (Member("alice", "alice", "meeting"), Member("bob", None))
        assert await n1.presence.members("#r") == await n2.presence.members("#r") == expected
        assert await n1.presence.set_away(a1.user, None) == "meeting"
        assert (await n2.presence.find("alice")).away is None
        await n1.presence.set_away(a1.user, "gone")
        a1.close("bye")
        a2.close("bye")
        await cw.eventually_answer(lambda: n1.presence.find("alice"), lambda p: p is None, "alice is gone")
        again, _ = await n1.member("alice", "#r")
        assert (await n2.presence.find("alice")).away is None

    @pytest_twisted.ensureDeferred
    async def test_rooms_lists_rooms_with_members_their_counts_and_topics(self, cw):
        n1, n2 = await cw.node("n1"), await cw.node("n2")
        alice, _ = await n1.member("alice", "#Den", "#r")
        bob, _ = await n2.member("bob", "#Den", "#gone")
        await alice.set_topic("#Den", "welcome")
        bob.part("#gone")
        await cw.eventually_answer(n2.presence.rooms, lambda rooms: len(rooms) == 2, "#gone is no longer listed")
        expected = (RoomInfo("#Den", 2, "welcome"), RoomInfo("#r", 1, ""))
        assert await n1.presence.rooms() == await n2.presence.rooms() == expected


class FakeNode:
    """A fakecluster node answering as the contract's nodes do."""

    def __init__(self, node) -> None:
        self.node, self.hub = node, node.hub
        self.presence = node.hub.presence

    async def connect(self, nick=None, host="127.0.0.1"):
        return self.node.connect(nick, host=host)

    async def member(self, nick, *rooms, host="127.0.0.1"):
        session, sink = self.node.connect(nick, host=host)
        for room in rooms:
            await session.join(room)
        self.node.cluster.pump()
        return session, sink

    async def account(self, nick, *rooms, host="127.0.0.1"):
        session, sink = self.node.connect(nick, host=host)
        await session.register(PASSWORD)
        for room in rooms:
            await session.join(room)
        self.node.cluster.pump()
        return session, sink


class FakeWorld:
    """The in-memory cluster of tests/core/fakecluster.py, as a contract world."""

    def __init__(self) -> None:
        self.cluster = Cluster()

    async def node(self, name):
        return FakeNode(self.cluster.node(name))

    async def eventually(self, condition, what):
        self.cluster.pump()
        assert condition(), what

    async def eventually_answer(self, ask, check, what):
        self.cluster.pump()
        answer = await ask()
        assert check(answer), f"{what}: {answer!r}"
        return answer
