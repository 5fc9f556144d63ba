# -*- test-case-name: tests.store.test_sqlite -*-
"""
Numbered streams: a room's messages, an account's private messages.

Both are numbered by a counter kept with their owner (a room's C{last_id},
an account's C{last_private}) so that no id is handed out twice, even once
its message is deleted or pruned, and both lose their oldest messages to
retention, which moves the owner's C{pruned_below}.  One class per store
reads and prunes either (L{RowStream} in SQLite, L{EventStream} in memory),
so room history and private messages keep exactly the same resume
contract: no gap, no duplicate, and C{more} when something asked for was
left out or is gone.
"""

import sqlite3
from bisect import bisect_left
from collections import deque
from typing import Any, Deque, List, Optional, Tuple

from chatd.core.events import Event

Page = Tuple[List[Any], bool]


class RowStream:
    """
    The SQL for one table of numbered rows, keyed C{(owner, id)}.

    @param table: the table, with C{id} and C{ts} columns.
    @param owner: the column naming whose stream a row is in.
    @param columns: what a read returns, per row.
    """

    def __init__(self, db: sqlite3.Connection, table: str, owner: str, columns: str) -> None:
        self._db = db
        where = f"FROM {table} WHERE {owner} = ?"
        self._page = f"SELECT {columns} {where} AND id > ? AND id < ? ORDER BY id DESC LIMIT ?"
        self._forward = f"SELECT {columns} {where} AND id > ? AND id < ? ORDER BY id LIMIT ?"
        self._one = f"SELECT {columns} {where} AND id = ?"
        self._delete = f"DELETE {where} AND id = ?"
        self._nth_newest = f"SELECT id {where} ORDER BY id DESC LIMIT 1 OFFSET ?"
        self._oldest = f"SELECT id, ts {where} AND id >= ? ORDER BY id LIMIT ?"
        self._prefix = f"DELETE {where} AND id < ?"

    def page(self, owner: object, last_id: int, pruned_below: int, limit: int,
             before: Optional[int], after: Optional[int], oldest: bool = False) -> Page:
        """
        The newest C{limit} rows with C{after < id < before} (C{oldest}:
        the oldest C{limit}), oldest first, and whether matching rows were
        left out or (for C{after}) pruned.
        """
        limit = max(0, limit)
        rows = self._db.execute(
            self._forward if oldest else self._page,
            (owner, -1 if after is None else after, last_id + 1 if before is None else before, limit + 1),
        ).fetchall()
        more = len(rows) > limit
        if after is not None and after + 1 < pruned_below:
            more = True  # some of what was asked for is already pruned
        kept = rows[:limit]
        if not oldest:
            kept.reverse()
        return kept, more

    def one(self, owner: object, id: int) -> Optional[tuple]:
        return self._db.execute(self._one, (owner, id)).fetchone()

    def delete(self, owner: object, id: int) -> bool:
        """Delete one row; the counter is the owner's, so its id stays used."""
        return self._db.execute(self._delete, (owner, id)).rowcount > 0

    def prune(self, owner: object, last_id: int, pruned_below: int, keep: Optional[int],
              cutoff: Optional[float], budget: int) -> Tuple[int, int, bool]:
        """
        Delete up to C{budget} of the oldest rows that are beyond the newest
        C{keep} or older than C{cutoff}.  Only a prefix goes, so that what
        is kept stays contiguous in ids (but for deleted rows) and
        C{pruned_below} alone says what retention took.

        @return: C{(deleted, pruned_below, done)}: the new bound, and
            whether nothing more of this stream is due.
        """
        keep_from = 0
        if keep is not None:
            if keep <= 0:
                keep_from = last_id + 1
            else:  # the newest C{keep} rows, by count: deleted ids are not rows
                nth = self._db.execute(self._nth_newest, (owner, keep - 1)).fetchone()
                keep_from = nth[0] if nth is not None else 0
        bound, seen, done = pruned_below, 0, False
        for id, ts in self._db.execute(self._oldest, (owner, pruned_below, budget)):
            seen += 1
            if id >= keep_from and (cutoff is None or ts >= cutoff):
                done = True
                break
            bound = id + 1
        done = done or seen < budget
        if bound == pruned_below:
            return 0, bound, done
        return self._db.execute(self._prefix, (owner, bound)).rowcount, bound, done


def _id(event: Event) -> int:
    return event.id


class EventStream:
    """
    Numbered events in memory, oldest first: what L{RowStream} is to a
    SQLite table, for L{chatd.store.memory.MemoryStore}.

    @ivar last_id: the newest id ever given out, kept when it is pruned.
    @ivar pruned_below: retention may have deleted every id below this.
    """

    __slots__ = ("last_id", "pruned_below", "events")

    def __init__(self) -> None:
        self.last_id = self.pruned_below = 0
        self.events: Deque[Event] = deque()

    def page(self, limit: int, before: Optional[int], after: Optional[int],
             oldest: bool = False) -> Tuple[List[Event], bool]:
        """
        The newest C{limit} events with C{after < id < before} (C{oldest}:
        the oldest C{limit}), oldest first, and whether more matched or was
        pruned.
        """
        rows = [e for e in self.events if (before is None or e.id < before) and (after is None or e.id > after)]
        more = len(rows) > limit
        if after is not None and after + 1 < self.pruned_below:
            more = True  # some of what was asked for is already pruned
        if limit <= 0:
            return [], more
        return (rows[:limit] if oldest else rows[-limit:]), more

    def find(self, id: int) -> int:
        """The index of event C{id}, or -1."""
        events = self.events
        i = bisect_left(events, id, key=_id)
        return i if i < len(events) and events[i].id == id else -1

    def drop_oldest(self) -> None:
        """Retention: forget the oldest event, and say that it went."""
        self.pruned_below = self.events.popleft().id + 1

    def prune(self, keep: Optional[int], cutoff: Optional[float]) -> int:
        """Drop the oldest events beyond C{keep} or from before C{cutoff}; how many went."""
        events, dropped = self.events, 0
        while events and (
            (keep is not None and len(events) > keep) or (cutoff is not None and events[0].ts < cutoff)
        ):
            self.drop_oldest()
            dropped += 1
        return dropped
