# -*- test-case-name: tests.store.test_sqlite -*-
"""
The SQLite store's operations, as its writer thread runs them: each inside
the transaction the writer opened, none of them committing.

L{Tables} holds rooms and their messages, and the pruning of everything;
accounts (L{chatd.store.tables_accounts}) and roles and bans
(L{chatd.store.tables_moderation}) are mixed in, so that the writer runs
every call, whatever it touches, in the same group commits.

The rooms table is small and read by every call, so it is kept in memory
(only by this thread); L{Tables.reload} reads it again after a rollback.
"""

import dataclasses
import json
import sqlite3
from typing import Dict, List, Optional, Tuple

from chatd.core.events import ACTION, MESSAGE, Event, stored
from chatd.store.records import RoomRecord, Settings
from chatd.store.schema import Opened
from chatd.store.streams import RowStream
from chatd.store.tables_accounts import AccountTables
from chatd.store.tables_moderation import ModerationTables
from chatd.store.writer import Again

#: Rows that expire, deleted by each pruning before any stream: client
#: message ids (by message time), login tokens, and bans and marks with an end.
_EXPIRED = (
    "DELETE FROM cids WHERE rowid IN (SELECT rowid FROM cids WHERE ts < ? LIMIT ?)",
    "DELETE FROM tokens WHERE rowid IN (SELECT rowid FROM tokens WHERE expires <= ? LIMIT ?)",
    "DELETE FROM bans WHERE seq IN (SELECT seq FROM bans WHERE until <= ? LIMIT ?)",
    "DELETE FROM marks WHERE seq IN (SELECT seq FROM marks WHERE until <= ? LIMIT ?)",
)


#: The row types that are messages; the others (reactions) name one in C{ref}.
_MESSAGES = (MESSAGE, ACTION)

#: A room's rows as L{_event} reads them.
_COLUMNS = "type, nick, text, id, ts, cid, extra"


@dataclasses.dataclass(slots=True)
class _Row:
    """One row of the rooms table."""

    rid: int
    name: str
    topic: str = ""
    topic_by: str = ""
    last_id: int = 0
    pruned_below: int = 1  # the file's convention: nothing below id 1
    settings: Settings = Settings()

    def record(self) -> RoomRecord:
        pruned = self.pruned_below if self.pruned_below > 1 else 0
        return RoomRecord(self.name, self.topic, self.topic_by, self.settings, self.last_id, pruned)


