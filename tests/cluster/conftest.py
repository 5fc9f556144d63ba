"""
Fixtures for the tests of chatd/cluster/ against a real redis-server: one
server per test module, emptied (FLUSHALL) before each test, and a
L{RedisWorld} of nodes stopped when the test ends.
"""

import sys
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred

CORE = str(Path(__file__).resolve().parent.parent / "core")
if CORE not in sys.path:  # chatcore_helpers and fakecluster, shared with the core tests
    sys.path.insert(0, CORE)


@pytest.fixture
def reactor():
    """The global reactor, which pytest-twisted runs (imported late on purpose)."""
    from twisted.internet import reactor as _reactor

    return _reactor


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """One redis-server (AOF on) for a test module; L{redis} empties it for each test."""
    from redisserver import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def redis(redis_server):
    """The module's redis-server, running (a test may have killed it) and emptied."""
    if redis_server.process.poll() is not None:
        redis_server.start()
    redis_server.cli("FLUSHALL")
    return redis_server


@pytest.fixture
def make_world(redis, tmp_path, reactor):
    """A function making a L{RedisWorld} (node_timeout=..., rules...); its nodes are stopped at the end."""
    from redisworld import RedisWorld

    made = []

    def make(**kw):
        world = RedisWorld(redis, tmp_path, reactor, **kw)
        made.append(world)
        return world

    yield make
    for world in made:
        pytest_twisted.blockon(Deferred.fromCoroutine(world.stop()))


@pytest.fixture
def world(make_world):
    """Nodes with a long node_timeout: nothing expires during the test."""
    return make_world()
