# -*- test-case-name: tests.core.test_hub -*-
"""
The hub: one node's rooms and sessions, wired to the store, the room bus
and presence.

One process is one node.  What several nodes would share sits behind
interfaces: the store (L{IStore}: messages, room records), the room bus
(L{chatd.core.bus.IRoomBus}: room events) and presence
(L{chatd.core.presence.IPresence}: nicks, membership, the room list).  The
hub keeps what is this node's alone: its sessions, and a L{Room} with a
feed for each room that has members here.
"""

from collections import Counter
from typing import Dict, List, Optional

from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger

from chatd.core import events as ev
from chatd.core.bus import LocalBus
from chatd.core.feed import RoomFeed
from chatd.core.interfaces import ISink, IStore
from chatd.core.presence import LocalPresence
from chatd.core.room import Deliver, Room
from chatd.core.rules import Rules
from chatd.core.session import Session
from chatd.core.text import check_nick, check_room

log = Logger(namespace="chatd.hub")


class Hub:
    """
    @param clock: anything with C{seconds()} and C{callLater()}: the reactor
        in production, a L{twisted.internet.task.Clock} in tests.
    @param store: the L{IStore} that numbers and keeps messages and rooms.
    @param rules: the L{Rules} in force.
    @param bus: the room bus; a L{LocalBus} by default (one node).
    @param presence: presence; a L{LocalPresence} by default (one node).
    """

    def __init__(self, clock, store: IStore, rules: Rules = Rules(), name: str = "chatd", bus=None,
                 presence=None) -> None:
        self.clock = clock
        self.store = store
        self.rules = rules
        self.name = name
        self.bus = bus if bus is not None else LocalBus()
        self.presence = presence if presence is not None else LocalPresence(self)
        #: Rooms with members on this node, by folded name.
        self.rooms: Dict[str, Room] = {}
        self.sessions: set = set()
        self.shutting_down = False
        #: Counters for metrics, read at scrape time: "messages_received",
        #: "deliveries", "rate_limited", "flood_disconnects", "slow_dropped",
        #: "bus_repeats", "bus_gaps", "error:CODE", "bytes_out:FRONTEND",
        #: "connections_refused:REASON".
        self.stats: Counter = Counter()
        self._opening: Dict[Room, List[Deferred]] = {}

    def connect(self, sink: ISink, peer: str = "", frontend: str = "", host: Optional[str] = None) -> Session:
        """
        Start a session for a newly connected client.

        @param peer: the client's address as logs show it.
        @param frontend: the front end's name, for logs.
        @param host: the client's IP address (for bans), None if it has none.
        """
        session = Session(self, sink, peer, frontend, host)
        self.sessions.add(session)
        return session

    def now(self) -> float:
        return self.clock.seconds()

    # -- rooms --------------------------------------------------------------------

    def room(self, name: str) -> Optional[Room]:
        """The room called C{name} with members on this node, or C{None}; C{name} is checked."""
        return self.rooms.get(check_room(name))

    def open_room(self, name: str, key: str) -> Room:
        """
        The room with members on this node, made if it has none yet: it is
        subscribed to the bus at once (nothing published from now on is
        missed) and its record is loaded from the store; until then its
        feed holds what arrives (L{opened}).
        """
        room = self.rooms.get(key)
        if room is not None:
            return room
        room = self.rooms[key] = Room(name, key, stats=self.stats)
        room.feed = RoomFeed(room, self)
        self._opening[room] = []
        self.bus.subscribe(key, room.feed.receive)
        self.store.room(name).addCallbacks(self._loaded, self._unloaded, callbackArgs=(room,), errbackArgs=(room,))
        return room

    def opened(self, room: Room) -> Deferred:
        """A Deferred that fires once C{room}'s record is loaded (at once if it is)."""
        waiting = self._opening.get(room)
        if waiting is None:
            return succeed(room)
        d: Deferred = Deferred()
        waiting.append(d)
        return d

    def _loaded(self, record, room: Room) -> None:
        if record is not None:
            room.topic, room.topic_by, room.settings = record.topic, record.topic_by, record.settings
        room.feed.start(record.last_id if record is not None else 0)
        for d in self._opening.pop(room, ()):
            d.callback(room)

    def _unloaded(self, failure, room: Room) -> None:
        log.failure("Could not load the record of room {room} from the history store; its topic is not shown "
                    "until it is opened again", failure, room=room.name)
        room.feed.start(None)
        for d in self._opening.pop(room, ()):
            d.callback(room)

    def close_room_if_empty(self, room: Room) -> None:
        """The last local member left: stop following the room (its record stays in the store)."""
        if not room.members and self.rooms.get(room.key) is room:
            del self.rooms[room.key]
            self.bus.unsubscribe(room.key)

    def members_of_rooms(self, session) -> Dict[object, Deliver]:
        """Everyone who shares a room with C{session}, each once."""
        targets: Dict[object, Deliver] = {}
        for room in session.rooms.values():
            targets.update(room.members)
        return targets

    # -- sessions ----------------------------------------------------------------------

    def count_error(self, code: str) -> None:
        """Each error sent to a client, by code, for the metrics."""
        self.stats["error:" + code] += 1

    def find(self, nick: str) -> Optional[Session]:
        """The session on this node holding C{nick} (checked and folded), or None."""
        key = check_nick(nick)
        for session in self.sessions:
            if session.key == key:
                return session
        return None

    def notice(self, text: str) -> None:
        """Send a server notice to every session (operator broadcast)."""
        event = ev.Notice(text=text, nick=self.name, ts=self.now())
        for session in tuple(self.sessions):
            session.sink.deliver(event)

    def kick(self, session: Session, reason: Optional[str], by: str = "an operator",
             farewell: Optional[str] = None) -> None:
        """
        Put C{session} out: each of its rooms (and the session) gets a
        C{kick} event naming C{by} and C{reason}, then it is disconnected
        with C{farewell}, by default "Kicked by BY: REASON".
        """
        session.kicked(by, reason)
        farewell = farewell or f"Kicked by {by}" + (f": {reason}" if reason else ".")
        session.sink.disconnect(farewell)
        session.close(farewell)

    def shutdown(self, reason: str) -> None:
        """
        Tell every session C{reason} and disconnect it.  Sessions closing
        now send no C{quit} events: everyone is leaving, and a client's
        last event should be the reason, not a list of departures.
        """
        self.shutting_down = True
        for session in tuple(self.sessions):
            session.sink.disconnect(reason)

    def forget(self, session: Session) -> None:
        """Called by a closing session once it has left its rooms."""
        self.sessions.discard(session)
        self.presence.release(session)


__all__: List[str] = ["Hub"]
