# -*- test-case-name: tests.core.test_presence -*-
"""
Who is online: nick ownership, room membership and the room list.

Behind L{IPresence}, so that several nodes can share it (a Redis
implementation answers for the whole cluster); every method that would
need a round trip there returns a Deferred.  L{LocalPresence} is the
one-process implementation: it owns the nick registry and reads
membership from the hub's live rooms, where every member is local.

Presence knows users, not connections: a user (L{chatd.core.users.User})
is named by its C{uid}, the same on every node where it has connections
(an account's user, logged in from several places).  What presence answers
about a user, wherever it is, is a L{Person}.
"""

from dataclasses import dataclass
from typing import Dict, FrozenSet, NamedTuple, Optional, Tuple

from twisted.internet.defer import Deferred, fail, succeed
from zope.interface import Interface, implementer

from chatd.core.errors import NickInUse
from chatd.core.events import RoomInfo
from chatd.core.text import fold


@dataclass(frozen=True)
class Person:
    """
    A user as the whole cluster sees it: enough to name it, to judge it
    (its account) and to reach it (the nodes holding its connections).

    @ivar rooms: the display names of the rooms it is in.
    @ivar hosts: the addresses it connects from (server operators see them).
    @ivar away: its away message, None unless it is away.
    """

    uid: str
    nick: str
    key: str
    look: str
    account: Optional[str] = None
    account_name: Optional[str] = None
    nodes: FrozenSet[str] = frozenset()
    rooms: Tuple[str, ...] = ()
    hosts: Tuple[str, ...] = ()
    away: Optional[str] = None


class Member(NamedTuple):
    """One user in a room, as C{members} lists it; C{away}: its away message, if it is away."""

    nick: str
    account: Optional[str]
    away: Optional[str] = None


def away_of(members) -> Tuple[str, ...]:
    """The nicks of the C{members} (L{Member}s) that are away, as C{members} events list them."""
    return tuple(m.nick for m in members if m.away)


class Entered(NamedTuple):
    """What L{IPresence.enter} answers."""

    #: The user was not in the room before (through any connection, on any node).
    first: bool
    #: Nobody else was in the room.
    alone: bool


class IPresence(Interface):
    """Nicks, membership and rooms as every node sees them."""

    def claim(user, nick, key, look, take=False):
        """
        Give C{nick} (folded C{key}, look-alike key C{look}) to C{user} (a
        L{chatd.core.users.User}), releasing the nick it held.  A user
        holding a nick on several nodes claims it once: its C{uid} holds it.

        @param take: the nick's account logged in: it gets its nick even
            from another holder (who is being renamed, L{chatd.core.hub.Hub.to_guest}).
        @return: Deferred firing when it is C{user}'s, or failing with
            L{NickInUse} naming the nick that holds C{key} or looks like it.
        """

    def release(user):
        """C{user} has no connection left on this node: its nick is free if it has none anywhere."""

    def rekey(user, old_uid):
        """C{user} was called C{old_uid} until now (it logged in or out): what it holds moves to its new C{uid}."""

    def find(key):
        """Deferred firing with the L{Person} holding folded nick C{key}, or None."""

    def person(uid):
        """Deferred firing with the L{Person} called C{uid}, or None if it has no connection."""

    def enter(room_key, session, again=False):
        """
        C{session} (a connection of a user) is now a member of the room.

        @param again: presence lost the user (L{chatd.core.reach.Reach.register_again}):
            record the membership even if another connection of the user on
            this node is in the room.
        @return: Deferred firing with L{Entered}.
        """

    def leave(room_key, session):
        """
        C{session} is no longer a member of the room.

        @return: Deferred firing with whether that was its user's last
            connection in the room (anywhere): the room should hear it left.
        """

    def members(room_key):
        """Deferred firing with the room's L{Member}s sorted by nick, or None if nobody is in it."""

    def member(room_key, key):
        """Deferred firing with the L{Person} holding folded nick C{key} if it is in the room, else None."""

    def rooms():
        """Deferred firing with a L{RoomInfo} per room with members, sorted by name."""

    def set_away(user, away):
        """
        C{user} (a local L{chatd.core.users.User}) is away with the message
        C{away}, or back (None), for every node.

        @return: Deferred firing with the away message it had until now
            (None: it was not away), as the whole cluster knew it.
        """


def person_of(user, node: str) -> Optional[Person]:
    """A local user as presence answers for it."""
    if user is None or not user.sessions or user.nick is None:
        return None
    first = user.sessions[0]
    return Person(uid=user.uid, nick=user.nick, key=user.key, look=user.look, account=user.account,
                  account_name=user.account_name, nodes=frozenset((node,)),
                  rooms=tuple(room.name for room in first.rooms.values()),
                  hosts=tuple(dict.fromkeys(s.host or s.peer for s in user.sessions)), away=user.away)


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

    def claim(self, user, nick: str, key: str, look: str, take: bool = False) -> Deferred:
        if not take:
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

    def rekey(self, user, old_uid: str) -> Deferred:
        """Users are held as themselves here, not by uid: nothing moves."""
        return succeed(None)

    def find(self, key: str) -> Deferred:
        return succeed(person_of(self._nicks.get(key), self.hub.node))

    def person(self, uid: str) -> Deferred:
        return succeed(person_of(self.hub.users.get(uid), self.hub.node))

    def enter(self, room_key: str, session, again: bool = False) -> Deferred:
        room = self.hub.rooms[room_key]
        others = [member.user for member in room.members if member is not session]
        return succeed(Entered(first=session.user not in others, alone=not others))

    def leave(self, room_key: str, session) -> Deferred:
        room = self.hub.rooms.get(room_key)
        user = session.user
        return succeed(room is None or not any(member.user is user for member in room.members))

    def members(self, room_key: str) -> Deferred:
        room = self.hub.rooms.get(room_key)
        if room is None or not room.members:
            return succeed(None)
        users = {s.user: Member(s.nick, s.user.account, s.user.away) for s in room.members}
        return succeed(tuple(sorted(users.values(), key=lambda m: fold(m.nick))))

    def member(self, room_key: str, key: str) -> Deferred:
        room = self.hub.rooms.get(room_key)
        for session in room.members if room is not None else ():
            if session.key == key:
                return succeed(person_of(session.user, self.hub.node))
        return succeed(None)

    def rooms(self) -> Deferred:
        live = sorted((r for r in self.hub.rooms.values() if r.members), key=lambda r: r.key)
        return succeed(tuple(RoomInfo(r.name, len({s.user for s in r.members}), r.topic) for r in live))

    def set_away(self, user, away: Optional[str]) -> Deferred:
        """Every connection of a user is on this node: the user holds its away message."""
        old, user.away = user.away, away
        return succeed(old)
