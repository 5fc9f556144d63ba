# -*- test-case-name: tests.cluster.test_cluster_link -*-
"""
Tests for L{chatd.cluster.link}: a node's listening connection to a real
redis-server, through Redis's C{kill -9} and restart on its append-only
file and through its subscriber connections being dropped; then the hub's
side (L{chatd.core.reach.Reach.resync}): every live room catches up from
the store, each missed message reaching each member once, and members
get a fresh C{members} event.
"""

import pytest
import pytest_twisted
from redisworld import wait_for
from twisted.logger import LogLevel, formatEvent, globalLogPublisher

from chatd.cluster.link import Link
from chatd.core import events as ev
from chatd.store.redis import RedisStore
from chatd.store.redis_connect import connect


@pytest.fixture
def warnings():
    """The texts of chatd.cluster's warnings logged during the test."""
    said = []

    def observe(event):
        if event.get("log_namespace") == "chatd.cluster" and event.get("log_level") >= LogLevel.warn:
            said.append(formatEvent(event))

    globalLogPublisher.addObserver(observe)
    yield said
    globalLogPublisher.removeObserver(observe)


def said(sink, room):
    return [(e.id, e.text) for e in sink.of_type(ev.MESSAGE) if e.room == room]


async def publish(redis, reactor, channel: str, data: bytes) -> int:
    """PUBLISH from a connection of its own; how many subscribers got it."""
    conn = await connect(redis.endpoint, reactor=reactor)
    try:
        return int(await conn.execute_command("PUBLISH", channel, data))
    finally:
        await conn.disconnect()


@pytest_twisted.ensureDeferred
async def test_the_link_listens_again_after_redis_is_killed_and_restarted(redis, reactor, warnings):
    conn = await connect(redis.endpoint, reactor=reactor)
    link = Link(conn, redis.endpoint, reactor=reactor)
    heard, later, back = [], [], []
    link.subscribe("chatd:test", heard.append)
    link.on_reconnect(lambda: back.append(link.up))
    await link.start()
    try:
        assert link.up and back == []  # the first connection is no reconnect
        assert await publish(redis, reactor, "chatd:test", b"one") == 1
        await wait_for(lambda: heard == [b"one"], "the first message")
        redis.kill()
        await wait_for(lambda: not link.up, "the link sees Redis gone")
        await link.subscribe("chatd:later", later.append)  # while away: subscribed once it is back
        redis.start()
        await wait_for(lambda: back, "the reconnect callback", timeout=10)
        assert back == [True]  # called once it listens again
        assert await publish(redis, reactor, "chatd:test", b"two") == 1
        assert await publish(redis, reactor, "chatd:later", b"three") == 1
        await wait_for(lambda: heard == [b"one", b"two"] and later == [b"three"], "messages after the restart")
        link.unsubscribe("chatd:later")
        await wait_for(lambda: True, "a turn")
        assert await publish(redis, reactor, "chatd:later", b"four") == 0
        assert len([w for w in warnings if "Lost the connection to Redis" in w]) == 1  # the kill, said once
        del warnings[:]
    finally:
        await link.stop()
        await conn.disconnect()
    assert not link.up
    assert warnings == []  # stopping is no loss to warn of


async def two_nodes(world):
    """alice on n1 in #r and #s; bob on n2 in #r; each hearing the other."""
    n1, n2 = await world.node("n1"), await world.node("n2")
    alice, a = await n1.member("alice", "#r", "#s")
    bob, b = await n2.member("bob", "#r")
    await bob.say("#r", "before")
    await wait_for(lambda: said(a, "#r") == [(1, "before")], "alice hears bob")
    a.clear(), b.clear()
    return n1, n2, (alice, a), (bob, b)


async def everything_once(a, b):
    """Both hear every message of #r once, in id order; alice hears #s's."""
    await wait_for(lambda: len(said(a, "#r")) >= 3 and len(said(b, "#r")) >= 3 and said(a, "#s"),
                   "every message arrives")
    await wait_for(lambda: True, "a turn")
    assert said(a, "#r") == said(b, "#r") == [(2, "missed"), (3, "also missed"), (4, "after")]
    assert said(a, "#s") == [(1, "missed too")]


