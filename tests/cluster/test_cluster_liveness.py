# -*- test-case-name: tests.cluster.test_cluster_liveness -*-
"""
Tests for L{chatd.cluster.liveness}: nodes beating on a real redis-server
with C{node_timeout} = 1 s, one of them made to stop (its liveness clock
frozen: hung, or killed), and what the others' members see: its users'
quits, once each, and their nicks free; a janitor that had heartbeat
trouble itself waits; a node that was taken for dead comes back and
registers its users again.

The keys read here are those L{chatd.cluster.presence} and
L{chatd.cluster.liveness} document for operators.
"""

from collections import Counter

import pytest
import pytest_twisted
from redisworld import wait_for, wait_until
from twisted.internet.defer import DeferredList

from chatd.core import events as ev

TIMEOUT = 1.0


def quits(sink):
    return Counter((e.room, e.nick) for e in sink.of_type(ev.QUIT))


def joins(sink, nick):
    return [e.room for e in sink.of_type(ev.JOIN) if e.nick == nick]


def exists(node, key):
    return node.conn.execute_command("EXISTS", key).addCallback(lambda n: int(n) == 1)


@pytest.fixture
def lively(make_world):
    return make_world(node_timeout=TIMEOUT)


@pytest_twisted.ensureDeferred
async def test_beats_keep_a_node_and_its_users_alive(lively, reactor):
    n1 = await lively.node("n1")
    alice, _ = await n1.member("alice", "#r")
    keys = ["chatd:alive:n1", "chatd:nick-holder:alice", "chatd:user:" + alice.user.uid,
            "chatd:user-rooms:" + alice.user.uid]
    until = reactor.seconds() + 2.5 * TIMEOUT
    while reactor.seconds() < until:  # watched for longer than they live unrefreshed
        found = await DeferredList([exists(n1, key) for key in keys])
        assert [ok for _, ok in found] == [True] * len(keys)
        await wait_for(lambda: True, "a turn")
    assert (await n1.presence.find("alice")).rooms == ("#r",)
    (name, alive, info), = await n1.nodes.everyone()
    assert (name, alive) == ("n1", True) and set(info) == {"pid", "host", "started", "listeners"}


@pytest_twisted.ensureDeferred
async def test_a_dead_janitor_s_users_quit_once_each_and_their_nicks_come_free(lively, reactor):
    nodes = {name: await lively.node(name) for name in ("n1", "n2", "n3")}
    sinks = {name: (await node.member("w" + name, "#r", "#s"))[1] for name, node in nodes.items()}
    holder = await wait_until(lambda: nodes["n1"].conn.execute_command("GET", "chatd:janitor"), bool,
                              "a node takes the janitor's lock")
    janitor = holder.decode()
    dead = nodes.pop(janitor)
    await dead.member("dave", "#r", "#s")
    await dead.member("erin", "#r")
    for name in nodes:
        await wait_for(lambda name=name: joins(sinks[name], "erin"), "erin's join is seen")
    dead.clock.freeze()
    stopped = reactor.seconds()
    one, two = nodes.values()
    await wait_until(lambda: exists(one, "chatd:alive:" + janitor), lambda alive: not alive,
                     f"{janitor}'s alive key expires", timeout=2 * TIMEOUT)
    assert reactor.seconds() - stopped > TIMEOUT / 2  # it lived its last beat out
    expected = {("#r", "dave"), ("#s", "dave"), ("#r", "erin"), ("#r", "w" + janitor), ("#s", "w" + janitor)}
    # Its lock expires with it; another node takes it, and reaps within node_timeout and a beat.
    for name in nodes:
        await wait_for(lambda name=name: set(quits(sinks[name])) == expected, "the dead node's users quit",
                       timeout=4 * TIMEOUT)
    assert [name for name, _, _ in await one.nodes.everyone()] == sorted(nodes)
    await one.member("marker", "#r", "#s")  # published after every quit published so far
    for name in nodes:
        await wait_for(lambda name=name: len(joins(sinks[name], "marker")) == 2, "the marker's joins")
        assert quits(sinks[name]) == Counter(expected)
    assert await two.presence.find("dave") is None
    newcomer, _ = await two.connect("dave")
    assert (await one.presence.find("dave")).uid == newcomer.user.uid


