# -*- test-case-name: tests.store.test_sqlite -*-
"""
The SQLite store's operations, as its writer thread runs them: each inside
the transaction the writer opened, none of them committing.

The rooms table is small and read by every call, so it is kept in memory
(only by this thread); L{Tables.reload} reads it again after a rollback.
"""

import dataclasses
import json
import sqlite3
from typing import Dict, List, Optional, Tuple

from chatd.core.events import Event, stored
from chatd.store.records import RoomRecord, Settings
from chatd.store.schema import Opened
from chatd.store.writer import Again


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


class Tables:
    """
    Messages, rooms and client message ids in one connection.

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
               identity: str, cid: Optional[str]) -> Tuple[int, float, bool]:
        db = self.db
        if cid is not None:
            seen = db.execute("SELECT id, ts FROM cids WHERE identity = ? AND cid = ?",
                              (identity, cid)).fetchone()
            if seen is not None and ts - seen[1] < self._cid_window:
                return (seen[0], seen[1], False)
        r = self._row(key, name)
        r.last_id += 1
        db.execute("UPDATE rooms SET last_id = ? WHERE rid = ?", (r.last_id, r.rid))
        db.execute("INSERT INTO messages (rid, id, type, nick, text, ts, cid) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (r.rid, r.last_id, type, nick, text, ts, cid))
        if cid is not None:
            db.execute("INSERT OR REPLACE INTO cids (identity, cid, id, ts) VALUES (?, ?, ?, ?)",
                       (identity, cid, r.last_id, ts))
        return (r.last_id, ts, True)

    def recent(self, key: str, limit: int, before: Optional[int],
               after: Optional[int]) -> Tuple[List[Event], bool]:
        r = self._rooms.get(key)
        if r is None:
            return ([], False)
        limit = max(0, limit)
        rows = self.db.execute(
            "SELECT type, nick, text, id, ts, cid FROM messages WHERE rid = ? AND id > ? AND id < ?"
            " ORDER BY id DESC LIMIT ?",
            (r.rid, -1 if after is None else after, r.last_id + 1 if before is None else before, limit + 1),
        ).fetchall()
        more = len(rows) > limit
        if after is not None and after + 1 < r.pruned_below:
            more = True  # some of what was asked for is already pruned
        events = [
            stored(t, r.name, nick, text, id, ts, cid)
            for t, nick, text, id, ts, cid in reversed(rows[:limit])
        ]
        return (events, more)

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

    def prune(self, keep: Optional[int], cutoff: Optional[float], cid_cutoff: float,
              todo: Optional[Tuple[str, ...]], deleted: int) -> object:
        """
        One bounded step of pruning: client ids first, then room by room.

        @return: the number deleted when done, else L{Again} with the
            arguments for the next step.
        """
        budget = self._prune_chunk
        if todo is None:
            budget -= self.db.execute(
                "DELETE FROM cids WHERE rowid IN (SELECT rowid FROM cids WHERE ts < ? LIMIT ?)",
                (cid_cutoff, budget),
            ).rowcount
            if budget <= 0:
                return Again((keep, cutoff, cid_cutoff, None, deleted))
            todo = tuple(self._rooms)
        while todo and budget > 0:
            r = self._rooms.get(todo[-1])
            n, done = self._prune_room(r, keep, cutoff, budget) if r else (0, True)
            budget -= n
            deleted += n
            if done:
                todo = todo[:-1]
        return Again((keep, cutoff, cid_cutoff, todo, deleted)) if todo else deleted

    def _prune_room(self, r: _Row, keep: Optional[int], cutoff: Optional[float],
                    budget: int) -> Tuple[int, bool]:
        """Delete up to C{budget} of C{r}'s oldest messages; say if C{r} is done."""
        keep_from = r.last_id - keep + 1 if keep is not None else 0
        bound, seen, done = r.pruned_below, 0, False
        for id, ts in self.db.execute(
            "SELECT id, ts FROM messages WHERE rid = ? AND id >= ? ORDER BY id LIMIT ?",
            (r.rid, r.pruned_below, budget),
        ):
            seen += 1
            if id >= keep_from and (cutoff is None or ts >= cutoff):
                done = True
                break
            bound = id + 1
        done = done or seen < budget
        if bound == r.pruned_below:
            return 0, done
        n = self.db.execute("DELETE FROM messages WHERE rid = ? AND id < ?", (r.rid, bound)).rowcount
        r.pruned_below = bound
        self.db.execute("UPDATE rooms SET pruned_below = ? WHERE rid = ?", (bound, r.rid))
        return n, done


def _settings(text: str, room: str) -> Settings:
    """A room's settings column, read back; damage is the file's, so say so in its words."""
    try:
        return Settings(json.loads(text))
    except (ValueError, TypeError, AttributeError) as e:
        raise sqlite3.DatabaseError(f"the settings of room {room} cannot be read ({e})") from e
