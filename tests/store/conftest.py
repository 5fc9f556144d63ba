"""Fixtures for the store tests."""

import pytest
import pytest_twisted
from twisted.internet.defer import ensureDeferred
from twisted.logger import globalLogPublisher

from chatd.store.sqlite import SQLiteStore


@pytest.fixture
def reactor():
    """The global reactor, which pytest-twisted runs (imported late on purpose)."""
    from twisted.internet import reactor as _reactor

    return _reactor


@pytest.fixture
def open_store(reactor, tmp_path):
    """
    A function opening a store on C{tmp_path/name}; returns a Deferred.
    Every store it made is closed when the test ends.
    """
    made = []

    def open_(name="chat.sqlite3", **kw):
        store = SQLiteStore(str(tmp_path / name), reactor, **kw)
        made.append(store)
        return store.open().addCallback(lambda _: store)

    yield open_
    for store in made:
        pytest_twisted.blockon(store.close())


@pytest.fixture
def logged():
    """Log events of the C{chatd.store} namespace emitted during the test."""
    events = []

    def observe(event):
        if event.get("log_namespace") == "chatd.store":
            events.append(event)

    globalLogPublisher.addObserver(observe)
    yield events
    globalLogPublisher.removeObserver(observe)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """One redis-server (AOF on) for a test module; a test wanting a fresh one uses L{redis}."""
    from redisserver import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def redis(redis_server):
    """The module's redis-server, emptied for this test (FLUSHALL)."""
    if redis_server.process.poll() is not None:  # a test killed it
        redis_server.start()
    redis_server.cli("FLUSHALL")
    return redis_server


@pytest.fixture
def open_redis(reactor, redis, tmp_path):
    """
    A function opening a L{RedisStore} on the test's Redis, on its own
    connection, with its state directory in C{tmp_path/state} (or
    C{state=...}); returns a Deferred.  Every connection it made is closed
    when the test ends.
    """
    from chatd.store.redis import RedisStore
    from chatd.store.redis_connect import connect

    made = []

    async def open_(state="state", **kw):
        conn = await connect(redis.endpoint, reactor=reactor)
        made.append(conn)
        directory = tmp_path / state
        directory.mkdir(exist_ok=True)
        store = RedisStore(conn, state_dir=str(directory), where=redis.endpoint, **kw)
        await store.open()
        return store

    yield lambda *a, **kw: ensureDeferred(open_(*a, **kw))
    for conn in made:
        pytest_twisted.blockon(conn.disconnect())
