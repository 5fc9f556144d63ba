"""
Tests for L{chatd.store.redis_appends}: the messages a node appends to a
room during one reactor turn go to Redis as one script call and come out
of the room's channel as one frame, numbered in the order they were sent,
and Redis still runs the node's calls in the order it made them.

Redis is watched from outside: its own command counters (C{INFO
commandstats}) and a plain-socket subscriber (L{test_redis.RawSubscriber}).
"""

import re

import pytest_twisted
from store_contract import ids, say
from test_redis import RawSubscriber
from twisted.internet.defer import gatherResults

from chatd.store.redis_appends import MOST
from chatd.wire.cluster import decode_frames


def script_calls(redis) -> int:
    """How many scripts Redis has run (EVALSHA and EVAL) since its start."""
    stats = redis.cli("INFO", "commandstats")
    return sum(int(n) for n in re.findall(r"cmdstat_eval(?:sha)?:calls=(\d+)", stats))


@pytest_twisted.inlineCallbacks
def test_one_turn_one_call_one_frame_per_room(open_redis, redis):
    """
    Five messages to two rooms in one turn: two script calls, one frame
    on each room's channel, every message numbered in the order sent.
    """
    store = yield open_redis()
    a, b = RawSubscriber(redis.port, "chatd:room:#a"), RawSubscriber(redis.port, "chatd:room:#b")
    try:
        before = script_calls(redis)
        given = yield gatherResults([
            say(store, "#a", "a1", ts=1.0), say(store, "#b", "b1", ts=2.0), say(store, "#a", "a2", ts=3.0),
            say(store, "#a", "a3", ts=4.0, cid="c3"), say(store, "#b", "b2", ts=5.0),
        ])
        assert script_calls(redis) - before == 2
        assert given == [(1, 1.0, True), (1, 2.0, True), (2, 3.0, True), (3, 4.0, True), (2, 5.0, True)]
        (frame_a,), (frame_b,) = a.frames(1), b.frames(1)
        assert a.nothing_more() and b.nothing_more()
    finally:
        a.close()
        b.close()
    assert [(e.id, e.text, e.ts, e.cid) for e in decode_frames(frame_a)] == [
        (1, "a1", 1.0, None), (2, "a2", 3.0, None), (3, "a3", 4.0, "c3")]
    assert [(e.id, e.room, e.text) for e in decode_frames(frame_b)] == [(1, "#b", "b1"), (2, "#b", "b2")]
    rows, _ = yield store.recent("#a", 10)
    assert [(e.id, e.text) for e in rows] == [(1, "a1"), (2, "a2"), (3, "a3")]


@pytest_twisted.inlineCallbacks
def test_a_cid_repeated_within_the_turn(open_redis, redis):
    """
    A client sending the same message id twice before the turn ends (a
    retry that crossed its answer) gets the first message's id and time
    back, and the room gets the message once.
    """
    store = yield open_redis()
    sub = RawSubscriber(redis.port, "chatd:room:#a")
    try:
        given = yield gatherResults([
            say(store, "#a", "hello", ts=10.0, cid="x"), say(store, "#a", "hello", ts=11.0, cid="x"),
            say(store, "#a", "next", ts=12.0),
        ])
        events = sub.events(2)
        assert sub.nothing_more()
    finally:
        sub.close()
    assert given == [(1, 10.0, True), (1, 10.0, False), (2, 12.0, True)]
    assert [(e.id, e.text) for e in events] == [(1, "hello"), (2, "next")]


@pytest_twisted.inlineCallbacks
def test_calls_run_in_the_order_made(open_redis):
    """
    A history read made right after a message, in the same turn, finds
    it: the waiting messages go to Redis before any later call.
    """
    store = yield open_redis()
    said = say(store, "#a", "just said", ts=5.0)
    read = store.recent("#a", 10)
    last = store.last_id("#a")
    (rows, _), last_id, (id, _, _) = yield gatherResults([read, last, said])
    assert ([e.text for e in rows], last_id, id) == (["just said"], 1, 1)


@pytest_twisted.inlineCallbacks
def test_a_long_turn_is_split(open_redis, redis):
    """
    More messages to one room in one turn than one call takes: several
    calls, still numbered in the order sent, nothing lost or repeated.
    """
    store = yield open_redis()
    count = MOST * 2 + 5
    sub = RawSubscriber(redis.port, "chatd:room:#a")
    try:
        before = script_calls(redis)
        given = yield gatherResults([say(store, "#a", f"m{i}", ts=float(i)) for i in range(count)])
        assert script_calls(redis) - before == 3
        events = sub.events(count)
        assert sub.nothing_more()
    finally:
        sub.close()
    assert [r[0] for r in given] == list(range(1, count + 1))
    assert [(e.id, e.text) for e in events] == [(i + 1, f"m{i}") for i in range(count)]
    rows, more = yield store.recent("#a", count)
    assert ids(rows) == list(range(1, count + 1)) and not more


@pytest_twisted.inlineCallbacks
def test_retention_over_a_turn(open_redis, redis):
    """
    A turn that carries a room past its retention keeps the newest
    messages, as one by one would, and a resume from before them is told
    that some are gone.
    """
    store = yield open_redis(keep=5)
    yield gatherResults([say(store, "#a", f"m{i}", ts=float(i)) for i in range(8)])
    rows, _ = yield store.recent("#a", 10)
    assert ids(rows) == [4, 5, 6, 7, 8]
    rows, more = yield store.recent("#a", 10, after=1)
    assert (ids(rows), more) == ([4, 5, 6, 7, 8], True)
