# -*- test-case-name: tests.core.test_presence -*-
"""
Who is online: nick ownership, room membership and the room list.

Behind L{IPresence}, so that several nodes can share it (a Redis
implementation answers for the whole cluster); every method that would
need a round trip there returns a Deferred.  L{LocalPresence} is the
one-process implementation: it owns the nick registry and reads
membership from the hub's live rooms, where every member is local.
"""

from typing import Dict, Optional

from twisted.internet.defer import Deferred, fail, succeed
from zope.interface import Interface, implementer

from chatd.core.errors import NickInUse
from chatd.core.events import RoomInfo
from chatd.core.text import fold


class IPresence(Interface):
    """Nicks, membership and rooms as every node sees them."""

    def claim(user, nick, key, look):
        """
        Give C{nick} (folded C{key}, look-alike key C{look}) to C{user} (a
        L{chatd.core.users.User}), releasing the nick it held.

        @return: Deferred firing when it is C{user}'s, or failing with
            L{NickInUse} naming the nick that holds C{key} or looks like it.
        """

    def release(user):
        """C{user} has gone: its nick is free."""

    def find(key):
        """Deferred firing with the user holding folded nick C{key}, or None."""

    def enter(room_key, session):
        """C{session} (a connection of a user) is now a member of the room."""

    def leave(room_key, session):
        """C{session} is no longer a member of the room."""

    def members(room_key):
        """Deferred firing with the nicks in the room, sorted, or None if nobody is in it."""

    def rooms():
        """Deferred firing with a L{RoomInfo} per room with members, sorted by name."""


@implementer(IPresence)
class LocalPresence:
    """
    Presence for one process.

    @param hub: the hub whose live rooms hold every member.
    """

    def __init__(self, hub) -> None:
        self.hub = hub
        self._nicks: Dict[str, object] = {}
        self._looks: Dict[str, object] = {}

    def claim(self, user, nick: str, key: str, look: str) -> Deferred:
        holder = self._nicks.get(key)
        if holder is not None and holder is not user:
            return fail(NickInUse(f"The nick {nick} is taken (by {holder.nick}); choose another."))
        twin = self._looks.get(look)
        if twin is not None and twin is not user:
            return fail(NickInUse(f"The nick {nick} looks like {twin.nick}, who is online; choose another."))
        self.release(user)
        self._nicks[key] = self._looks[look] = user
        return succeed(None)

    def release(self, user) -> None:
        if user.key is not None and self._nicks.get(user.key) is user:
            del self._nicks[user.key]
        if user.look is not None and self._looks.get(user.look) is user:
            del self._looks[user.look]

    def find(self, key: str) -> Deferred:
        return succeed(self._nicks.get(key))

    def holder(self, key: str) -> Optional[object]:
        """The user holding C{key}, now (this process knows it without asking)."""
        return self._nicks.get(key)

    def enter(self, room_key: str, session) -> None:
        """Membership is the hub's rooms themselves: nothing to record."""

    def leave(self, room_key: str, session) -> None:
        """Likewise."""

    def members(self, room_key: str) -> Deferred:
        room = self.hub.rooms.get(room_key)
        if room is None or not room.members:
            return succeed(None)
        return succeed(tuple(sorted({s.nick for s in room.members}, key=fold)))

    def rooms(self) -> Deferred:
        live = sorted((r for r in self.hub.rooms.values() if r.members), key=lambda r: r.key)
        return succeed(tuple(RoomInfo(r.name, len({s.user for s in r.members}), r.topic) for r in live))
