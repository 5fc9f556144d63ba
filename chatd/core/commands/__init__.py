# -*- test-case-name: tests.core.test_commands -*-
"""
Commands: everything a client can ask of the core, declared once.

Each command is one small class: its name (the JSON C{type}), its fields
with their types (a field without a default is required), what it costs
in flood tokens, whether it needs a nick, and whether it acts on a room
the session is in (C{needs_room}: a front end without a current-room
notion, like JSON, must name the room; the line front end may leave it
out and mean the session's current room).

Front ends decode bytes into these and hand them to
L{chatd.core.session.Session.handle}, the one entry point, which charges
flood control, runs the rule and maps every failure to one error code of
L{chatd.core.errors}.  Codecs derive their schema from the fields
(L{fields_of}), so a new command is declared here and nowhere else.
"""

from typing import Dict, Type

from chatd.core.commands.accounts import Drop, Ghost, Login, Logout, Passwd, Register, Whois
from chatd.core.commands.base import Command, fields_of
from chatd.core.commands.chat import (
    Action, Away, Help, History, Join, Line, Msg, Nick, Part, Quit, React, Read, Refused, Rooms, Say, Set, Topic,
    Typing, Unreact, Who,
)
from chatd.core.commands.moderation import (
    Announce, Ban, Bans, Delete, Deop, Devoice, Invite, Kick, Kill, Mode, Mute, Op, Room, RoomCommand,
    ServerBan, ServerBans, ServerUnban, Unban, Unmute, Voice,
)

#: The commands the JSON protocol carries, by C{type}.
JSON_COMMANDS: Dict[str, Type[Command]] = {
    cls.name: cls for cls in (
        Nick, Join, Part, Say, Action, Msg, Away, Topic, Who, Rooms, History, React, Unreact, Typing, Read, Set,
        Register, Login, Logout, Passwd, Ghost, Drop, Whois,
        Room, Op, Deop, Voice, Devoice, Kick, Ban, Unban, Bans, Mute, Unmute, Invite, Mode, Delete,
        Kill, Announce, ServerBan, ServerUnban, ServerBans,
    )
}

__all__ = [
    "Command", "fields_of", "JSON_COMMANDS",
    "Nick", "Join", "Part", "Say", "Action", "Msg", "Away", "Topic", "Who", "Rooms", "History", "Line", "Help", "Quit",
    "Refused", "Register", "Login", "Logout", "Passwd", "Ghost", "Drop", "Whois", "RoomCommand", "Room", "Op",
    "Deop", "Voice", "Devoice", "Kick", "Ban", "Unban", "Bans", "Mute", "Unmute", "Invite", "Mode", "Delete",
    "Kill", "Announce", "ServerBan", "ServerUnban", "ServerBans", "React", "Unreact", "Typing", "Read", "Set",
]
