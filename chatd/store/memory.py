# -*- test-case-name: tests.store.test_memory -*-
"""
A store that keeps everything in memory: for tests and for running with
C{db = :memory:}.  Nothing survives a restart.

Every method answers at once, but through a Deferred like a store on disk,
so that the core cannot come to depend on an answer being synchronous.
Accounts, roles, bans and marks are in L{chatd.store.memory_accounts}, mixed in.
"""

from typing import Dict, Optional, Tuple

from twisted.internet.defer import fail, succeed
from zope.interface import implementer

from chatd.core.events import ACTION, MESSAGE, stored
from chatd.core.interfaces import IAccountStore, IModerationStore, IStore
from chatd.core.text import fold
from chatd.store.memory_accounts import MemoryAccounts, MemoryModeration
from chatd.store.records import RoomRecord, Settings
from chatd.store.streams import EventStream

#: The row types that are messages (the others, reactions, point at one).
_MESSAGES = frozenset({MESSAGE, ACTION})


class _Room(EventStream):
    """
    A room's record, kept as plain attributes so that an append costs no
    more than it did before rooms were records, and its newest messages.
    """

    __slots__ = ("name", "topic", "topic_by", "settings")

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name, self.topic, self.topic_by = name, "", ""
        self.settings = Settings()

    def record(self) -> RoomRecord:
        return RoomRecord(self.name, self.topic, self.topic_by, self.settings, self.last_id, self.pruned_below)


@implementer(IStore, IAccountStore, IModerationStore)
class MemoryStore(MemoryAccounts, MemoryModeration):
    """
    Keeps the newest C{keep} messages of each room (and of each account's
    private messages), each room's record, accounts, roles and bans.

    Client message ids are remembered for C{cid_window} seconds (judged by
    the message timestamps the core passes in).
    """

    name = "memory"

    def __init__(self, keep: int = 1000, cid_window: float = 86400.0) -> None:
        MemoryAccounts.__init__(self, keep)
        MemoryModeration.__init__(self)
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

    def append(self, room, type, nick, text, ts, identity, cid, via=None, account=None, extra=None):
        if cid is not None:
            seen = self._cids.get((identity, cid))
            if seen is not None and ts - seen[1] < self._cid_window:
                return succeed((seen[0], seen[1], False))
        r = self._room(room)
        r.last_id = id = r.last_id + 1
        r.events.append(stored(type, r.name, nick, text, id, ts, cid, extra))
        if len(r.events) > self._keep:
            r.drop_oldest()
        if cid is not None:
            self._cids[(identity, cid)] = (id, ts)
        return succeed((id, ts, True))

    def recent(self, room, limit, before: Optional[int] = None, after: Optional[int] = None, oldest: bool = False):
        r = self._rooms.get(fold(room))
        return succeed(r.page(limit, before, after, oldest) if r is not None else ([], False))

    def message(self, room, id):
        """A message or action; a reaction's id is not a message."""
        r = self._rooms.get(fold(room))
        i = r.find(id) if r is not None else -1
        return succeed(r.events[i] if i >= 0 and r.events[i].type in _MESSAGES else None)

    def reactions(self, room, ids):
        """
        The reaction rows aimed at C{ids}, oldest first: a scan of the
        room's kept rows (at most C{keep}), which is what memory is for.
        Those aimed at a pruned message are not given, as in every store.
        """
        r = self._rooms.get(fold(room))
        if r is None:
            return succeed([])
        wanted = {id for id in ids if id >= r.pruned_below}
        return succeed([e for e in r.events if e.type not in _MESSAGES and e.message in wanted])

    def delete_message(self, room, id):
        """Forget one message; the room's counter keeps its id from being given out again."""
        r = self._rooms.get(fold(room))
        i = r.find(id) if r is not None else -1
        if i >= 0:
            del r.events[i]
        return succeed(i >= 0)

    def prune(self, max_messages_per_room, max_age_seconds, now):
        """
        Drop each room's and each account's messages beyond the count or
        older than the age; forget expired client ids, tokens, bans and marks.
        """
        cutoff = None if max_age_seconds is None else now - max_age_seconds  # as SQLite computes it
        streams = list(self._rooms.values()) + list(self._private_streams.values())
        dropped = sum(s.prune(max_messages_per_room, cutoff) for s in streams)
        horizon = now - self._cid_window
        self._cids = {k: v for k, v in self._cids.items() if v[1] >= horizon}
        self._expire_tokens(now)
        self._expire_bans(now)
        self._expire_marks(now)
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
