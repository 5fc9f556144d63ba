"""
The sender's account given to C{append}: a store that publishes messages
itself (Redis) carries it on the room's channel for the other nodes; no
store keeps it in history.
"""

import pytest
import pytest_twisted
from test_redis import RawSubscriber

from chatd.store.memory import MemoryStore


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request):
    if request.param == "memory":
        return MemoryStore()
    opener = request.getfixturevalue("open_store" if request.param == "sqlite" else "open_redis")
    return pytest_twisted.blockon(opener())


@pytest_twisted.inlineCallbacks
def test_history_keeps_no_account(store):
    """Every store takes the account and reads the message back without it, the same way."""
    id, _, new = yield store.append("#a", "message", "Alice", "hi", 10.0, "alice #a", None, via=1, account="Alice")
    assert (id, new) == (1, True)
    (row,), _ = yield store.recent("#a", 10)
    assert (row.nick, row.text, row.account) == ("Alice", "hi", None)
    assert (yield store.message("#a", 1)).account is None


@pytest_twisted.inlineCallbacks
def test_redis_publishes_the_account(open_redis, redis):
    """The frame the append script publishes holds the account; a guest's holds none."""
    sub = RawSubscriber(redis.port, "chatd:room:#a")
    try:
        store = yield open_redis()
        yield store.append("#a", "message", "Alice", "hi", 10.0, "alice #a", None, account="Alice")
        yield store.append("#a", "action", "bob", "waves", 11.0, "bob #a", None)
        published = sub.events(2)
    finally:
        sub.close()
    assert [(e.id, e.type, e.nick, e.account) for e in published] == [
        (1, "message", "Alice", "Alice"), (2, "action", "bob", None)]
