# -*- test-case-name: tests.core.test_events -*-
"""
What every event is: its wire type's name, the base class with the
fields every event may be asked for, and the one-encoding-per-codec
cache.  L{chatd.core.events} has the events themselves.
"""

from dataclasses import dataclass, field
from typing import Callable, ClassVar

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
ROLE = "role"
MODE = "mode"
BAN = "ban"
UNBAN = "unban"
MUTE = "mute"
UNMUTE = "unmute"
INVITE = "invite"
DELETE = "delete"
ROOM = "room"
MODES = "modes"
BANS = "bans"
WHOIS = "whois"
PRIVATES = "privates"
ACCOUNT = "account"
AWAY = "away"
REACT = "react"
UNREACT = "unreact"
TYPING = "typing"
READ = "read"

#: Types that are stored and numbered.
NUMBERED = frozenset({MESSAGE, ACTION, REACT, UNREACT})

#: What L{chatd.core.events} re-exports.
__all__ = [
    "MESSAGE", "ACTION", "JOIN", "PART", "QUIT", "NICK", "TOPIC", "KICK", "PRIVATE", "NOTICE", "MEMBERS",
    "ROOMS", "HISTORY", "ROLE", "MODE", "BAN", "UNBAN", "MUTE", "UNMUTE", "INVITE", "DELETE", "ROOM", "MODES",
    "BANS", "WHOIS", "PRIVATES", "ACCOUNT", "AWAY", "REACT", "UNREACT", "TYPING", "READ", "NUMBERED",
    "Event",
]

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
