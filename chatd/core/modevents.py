# -*- test-case-name: tests.core.test_events -*-
"""
Moderation's events: roles, modes, bans, mutes, invitations, deletions,
registered rooms, and the listings moderators ask for.  Re-exported by
L{chatd.core.events}, where every front end finds them.
"""

from dataclasses import dataclass
from typing import ClassVar, Optional, Tuple

from chatd.core.eventbase import (
    BAN, BANS, DELETE, INVITE, MODE, MODES, MUTE, ROLE, ROOM, UNBAN, UNMUTE, WHOIS, Event, _event,
)


@_event
class Role(Event):
    """C{nick} now has C{role} (C{founder}, C{operator}, C{voice}, or C{member}) in C{room}, by C{by}."""

    type: ClassVar[str] = ROLE
    room: str
    nick: str
    role: str
    by: str


@_event
class ModeChange(Event):
    """C{nick} changed the room's modes (C{+t}, C{-i}, C{+k} with its key in C{arg}, ...)."""

    type: ClassVar[str] = MODE
    room: str
    nick: str
    modes: str
    arg: Optional[str] = None


@_event
class BanSet(Event):
    """C{mask} is banned from C{room} (C{room} None: the whole server) until C{until} (None: for ever)."""

    type: ClassVar[str] = BAN
    room: Optional[str]
    mask: str
    by: str
    reason: Optional[str] = None
    until: Optional[float] = None


@_event
class BanLifted(Event):
    type: ClassVar[str] = UNBAN
    room: Optional[str]
    mask: str
    by: str


@_event
class Muted(Event):
    """C{nick} can read C{room} but not speak, until C{until} (None: until unmuted)."""

    type: ClassVar[str] = MUTE
    room: str
    nick: str
    by: str
    until: Optional[float] = None


@_event
class Unmuted(Event):
    type: ClassVar[str] = UNMUTE
    room: str
    nick: str
    by: str


@_event
class Invited(Event):
    """C{nick} invited C{to} into C{room} (sent to both)."""

    type: ClassVar[str] = INVITE
    room: str
    nick: str
    to: str


@_event
class Deleted(Event):
    """
    Message C{message} (its id) of C{room} was deleted by C{by}: show it
    as deleted.  The event is not itself numbered: its C{id} is None, as
    every presence event's, so a room's feed delivers it as it comes.
    """

    type: ClassVar[str] = DELETE
    room: str
    message: int
    by: str


@_event
class RoomChanged(Event):
    """C{room} was registered (C{founder} its founder), transferred to C{founder}, or dropped, by C{by}."""

    type: ClassVar[str] = ROOM
    room: str
    action: str
    by: str
    founder: Optional[str] = None


@_event
class Modes(Event):
    """A room's modes (the answer to C{mode} without flags): C{+mt}, its key and limit."""

    type: ClassVar[str] = MODES
    room: str
    modes: str
    key: Optional[str] = None
    limit: Optional[int] = None
    founder: Optional[str] = None


@dataclass(frozen=True, slots=True)
class BanInfo:
    """One ban of a listing."""

    mask: str
    by: str
    reason: Optional[str]
    since: float
    until: Optional[float]


@_event
class BanList(Event):
    type: ClassVar[str] = BANS
    room: Optional[str]
    bans: Tuple[BanInfo, ...] = ()


@_event
class WhoIs(Event):
    """Who C{nick} is; C{address} only for server operators."""

    type: ClassVar[str] = WHOIS
    nick: str
    account: Optional[str] = None
    rooms: Tuple[str, ...] = ()
    address: Optional[str] = None
    operator: bool = False
    #: Its away message, if it is away.
    away: Optional[str] = None
