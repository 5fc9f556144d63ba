# -*- test-case-name: tests.store.test_redis -*-
"""
Accounts, login tokens, private messages, read markers and preferences
in Redis (mixed into
L{chatd.store.redis.RedisStore}), answering as
L{chatd.store.memory_accounts.MemoryAccounts} does.

Whatever must hold across nodes is one script: an account and its look
are taken together or not at all (two nodes registering the same name at
once: one wins, the other is told the name is taken), and a token, role or
private message is only kept for an account that is there at that moment.
"""

from typing import Dict, Optional

from twisted.internet.defer import Deferred

from chatd.core.events import Private
from chatd.store import redis_keys as keys
from chatd.store.records import AccountRecord, no_account, taken
from chatd.store.redis_calls import Calls
from chatd.store.redis_streams import bounds, entry_number, page


def _fields(found) -> Dict[str, bytes]:
    return {found[i].decode(): found[i + 1] for i in range(0, len(found), 2)}


def _account(found) -> Optional[AccountRecord]:
    """An account hash (HGETALL) as its record, or None for an empty answer."""
    if not found:
        return None
    f = _fields(found)
    return AccountRecord(f["name"].decode(), f["key"].decode(), f["look"].decode(), f["password_hash"].decode(),
                         f["email"].decode(), float(f["created"]))


def _private(entry) -> Private:
    entry_id, raw = entry
    f = _fields(raw)
    return Private(nick=f["nick"].decode(), to=f["to"].decode(), text=f["text"].decode(),
                   id=entry_number(entry_id), ts=float(f["t"]))


class RedisAccounts:
    """The account operations; C{_calls} and C{_keep} are the store's."""

    _calls: Calls
    _keep: int

    def create_account(self, record: AccountRecord) -> Deferred:
        if not isinstance(record, AccountRecord):
            return self._calls.refuse(TypeError(f"create_account needs an AccountRecord, not {type(record).__name__}"))

        def made(found) -> None:
            if found is not None:
                raise taken(record, _account(found))

        return self._calls.script(
            "Storing the account", "create_account",
            [keys.account(record.key), keys.look(record.look), keys.ACCOUNTS],
            [record.key, record.look, record.name, record.password_hash, record.email, repr(record.created),
             keys.ACCOUNT],
            then=made,
        )

    def account(self, key: str) -> Deferred:
        return self._calls.command("Reading the account", "HGETALL", keys.account(key), then=_account)

    def find_account(self, key: str, look: str) -> Deferred:
        """The account called C{key}, or else the one that looks like C{look}."""
        return self._calls.script("Reading the account", "find_account", [keys.account(key), keys.look(look)],
                                  [keys.ACCOUNT], then=_account)

    def set_password(self, key: str, password_hash: str) -> Deferred:
        def set_(done) -> None:
            if not done:
                raise no_account(key)

        return self._calls.script("Storing the password", "set_field", [keys.account(key)],
                                  ["password_hash", password_hash], then=set_)

    def drop_account(self, key: str) -> Deferred:
        """The account, and everything that names it but bans and room marks: they outlive their target."""
        return self._calls.script(
            "Dropping the account", "drop_account",
            [keys.account(key), keys.ACCOUNTS, keys.privates(key), keys.account_tokens(key),
             keys.account_roles(key), keys.TOKEN_EXPIRY, keys.reads(key), keys.preferences(key)],
            [key, keys.LOOK, keys.TOKEN, keys.ROLES], then=lambda _: None,
        )

    # -- tokens ---------------------------------------------------------------------

    def add_token(self, digest: str, key: str, expires: float) -> Deferred:
        def added(done) -> None:
            if not done:
                raise no_account(key)

        return self._calls.script(
            "Storing the login token", "add_token",
            [keys.account(key), keys.token(digest), keys.account_tokens(key), keys.TOKEN_EXPIRY],
            [digest, key, repr(expires), keys.ACCOUNT_TOKENS], then=added,
        )

    def token_account(self, digest: str, now: float) -> Deferred:
        """The token's account; an expired token is deleted as it is found."""
        return self._token("Reading the login token", digest, repr(now))

    def remove_token(self, digest: str) -> Deferred:
        return self._token("Forgetting the login token", digest, "").addCallback(lambda _: None)

    def _token(self, what: str, digest: str, now: str) -> Deferred:
        return self._calls.script(what, "token_account", [keys.token(digest), keys.TOKEN_EXPIRY],
                                  [digest, now, keys.ACCOUNT_TOKENS],
                                  then=lambda key: key.decode() if key is not None else None)

    # -- private messages -----------------------------------------------------------

    def append_private(self, key: str, nick: str, to: str, text: str, ts: float) -> Deferred:
        def kept(id: int) -> int:
            if not id:
                raise no_account(key)
            return id

        return self._calls.script("Storing the private message", "append_private",
                                  [keys.account(key), keys.privates(key)],
                                  [repr(ts), nick, to, text, self._keep], then=kept)

    def privates(self, key: str, limit: int, before: Optional[int] = None, after: Optional[int] = None) -> Deferred:
        high, low, count = bounds(limit, before, after)

        def rows(answer):
            found, more = page(answer, limit, after)
            return [_private(entry) for entry in found], more

        return self._calls.script("Reading the private messages", "history",
                                  [keys.account(key), keys.privates(key)],
                                  ["privates_pruned_below", high, low, count], then=rows)

    # -- read markers and preferences ---------------------------------------------------

    def reads(self, key: str) -> Deferred:
        return self._calls.command("Reading the read markers", "HGETALL", keys.reads(key),
                                   then=lambda found: {k: int(v) for k, v in _fields(found).items()})

    def set_read(self, key: str, target: str, id: int) -> Deferred:
        """Forward only, in one script, so two nodes moving it at once keep the higher."""
        def kept(marker: int) -> int:
            if marker < 0:
                raise no_account(key)
            return marker

        return self._calls.script("Storing the read marker", "set_read", [keys.account(key), keys.reads(key)],
                                  [target, "%d" % id], then=kept)

    def preferences(self, key: str) -> Deferred:
        return self._calls.command("Reading the preferences", "HGETALL", keys.preferences(key),
                                   then=lambda found: {k: v.decode() for k, v in _fields(found).items()})

    def set_preference(self, key: str, name: str, value: str) -> Deferred:
        def kept(done) -> None:
            if not done:
                raise no_account(key)

        return self._calls.script("Storing the preference", "set_preference",
                                  [keys.account(key), keys.preferences(key)], [name, value], then=kept)
