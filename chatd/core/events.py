# -*- test-case-name: tests.core.test_events -*-
"""
Events: the immutable values the core hands to every front end.

One L{Event} class with a C{type} discriminator keeps the codecs simple: a
codec looks at C{type} and reads the fields that type uses (table in
docs/protocol.md).  An event that is fanned out to a room is encoded once
per wire format: L{Event.encoded} caches each codec's bytes on the event,
so ten thousand members cost one encoding and ten thousand writes.

Numbering: C{message} and C{action} events carry an C{id} handed out by the
store, increasing per room and across restarts (the room's stream
position).  Presence events (join, part, quit, nick, topic) are not
stored, so they are not numbered and their C{id} is C{None}.
"""

from dataclasses import dataclass, field
from typing import Callable, Optional, Tuple

#: Event types fanned out to the members of a room.
MESSAGE = "message"
ACTION = "action"
JOIN = "join"
PART = "part"
QUIT = "quit"
NICK = "nick"
TOPIC = "topic"
#: Event types delivered to one or two sessions.
PRIVATE = "private"
NOTICE = "notice"
MEMBERS = "members"
ROOMS = "rooms"
HISTORY = "history"

#: Types that are stored and numbered.
NUMBERED = frozenset({MESSAGE, ACTION})


@dataclass(frozen=True, slots=True)
class RoomInfo:
    """One row of a room listing."""

    name: str
    members: int
    topic: str


@dataclass(frozen=True, slots=True, eq=False)
class Event:
    """
    Something that happened, as every front end will render it.

    @ivar type: one of the module's type constants.
    @ivar room: the room it happened in, or C{None} (nick, private, notice).
    @ivar nick: who did it: sender, joiner, leaver, new nick, topic setter.
    @ivar text: message, action or private text; a part/quit reason lives
        in C{reason}; a topic in C{topic}.
    @ivar id: per-room stream position of a message or action, else C{None}.
    @ivar ts: UTC time as POSIX seconds, from the core's injected clock.
    """

    type: str
    room: Optional[str] = None
    nick: Optional[str] = None
    text: Optional[str] = None
    id: Optional[int] = None
    ts: float = 0.0
    old: Optional[str] = None
    to: Optional[str] = None
    reason: Optional[str] = None
    topic: Optional[str] = None
    nicks: Tuple[str, ...] = ()
    rooms: Tuple[RoomInfo, ...] = ()
    messages: Tuple["Event", ...] = ()
    truncated: bool = False
    #: The client message id its sender gave, if any (lets the sender match
    #: its own message to the pending copy it shows); every member sees it.
    cid: Optional[str] = None
    _cache: dict = field(default_factory=dict, repr=False)

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