@pytest_twisted.ensureDeferred
async def test_two_janitors_reaping_one_dead_node_at_once_publish_each_quit_once(world):
    n1, n2, n3 = [await world.node(name) for name in ("n1", "n2", "n3")]
    bob, b = await n1.member("bob", "#r", "#s")
    carol, c = await n2.member("carol", "#r", "#s")
    await n3.member("dave", "#r", "#s")
    await n3.member("erin", "#s")
    await wait_for(lambda: len(joins(b, "erin")) == len(joins(c, "erin")) == 1, "erin's join is seen")
    n3.clock.freeze()
    await n1.conn.execute_command("DEL", "chatd:alive:n3")  # its key expired (node_timeout is long here)
    reaped = await DeferredList([n1.liveness.reap("n3"), n2.liveness.reap("n3")], fireOnOneErrback=True)
    published = [(q.room, q.nick) for _, answer in reaped for q in answer]
    assert sorted(published) == [("#r", "dave"), ("#s", "dave"), ("#s", "erin")]
    for sink in (b, c):
        await wait_for(lambda sink=sink: len(quits(sink)) == 3, "the quits arrive")
    await n1.member("marker", "#r", "#s")
    await wait_for(lambda: len(joins(b, "marker")) == len(joins(c, "marker")) == 2, "the marker's joins")
    assert quits(b) == quits(c) == Counter({("#r", "dave"): 1, ("#s", "dave"): 1, ("#s", "erin"): 1})
    assert [m.nick for m in await n2.presence.members("#s")] == ["bob", "carol", "marker"]


@pytest_twisted.ensureDeferred
async def test_a_janitor_with_heartbeat_trouble_waits_a_node_timeout_before_reaping(lively, reactor):
    n1, n2 = await lively.node("n1"), await lively.node("n2")
    bob, b = await n1.member("bob", "#r")
    await n2.member("dave", "#r")
    await wait_for(lambda: joins(b, "dave"), "dave's join is seen")
    await wait_for(lambda: reactor.seconds() - n1.liveness.steady_since > TIMEOUT, "n1 is steady")
    n2.clock.freeze()
    stopped = reactor.seconds()
    last = None
    while reactor.seconds() < stopped + 1.5 * TIMEOUT:  # n1's own beats are in trouble meanwhile
        n1.liveness.unsteady("a beat took too long (the test says so)")
        last = reactor.seconds()
        await wait_for(lambda: reactor.seconds() > last + TIMEOUT / 4, "a quarter of node_timeout")
    assert not await exists(n1, "chatd:alive:n2")  # dead, but not reaped yet
    assert quits(b) == Counter()
    await wait_for(lambda: quits(b), "dave quits", timeout=3 * TIMEOUT)
    assert reactor.seconds() >= last + TIMEOUT - 0.05
    assert quits(b) == Counter({("#r", "dave"): 1})


@pytest_twisted.ensureDeferred
async def test_a_node_taken_for_dead_registers_its_users_again(lively):
    n1, n2 = await lively.node("n1"), await lively.node("n2")
    bob, b = await n1.member("bob", "#r")
    dave, d = await n2.member("dave", "#r", "#s")
    await wait_for(lambda: joins(b, "dave"), "dave's join is seen")
    n2.clock.freeze()
    await wait_for(lambda: quits(b), "dave quits", timeout=4 * TIMEOUT)
    assert await n1.presence.find("dave") is None
    b.clear(), d.clear()
    n2.clock.thaw()  # its next beat finds it was reaped
    await wait_for(lambda: joins(b, "dave") == ["#r"], "bob sees dave join again")
    person = await n1.presence.find("dave")
    assert (person.uid, person.nodes, sorted(person.rooms)) == (dave.user.uid, {"n2"}, ["#r", "#s"])
    assert [m.nick for m in await n1.presence.members("#r")] == ["bob", "dave"]
    await wait_for(lambda: {e.room for e in d.of_type(ev.MEMBERS)} == {"#r", "#s"}, "dave gets fresh members")
    assert [e.nicks for e in d.of_type(ev.MEMBERS) if e.room == "#r"][-1] == ("bob", "dave")
    assert [(name, alive) for name, alive, _ in await n1.nodes.everyone()] == [("n1", True), ("n2", True)]


