# -*- test-case-name: tests.store.test_redis_connect -*-
"""
Tests for L{chatd.store.redis_connect}: connecting from a Twisted endpoint
string, what an operator is told when it cannot, and the refusal of a
Redis that keeps no append-only file.
"""

import pytest
import pytest_twisted
from redisserver import RedisServer, free_port

from chatd.store.redis_connect import NotDurable, RedisUnavailable, check_persistence, connect


@pytest.fixture
def connections():
    made = []
    yield made
    for conn in made:
        pytest_twisted.blockon(conn.disconnect())


@pytest_twisted.inlineCallbacks
def test_connect_and_check(redis, reactor, connections):
    """An endpoint string connects; a Redis with its append-only file passes; answers are bytes, exactly."""
    conn = yield connect(redis.endpoint, reactor=reactor)
    connections.append(conn)
    assert (yield check_persistence(conn, redis.endpoint)) is None
    yield conn.execute_command("SET", "k", b"\x00\xff 12")
    assert (yield conn.execute_command("GET", "k")) == b"\x00\xff 12"


@pytest_twisted.inlineCallbacks
def test_password_and_db(redis, reactor, connections):
    """A password (and a user) and a database number are used; a wrong password is said plainly."""
    redis.cli("CONFIG", "SET", "requirepass", "s3cret")
    try:
        conn = yield connect(redis.endpoint, password="s3cret", db=2, reactor=reactor)
        connections.append(conn)
        yield conn.execute_command("SET", "here", "1")
        assert (yield conn.execute_command("CLIENT", "INFO")).split(b" db=")[1][:1] == b"2"
        conn = yield connect(redis.endpoint, password="s3cret", username="default", reactor=reactor)
        connections.append(conn)
        with pytest.raises(RedisUnavailable) as caught:
            yield connect(redis.endpoint, password="wrong", reactor=reactor)
        message = str(caught.value)
        assert message.startswith(f"Redis at {redis.endpoint} refused chatd: could not auth: ")
        assert message.endswith("; check [cluster] password, username and db.")
    finally:
        redis.cli("-a", "s3cret", "CONFIG", "SET", "requirepass", "")


@pytest_twisted.inlineCallbacks
def test_nobody_there(reactor):
    """Nothing listening: after the timeout, the operator is told where and why."""
    endpoint = f"tcp:host=127.0.0.1:port={free_port()}"
    with pytest.raises(RedisUnavailable) as caught:
        yield connect(endpoint, reactor=reactor, timeout=0.5)
    assert str(caught.value).startswith(f"Could not connect to Redis at {endpoint} within 0.5 seconds (")
    assert "Connection refused" in str(caught.value)
    assert str(caught.value).endswith("; check [cluster] redis and that redis-server runs there.")


@pytest_twisted.inlineCallbacks
def test_not_an_endpoint(reactor):
    with pytest.raises(ValueError, match=r"^\[cluster\] redis = redis://x is not a Twisted client endpoint .*"
                                         r"write it like tcp:host=127.0.0.1:port=6379$"):
        yield connect("redis://x", reactor=reactor)


@pytest_twisted.inlineCallbacks
def test_no_append_only_file_refused(tmp_path, reactor, connections):
    """A Redis with appendonly no is refused, saying what would be lost and what to change."""
    with RedisServer(tmp_path / "redis", aof=False) as redis:
        conn = yield connect(redis.endpoint, reactor=reactor)
        connections.append(conn)
        with pytest.raises(NotDurable) as caught:
            yield check_persistence(conn, redis.endpoint)
        assert str(caught.value) == (
            f"Redis at {redis.endpoint} does not keep an append-only file (appendonly no): a Redis restart would"
            " lose acknowledged messages and reuse message ids. Set appendonly yes and appendfsync everysec (or"
            " always) in redis.conf, or [cluster] require_aof = no to run anyway."
        )
        yield conn.disconnect()
        connections.remove(conn)


class _Everywhere(RedisServer):
    """A redis-server listening on TCP, on TLS (C{tls_port}) and on a unix socket (C{socket})."""

    def __init__(self, directory, cert, key):
        super().__init__(directory)
        self.tls_port, self.cert, self.key = free_port(), cert, key
        self.socket = self.directory / "redis.sock"

    def arguments(self):
        return [*super().arguments(), "--tls-port", str(self.tls_port), "--tls-cert-file", str(self.cert),
                "--tls-key-file", str(self.key), "--tls-ca-cert-file", str(self.cert), "--tls-auth-clients", "no",
                "--unixsocket", str(self.socket)]


@pytest_twisted.inlineCallbacks
def test_tls_and_unix_endpoints(tmp_path, reactor, connections):
    """tls: (checking the server's certificate) and unix: endpoints reach Redis as tcp: does."""
    from certs import make_cert

    (tmp_path / "ca").mkdir()
    key, cert = make_cert(tmp_path / "ca")
    with _Everywhere(tmp_path / "redis", cert, key) as redis:
        for endpoint in (f"tls:host=127.0.0.1:port={redis.tls_port}:trustRoots={tmp_path / 'ca'}",
                         f"unix:path={redis.socket}"):
            conn = yield connect(endpoint, reactor=reactor)
            connections.append(conn)
            yield conn.execute_command("INCR", "reached")
        assert redis.cli("GET", "reached") == "2"
        untrusted = f"tls:host=127.0.0.1:port={redis.tls_port}"
        for password in (None, "x"):
            with pytest.raises(RedisUnavailable) as caught:
                yield connect(untrusted, password=password, reactor=reactor)
            assert str(caught.value).startswith(f"Could not talk to Redis at {untrusted}: the connection was closed (")
            assert "certificate verify failed" in str(caught.value)
            assert str(caught.value).endswith("; check [cluster] redis (for tls:, the server's certificate and"
                                              " trustRoots).")
        for conn in connections:
            yield conn.disconnect()
        connections.clear()
