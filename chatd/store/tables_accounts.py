# -*- test-case-name: tests.store.test_sqlite_accounts -*-
"""
Accounts, their login tokens, private messages, read markers and
preferences, as the SQLite store's writer thread runs them (mixed into
L{chatd.store.tables.Tables}).

Accounts are not cached: they are read far less often than rooms, and
there may be many more of them.  Whatever names an account (a token, a
role, a private message) is refused once the account is gone, so that a
name dropped and registered again by someone else inherits nothing.
"""

import sqlite3
from typing import List, Optional, Tuple

from chatd.core.events import Private
from chatd.store.records import AccountRecord, no_account, taken
from chatd.store.streams import Page, RowStream
from chatd.store.writer import Refused

_ACCOUNT = "SELECT name, key, look, password_hash, email, created FROM accounts"


class AccountTables:
    """The account operations; C{db} and C{_privates} are the L{Tables}'s."""

    db: sqlite3.Connection
    _privates: RowStream

    def _exists(self, key: str) -> bool:
        return self.db.execute("SELECT 1 FROM accounts WHERE key = ?", (key,)).fetchone() is not None

    def create_account(self, record: AccountRecord) -> Optional[Refused]:
        """Insert C{record} unless its key or its look is taken (then refuse, naming the owner)."""
        for column, value in (("key", record.key), ("look", record.look)):
            row = self.db.execute(f"{_ACCOUNT} WHERE {column} = ?", (value,)).fetchone()
            if row is not None:
                return Refused(taken(record, AccountRecord(*row)))
        self.db.execute(
            "INSERT INTO accounts (key, look, name, password_hash, email, created) VALUES (?, ?, ?, ?, ?, ?)",
            (record.key, record.look, record.name, record.password_hash, record.email, record.created),
        )
        return None

    def account(self, key: str) -> Optional[AccountRecord]:
        row = self.db.execute(f"{_ACCOUNT} WHERE key = ?", (key,)).fetchone()
        return AccountRecord(*row) if row is not None else None

    def find_account(self, key: str, look: str) -> Optional[AccountRecord]:
        """The account called C{key}, or else the one that looks like C{look}."""
        row = self.db.execute(
            f"{_ACCOUNT} WHERE key = ? OR look = ? ORDER BY key = ? DESC LIMIT 1", (key, look, key)
        ).fetchone()
        return AccountRecord(*row) if row is not None else None

    def set_password(self, key: str, password_hash: str) -> Optional[Refused]:
        changed = self.db.execute("UPDATE accounts SET password_hash = ? WHERE key = ?", (password_hash, key))
        return None if changed.rowcount else Refused(no_account(key))

    def drop_account(self, key: str) -> None:
        """The account, and everything that names it but bans: a ban outlives its target."""
        for table in ("accounts", "tokens", "roles", "privates", "reads", "preferences"):
            self.db.execute(f"DELETE FROM {table} WHERE key = ?", (key,))

    # -- tokens ---------------------------------------------------------------------

    def add_token(self, digest: str, key: str, expires: float) -> Optional[Refused]:
        if not self._exists(key):
            return Refused(no_account(key))
        self.db.execute("INSERT OR REPLACE INTO tokens (digest, key, expires) VALUES (?, ?, ?)",
                        (digest, key, expires))
        return None

    def token_account(self, digest: str, now: float) -> Optional[str]:
        """The token's account; an expired token is deleted as it is found."""
        row = self.db.execute("SELECT key, expires FROM tokens WHERE digest = ?", (digest,)).fetchone()
        if row is None:
            return None
        if row[1] <= now:
            self.db.execute("DELETE FROM tokens WHERE digest = ?", (digest,))
            return None
        return row[0]

    def remove_token(self, digest: str) -> None:
        self.db.execute("DELETE FROM tokens WHERE digest = ?", (digest,))

    # -- private messages -----------------------------------------------------------

    def _counters(self, key: str) -> Optional[Tuple[int, int]]:
        return self.db.execute(
            "SELECT last_private, privates_pruned_below FROM accounts WHERE key = ?", (key,)
        ).fetchone()

    def append_private(self, key: str, nick: str, to: str, text: str, ts: float) -> object:
        counters = self._counters(key)
        if counters is None:
            return Refused(no_account(key))
        id = counters[0] + 1
        self.db.execute("UPDATE accounts SET last_private = ? WHERE key = ?", (id, key))
        self.db.execute("INSERT INTO privates (key, id, nick, recipient, text, ts) VALUES (?, ?, ?, ?, ?, ?)",
                        (key, id, nick, to, text, ts))
        return id

    def privates(self, key: str, limit: int, before: Optional[int], after: Optional[int]) -> Page:
        counters = self._counters(key)
        if counters is None:
            return ([], False)
        rows, more = self._privates.page(key, counters[0], counters[1], limit, before, after)
        events: List[Private] = [
            Private(nick=nick, to=to, text=text, id=id, ts=ts) for nick, to, text, id, ts in rows
        ]
        return (events, more)

    # -- read markers and preferences ---------------------------------------------------

    def reads(self, key: str) -> dict:
        return dict(self.db.execute("SELECT target, id FROM reads WHERE key = ?", (key,)))

    def set_read(self, key: str, target: str, id: int) -> object:
        """Move the marker forward only, in one statement: a device that read less says nothing new."""
        if not self._exists(key):
            return Refused(no_account(key))
        self.db.execute(
            "INSERT INTO reads (key, target, id) VALUES (?, ?, ?)"
            " ON CONFLICT (key, target) DO UPDATE SET id = max(id, excluded.id)",
            (key, target, id),
        )
        return self.db.execute("SELECT id FROM reads WHERE key = ? AND target = ?", (key, target)).fetchone()[0]

    def preferences(self, key: str) -> dict:
        return dict(self.db.execute("SELECT name, value FROM preferences WHERE key = ?", (key,)))

    def set_preference(self, key: str, name: str, value: str) -> Optional[Refused]:
        if not self._exists(key):
            return Refused(no_account(key))
        self.db.execute("INSERT OR REPLACE INTO preferences (key, name, value) VALUES (?, ?, ?)", (key, name, value))
        return None

    def private_streams(self) -> Tuple[Tuple[str, str], ...]:
        """The accounts that have private messages, for pruning."""
        rows = self.db.execute("SELECT key FROM accounts WHERE last_private >= privates_pruned_below")
        return tuple(("account", key) for key, in rows)

    def _prune_privates(self, key: str, keep: Optional[int], cutoff: Optional[float],
                        budget: int) -> Tuple[int, bool]:
        """Delete up to C{budget} of an account's oldest private messages; say if it is done."""
        counters = self._counters(key)
        if counters is None:
            return 0, True
        n, bound, done = self._privates.prune(key, counters[0], counters[1], keep, cutoff, budget)
        if bound != counters[1]:
            self.db.execute("UPDATE accounts SET privates_pruned_below = ? WHERE key = ?", (bound, key))
        return n, done
