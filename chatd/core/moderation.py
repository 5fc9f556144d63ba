# -*- test-case-name: tests.core.test_moderation -*-
"""
Registered rooms, roles, modes and who may do what in a room
(docs/accounts.md).

A room is registered by an account, its founder; roles (founder,
operator, voice) belong to accounts and apply whenever they join.  An
unregistered room gives nobody rights: being first into an empty room
makes nobody its owner.  Server operators may do everything everywhere.
The checks here are called by the joining and talking rules, and the
room commands (kick, ban, mute, modes, ...) are in L{chatd.core.roomops}.
"""

from typing import Optional, Tuple

from twisted.internet.defer import Deferred, succeed

from chatd.core.errors import BadKey, Banned, InviteOnly, Muted, NotOperator, NotRegisteredRoom, RoomFull
from chatd.core.masks import parse as parse_mask

#: Roles, weakest first.
ROLES = ("voice", "operator", "founder")
LEVEL = {None: 0, "voice": 1, "operator": 2, "founder": 3}
#: The modes a registered room may have, and their settings' names.
FLAGS = {"m": "moderated", "i": "invite-only", "t": "topic-locked", "k": "key", "l": "limit"}


def muted_as(user) -> str:
    """
    Whom a mute names (a mark's C{who}): the account, when the user is
    logged in (a mute follows it to every connection and nick); else the
    user itself, by uid (a nick change does not escape it, and the next
    holder of the nick does not inherit it).  C{user} is a local
    L{chatd.core.users.User} or a L{chatd.core.presence.Person}.
    """
    return "~a:" + user.account if user.account is not None else "~u:" + user.uid


def invited_as(user) -> Tuple[str, ...]:
    """Whom an invitation names: the nick, and the account if logged in."""
    return ("~n:" + user.key,) + (("~a:" + user.account,) if user.account is not None else ())


def roles_shown(room, members) -> Tuple[Tuple[str, str], ...]:
    """The C{members} (L{chatd.core.presence.Member}s) of C{room} with a role, as (nick, role)."""
    if not registered(room) or not room.roles:
        return ()
    roles = room.roles
    return tuple(sorted((m.nick, roles[m.account]) for m in members if m.account is not None and m.account in roles))


def registered(room) -> bool:
    return bool(room.settings.get("registered"))


def modes_of(room) -> str:
    """The room's modes as IRC flags: C{+imt}, with C{k} and C{l} when set."""
    flags = "".join(flag for flag in "imtkl" if room.settings.get(flag))
    return "+" + flags if flags else ""


class Moderation:
    """Who may do what in a room, as methods of L{chatd.core.session.Session}."""

    __slots__ = ()

    def role_in(self, room) -> Optional[str]:
        """This user's role in C{room}: its account's, if the room is registered."""
        account = self.user.account
        if account is None or not registered(room):
            return None
        return room.roles.get(account)

    def need_level(self, room, role: str, what: str) -> None:
        """
        Refuse unless this user has C{role} or better in C{room}, or is a
        server operator.

        @raise NotRegisteredRoom: the room is not registered (nobody has
            roles there), for anyone but a server operator.
        @raise NotOperator: naming the role needed to C{what}.
        """
        if self.is_operator:
            return
        if not registered(room):
            raise NotRegisteredRoom(f"{room.name} is not registered, so nobody may {what} there; "
                                    "a logged-in user can /room register it.")
        if LEVEL[self.role_in(room)] < LEVEL[role]:
            raise NotOperator(f"You need to be {'the' if role == 'founder' else 'an' if role == 'operator' else 'a'} "
                              f"{role} of {room.name} to {what}.")

    # -- checks the other rules make ------------------------------------------------------

    def admit(self, room, key: Optional[str], fresh: bool = False) -> Deferred:
        """
        May this user join C{room}?  Bans, C{+i}, C{+k} and C{+l}; server
        operators may always.  An invitation is used up by the join it
        lets in.

        @return: Deferred firing when it may, or failing with L{Banned},
            L{InviteOnly}, L{BadKey} or L{RoomFull}, naming why not.
        """
        if self.is_operator or self.role_in(room) == "founder":
            return succeed(None)  # nobody can shut a room's founder out of it
        ban = self.banned_by(room.bans)
        if ban is not None:
            raise Banned(f"You are banned from {room.name}" + (f": {ban.reason}" if ban.reason else "") + ".")
        if not registered(room):
            return succeed(None)
        level = LEVEL[self.role_in(room)]
        settings = room.settings
        invited = self._invitations(room)
        if settings.get("i") and level < LEVEL["voice"] and not invited:
            if self.hub.nodes.shared and not fresh:  # invited on another node, maybe: read the room's marks
                return self.hub.store.marks(room.name).addCallback(
                    lambda marks: room.set_marks(marks) or self.admit(room, key, fresh=True))
            raise InviteOnly(f"{room.name} is invite-only (+i); ask an operator to /invite you.")
        if settings.get("k") and level < LEVEL["operator"] and key != settings["k"]:
            raise BadKey(f"{room.name} has a key (+k): /join {room.name} KEY." if key is None
                         else f"That is not the key of {room.name}.")
        limit = settings.get("l")
        counted = self.hub.presence.members(room.key) if limit and level < LEVEL["operator"] else succeed(None)

        def admitted(members) -> None:
            if members is not None and len(members) >= limit:
                raise RoomFull(f"{room.name} is full: it takes at most {limit} members (+l).")
            for who in invited:
                room.invites.pop(who, None)
                self.hub.store.remove_mark(room.name, "invite", who)

        return counted.addCallback(admitted)

    def _invitations(self, room) -> Tuple[str, ...]:
        """The invitations to C{room} in force that name this user."""
        now = self.hub.now()
        invites = room.invites
        return tuple(who for who in invited_as(self.user)
                     if who in invites and (invites[who] is None or invites[who] > now))

    def banned_by(self, bans):
        """The ban in C{bans} (in force now) that means this user, or None."""
        now = self.hub.now()
        user = self.user
        for ban in bans:
            if ban.until is not None and ban.until <= now:
                continue
            if parse_mask(ban.mask).matches(user.account, user.key, self.host):
                return ban
        return None

    def may_speak(self, room) -> None:
        """@raise Muted: this user is muted in C{room}, or it is moderated (C{+m}) and the user has no voice."""
        if self.is_operator:
            return
        until = room.mutes.get(muted_as(self.user), 0)
        if until is None or until > self.hub.now():
            raise Muted(f"You are muted in {room.name}: you may read, not speak.")
        if registered(room) and room.settings.get("m") and LEVEL[self.role_in(room)] < LEVEL["voice"]:
            raise Muted(f"{room.name} is moderated (+m): only members with voice speak.")

    def may_set_topic(self, room) -> None:
        """@raise NotOperator: the topic is locked (C{+t}) and this user is no operator."""
        if registered(room) and room.settings.get("t"):
            self.need_level(room, "operator", "set its topic (it is locked with +t)")


