# -*- test-case-name: tests.core.test_hub -*-
"""Chatting: nicks, rooms, messages, and what a terminal types."""

from typing import ClassVar, Optional

from chatd.core.commands.base import Command, command as _command
from chatd.core.errors import ChatError


@_command
class Nick(Command):
    """Take a nick (the first one, or a new one)."""

    name: ClassVar[str] = "nick"
    cost: ClassVar[int] = 3
    blocks: ClassVar[bool] = True
    nick: str


@_command
class Join(Command):
    """Join a room and make it the current room; C{since} resumes after that id."""

    name: ClassVar[str] = "join"
    cost: ClassVar[int] = 2
    blocks: ClassVar[bool] = True
    needs_nick: ClassVar[bool] = True
    room: str
    since: Optional[int] = None
    #: The room's key, when it has one (C{/mode +k}).
    key: Optional[str] = None


@_command
class Part(Command):
    name: ClassVar[str] = "part"
    needs_room: ClassVar[bool] = True
    room: Optional[str] = None
    reason: Optional[str] = None


@_command
class Say(Command):
    """
    Say C{text} in a room; C{cid} makes a retry safe (it is stored once);
    C{reply_to} names the message of the room it answers.
    """

    name: ClassVar[str] = "say"
    needs_nick: ClassVar[bool] = True
    needs_room: ClassVar[bool] = True
    room: Optional[str] = None
    text: str
    cid: Optional[str] = None
    reply_to: Optional[int] = None


@_command
class Action(Say):
    """Act in a room (C{/me waves}); the same fields as L{Say}."""

    name: ClassVar[str] = "action"


@_command
class React(Command):
    """React to message C{id} of a room with C{reaction} (an emoji or a short word)."""

    name: ClassVar[str] = "react"
    needs_nick: ClassVar[bool] = True
    needs_room: ClassVar[bool] = True
    room: Optional[str] = None
    id: int
    reaction: str


@_command
class Unreact(React):
    """Take a reaction back; the same fields as L{React}."""

    name: ClassVar[str] = "unreact"


@_command
class Typing(Command):
    """
    Tell a room (C{room}) or one user (C{to}) that we are typing
    (C{active}), stopped (C{paused}) or gave up (C{done}).  It costs
    flood tokens like any command (a client sends one every few seconds
    while its user types), so a client cannot flood the room with them.
    """

    name: ClassVar[str] = "typing"
    needs_nick: ClassVar[bool] = True
    room: Optional[str] = None
    to: Optional[str] = None
    state: str = "active"


@_command
class Read(Command):
    """
    Move the account's read marker of a room (C{room}) or private
    conversation (C{to}) forward to C{id}; without C{id}, ask where it is.
    """

    name: ClassVar[str] = "read"
    needs_nick: ClassVar[bool] = True
    room: Optional[str] = None
    to: Optional[str] = None
    id: Optional[int] = None


@_command
class Set(Command):
    """Set a preference of the user's front ends (C{timestamps} C{on}/C{off}), kept with its account."""

    name: ClassVar[str] = "set"
    option: str
    value: str


@_command
class Msg(Command):
    """A private message to one nick."""

    name: ClassVar[str] = "msg"
    cost: ClassVar[int] = 2
    needs_nick: ClassVar[bool] = True
    to: str
    text: str


@_command
class Away(Command):
    """Be away with C{text} (every connection of the user); no text, or an empty one: back."""

    name: ClassVar[str] = "away"
    needs_nick: ClassVar[bool] = True
    text: Optional[str] = None


@_command
class Topic(Command):
    """Read a room's topic, or set it (C{topic} given; empty clears it)."""

    name: ClassVar[str] = "topic"
    needs_room: ClassVar[bool] = True
    room: Optional[str] = None
    topic: Optional[str] = None


@_command
class Who(Command):
    name: ClassVar[str] = "who"
    needs_room: ClassVar[bool] = True
    room: Optional[str] = None


@_command
class Rooms(Command):
    name: ClassVar[str] = "rooms"


@_command
class History(Command):
    """
    A page of a room's stored messages: the newest C{limit} below
    C{before}, or with C{after} the oldest C{limit} above it (paging
    forward).  C{after_ts} and C{before_ts} (POSIX seconds) bound the page
    by the messages' time instead of (or as well as) their ids.
    """

    name: ClassVar[str] = "history"
    needs_room: ClassVar[bool] = True
    room: Optional[str] = None
    limit: Optional[int] = None
    before: Optional[int] = None
    after: Optional[int] = None
    after_ts: Optional[float] = None
    before_ts: Optional[float] = None


@_command
class Line(Command):
    """
    A plain line typed into a terminal: the nick while the session has
    none, else said in its current room.
    """

    name: ClassVar[str] = "line"
    text: str

    def blocking(self, session) -> bool:
        return session.nick is None  # it is the nick


@_command
class Help(Command):
    """Ask for the command list, or one page of it (C{topic}); the front end renders it."""

    name: ClassVar[str] = "help"
    topic: Optional[str] = None


@_command
class Quit(Command):
    """Leave the server, with an optional reason for the rooms."""

    name: ClassVar[str] = "quit"
    reason: Optional[str] = None


@_command
class Refused(Command):
    """
    Input a codec could not turn into a command (undecodable, unknown,
    malformed): it still waits its turn under flood control, then gets
    its C{error}.
    """

    name: ClassVar[str] = "invalid"
    error: ChatError