@pytest_twisted.ensureDeferred
async def test_after_redis_paused_longer_than_node_timeout_users_are_claimed_again_and_nobody_quits(lively, redis,
                                                                                                    reactor):
    n1, n2 = await lively.node("n1"), await lively.node("n2")
    bob, b = await n1.member("bob", "#r")
    dave, d = await n2.member("dave", "#r")
    await wait_for(lambda: joins(b, "dave"), "dave's join is seen")
    b.clear(), d.clear()
    redis.pause()
    try:  # nothing to wait for while Redis is stopped: every key's time runs out meanwhile
        paused = reactor.seconds()
        await wait_for(lambda: reactor.seconds() > paused + 1.5 * TIMEOUT, "Redis's pause", timeout=3 * TIMEOUT)
    finally:
        redis.resume()
    for node, user in ((n1, bob), (n2, dave)):
        await wait_until(lambda node=node: node.presence.find(user.key),
                         lambda p, user=user: p is not None and p.uid == user.user.uid, f"{user.nick} is back")
    assert [m.nick for m in await n1.presence.members("#r")] == ["bob", "dave"]
    await bob.say("#r", "still here")
    await wait_for(lambda: d.of_type(ev.MESSAGE), "dave hears bob")
    assert [e.type for e in b.events + d.events if e.type in (ev.JOIN, ev.QUIT)] == []


@pytest_twisted.ensureDeferred
async def test_a_node_taken_for_dead_whose_user_lost_its_nick_brings_it_back_as_a_guest(lively):
    n1, n2 = await lively.node("n1"), await lively.node("n2")
    bob, b = await n1.member("bob", "#r")
    dave, d = await n2.member("dave", "#r")
    await wait_for(lambda: joins(b, "dave"), "dave's join is seen")
    n2.clock.freeze()
    await wait_for(lambda: quits(b), "dave quits", timeout=4 * TIMEOUT)
    other, o = await n1.member("dave", "#r")  # someone else takes the nick meanwhile
    # The newcomer's join comes back through Redis: bob and the newcomer see it before the slate is cleared.
    await wait_for(lambda: joins(b, "dave") == ["#r", "#r"] and joins(o, "dave") == ["#r"],
                   "the new dave's join is seen")
    b.clear(), o.clear(), d.clear()
    n2.clock.thaw()
    await wait_for(lambda: dave.nick.startswith("Guest-"), "dave is renamed")
    guest = dave.nick
    await wait_for(lambda: joins(b, guest) == joins(o, guest) == ["#r"], "the room sees the guest join")
    await bob.say("#r", "welcome back")
    for sink in (b, o, d):
        await wait_for(lambda sink=sink: sink.of_type(ev.MESSAGE), "bob's message arrives")
    for sink in (b, o):  # nobody else was renamed: the room saw dave quit, and sees a guest join
        assert [(e.type, e.nick) for e in sink.events if e.type != ev.MESSAGE] == [(ev.JOIN, guest)]
    assert [(e.nick, e.old) for e in d.of_type(ev.NICK)] == [(guest, "dave")]
    assert d.of_type(ev.MEMBERS)[-1].nicks == ("bob", "dave", guest)
    assert (await n1.presence.find("dave")).uid == other.user.uid
    assert [m.nick for m in await n1.presence.members("#r")] == ["bob", "dave", guest]