class Tables(AccountTables, ModerationTables):
    """
    Messages, rooms and client message ids in one connection, and (mixed
    in) accounts, roles and bans.

    @param opened: what opening the file found, for the log.
    @param cid_window: seconds (by message timestamp) a client message id
        is remembered for.
    @param prune_chunk: the most rows one pruning step deletes.
    """

    def __init__(self, db: sqlite3.Connection, opened: Opened, cid_window: float, prune_chunk: int) -> None:
        self.db = db
        self._opened = opened
        self._cid_window = cid_window
        self._prune_chunk = prune_chunk
        self._rooms: Dict[str, _Row] = {}
        self._messages = RowStream(db, "messages", "rid", _COLUMNS)
        self._privates = RowStream(db, "privates", "key", "nick, recipient, text, id, ts")
        self.reload()

    def reload(self) -> None:
        rows = self.db.execute(
            "SELECT key, rid, name, topic, topic_by, last_id, pruned_below, settings FROM rooms"
        )
        self._rooms = {
            key: _Row(rid, name, topic, by, last, pruned, _settings(settings, name))
            for key, rid, name, topic, by, last, pruned, settings in rows
        }

    def summary(self) -> Opened:
        """What opening found."""
        return self._opened

    def _row(self, key: str, name: str) -> _Row:
        r = self._rooms.get(key)
        if r is None:
            rid = self.db.execute("INSERT INTO rooms (key, name) VALUES (?, ?)", (key, name)).lastrowid
            r = self._rooms[key] = _Row(rid, name)
        return r

    def append(self, key: str, name: str, type: str, nick: str, text: str, ts: float,
               identity: str, cid: Optional[str], extra: Optional[dict] = None) -> Tuple[int, float, bool]:
        db = self.db
        if cid is not None:
            seen = db.execute("SELECT id, ts FROM cids WHERE identity = ? AND cid = ?",
                              (identity, cid)).fetchone()
            if seen is not None and ts - seen[1] < self._cid_window:
                return (seen[0], seen[1], False)
        r = self._row(key, name)
        r.last_id += 1
        db.execute("UPDATE rooms SET last_id = ? WHERE rid = ?", (r.last_id, r.rid))
        if extra is None:  # the common case: no JSON to make
            db.execute("INSERT INTO messages (rid, id, type, nick, text, ts, cid) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (r.rid, r.last_id, type, nick, text, ts, cid))
        else:
            ref = None if type in _MESSAGES else extra.get("message")
            db.execute("INSERT INTO messages (rid, id, type, nick, text, ts, cid, extra, ref)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (r.rid, r.last_id, type, nick, text, ts, cid, json.dumps(extra, ensure_ascii=False), ref))
        if cid is not None:
            db.execute("INSERT OR REPLACE INTO cids (identity, cid, id, ts) VALUES (?, ?, ?, ?)",
                       (identity, cid, r.last_id, ts))
        return (r.last_id, ts, True)

    def recent(self, key: str, limit: int, before: Optional[int],
               after: Optional[int], oldest: bool = False) -> Tuple[List[Event], bool]:
        r = self._rooms.get(key)
        if r is None:
            return ([], False)
        rows, more = self._messages.page(r.rid, r.last_id, r.pruned_below, limit, before, after, oldest)
        return ([_event(r.name, *row) for row in rows], more)

    def message(self, key: str, id: int) -> Optional[Event]:
        """A message or action; a reaction's id is not a message."""
        r = self._rooms.get(key)
        row = self._messages.one(r.rid, id) if r is not None else None
        if row is None or row[0] not in _MESSAGES:
            return None
        return _event(r.name, *row)

    def reactions(self, key: str, ids: List[int]) -> List[Event]:
        """The reaction rows aimed at C{ids} (not pruned), oldest first, by the index on C{ref}."""
        r = self._rooms.get(key)
        wanted = sorted({id for id in ids if id >= r.pruned_below}) if r is not None else []
        if not wanted:
            return []
        found: List[tuple] = []
        for start in range(0, len(wanted), 500):  # within SQLite's limit on parameters
            chunk = wanted[start:start + 500]
            found += self.db.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE rid = ? AND ref IN ({', '.join('?' * len(chunk))})",
                (r.rid, *chunk),
            ).fetchall()
        found.sort(key=lambda row: row[3])
        return [_event(r.name, *row) for row in found]

    def delete_message(self, key: str, id: int) -> bool:
        """Delete one message; the room's counter keeps its id from being given out again."""
        r = self._rooms.get(key)
        return r is not None and self._messages.delete(r.rid, id)

    def room(self, key: str) -> Optional[RoomRecord]:
        r = self._rooms.get(key)
        return r.record() if r is not None else None

    def last_id(self, key: str) -> int:
        r = self._rooms.get(key)
        return r.last_id if r is not None else 0

    def save_room(self, key: str, record: RoomRecord) -> None:
        r = self._row(key, record.name)
        r.name, r.topic, r.topic_by, r.settings = record.name, record.topic, record.topic_by, record.settings
        self.db.execute(
            "UPDATE rooms SET name = ?, topic = ?, topic_by = ?, settings = ? WHERE rid = ?",
            (r.name, r.topic, r.topic_by, json.dumps(dict(r.settings), sort_keys=True), r.rid),
        )

    def set_topic(self, key: str, name: str, topic: str, nick: str) -> None:
        r = self._row(key, name)
        r.topic, r.topic_by = topic, nick
        self.db.execute("UPDATE rooms SET topic = ?, topic_by = ? WHERE rid = ?", (topic, nick, r.rid))

    def prune(self, keep: Optional[int], cutoff: Optional[float], now: float,
              todo: Optional[Tuple[Tuple[str, str], ...]], deleted: int) -> object:
        """
        One bounded step of pruning: expired rows first, then each room's
        messages and each account's private messages.

        @param todo: the streams still to prune, C{("room", key)} or
            C{("account", key)}; C{None} before the expired rows are done.
        @return: the number of messages deleted when done, else L{Again}
            with the arguments for the next step.
        """
        budget = self._prune_chunk
        if todo is None:
            for sql, horizon in zip(_EXPIRED, (now - self._cid_window, now, now, now)):
                budget -= self.db.execute(sql, (horizon, budget)).rowcount
                if budget <= 0:
                    return Again((keep, cutoff, now, None, deleted))
            todo = tuple(("room", key) for key in self._rooms) + self.private_streams()
        while todo and budget > 0:
            kind, key = todo[-1]
            prune = self._prune_room if kind == "room" else self._prune_privates
            n, done = prune(key, keep, cutoff, budget)
            budget -= n
            deleted += n
            if done:
                todo = todo[:-1]
        return Again((keep, cutoff, now, todo, deleted)) if todo else deleted

    def _prune_room(self, key: str, keep: Optional[int], cutoff: Optional[float],
                    budget: int) -> Tuple[int, bool]:
        """Delete up to C{budget} of a room's oldest messages; say if it is done."""
        r = self._rooms.get(key)
        if r is None:
            return 0, True
        n, bound, done = self._messages.prune(r.rid, r.last_id, r.pruned_below, keep, cutoff, budget)
        if bound != r.pruned_below:
            r.pruned_below = bound
            self.db.execute("UPDATE rooms SET pruned_below = ? WHERE rid = ?", (bound, r.rid))
        return n, done


def _event(room: str, type: str, nick: str, text: str, id: int, ts: float, cid: Optional[str],
           extra: Optional[str]) -> Event:
    """A row of C{room} as the store hands it back."""
    if extra is None:
        return stored(type, room, nick, text, id, ts, cid)
    try:
        kept = json.loads(extra)
    except ValueError as e:
        raise sqlite3.DatabaseError(f"message {id} of room {room} cannot be read ({e})") from e
    return stored(type, room, nick, text, id, ts, cid, kept)


def _settings(text: str, room: str) -> Settings:
    """A room's settings column, read back; damage is the file's, so say so in its words."""
    try:
        return Settings(json.loads(text))
    except (ValueError, TypeError, AttributeError) as e:
        raise sqlite3.DatabaseError(f"the settings of room {room} cannot be read ({e})") from e
