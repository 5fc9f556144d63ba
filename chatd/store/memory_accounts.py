# -*- test-case-name: tests.store.test_memory -*-
"""
Accounts, tokens, private messages, read markers and preferences
(L{MemoryAccounts}), and roles,
bans and room marks (L{MemoryModeration}), in memory: mixed into
L{chatd.store.memory.MemoryStore}, with the same answers as the SQLite
store's L{chatd.store.tables_accounts} and L{chatd.store.tables_moderation}.

Whatever names an account (a token, a role, a private message) is refused
once the account is gone, so that a name dropped and registered again by
someone else inherits nothing.
"""

import dataclasses
from typing import Callable, Dict, Optional, Tuple

from twisted.internet.defer import fail, succeed

from chatd.core.events import Private
from chatd.core.text import fold
from chatd.store.records import AccountRecord, BanRecord, MarkRecord, check_role, no_account, taken
from chatd.store.streams import EventStream


class MemoryAccounts:
    """
    Accounts by key (and their keys by look), tokens by digest, and each
    account's private messages, at most C{keep} of them.
    """

    _forget_roles: Callable[[str], None]  # L{MemoryModeration}'s

    def __init__(self, keep: int) -> None:
        self._keep_privates = keep
        self._accounts: Dict[str, AccountRecord] = {}
        self._looks: Dict[str, str] = {}
        self._tokens: Dict[str, Tuple[str, float]] = {}
        self._private_streams: Dict[str, EventStream] = {}
        self._reads: Dict[str, Dict[str, int]] = {}
        self._preferences: Dict[str, Dict[str, str]] = {}

    def create_account(self, record):
        if not isinstance(record, AccountRecord):
            return fail(TypeError(f"create_account needs an AccountRecord, not {type(record).__name__}"))
        existing = self._accounts.get(record.key) or self._accounts.get(self._looks.get(record.look, ""))
        if existing is not None:
            return fail(taken(record, existing))
        self._accounts[record.key] = record
        self._looks[record.look] = record.key
        self._private_streams[record.key] = EventStream()
        return succeed(None)

    def account(self, key):
        return succeed(self._accounts.get(key))

    def find_account(self, key, look):
        """The account called C{key}, or else the one that looks like C{look}."""
        return succeed(self._accounts.get(key) or self._accounts.get(self._looks.get(look, "")))

    def set_password(self, key, password_hash):
        record = self._accounts.get(key)
        if record is None:
            return fail(no_account(key))
        self._accounts[key] = dataclasses.replace(record, password_hash=password_hash)
        return succeed(None)

    def drop_account(self, key):
        """The account, and everything that names it but bans and marks: they outlive their target."""
        record = self._accounts.pop(key, None)
        if record is not None:
            del self._looks[record.look]
            del self._private_streams[key]
        self._reads.pop(key, None)
        self._preferences.pop(key, None)
        self._tokens = {digest: t for digest, t in self._tokens.items() if t[0] != key}
        self._forget_roles(key)
        return succeed(None)

    def add_token(self, digest, key, expires):
        if key not in self._accounts:
            return fail(no_account(key))
        self._tokens[digest] = (key, expires)
        return succeed(None)

    def token_account(self, digest, now):
        """The token's account; an expired token is forgotten as it is found."""
        found = self._tokens.get(digest)
        if found is not None and found[1] <= now:
            del self._tokens[digest]
            found = None
        return succeed(found[0] if found is not None else None)

    def remove_token(self, digest):
        self._tokens.pop(digest, None)
        return succeed(None)

    def _expire_tokens(self, now: float) -> None:
        self._tokens = {digest: t for digest, t in self._tokens.items() if t[1] > now}

    def append_private(self, key, nick, to, text, ts):
        stream = self._private_streams.get(key)
        if stream is None:
            return fail(no_account(key))
        stream.last_id = id = stream.last_id + 1
        stream.events.append(Private(nick=nick, to=to, text=text, id=id, ts=ts))
        if len(stream.events) > self._keep_privates:
            stream.drop_oldest()
        return succeed(id)

    def privates(self, key, limit, before: Optional[int] = None, after: Optional[int] = None):
        stream = self._private_streams.get(key)
        return succeed(stream.page(limit, before, after) if stream is not None else ([], False))

    # -- read markers and preferences ---------------------------------------------------

    def reads(self, key):
        return succeed(dict(self._reads.get(key, {})))

    def set_read(self, key, target, id):
        """Move the marker forward only: a device that read less says nothing new."""
        if key not in self._accounts:
            return fail(no_account(key))
        reads = self._reads.setdefault(key, {})
        reads[target] = kept = max(reads.get(target, 0), id)
        return succeed(kept)

    def preferences(self, key):
        return succeed(dict(self._preferences.get(key, {})))

    def set_preference(self, key, name, value):
        if key not in self._accounts:
            return fail(no_account(key))
        self._preferences.setdefault(key, {})[name] = value
        return succeed(None)


