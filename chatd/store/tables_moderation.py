# -*- test-case-name: tests.store.test_sqlite_accounts -*-
"""
Roles, bans and room marks, as the SQLite store's writer thread runs them
(mixed into L{chatd.store.tables.Tables}).

All name their room by its key (the folded name) rather than by its row
in C{rooms}: a ban on a room nobody has spoken in must not create a room
record, and the server's own bans have no room at all (scope C{""}).
"""

import sqlite3
from typing import Dict, List, Optional

from chatd.store.records import BanRecord, MarkRecord, no_account
from chatd.store.writer import Refused


class ModerationTables:
    """The role, ban and mark operations; C{db} is the L{Tables}'s."""

    db: sqlite3.Connection

    def roles(self, room: str) -> Dict[str, str]:
        return dict(self.db.execute("SELECT key, role FROM roles WHERE room = ? ORDER BY key", (room,)))

    def set_role(self, room: str, key: str, role: Optional[str]) -> Optional[Refused]:
        """A role for an account that exists; taking one away always works."""
        if role is None:
            self.db.execute("DELETE FROM roles WHERE room = ? AND key = ?", (room, key))
            return None
        if self.db.execute("SELECT 1 FROM accounts WHERE key = ?", (key,)).fetchone() is None:
            return Refused(no_account(key))
        self.db.execute("INSERT OR REPLACE INTO roles (room, key, role) VALUES (?, ?, ?)", (room, key, role))
        return None

    def bans(self, scope: str) -> List[BanRecord]:
        rows = self.db.execute(
            "SELECT mask, by, since, reason, until FROM bans WHERE scope = ? ORDER BY seq", (scope,)
        )
        return [BanRecord(*row) for row in rows]

    def add_ban(self, scope: str, mask_key: str, record: BanRecord) -> None:
        """A ban set again is set now: it moves to the end of the setting order."""
        self.db.execute("DELETE FROM bans WHERE scope = ? AND mask_key = ?", (scope, mask_key))
        self.db.execute(
            "INSERT INTO bans (scope, mask_key, mask, by, since, reason, until) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (scope, mask_key, record.mask, record.by, record.since, record.reason, record.until),
        )

    def remove_ban(self, scope: str, mask_key: str) -> bool:
        return self.db.execute("DELETE FROM bans WHERE scope = ? AND mask_key = ?", (scope, mask_key)).rowcount > 0

    def marks(self, room: str) -> List[MarkRecord]:
        rows = self.db.execute("SELECT kind, who, by, since, until FROM marks WHERE room = ? ORDER BY seq", (room,))
        return [MarkRecord(*row) for row in rows]

    def set_mark(self, room: str, record: MarkRecord) -> None:
        """A mark set again is set now: it moves to the end of the setting order, like a ban."""
        self.db.execute("DELETE FROM marks WHERE room = ? AND kind = ? AND who = ?", (room, record.kind, record.who))
        self.db.execute(
            "INSERT INTO marks (room, kind, who, by, since, until) VALUES (?, ?, ?, ?, ?, ?)",
            (room, record.kind, record.who, record.by, record.since, record.until),
        )

    def remove_mark(self, room: str, kind: str, who: str) -> bool:
        return self.db.execute(
            "DELETE FROM marks WHERE room = ? AND kind = ? AND who = ?", (room, kind, who)
        ).rowcount > 0
