# -*- test-case-name: tests.core.test_cluster -*-
"""
Directives: what one node asks another to do to the users it serves.

A user's connections live on the nodes they connected to; only those nodes
can write to them, close them or move them between rooms.  When a rule
needs to act on a user elsewhere (a private message, a kick, a kill, a
nick taken back from a squatter), the core sends a directive to the nodes
that hold the user (L{chatd.core.interfaces.INodes}), and each obeys it
for its own connections (L{chatd.core.hub.Hub.obey}).  A directive for
every node (an announcement, a server ban) has no user.

One small class per directive, like events; C{kind} names it on the wire.
"""

from dataclasses import dataclass
from typing import ClassVar, Dict, Optional, Tuple, Type

from chatd.core.events import Event

_directive = dataclass(frozen=True, slots=True, kw_only=True)


@_directive
class Directive:
    kind: ClassVar[str] = ""


@_directive
class ToUser(Directive):
    """Hand C{event} (a private message, an invitation, a notice) to every connection of C{uid}."""

    kind: ClassVar[str] = "to-user"
    uid: str
    event: Event


@_directive
class Disconnect(Directive):
    """Close every connection of C{uid}, telling it C{reason} (kill, ghost, ban, a dropped account)."""

    kind: ClassVar[str] = "disconnect"
    uid: str
    reason: str


@_directive
class KickOut(Directive):
    """Put C{uid}'s connections out of C{room}: the room hears a C{kick} by C{by}."""

    kind: ClassVar[str] = "kick-out"
    uid: str
    room: str
    by: str
    reason: Optional[str] = None


@_directive
class ToGuest(Directive):
    """Rename C{uid} to a guest nick, telling it C{why} (its nick's account logged in)."""

    kind: ClassVar[str] = "to-guest"
    uid: str
    why: str


@_directive
class Enter(Directive):
    """C{uid} (an account's user) joined C{room} on another node: its connections here join too."""

    kind: ClassVar[str] = "enter"
    uid: str
    room: str


@_directive
class Leave(Directive):
    """
    C{uid} left C{room} on another node (a part or a kick): its
    connections here leave too, and the node that removes the user's last
    membership publishes C{event} to the room.
    """

    kind: ClassVar[str] = "leave"
    uid: str
    room: str
    event: Event


@_directive
class Renamed(Directive):
    """
    C{uid} is now called C{nick} (for every node): a node rename its own
    connections of the user, and tells its members of C{rooms} (folded
    names) C{event}, once each.
    """

    kind: ClassVar[str] = "renamed"
    uid: str
    nick: str
    key: str
    look: str
    rooms: Tuple[str, ...]
    event: Event


@_directive
class Announce(Directive):
    """A server operator's notice to everyone (for every node)."""

    kind: ClassVar[str] = "announce"
    event: Event


@_directive
class ServerBansChanged(Directive):
    """
    The server bans changed (for every node): read them again from the
    store and disconnect the connections a new ban covers, telling them
    C{reason}.
    """

    kind: ClassVar[str] = "server-bans"
    reason: str


#: Every directive class by its C{kind}.
BY_KIND: Dict[str, Type[Directive]] = {
    cls.kind: cls for cls in (ToUser, Disconnect, KickOut, ToGuest, Enter, Leave, Renamed, Announce, ServerBansChanged)
}