class MemoryModeration:
    """
    Roles by room key, bans by scope (a room's key, or C{""} for the
    server) and folded mask, and marks by room key, kind and C{who}.
    """

    _accounts: Dict[str, AccountRecord]  # L{MemoryAccounts}'s

    def __init__(self) -> None:
        self._roles: Dict[str, Dict[str, str]] = {}
        self._bans: Dict[str, Dict[str, BanRecord]] = {}
        self._marks: Dict[str, Dict[Tuple[str, str], MarkRecord]] = {}

    def roles(self, room):
        return succeed(dict(self._roles.get(fold(room), {})))

    def set_role(self, room, key, role):
        """A role for an account that exists; taking one away always works."""
        try:
            check_role(role)
        except ValueError as e:
            return fail(e)
        if role is None:
            self._roles.get(fold(room), {}).pop(key, None)
        elif key not in self._accounts:
            return fail(no_account(key))
        else:
            self._roles.setdefault(fold(room), {})[key] = role
        return succeed(None)

    def _forget_roles(self, key: str) -> None:
        for roles in self._roles.values():
            roles.pop(key, None)

    def bans(self, scope):
        return succeed(list(self._bans.get(_scope(scope), {}).values()))

    def add_ban(self, scope, record):
        """A ban set again is set now: it moves to the end of the setting order."""
        if not isinstance(record, BanRecord):
            return fail(TypeError(f"add_ban needs a BanRecord, not {type(record).__name__}"))
        bans = self._bans.setdefault(_scope(scope), {})
        bans.pop(fold(record.mask), None)
        bans[fold(record.mask)] = record
        return succeed(None)

    def remove_ban(self, scope, mask):
        return succeed(self._bans.get(_scope(scope), {}).pop(fold(mask), None) is not None)

    def _expire_bans(self, now: float) -> None:
        for scope, bans in self._bans.items():
            self._bans[scope] = {k: b for k, b in bans.items() if b.until is None or b.until > now}


    def marks(self, room):
        return succeed(list(self._marks.get(fold(room), {}).values()))

    def set_mark(self, room, record):
        """A mark set again is set now: it moves to the end of the setting order, like a ban."""
        if not isinstance(record, MarkRecord):
            return fail(TypeError(f"set_mark needs a MarkRecord, not {type(record).__name__}"))
        marks = self._marks.setdefault(fold(room), {})
        marks.pop((record.kind, record.who), None)
        marks[(record.kind, record.who)] = record
        return succeed(None)

    def remove_mark(self, room, kind, who):
        return succeed(self._marks.get(fold(room), {}).pop((kind, who), None) is not None)

    def _expire_marks(self, now: float) -> None:
        for room, marks in self._marks.items():
            self._marks[room] = {k: m for k, m in marks.items() if m.until is None or m.until > now}


def _scope(scope: Optional[str]) -> str:
    return "" if scope is None else fold(scope)
