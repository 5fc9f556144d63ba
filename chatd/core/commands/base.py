# -*- test-case-name: tests.core.test_commands -*-
"""
What every command is: a small slotted dataclass with its name, its flood
cost, and whether it needs a nick or acts on a room.
"""

from dataclasses import MISSING, dataclass, fields
from typing import ClassVar, Tuple, Type

# Not frozen: a frozen dataclass costs twice as much to make, and one is
# made for every line a client sends; nothing changes a command once made.
command = dataclass(slots=True, kw_only=True)


@command
class Command:
    name: ClassVar[str] = ""
    #: Flood tokens it costs (L{chatd.core.flood}).
    cost: ClassVar[int] = 1
    #: Refused with C{no-nick} before the session has a nick.
    needs_nick: ClassVar[bool] = False
    #: Acts on a room the session is in; C{room=None} means its current room.
    needs_room: ClassVar[bool] = False
    #: Changes who the session is or where it is (a nick, a room, an
    #: account), so what the client sends after it waits until it has
    #: settled: every command runs in the order sent and sees what the
    #: commands before it did.
    blocks: ClassVar[bool] = False

    def blocking(self, session) -> bool:
        """Whether the session's next commands must wait for this one."""
        return self.blocks


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
