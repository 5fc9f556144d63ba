# -*- test-case-name: tests.store.test_redis -*-
"""
How the Redis store talks to Redis: every call one command or one script,
results fired in the order the calls were made, and Redis's errors said
in words an operator reads.

Over one connection Redis answers in order anyway; the queue here keeps
that order for answers given without Redis (a refused record) and for a
script sent again after NOSCRIPT.
"""

from collections import deque
from typing import Any, Callable, Deque, List, Optional, Sequence, Tuple

from twisted.internet.defer import Deferred, fail, succeed
from twisted.python.failure import Failure
from txredisapi import ConnectionError as RedisConnectionError
from txredisapi import RedisError

from chatd.store.redis_connect import RedisStoreError, RedisUnavailable
from chatd.store.redis_scripts import Script

_WAITING = object()


class Calls:
    """
    @param conn: a connected txredisapi handler (one connection, answers as bytes).
    @param where: where Redis is, for messages (the endpoint string).
    @param scripts: L{chatd.store.redis_scripts.load}'s.
    """

    def __init__(self, conn, where: str, scripts: dict) -> None:
        self.conn = conn
        self.where = where
        self._scripts = scripts
        self._queue: Deque[List[Any]] = deque()
        #: Called before any command goes to Redis (the turn's waiting
        #: appends go first: L{chatd.store.redis_appends}).
        self.before: Optional[Callable[[], None]] = None

    def command(self, what: str, *args: object, then: Optional[Callable] = None) -> Deferred:
        """One Redis command; C{then} turns its answer into the result."""
        return self._in_order(self.direct(what, *args, then=then))

    def script(self, what: str, name: str, keys: Sequence[str], args: Sequence[object],
               then: Optional[Callable] = None) -> Deferred:
        """One of the store's scripts."""
        return self._in_order(self.run(what, name, keys, args, then=then))

    def answer(self, result: object) -> Deferred:
        """A result known without asking Redis, fired after those of earlier calls."""
        return self._in_order(succeed(result))

    def refuse(self, error: Exception) -> Deferred:
        """A refusal known without asking Redis, fired after the results of earlier calls."""
        return self._in_order(fail(error))

    def waiting(self) -> Tuple[Deferred, Deferred]:
        """
        A call whose command goes later: C{(done, result)}, where firing
        C{done} fires C{result} after the results of earlier calls.
        """
        done: Deferred = Deferred()
        return done, self._in_order(done)

    # -- out of order (pruning: many steps, which later calls must not wait for) --

    def direct(self, what: str, *args: object, then: Optional[Callable] = None) -> Deferred:
        if self.before is not None:
            self.before()
        try:
            d = self.conn.execute_command(*args)
        except RedisError as e:  # txredisapi raises "Not connected" at once
            d = fail(e)
        return self._finish(d, what, then)

    def run(self, what: str, name: str, keys: Sequence[str], args: Sequence[object],
            then: Optional[Callable] = None) -> Deferred:
        script: Script = self._scripts[name]
        if self.before is not None:
            self.before()
        try:
            d = script(self.conn, keys, args)
        except RedisError as e:
            d = fail(e)
        return self._finish(d, what, then)

    def _finish(self, d: Deferred, what: str, then: Optional[Callable]) -> Deferred:
        if then is not None:
            d.addCallback(then)
        return d.addErrback(self._explain, what)

    def _explain(self, failure: Failure, what: str) -> Failure:
        """Redis's own errors, in an operator's words; anything else as it is."""
        if failure.check(RedisConnectionError):
            error: Exception = RedisUnavailable(
                f"{what} failed: the connection to Redis at {self.where} is down ({failure.getErrorMessage()});"
                " chatd connects again by itself."
            )
        elif failure.check(RedisError):
            error = RedisStoreError(f"{what} failed: Redis at {self.where} answered: {failure.getErrorMessage()}")
        else:
            return failure
        error.__cause__ = failure.value
        return Failure(error)

    def _in_order(self, d: Deferred) -> Deferred:
        out: Deferred = Deferred()
        slot = [out, _WAITING]
        self._queue.append(slot)
        d.addBoth(self._arrived, slot)
        return out

    def _arrived(self, result: object, slot: List[Any]) -> None:
        slot[1] = result
        queue = self._queue
        while queue and queue[0][1] is not _WAITING:
            out, result = queue.popleft()
            if isinstance(result, Failure):
                out.errback(result)
            else:
                out.callback(result)

    def idle(self) -> Deferred:
        """Deferred firing once every call made so far has its result."""
        return self.answer(None)
