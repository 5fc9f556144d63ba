# -*- test-case-name: tests.cluster.test_cluster_reach -*-
"""
The core's rules across nodes (L{chatd.core.reach}) on a real redis-server:
what tests/core/test_cluster.py shows on the in-memory model, carried here
by the real bus, directives, presence and store: private messages, kicks,
bans, one account on two nodes, a nick taken back from a squatter.
"""

import pytest_twisted
from redisworld import PASSWORD, wait_for, wait_until

from chatd.core import events as ev
from chatd.core.errors import Banned, NotInRoom

from presence_contract import refused


def said(sink):
    return [(e.id, e.text) for e in sink.of_type(ev.MESSAGE)]


async def den(world):
    """#den registered by alice on n1; bob (logged in) and carol (a guest) on n2, all in it."""
    n1, n2 = await world.node("n1"), await world.node("n2")
    alice, a = await n1.account("alice", "#den")
    await alice.room_command("#den", "register")
    bob, b = await n2.account("bob", "#den")
    carol, c = await n2.member("carol", "#den")
    await wait_for(lambda: [e.nick for e in a.of_type(ev.JOIN)] == ["alice", "bob", "carol"], "alice sees them join")
    for sink in (a, b, c):
        sink.clear()
    return n1, n2, (alice, a), (bob, b), (carol, c)


@pytest_twisted.ensureDeferred
async def test_a_private_message_reaches_a_user_on_another_node(world):
    n1, n2 = await world.node("n1"), await world.node("n2")
    alice, a = await n1.connect("alice")
    bob, b = await n2.connect("bob")
    await alice.private("bob", "psst")
    await wait_for(lambda: b.of_type(ev.PRIVATE), "bob gets it")
    assert [(e.nick, e.to, e.text) for e in b.of_type(ev.PRIVATE)] == [("alice", "bob", "psst")]
    assert [(e.nick, e.to) for e in a.of_type(ev.PRIVATE)] == [("alice", "bob")]


@pytest_twisted.ensureDeferred
async def test_an_operator_kicks_a_member_on_another_node(world):
    n1, n2, (alice, a), (bob, b), (carol, c) = await den(world)
    await alice.kick("#den", "carol", "enough")
    for sink in (a, b, c):
        await wait_for(lambda sink=sink: sink.of_type(ev.KICK), "the kick is seen")
        assert [(e.nick, e.by, e.reason) for e in sink.of_type(ev.KICK)] == [("carol", "alice", "enough")]
    assert "#den" not in carol.rooms
    assert (await alice.who("#den")).nicks == ("alice", "bob")
    assert (await refused(alice.kick("#den", "carol"), NotInRoom)).code == "not-in-room"


@pytest_twisted.ensureDeferred
async def test_a_ban_set_on_one_node_puts_out_and_keeps_out_a_member_on_another(world):
    n1, n2, (alice, a), (bob, b), (carol, c) = await den(world)
    await alice.ban("#den", "~a:bob", reason="spam")
    await wait_for(lambda: "#den" not in bob.rooms, "bob is put out")
    await wait_for(lambda: a.of_type(ev.KICK), "alice sees it")
    assert [(e.nick, e.reason) for e in a.of_type(ev.KICK)] == [("bob", "banned (spam)")]
    assert (await refused(bob.join("#den"), Banned)).code == "banned"
    await carol.say("#den", "bob is gone")
    await wait_for(lambda: said(a), "the room goes on")
    assert said(b) == []


@pytest_twisted.ensureDeferred
async def test_one_account_on_two_nodes_is_one_user(world):
    n1, n2 = await world.node("n1"), await world.node("n2")
    phone, p = await n1.account("alice", "#r")
    bob, b = await n2.member("bob", "#r")
    laptop, l = await n2.connect()
    await laptop.login("alice", PASSWORD)
    await wait_for(lambda: "#r" in laptop.rooms, "the laptop follows alice into #r")
    assert laptop.nick == "alice"
    assert (await bob.who("#r")).nicks == ("alice", "bob")
    await laptop.join("#s")
    await wait_for(lambda: "#s" in phone.rooms, "the phone follows alice into #s")
    await phone.say("#r", "from the phone")
    await bob.private("alice", "hi both")
    for sink in (p, l):
        await wait_for(lambda sink=sink: said(sink) and sink.of_type(ev.PRIVATE), "both get both")
        assert said(sink)[-1][1] == "from the phone"
        assert [e.text for e in sink.of_type(ev.PRIVATE)] == ["hi both"]
    b.clear()
    phone.part("#r")
    await wait_for(lambda: "#r" not in laptop.rooms, "the laptop leaves #r too")
    await wait_for(lambda: b.events, "bob sees alice leave")
    assert [(e.type, e.nick) for e in b.events] == [("part", "alice")]
    assert (await n2.presence.person("~a:alice")).rooms == ("#s",)


@pytest_twisted.ensureDeferred
async def test_an_account_logging_in_takes_its_nick_from_a_squatter_on_another_node(world):
    n1, n2 = await world.node("n1"), await world.node("n2")
    alice, _ = await n1.account("alice")
    alice.close("bye")
    await wait_until(lambda: n1.presence.find("alice"), lambda p: p is None, "alice's nick is free")
    squatter, s = await n2.connect("alice")
    again, _ = await n1.connect()
    await again.login("alice", PASSWORD)
    assert again.nick == "alice"
    await wait_for(lambda: squatter.nick.startswith("Guest-"), "the squatter is renamed")
    assert (await n1.presence.find("alice")).uid == "~a:alice"
    assert (await n1.presence.find(squatter.key)).uid == squatter.user.uid
