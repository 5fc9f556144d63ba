"""
Reading a room forward (C{recent(..., oldest=True)}) and finding a time
among its ids (L{chatd.core.timeline}), the same on every store: memory,
SQLite and a real redis-server.
"""

import pytest
import pytest_twisted
from store_contract import fill, ids, say
from twisted.internet.defer import gatherResults

from chatd.core import timeline
from chatd.store.memory import MemoryStore


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request):
    if request.param == "memory":
        return MemoryStore()
    opener = request.getfixturevalue("open_store" if request.param == "sqlite" else "open_redis")
    return pytest_twisted.blockon(opener())


def forward(store, limit, room="#a", **kw):
    return store.recent(room, limit, oldest=True, **kw).addCallback(lambda r: (ids(r[0]), r[1]))


def deleted(store, *which):
    return gatherResults([store.delete_message("#a", id) for id in which])


@pytest_twisted.inlineCallbacks
def test_oldest_page_first(store):
    """oldest: the oldest `limit` of the range, oldest first; more when more matched."""
    yield fill(store, "#a", 10)
    assert (yield forward(store, 3)) == ([1, 2, 3], True)
    assert (yield forward(store, 3, after=2)) == ([3, 4, 5], True)
    assert (yield forward(store, 3, after=7)) == ([8, 9, 10], False)
    assert (yield forward(store, 3, after=2, before=6)) == ([3, 4, 5], False)
    assert (yield forward(store, 0, after=2)) == ([], True)
    assert (yield forward(store, 3, after=10)) == ([], False)
    assert (yield forward(store, 3, room="#never", after=1)) == ([], False)


@pytest_twisted.inlineCallbacks
def test_oldest_skips_holes(store):
    """Deleted ids do not shorten a forward page: it holds the next `limit` messages that exist."""
    yield fill(store, "#a", 10)
    yield deleted(store, 3, 4, 6)
    assert (yield forward(store, 3, after=1)) == ([2, 5, 7], True)
    assert (yield forward(store, 3, after=7)) == ([8, 9, 10], False)


@pytest_twisted.inlineCallbacks
def test_oldest_after_pruned_says_more(store):
    """Paging forward from below what retention kept says that some are gone."""
    yield fill(store, "#a", 6)
    yield store.prune(3, None, now=5000.0)
    assert (yield forward(store, 10, after=1)) == ([4, 5, 6], True)
    assert (yield forward(store, 10, after=3)) == ([4, 5, 6], False)


@pytest_twisted.inlineCallbacks
def test_newest_page_unchanged(store):
    """Without oldest, a page is still the newest of its range."""
    yield fill(store, "#a", 10)
    assert (yield store.recent("#a", 3, after=2).addCallback(lambda r: (ids(r[0]), r[1]))) == ([8, 9, 10], True)


@pytest_twisted.inlineCallbacks
def test_position_of_a_time(store):
    """A time's position: the first id at (or, strict, after) that time, across holes and ties."""
    for i, ts in enumerate([100.0, 100.0, 110.0, 120.0, 130.0, 140.0, 150.0]):
        yield say(store, "#a", f"m{i}", ts=ts)
    yield deleted(store, 4, 5)  # 120 and 130 are gone
    assert (yield timeline.position(store, "#a", 100.0)) == 1
    assert (yield timeline.position(store, "#a", 100.0, strict=True)) == 3
    assert (yield timeline.position(store, "#a", 115.0)) == 6
    assert (yield timeline.position(store, "#a", 140.0, strict=True)) == 7
    assert (yield timeline.position(store, "#a", 99.0)) == 1
    assert (yield timeline.position(store, "#a", 150.0, strict=True)) == 8
    assert (yield timeline.position(store, "#never", 150.0)) == 1


@pytest_twisted.inlineCallbacks
def test_window_by_time(store):
    """Times become the id bounds of a page; the narrower of a time and an id wins."""
    yield fill(store, "#a", 10, ts=1000.0)  # message n at 999 + n
    assert (yield timeline.window(store, "#a", None, None, 1005.5, 1002.0)) == (7, 3)
    assert (yield timeline.window(store, "#a", 5, 4, 1005.5, 1002.0)) == (5, 4)
    assert (yield timeline.window(store, "#a", None, None, None, None)) == (None, None)
