# -*- test-case-name: tests.core.test_moderation -*-
"""
Moderation: registered rooms, roles, modes, bans, mutes, invitations,
deleting messages, and what server operators do to the whole server.
"""

from typing import ClassVar, Optional

from chatd.core.commands.base import Command, command


@command
class RoomCommand(Command):
    """A command on a room the session is in (the current one if not named)."""

    needs_nick: ClassVar[bool] = True
    needs_room: ClassVar[bool] = True
    room: Optional[str] = None


@command
class Room(RoomCommand):
    """C{/room register}, C{/room transfer ACCOUNT}, C{/room drop}."""

    name: ClassVar[str] = "room"
    action: str
    account: Optional[str] = None


@command
class Op(RoomCommand):
    """Make a member an operator of a registered room (its account keeps the role)."""

    name: ClassVar[str] = "op"
    nick: str


@command
class Deop(Op):
    name: ClassVar[str] = "deop"


@command
class Voice(Op):
    """Let a member speak in a moderated room (its account keeps the role)."""

    name: ClassVar[str] = "voice"


@command
class Devoice(Op):
    name: ClassVar[str] = "devoice"


@command
class Kick(RoomCommand):
    name: ClassVar[str] = "kick"
    nick: str
    reason: Optional[str] = None


@command
class Ban(RoomCommand):
    """
    Ban a mask from a room: C{~a:ACCOUNT}, a nick pattern (C{spam*}) or an
    address or network (C{192.0.2.7}, C{2001:db8::/64}), for C{duration}
    seconds (for ever if not given).
    """

    name: ClassVar[str] = "ban"
    mask: str
    duration: Optional[int] = None
    reason: Optional[str] = None


@command
class Unban(RoomCommand):
    name: ClassVar[str] = "unban"
    mask: str


@command
class Bans(RoomCommand):
    """List a room's bans."""

    name: ClassVar[str] = "bans"
    needs_nick: ClassVar[bool] = False


@command
class Mute(RoomCommand):
    """The member reads but cannot speak, for C{duration} seconds (until unmuted if not given)."""

    name: ClassVar[str] = "mute"
    nick: str
    duration: Optional[int] = None


@command
class Unmute(RoomCommand):
    name: ClassVar[str] = "unmute"
    nick: str


@command
class Invite(RoomCommand):
    """Let a nick into an invite-only room, and tell it so."""

    name: ClassVar[str] = "invite"
    nick: str


@command
class Mode(RoomCommand):
    """
    Show a room's modes, or change them: C{modes} is IRC-style flags
    (C{+t}, C{-i}, C{+mt}); C{arg} is the key of C{+k} or the limit of C{+l}.
    """

    name: ClassVar[str] = "mode"
    needs_nick: ClassVar[bool] = False
    modes: Optional[str] = None
    arg: Optional[str] = None


@command
class Delete(RoomCommand):
    """Delete a message (its author, or an operator): it leaves the history, every member is told."""

    name: ClassVar[str] = "delete"
    id: int


# -- server operators -------------------------------------------------------------------


@command
class Kill(Command):
    """Disconnect a user from the server (server operators)."""

    name: ClassVar[str] = "kill"
    needs_nick: ClassVar[bool] = True
    nick: str
    reason: Optional[str] = None


@command
class Announce(Command):
    """A notice to everyone on the server (server operators)."""

    name: ClassVar[str] = "announce"
    needs_nick: ClassVar[bool] = True
    text: str


@command
class ServerBan(Command):
    """Ban an account (C{~a:NAME}) or an address from the whole server (server operators)."""

    name: ClassVar[str] = "gban"
    needs_nick: ClassVar[bool] = True
    mask: str
    duration: Optional[int] = None
    reason: Optional[str] = None


@command
class ServerUnban(Command):
    name: ClassVar[str] = "gunban"
    needs_nick: ClassVar[bool] = True
    mask: str


@command
class ServerBans(Command):
    name: ClassVar[str] = "gbans"
    needs_nick: ClassVar[bool] = True
