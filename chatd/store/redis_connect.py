# -*- test-case-name: tests.store.test_redis_connect -*-
"""
Connecting to Redis for the store ([cluster] redis = ENDPOINT), and
checking that it keeps what chatd acknowledges.

txredisapi 1.6 connects its pool through any Twisted client endpoint
(C{RedisFactory.startConnecting(endpoint)}: the pool's slots are
C{ClientService}s), so a Twisted endpoint string (C{tcp:}, C{tls:},
C{unix:}) works as it is, and the connection is made again, with backoff,
whenever it is lost.
"""

from typing import Optional

from twisted.internet.defer import Deferred, fail
from twisted.internet.endpoints import clientFromString
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.python.failure import Failure
from txredisapi import ConnectionHandler, RedisFactory, RedisProtocol
from zope.interface import implementer


class RedisStoreError(Exception):
    """
    Redis could not do what the store asked: not a refusal of what a user
    did (so not a L{chatd.core.errors.ChatError}), a failure the core logs.
    """


class RedisUnavailable(RedisStoreError):
    """Redis cannot be reached, or dropped the connection while a call was under way."""


class NotDurable(Exception):
    """Redis would lose acknowledged messages on a restart (no append-only file)."""


class _Protocol(RedisProtocol):
    """
    txredisapi's protocol, building commands in a third of the time: a
    store script call has some twenty arguments, and the library's
    general encoder (charsets, floats) was a fifth of an append's cost.
    chatd passes only text, bytes and whole numbers.
    """

    def connectionLost(self, why) -> None:
        self.factory.lost_why = why.getErrorMessage()  # for the operator: a TLS failure shows only here
        super().connectionLost(why)

    def _build_command(self, *args, **kwargs) -> bytes:
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            if type(arg) is str:
                arg = arg.encode()
            elif type(arg) is not bytes:
                arg = (repr(arg) if type(arg) is float else str(arg)).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
        return b"".join(parts)


@implementer(IStreamClientEndpoint)
class _Watched:
    """An endpoint that remembers why its last connection attempt failed, for the operator."""

    def __init__(self, endpoint: IStreamClientEndpoint) -> None:
        self.endpoint = endpoint
        self.why: Optional[str] = None

    def connect(self, factory):
        d = self.endpoint.connect(factory)
        d.addErrback(self._failed)
        return d

    def _failed(self, failure: Failure) -> Failure:
        self.why = failure.getErrorMessage()
        return failure


def connect(endpoint: str, password: Optional[str] = None, username: Optional[str] = None, db: int = 0,
            reactor=None, timeout: float = 10.0, reply_timeout: Optional[float] = None) -> Deferred:
    """
    Connect to Redis at C{endpoint}, a Twisted client endpoint string
    (C{tcp:host=redis.example:port=6379}, C{tls:...}, C{unix:path=...}).

    The connection is one connection (results come back in call order),
    made again whenever it is lost; answers come back as bytes, never
    converted (C{charset=None}, C{convertNumbers=False}), so that what
    the store kept comes back exactly.

    @param timeout: seconds to wait for the first connection before
        failing with L{RedisUnavailable}.
    @param reply_timeout: seconds to wait for an answer before dropping
        the connection (and failing the calls under way); None: wait.
    @return: Deferred firing with the txredisapi connection handler
        (C{execute_command}, C{disconnect}).
    """
    if reactor is None:
        from twisted.internet import reactor
    try:
        watched = _Watched(clientFromString(reactor, endpoint))
    except (ValueError, TypeError, KeyError) as e:
        return fail(ValueError(f"[cluster] redis = {endpoint} is not a Twisted client endpoint ({e}); "
                               "write it like tcp:host=127.0.0.1:port=6379"))
    factory = RedisFactory(endpoint, db or None, 1, False, ConnectionHandler, None, password, reply_timeout,
                           False, username)
    factory.protocol = _Protocol
    factory.initialDelay, factory.maxDelay = 0.2, 5.0  # reconnect soon: calls wait meanwhile
    connected = factory.deferred
    factory.startConnecting(watched)

    def too_late():
        if not connected.called:
            why = f" ({watched.why})" if watched.why else ""
            factory.deferred = None  # so that txredisapi does not fire it again
            connected.errback(RedisUnavailable(
                f"Could not connect to Redis at {endpoint} within {timeout:g} seconds{why}; check [cluster] redis"
                " and that redis-server runs there."))
            factory.disconnect()

    timer = reactor.callLater(timeout, too_late)

    factory.lost_why = None

    def closed() -> Failure:
        factory.disconnect()
        return Failure(RedisUnavailable(
            f"Could not talk to Redis at {endpoint}: the connection was closed ({factory.lost_why}); check"
            " [cluster] redis (for tls:, the server's certificate and trustRoots)."))

    def settled(result):
        if timer.active():
            timer.cancel()
        if isinstance(result, Failure) and result.check(ValueError):  # txredisapi's own: AUTH or SELECT failed
            if factory.lost_why is not None:
                return closed()
            factory.disconnect()
            return Failure(RedisUnavailable(
                f"Redis at {endpoint} refused chatd: {result.getErrorMessage().removeprefix('Redis error: ')};"
                " check [cluster] password, username and db."))
        if isinstance(result, Failure):
            return result
        # A TLS handshake happens on the first exchange: make one, so that
        # a certificate refused is said now, not by the first message.
        return result.execute_command("PING").addCallbacks(lambda _: result, lambda _: closed())

    return connected.addBoth(settled)


_NOT_DURABLE = (
    "Redis at {where} does not keep an append-only file (appendonly no): a Redis restart would lose"
    " acknowledged messages and reuse message ids. Set appendonly yes and appendfsync everysec (or always)"
    " in redis.conf, or [cluster] require_aof = no to run anyway."
)


def check_persistence(conn, where: str) -> Deferred:
    """
    Refuse a Redis that does not keep an append-only file: Deferred firing
    with None, or failing with L{NotDurable} saying what to change.
    """

    def judge(info) -> None:
        text = info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("aof_enabled", "").strip() != "1":
            raise NotDurable(_NOT_DURABLE.format(where=where))

    return conn.execute_command("INFO", "persistence").addCallback(judge)
