# -*- test-case-name: tests.core.test_events -*-
"""
Events: the immutable values the core hands to every front end, one small
class per kind of event (as wsproto's events are), each with only the
fields it has.  C{type} is the event's name on the wire (docs/protocol.md
has a table of fields per type); codecs dispatch on it.

An event that is fanned out to a room is encoded once per wire format:
L{Event.encoded} caches each codec's bytes on the event, so ten thousand
members cost one encoding and ten thousand writes.

Numbering: L{Message} and L{Action} carry an C{id} handed out by the store,
increasing by one per room and across restarts (the room's stream
position).  Presence events (join, part, quit, nick, topic, kick) are not
stored, so they are not numbered.
"""

from dataclasses import dataclass, field
from typing import Callable, ClassVar, Dict, Optional, Tuple, Type

#: Wire names of the event types.
MESSAGE = "message"
ACTION = "action"
JOIN = "join"
PART = "part"
QUIT = "quit"
NICK = "nick"
TOPIC = "topic"
KICK = "kick"
PRIVATE = "private"
NOTICE = "notice"
MEMBERS = "members"
ROOMS = "rooms"
HISTORY = "history"

#: Types that are stored and numbered.
NUMBERED = frozenset({MESSAGE, ACTION})

_event = dataclass(frozen=True, slots=True, eq=False, kw_only=True)


@_event
class Event:
    """
    Something that happened, as every front end will render it.

    Fields a type does not have read as C{None} (C{room}, C{nick}, C{id}),
    so code that routes events can ask any event where it belongs.

    @ivar ts: UTC time as POSIX seconds, from the core's injected clock.
    """

    type: ClassVar[str] = ""
    room = None
    nick = None
    id = None
    ts: float = 0.0
    _cache: dict = field(default_factory=dict, init=False, repr=False)

    def encoded(self, codec: Callable[["Event"], bytes]) -> bytes:
        """
        Return C{codec(self)}, computing it at most once per codec.

        Codecs are plain functions (or bound methods of a per-format encoder)
        and are used as cache keys, so every member served by the same codec
        shares the same bytes.
        """
        cache = self._cache
        data = cache.get(codec)
        if data is None:
            data = cache[codec] = codec(self)
        return data


# -- stored and numbered -------------------------------------------------------


@_event
class Message(Event):
    """Said in a room.  C{cid} is its sender's own id for it, if given."""

    type: ClassVar[str] = MESSAGE
    room: str
    nick: str
    text: str
    id: Optional[int] = None
    cid: Optional[str] = None


@_event
class Action(Message):
    """Acted in a room (C{/me waves}); the same fields as L{Message}."""

    type: ClassVar[str] = ACTION


# -- presence in a room ----------------------------------------------------------


@_event
class Join(Event):
    type: ClassVar[str] = JOIN
    room: str
    nick: str


@_event
class Departure(Event):
    """C{nick} left C{room}, for C{reason} if it gave one."""

    room: str
    nick: str
    reason: Optional[str] = None


@_event
class Part(Departure):
    type: ClassVar[str] = PART


@_event
class Quit(Departure):
    """A member left the server; sent to each room it was in."""

    type: ClassVar[str] = QUIT


@_event
class Kick(Departure):
    """C{nick} was put out of C{room} by C{by} (an operator, or the server)."""

    type: ClassVar[str] = KICK
    by: str


@_event
class Topic(Event):
    """A room's topic: set (broadcast) or read (a reply); C{nick} set it."""

    type: ClassVar[str] = TOPIC
    room: str
    topic: str
    nick: Optional[str] = None


@_event
class Nick(Event):
    """C{old} is now known as C{nick}; C{old} is None for a first nick."""

    type: ClassVar[str] = NICK
    nick: str
    old: Optional[str] = None


# -- to one or two sessions --------------------------------------------------------


@_event
class Private(Event):
    type: ClassVar[str] = PRIVATE
    nick: str
    to: str
    text: str


@_event
class Notice(Event):
    """A server notice (an operator's broadcast), from C{nick}."""

    type: ClassVar[str] = NOTICE
    nick: str
    text: str


@_event
class Members(Event):
    """A room's members and its topic; C{nick} set the topic."""

    type: ClassVar[str] = MEMBERS
    room: str
    nicks: Tuple[str, ...]
    topic: str = ""
    nick: Optional[str] = None


@dataclass(frozen=True, slots=True)
class RoomInfo:
    """One row of a room listing."""

    name: str
    members: int
    topic: str


@_event
class Rooms(Event):
    type: ClassVar[str] = ROOMS
    rooms: Tuple[RoomInfo, ...] = ()


@_event
class History(Event):
    """
    Stored messages of a room, oldest first.  C{truncated}: some that were
    asked for are not here (older than the page, pruned, or more than a
    resume replays).
    """

    type: ClassVar[str] = HISTORY
    room: str
    messages: Tuple[Event, ...] = ()
    truncated: bool = False


#: Event classes by wire type.
BY_TYPE: Dict[str, Type[Event]] = {
    cls.type: cls
    for cls in (Message, Action, Join, Part, Quit, Kick, Topic, Nick, Private, Notice, Members, Rooms, History)
}


def stored(type: str, room: str, nick: str, text: str, id: int, ts: float, cid: Optional[str] = None) -> Event:
    """A stored message or action as the store hands it back."""
    cls = Action if type == ACTION else Message
    return cls(room=room, nick=nick, text=text, id=id, ts=ts, cid=cid)
