# -*- test-case-name: tests.cluster.test_cluster_bus -*-
"""
Tests for L{chatd.cluster.bus} and L{chatd.cluster.nodes} on a real
redis-server: room events reach every node subscribed to the room (the
sender's too) in id order and once; a frame that is not chatd's is
dropped, said, and harms nothing; directives reach the node they are for,
or every other node; C{everyone()} lists the cluster's nodes.
"""

import pytest
import pytest_twisted
from redisworld import wait_for
from twisted.internet.defer import DeferredList
from twisted.logger import LogLevel, formatEvent, globalLogPublisher

from chatd.core import directives as dv
from chatd.core import events as ev


@pytest.fixture
def warnings():
    """The texts of chatd.cluster's warnings logged during the test."""
    said = []

    def observe(event):
        if event.get("log_namespace") == "chatd.cluster" and event.get("log_level") == LogLevel.warn:
            said.append(formatEvent(event))

    globalLogPublisher.addObserver(observe)
    yield said
    globalLogPublisher.removeObserver(observe)


def said(sink):
    return [(e.id, e.nick, e.text) for e in sink.of_type(ev.MESSAGE)]


def notices(sink):
    return [e.text for e in sink.of_type(ev.NOTICE)]


@pytest_twisted.ensureDeferred
async def test_messages_from_three_nodes_reach_every_member_once_in_id_order(world):
    nodes = [await world.node(name) for name in ("n1", "n2", "n3")]
    members = [await node.member(f"u{i}", "#r") for i, node in enumerate(nodes)]
    await wait_for(lambda: [e.nick for e in members[0][1].of_type(ev.JOIN)] == ["u0", "u1", "u2"], "everyone is in")
    answers = await DeferredList([session.say("#r", f"{session.nick}:{n}") for n in range(20)
                                  for session, _ in members], fireOnOneErrback=True)
    ids = sorted(answer.id for _, answer in answers)
    assert ids == list(range(1, 61))
    for _, sink in members:
        await wait_for(lambda sink=sink: len(said(sink)) >= 60, "every message arrives")
    heard = [said(sink) for _, sink in members]
    assert heard[0] == heard[1] == heard[2]
    assert [id for id, _, _ in heard[0]] == ids
    for nick in ("u0", "u1", "u2"):  # each sender's messages in the order it sent them
        assert [text for _, who, text in heard[0] if who == nick] == [f"{nick}:{n}" for n in range(20)]
    assert all(node.hub.stats["bus_gaps"] == node.hub.stats["bus_repeats"] == 0 for node in nodes)


@pytest_twisted.ensureDeferred
async def test_events_a_node_publishes_reach_every_subscribed_node_and_numbered_ones_are_the_store_s(world):
    n1, n2 = await world.node("n1"), await world.node("n2")
    got1, got2 = [], []
    await n1.hub.bus.subscribe("#t", got1.append)
    await n2.hub.bus.subscribe("#t", got2.append)
    n1.hub.bus.publish("#t", ev.Message(room="#t", nick="x", text="not from the store", id=7, ts=1.0))
    join = ev.Join(room="#t", nick="alice", ts=2.0)
    n1.hub.bus.publish("#t", join)
    await wait_for(lambda: got1 and got2, "the join arrives")
    assert [(e.type, e.nick, e.ts) for e in got1 + got2] == [("join", "alice", 2.0)] * 2
    n2.hub.bus.unsubscribe("#t")
    n1.hub.bus.publish("#t", ev.Part(room="#t", nick="alice", ts=3.0))
    n1.hub.bus.publish("#t", join)
    await wait_for(lambda: len(got1) == 3, "the part and join arrive")
    assert [e.type for e in got1] == ["join", "part", "join"] and len(got2) == 1