@pytest_twisted.ensureDeferred
async def test_a_node_taken_for_dead_brings_back_a_user_with_two_connections_there(lively):
    n1, n2 = await lively.node("n1"), await lively.node("n2")
    bob, b = await n1.member("bob", "#r")
    alice, a = await n2.account("alice", "#r")
    tab, t = await n2.connect()
    await tab.login("alice", "correct horse")
    await wait_for(lambda: "#r" in tab.rooms, "alice's second connection is in #r")
    await wait_for(lambda: joins(b, "alice"), "alice's join is seen")
    n2.clock.freeze()
    await wait_for(lambda: quits(b), "alice quits", timeout=4 * TIMEOUT)
    b.clear()
    n2.clock.thaw()
    await wait_for(lambda: joins(b, "alice") == ["#r"], "bob sees alice join again")
    assert [m.nick for m in await n1.presence.members("#r")] == ["alice", "bob"]
    assert (await n1.presence.find("alice")).rooms == ("#r",)


@pytest_twisted.ensureDeferred
async def test_a_node_killed_and_started_again_at_once_clears_up_after_its_former_self(lively):
    n1, n2 = await lively.node("n1"), await lively.node("n2")
    bob, b = await n1.member("bob", "#r")
    await n2.member("dave", "#r", "#s")
    await wait_for(lambda: joins(b, "dave"), "dave's join is seen")
    await n2.kill()
    again = await lively.node("n2")  # restarted at once (systemd): its alive key has not expired yet
    await wait_for(lambda: quits(b) == Counter({("#r", "dave"): 1}), "dave quits", timeout=4 * TIMEOUT)
    assert [m.nick for m in await again.presence.members("#r")] == ["bob"]
    assert await again.presence.members("#s") is None
    assert [r.name for r in await again.presence.rooms()] == ["#r"]
    assert await n1.presence.find("dave") is None
    erin, e = await again.member("erin", "#r")
    await bob.say("#r", "hello erin")
    await wait_for(lambda: e.of_type(ev.MESSAGE), "erin hears bob")


@pytest_twisted.ensureDeferred
async def test_a_connection_without_a_nick_yet_is_not_taken_for_an_expired_user(lively, reactor, redis):
    n1 = await lively.node("n1")
    alice, a = await n1.member("alice", "#r")
    await n1.connect()  # connected, no nick chosen yet
    a.clear()
    beats = n1.liveness.beat
    started = reactor.seconds()
    await wait_for(lambda: reactor.seconds() > started + 3 * beats, "three beats")
    assert a.events == []  # no fresh members: nothing was lost


@pytest_twisted.ensureDeferred
async def test_an_account_on_a_dead_node_and_a_live_one_stays_online_without_a_quit(lively):
    n1, n2, n3 = [await lively.node(name) for name in ("n1", "n2", "n3")]
    bob, b = await n3.member("bob", "#r")
    phone, p = await n1.account("alice", "#r")
    laptop, _ = await n2.connect()
    await laptop.login("alice", "correct horse")
    await wait_for(lambda: "#r" in laptop.rooms, "the laptop follows alice into #r")
    await n2.kill()
    await wait_until(lambda: n3.nodes.everyone(), lambda nodes: [n for n, _, _ in nodes] == ["n1", "n3"],
                     "n2 is reaped", timeout=4 * TIMEOUT)
    person = await n3.presence.find("alice")
    assert (person.uid, person.nodes, person.rooms) == ("~a:alice", {"n1"}, ("#r",))
    assert [m.nick for m in await n3.presence.members("#r")] == ["alice", "bob"]
    await bob.private("alice", "still there?")
    await wait_for(lambda: p.of_type(ev.PRIVATE), "alice's phone gets it")
    assert quits(b) == Counter()


@pytest_twisted.ensureDeferred
async def test_a_node_stopping_with_users_still_connected_says_they_quit(world):
    n1, n2 = await world.node("n1"), await world.node("n2")
    bob, b = await n1.member("bob", "#r")
    await n2.member("slow", "#r")  # its connection outlived the node's shutdown grace
    await wait_for(lambda: joins(b, "slow"), "slow's join is seen")
    await n2.liveness.stop()
    await wait_for(lambda: quits(b), "slow quits")
    assert quits(b) == Counter({("#r", "slow"): 1})
    assert [m.nick for m in await n1.presence.members("#r")] == ["bob"]
    assert await n1.presence.find("slow") is None
    assert [name for name, _, _ in await n1.nodes.everyone()] == ["n1"]
