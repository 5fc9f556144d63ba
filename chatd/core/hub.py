# -*- test-case-name: tests.core.test_hub -*-
"""
The hub: every room, every nick, every session of one chatd process.
"""

from collections import Counter
from typing import Dict, List, Optional

from chatd.core.events import NOTICE, ROOMS, Event, RoomInfo
from chatd.core.interfaces import ISink, IStore
from chatd.core.room import Deliver, Room
from chatd.core.rules import Rules
from chatd.core.session import Session
from chatd.core.text import check_room

class Hub:
    """
    Rooms, the nick registry and sessions.

    @param clock: anything with C{seconds()}: the reactor in production, a
        L{twisted.internet.task.Clock} in tests.
    @param store: the L{IStore} that numbers and keeps messages.
    @param rules: the L{Rules} in force.
    """

    def __init__(self, clock, store: IStore, rules: Rules = Rules(), name: str = "chatd") -> None:
        self.clock = clock
        self.store = store
        self.rules = rules
        self.name = name
        self.rooms: Dict[str, Room] = {}
        self.nicks: Dict[str, object] = {}
        #: Sessions by the look-alike key of their nick (L{skeleton}).
        self.lookalikes: Dict[str, object] = {}
        self.sessions: set = set()
        self.shutting_down = False
        #: Counters for metrics, read at scrape time: "messages_received",
        #: "deliveries", "rate_limited", "slow_dropped", "error:CODE",
        #: "bytes_out:FRONTEND", "connections_refused:REASON".
        self.stats: Counter = Counter()

    def connect(self, sink: ISink, peer: str = "", frontend: str = ""):
        """
        Start a session for a newly connected client.

        @param peer: the client's address, for logs and per-address limits.
        @param frontend: the front end's name, for logs.
        """
        session = Session(self, sink, peer, frontend)
        self.sessions.add(session)
        return session

    def now(self) -> float:
        return self.clock.seconds()

    def room(self, name: str) -> Optional[Room]:
        """The live room called C{name}, or C{None}; C{name} is checked."""
        return self.rooms.get(check_room(name))

    def open_room(self, name: str, key: str) -> Room:
        """Return the live room, creating it (with its stored topic)."""
        room = self.rooms.get(key)
        if room is None:
            topic, setter = self.store.topic(name)
            room = self.rooms[key] = Room(name, key, topic, setter, self.stats)
        return room

    def close_room_if_empty(self, room: Room) -> None:
        if not room.members and self.rooms.get(room.key) is room:
            del self.rooms[room.key]

    def list_rooms(self) -> Event:
        """The C{rooms} event: every room with members, sorted by name."""
        rows = tuple(
            RoomInfo(r.name, len(r.members), r.topic)
            for r in sorted(self.rooms.values(), key=lambda r: r.key)
        )
        return Event(ROOMS, rooms=rows, ts=self.now())

    def count_error(self, code: str) -> None:
        """Front ends report each error they send, for the metrics."""
        self.stats["error:" + code] += 1

    def notice(self, text: str) -> None:
        """Send a server notice to every session (operator broadcast)."""
        event = Event(NOTICE, text=text, nick=self.name, ts=self.now())
        for session in tuple(self.sessions):
            session.sink.deliver(event)

    def shutdown(self, reason: str) -> None:
        """
        Tell every session C{reason} and disconnect it.  Sessions closing
        now send no C{quit} events: everyone is leaving, and a client's
        last event should be the reason, not a list of departures.
        """
        self.shutting_down = True
        for session in tuple(self.sessions):
            session.sink.disconnect(reason)

    def forget(self, session) -> None:
        """Called by a closing session once it has left its rooms."""
        self.sessions.discard(session)
        if session.key is not None and self.nicks.get(session.key) is session:
            del self.nicks[session.key]
        if session.look is not None and self.lookalikes.get(session.look) is session:
            del self.lookalikes[session.look]

    def members_of_rooms(self, session) -> Dict[object, Deliver]:
        """Everyone who shares a room with C{session}, each once."""
        targets: Dict[object, Deliver] = {}
        for room in session.rooms.values():
            targets.update(room.members)
        return targets


__all__: List[str] = ["Hub"]
