# -*- test-case-name: tests.core.test_commands -*-
"""
Commands: everything a client can ask of the core, declared once.

Each command is one small class: its name (the JSON C{type} and the
metrics' name), its fields with their types (a field without a default is
required), what it costs in flood tokens, whether it needs a nick, and
whether it acts on a room the session is in (C{needs_room}: a front end
without a current-room notion, like JSON, must name the room; the line
front end may leave it out and mean the session's current room).

Front ends decode bytes into these and hand them to
L{chatd.core.session.Session.handle}, the one entry point, which charges
flood control, runs the rule and maps every failure to one error code of
L{chatd.core.errors}.  Codecs can derive their schema from the fields
(L{fields_of}), so a new command is declared here and nowhere else.
"""

from dataclasses import MISSING, dataclass, fields
from typing import ClassVar, Dict, Optional, Tuple, Type

from chatd.core.errors import ChatError

# Not frozen: a frozen dataclass costs twice as much to make, and one is
# made for every line a client sends; nothing changes a command once made.
_command = dataclass(slots=True, kw_only=True)


@_command
class Command:
    name: ClassVar[str] = ""
    #: Flood tokens it costs (L{chatd.core.flood}).
    cost: ClassVar[int] = 1
    #: Refused with C{no-nick} before the session has a nick.
    needs_nick: ClassVar[bool] = False
    #: Acts on a room the session is in; C{room=None} means its current room.
    needs_room: ClassVar[bool] = False


@_command
class Nick(Command):
    """Take a nick (the first one, or a new one)."""

    name: ClassVar[str] = "nick"
    cost: ClassVar[int] = 3
    nick: str


@_command
class Join(Command):
    """Join a room and make it the current room; C{since} resumes after that id."""

    name: ClassVar[str] = "join"
    cost: ClassVar[int] = 2
    needs_nick: ClassVar[bool] = True
    room: str
    since: Optional[int] = None


@_command
class Part(Command):
    name: ClassVar[str] = "part"
    needs_room: ClassVar[bool] = True
    room: Optional[str] = None
    reason: Optional[str] = None


@_command
class Say(Command):
    """Say C{text} in a room; C{cid} makes a retry safe (it is stored once)."""

    name: ClassVar[str] = "say"
    needs_nick: ClassVar[bool] = True
    needs_room: ClassVar[bool] = True
    room: Optional[str] = None
    text: str
    cid: Optional[str] = None


@_command
class Action(Say):
    """Act in a room (C{/me waves}); the same fields as L{Say}."""

    name: ClassVar[str] = "action"


@_command
class Msg(Command):
    """A private message to one nick."""

    name: ClassVar[str] = "msg"
    cost: ClassVar[int] = 2
    needs_nick: ClassVar[bool] = True
    to: str
    text: str


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
    """A page of a room's stored messages: the newest C{limit} below C{before}."""

    name: ClassVar[str] = "history"
    needs_room: ClassVar[bool] = True
    room: Optional[str] = None
    limit: Optional[int] = None
    before: Optional[int] = None


@_command
class Line(Command):
    """
    A plain line typed into a terminal: the nick while the session has
    none, else said in its current room.
    """

    name: ClassVar[str] = "line"
    text: str


@_command
class Help(Command):
    """Ask for the command list (the front end renders it)."""

    name: ClassVar[str] = "help"


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


#: The commands the JSON protocol carries, by C{type}.
JSON_COMMANDS: Dict[str, Type[Command]] = {
    cls.name: cls for cls in (Nick, Join, Part, Say, Action, Msg, Topic, Who, Rooms, History)
}


def fields_of(cls: Type[Command]) -> Tuple[Tuple[str, type, bool], ...]:
    """
    C{(name, type, required)} of each field a client sends for C{cls}.

    Required: the field has no default, or it is the room of a command
    that C{needs_room} (a client must name the room; only the line front
    end has a current room to fall back on).
    """
    out = []
    for f in fields(cls):
        kind = f.type
        args = getattr(kind, "__args__", None)
        if args:  # Optional[X]
            kind = next(a for a in args if a is not type(None))
        required = f.default is MISSING or (f.name == "room" and cls.needs_room)
        out.append((f.name, kind, required))
    return tuple(out)
