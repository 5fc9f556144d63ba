# -*- test-case-name: tests.store.test_memory -*-
"""
A store that keeps everything in memory: for tests and for running with
C{db = :memory:}.  Nothing survives a restart.

Every method answers at once, but through a Deferred like a store on disk,
so that the core cannot come to depend on an answer being synchronous.
"""

from collections import deque
from typing import Deque, Dict, Optional, Tuple

from twisted.internet.defer import fail, succeed
from zope.interface import implementer

from chatd.core.events import Event, stored
from chatd.core.interfaces import IStore
from chatd.core.text import fold
from chatd.store.records import RoomRecord, Settings


class _Room:
    """
    A room's record, kept as plain attributes so that an append costs no
    more than it did before rooms were records, and its newest messages.
    """

    __slots__ = ("name", "topic", "topic_by", "settings", "last_id", "pruned_below", "messages")

    def __init__(self, name: str) -> None:
        self.name, self.topic, self.topic_by = name, "", ""
        self.settings = Settings()
        self.last_id = self.pruned_below = 0
        self.messages: Deque[Event] = deque()

    def record(self) -> RoomRecord:
        return RoomRecord(self.name, self.topic, self.topic_by, self.settings, self.last_id, self.pruned_below)

    def drop_oldest(self) -> None:
        """Retention: forget the oldest message, and say that it went."""
        self.pruned_below = self.messages.popleft().id + 1


@implementer(IStore)
class MemoryStore:
    """
    Keeps the newest C{keep} messages of each room, and each room's record.

    Client message ids are remembered for C{cid_window} seconds (judged by
    the message timestamps the core passes in).
    """

    name = "memory"

    def __init__(self, keep: int = 1000, cid_window: float = 86400.0) -> None:
        self._keep = keep
        self._rooms: Dict[str, _Room] = {}
        self._cids: Dict[Tuple[str, str], Tuple[int, float]] = {}
        self._cid_window = cid_window

    def _room(self, name: str) -> _Room:
        key = fold(name)
        room = self._rooms.get(key)
        if room is None:
            room = self._rooms[key] = _Room(name)
        return room

    def open(self):
        return succeed(None)

    def close(self):
        return succeed(None)

    def append(self, room, type, nick, text, ts, identity, cid):
        if cid is not None:
            seen = self._cids.get((identity, cid))
            if seen is not None and ts - seen[1] < self._cid_window:
                return succeed((seen[0], seen[1], False))
        r = self._room(room)
        r.last_id = id = r.last_id + 1
        r.messages.append(stored(type, room, nick, text, id, ts))
        if len(r.messages) > self._keep:
            r.drop_oldest()
        if cid is not None:
            self._cids[(identity, cid)] = (id, ts)
        return succeed((id, ts, True))

    def recent(self, room, limit, before: Optional[int] = None, after: Optional[int] = None):
        r = self._rooms.get(fold(room))
        if r is None:
            return succeed(([], False))
        rows = [
            m
            for m in r.messages
            if (before is None or m.id < before) and (after is None or m.id > after)
        ]
        more = len(rows) > limit
        if after is not None and after + 1 < r.pruned_below:
            more = True  # some of what was asked for is already pruned
        return succeed((rows[-limit:] if limit > 0 else [], more))

    def prune(self, max_messages_per_room, max_age_seconds, now):
        """Drop each room's messages beyond the count or older than the age."""
        dropped = 0
        for r in self._rooms.values():
            while r.messages and (
                (max_messages_per_room is not None and len(r.messages) > max_messages_per_room)
                or (max_age_seconds is not None and now - r.messages[0].ts > max_age_seconds)
            ):
                r.drop_oldest()
                dropped += 1
        horizon = now - self._cid_window
        self._cids = {k: v for k, v in self._cids.items() if v[1] >= horizon}
        return succeed(dropped)

    def room(self, room):
        r = self._rooms.get(fold(room))
        return succeed(r.record() if r is not None else None)

    def save_room(self, record):
        if not isinstance(record, RoomRecord):
            return fail(TypeError(f"save_room needs a RoomRecord, not {type(record).__name__}"))
        r = self._room(record.name)
        r.name, r.topic, r.topic_by, r.settings = record.name, record.topic, record.topic_by, record.settings
        return succeed(None)

    def set_topic(self, room, topic, nick):
        r = self._room(room)
        r.topic, r.topic_by = topic, nick
        return succeed(None)

    def last_id(self, room):
        r = self._rooms.get(fold(room))
        return succeed(r.last_id if r else 0)