@pytest_twisted.ensureDeferred
async def test_messages_published_while_subscribers_were_cut_off_arrive_once_and_members_again(world, redis):
    n1, n2, (alice, a), (bob, b) = await two_nodes(world)
    redis.cli("CLIENT", "KILL", "TYPE", "pubsub")  # every node's listening connection drops
    await bob.say("#r", "missed")
    await bob.say("#r", "also missed")
    other = RedisStore(n2.conn, where=redis.endpoint)  # another node's user, in a room bob is not in
    await other.open()
    await other.append("#s", "message", "carol", "missed too", 1.0, "carol #s", None)
    await n2.member("dave", "#r")  # his join is published to nobody
    await bob.set_topic("#r", "set while nobody listened")
    assert not (n1.link.up or n2.link.up)
    await wait_for(lambda: n1.link.up and n2.link.up, "both listen again")
    await bob.say("#r", "after")
    await everything_once(a, b)
    await wait_for(lambda: {e.room for e in a.of_type(ev.MEMBERS)} == {"#r", "#s"}, "alice gets members again")
    fresh = [(e.nicks, e.topic, e.nick) for e in a.of_type(ev.MEMBERS) if e.room == "#r"]
    assert fresh == [(("alice", "bob", "dave"), "set while nobody listened", "bob")]
    assert [e.nicks for e in b.of_type(ev.MEMBERS)] == [("alice", "bob", "dave")]
    assert not [e for e in a.events + b.events if e.type in (ev.JOIN, ev.TOPIC)]
    assert (await alice.topic("#r")).topic == "set while nobody listened"


@pytest_twisted.ensureDeferred
async def test_after_redis_is_killed_and_restarted_every_room_catches_up(world, redis, reactor):
    n1, n2, (alice, a), (bob, b) = await two_nodes(world)
    redis.kill()
    await wait_for(lambda: not (n1.link.up or n2.link.up), "the nodes see Redis gone")
    redis.start()
    conn = await connect(redis.endpoint, reactor=reactor)  # a node that is quicker to come back
    try:
        store = RedisStore(conn, where=redis.endpoint)
        await store.open()
        await store.append("#r", "message", "bob", "missed", 2.0, "bob #r", None)
        await store.append("#r", "message", "bob", "also missed", 3.0, "bob #r", None)
        await store.append("#s", "message", "carol", "missed too", 4.0, "carol #s", None)
    finally:
        await conn.disconnect()
    assert not (n1.link.up or n2.link.up)  # they were away while it was appended
    await wait_for(lambda: n1.link.up and n2.link.up, "both listen again", timeout=10)
    await wait_for(lambda: a.of_type(ev.MEMBERS) and b.of_type(ev.MEMBERS), "members again")
    await bob.say("#r", "after")
    await everything_once(a, b)
    assert [e.nicks for e in b.of_type(ev.MEMBERS)] == [("alice", "bob")]
    assert not [e for e in a.events + b.events if e.type == ev.HISTORY]  # nothing was lost: no gap announced



@pytest_twisted.ensureDeferred
async def test_what_a_node_catches_up_on_still_says_which_connection_sent_it(world, redis):
    """
    Messages bob said while his node was cut off reach him from the stream,
    not the channel: they still name his connection (C{via}), so a
    terminal, which does not echo what was typed on it, does not show them
    to him a second time.
    """
    n1, n2, (alice, a), (bob, b) = await two_nodes(world)
    redis.cli("CLIENT", "KILL", "TYPE", "pubsub")
    await bob.say("#r", "said while cut off")
    await wait_for(lambda: n1.link.up and n2.link.up, "both listen again")
    await bob.say("#r", "after")
    await wait_for(lambda: len(said(a, "#r")) >= 2 and len(said(b, "#r")) >= 2, "both messages arrive")
    own = [e for e in b.of_type(ev.MESSAGE) if e.nick == "bob"]
    assert [e.text for e in own] == ["said while cut off", "after"]
    assert {e.via for e in own} == {bob.serial}
    assert {e.via for e in a.of_type(ev.MESSAGE)} == {bob.serial}  # alice's connection is another one
