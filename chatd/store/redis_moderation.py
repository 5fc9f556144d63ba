# -*- test-case-name: tests.store.test_redis -*-
"""
Roles, bans and room marks in Redis (mixed into
L{chatd.store.redis.RedisStore}), answering as
L{chatd.store.memory_accounts.MemoryModeration} does.

A ban or a mark is kept as C{"<seq> <JSON>"} in its scope's hash, C{seq}
from one counter, so that reading them in setting order is sorting a few
values; those with an end are also in an expiry index, for pruning.
"""

import json
from typing import List, Optional

from twisted.internet.defer import Deferred

from chatd.core.text import fold
from chatd.store import redis_keys as keys
from chatd.store.records import BanRecord, MarkRecord, check_role, no_account
from chatd.store.redis_calls import Calls


def _records(values, make) -> List:
    """A hash's values (HVALS) as records, in setting order."""
    ordered = sorted((int(seq), text) for seq, _, text in (v.partition(b" ") for v in values))
    return [make(**json.loads(text)) for _, text in ordered]


class RedisModeration:
    """The role, ban and mark operations; C{_calls} is the store's."""

    _calls: Calls

    def roles(self, room: str) -> Deferred:
        def as_dict(found):
            return {found[i].decode(): found[i + 1].decode() for i in range(0, len(found), 2)}

        return self._calls.command("Reading the roles", "HGETALL", keys.roles(fold(room)), then=as_dict)

    def set_role(self, room: str, key: str, role: Optional[str]) -> Deferred:
        """A role for an account that exists; taking one away always works."""
        try:
            check_role(role)
        except ValueError as e:
            return self._calls.refuse(e)
        room_key = fold(room)

        def set_(done) -> None:
            if not done:
                raise no_account(key)

        return self._calls.script("Storing the role", "set_role",
                                  [keys.roles(room_key), keys.account(key), keys.account_roles(key)],
                                  [key, room_key, role or ""], then=set_)

    # -- bans -------------------------------------------------------------------------

    def bans(self, scope: Optional[str]) -> Deferred:
        return self._calls.command("Reading the bans", "HVALS", _bans(scope),
                                   then=lambda values: _records(values, BanRecord))

    def add_ban(self, scope: Optional[str], record: BanRecord) -> Deferred:
        """A ban set again is set now: it moves to the end of the setting order."""
        if not isinstance(record, BanRecord):
            return self._calls.refuse(TypeError(f"add_ban needs a BanRecord, not {type(record).__name__}"))
        text = json.dumps({"mask": record.mask, "by": record.by, "since": record.since, "reason": record.reason,
                           "until": record.until})
        return self._set("Storing the ban", _bans(scope), keys.BAN_EXPIRY, fold(record.mask), text, record.until)

    def remove_ban(self, scope: Optional[str], mask: str) -> Deferred:
        return self._remove("Lifting the ban", _bans(scope), keys.BAN_EXPIRY, fold(mask))

    # -- marks ------------------------------------------------------------------------

    def marks(self, room: str) -> Deferred:
        return self._calls.command("Reading the room's mutes and invitations", "HVALS", keys.marks(fold(room)),
                                   then=lambda values: _records(values, MarkRecord))

    def set_mark(self, room: str, record: MarkRecord) -> Deferred:
        """A mark set again is set now: it moves to the end of the setting order, like a ban."""
        if not isinstance(record, MarkRecord):
            return self._calls.refuse(TypeError(f"set_mark needs a MarkRecord, not {type(record).__name__}"))
        text = json.dumps({"kind": record.kind, "who": record.who, "by": record.by, "since": record.since,
                           "until": record.until})
        return self._set("Storing the mute or invitation", keys.marks(fold(room)), keys.MARK_EXPIRY,
                         f"{record.kind} {record.who}", text, record.until)

    def remove_mark(self, room: str, kind: str, who: str) -> Deferred:
        return self._remove("Lifting the mute or invitation", keys.marks(fold(room)), keys.MARK_EXPIRY,
                            f"{kind} {who}")

    def _set(self, what: str, hash: str, expiry: str, field: str, text: str, until: Optional[float]) -> Deferred:
        return self._calls.script(what, "set_record", [hash, expiry, keys.SEQUENCE],
                                  [field, text, "" if until is None else repr(until)], then=lambda _: None)

    def _remove(self, what: str, hash: str, expiry: str, field: str) -> Deferred:
        return self._calls.script(what, "remove_record", [hash, expiry], [field], then=lambda n: n > 0)


def _bans(scope: Optional[str]) -> str:
    return keys.bans(None if scope is None else fold(scope))