@pytest_twisted.ensureDeferred
async def test_a_frame_that_is_not_chatd_s_is_dropped_and_said_and_the_room_goes_on(world, redis, warnings):
    n1, n2 = await world.node("n1"), await world.node("n2")
    alice, a = await n1.member("alice", "#r")
    bob, b = await n2.member("bob", "#r")
    await wait_for(lambda: [e.nick for e in a.of_type(ev.JOIN)] == ["alice", "bob"], "alice sees bob join")
    a.clear(), b.clear()
    for frame in ("hello", "5\nnot msgpack", "\n\x93\x01\x02\x03"):
        assert redis.cli("PUBLISH", "chatd:room:#r", frame) == "2"
    await bob.say("#r", "still fine")
    for sink in (a, b):
        await wait_for(lambda sink=sink: said(sink), "bob's message arrives")
        assert said(sink) == [(1, "bob", "still fine")]
        assert [e.type for e in sink.events] == [ev.MESSAGE]
    dropped = [w for w in warnings if "#r" in w and "not chatd's" in w]
    assert len(dropped) == 6  # three frames, on each of two nodes
    assert not [w for w in dropped if "b'" in w or "None" in w]


@pytest_twisted.ensureDeferred
async def test_a_directive_to_one_node_reaches_it_alone(world):
    nodes = [await world.node(name) for name in ("n1", "n2", "n3")]
    sinks = [(await node.connect(f"u{i}"))[1] for i, node in enumerate(nodes)]
    n1, n2, n3 = nodes
    n1.nodes.tell("n2", dv.Announce(event=ev.Notice(nick="root", text="for n2", ts=1.0)))
    await wait_for(lambda: notices(sinks[1]) == ["for n2"], "n2 hears it")
    n1.nodes.tell("n3", dv.Announce(event=ev.Notice(nick="root", text="for n3", ts=2.0)))
    n2.nodes.tell("n1", dv.Announce(event=ev.Notice(nick="root", text="for n1", ts=3.0)))
    await wait_for(lambda: notices(sinks[2]) == ["for n3"] and notices(sinks[0]) == ["for n1"], "n1 and n3 hear theirs")
    assert notices(sinks[1]) == ["for n2"]


@pytest_twisted.ensureDeferred
async def test_a_directive_to_everyone_reaches_every_other_node(world, warnings):
    nodes = [await world.node(name) for name in ("n1", "n2", "n3")]
    sinks = [(await node.connect(f"u{i}"))[1] for i, node in enumerate(nodes)]
    n1, n2, n3 = nodes
    n1.nodes.tell(None, dv.Announce(event=ev.Notice(nick="root", text="from n1", ts=1.0)))
    await wait_for(lambda: notices(sinks[1]) == notices(sinks[2]) == ["from n1"], "n2 and n3 hear it")
    n2.link.publish("chatd:nodes", b"n2\nnot a directive")
    n2.nodes.tell(None, dv.Announce(event=ev.Notice(nick="root", text="from n2", ts=2.0)))
    await wait_for(lambda: notices(sinks[0]) == ["from n2"] and len(notices(sinks[2])) == 2, "n1 and n3 hear n2")
    assert notices(sinks[1]) == ["from n1"]  # not its own
    unread = [w for w in warnings if "from n2" in w and "could not be read" in w]
    assert len(unread) == 2  # on n1 and n3


@pytest_twisted.ensureDeferred
async def test_everyone_lists_the_registered_nodes_and_whether_they_are_alive(world, redis):
    n1, n2, n3 = [await world.node(name) for name in ("n1", "n2", "n3")]
    listed = await n2.nodes.everyone()
    assert [(name, alive) for name, alive, _ in listed] == [("n1", True), ("n2", True), ("n3", True)]
    assert all(set(info) == {"pid", "host", "started", "listeners"} for _, _, info in listed)
    n3.clock.freeze()
    redis.cli("DEL", "chatd:alive:n3")  # as if it had been silent for node_timeout
    await n1.liveness.stop()  # a node stopping says so
    assert [(name, alive) for name, alive, _ in await n2.nodes.everyone()] == [("n2", True), ("n3", False)]
