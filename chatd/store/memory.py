# -*- test-case-name: tests.store.test_memory -*-
"""
A store that keeps everything in memory: for tests and for running with
C{db = :memory:}.  Nothing survives a restart.
"""

from collections import deque
from typing import Deque, Dict, Optional, Tuple

from twisted.internet.defer import succeed
from zope.interface import implementer

from chatd.core.events import Event
from chatd.core.interfaces import IStore
from chatd.core.text import fold


class _Room:
    __slots__ = ("messages", "last_id", "topic", "setter")

    def __init__(self, keep: int) -> None:
        self.messages: Deque[Event] = deque(maxlen=keep)
        self.last_id = 0
        self.topic = ""
        self.setter = ""


@implementer(IStore)
class MemoryStore:
    """
    Keeps the newest C{keep} messages of each room, and each room's topic.

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
            room = self._rooms[key] = _Room(self._keep)
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
        r.last_id += 1
        r.messages.append(
            Event(type=type, room=room, nick=nick, text=text, id=r.last_id, ts=ts)
        )
        if cid is not None:
            self._cids[(identity, cid)] = (r.last_id, ts)
        return succeed((r.last_id, ts, True))

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
        if after is not None and r.messages and r.messages[0].id > after + 1:
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
                r.messages.popleft()
                dropped += 1
        horizon = now - self._cid_window
        self._cids = {k: v for k, v in self._cids.items() if v[1] >= horizon}
        return succeed(dropped)

    def topic(self, room):
        r = self._rooms.get(fold(room))
        return (r.topic, r.setter) if r else ("", "")

    def set_topic(self, room, topic, nick):
        r = self._room(room)
        r.topic, r.setter = topic, nick
        return succeed(None)

    def last_id(self, room):
        r = self._rooms.get(fold(room))
        return r.last_id if r else 0
