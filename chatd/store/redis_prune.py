# -*- test-case-name: tests.store.test_redis -*-
"""
Retention in Redis (mixed into L{chatd.store.redis.RedisStore}), with the
answers of L{chatd.store.memory.MemoryStore.prune}.

Pruning is many small steps, each a script deleting at most C{budget}
entries, so that Redis never stops for long and calls made meanwhile are
answered between the steps (their results do not wait for pruning's).
Several nodes pruning at once do the same deletions: each step is whole.
"""

from typing import AsyncIterator, Optional

from twisted.internet.defer import Deferred, ensureDeferred

from chatd.store import redis_keys as keys
from chatd.store.redis_calls import Calls

_WHAT = "Pruning old messages"


class RedisRetention:
    """C{prune}; C{_calls} and C{_cid_window} are the store's."""

    _calls: Calls
    _cid_window: float
    #: The most entries one step deletes.
    prune_budget = 500

    def prune(self, max_messages_per_room: Optional[int], max_age_seconds: Optional[float],
              now: float) -> Deferred:
        """
        Delete each room's and each account's oldest messages beyond the
        count or older than the age (only a prefix of each stream, as in
        every store); forget client message ids older than the window, and
        tokens, bans and room marks that have ended by C{now}.

        @return: Deferred firing with the number of messages (room and
            private) deleted.
        """
        cutoff = None if max_age_seconds is None else now - max_age_seconds  # as the other stores compute it
        return ensureDeferred(self._prune(max_messages_per_room, cutoff, now))

    async def _prune(self, keep: Optional[int], cutoff: Optional[float], now: float) -> int:
        calls, budget = self._calls, self.prune_budget
        horizon = now - self._cid_window
        done = False
        while not done:
            _, done = await calls.run(_WHAT, "expire", [keys.CIDS, keys.TOKEN_EXPIRY, keys.BAN_EXPIRY,
                                                        keys.MARK_EXPIRY],
                                      [repr(horizon), repr(now), budget, keys.TOKEN, keys.ACCOUNT_TOKENS])
        limits = ["" if keep is None else "%d" % keep, "" if cutoff is None else repr(cutoff), budget]
        deleted = 0
        streams = ((keys.STORED_ROOMS, (keys.room, keys.history, keys.reactions), "pruned_below"),
                   (keys.ACCOUNTS, (keys.account, keys.privates), "privates_pruned_below"))
        for owners, named, field in streams:
            async for key in self._members(owners):
                done = False
                while not done:
                    n, done = await calls.run(_WHAT, "prune_stream", [name(key) for name in named],
                                              [field, *limits])
                    deleted += n
        return deleted

    async def _members(self, set_key: str) -> AsyncIterator[str]:
        """A set's members, a few hundred per round trip."""
        cursor = b"0"
        while True:
            cursor, members = await self._calls.direct(_WHAT, "SSCAN", set_key, cursor, "COUNT", 500)
            for member in members:
                yield member.decode()
            if cursor == b"0":
                return
