# -*- test-case-name: tests.frontends.test_lines -*-
"""
What a terminal user is shown when a command of theirs succeeds: one
function per command that shows something, of (member, the command's
result, the command).  Events the command causes (a nick change, a
message said) reach the user as everyone else's do.
"""

from chatd.core import commands as cmd
from chatd.core import events as ev
from chatd.wire import lines as wire

_render_stamped = wire.render_stamped


def show_nick(member, result, _) -> None:
    if result is not None and result.type != ev.NICK:
        return  # a plain line, said in the current room
    if not member.named:
        member.named = True
        member._registered()
        name = member.session.nick
        member.write(wire.render_info(f"You are now {name}. /join #lobby to start chatting; /help lists commands."))
    elif result is None:
        member.write(wire.render_info(f"You are {member.session.nick} already."))
    # A change is shown by its nick event, which the user gets as the rooms do.


def show_join(member, members, _) -> None:
    member.write(wire.render_info(f"Your current room is {members.room}; plain lines are said there."))


def show_part(member, event, _) -> None:
    if member.current is not None and event.room == member.current:
        current = member.session.current
        member.current = current.name if current is not None else None
        if member.current:
            member.write(wire.render_info(f"Your current room is now {member.current}"))


def show_set(member, _, command) -> None:
    if command.value == "on":
        member.write(wire.render_info("Timestamps are on: every line starts with its time, [HH:MM] in UTC."))
    else:
        member.write(wire.render_info("Timestamps are off."))


def show_history(member, event, _) -> None:
    member._show(wire.render_history(event, ids=True, stamped=member.codec is _render_stamped))


def show_topic(member, event, command) -> None:
    if command.topic is None:  # read; a topic set is shown as the room's event
        member.write(wire.render_topic(event))


def show_quit(member, *_) -> None:
    member.write(wire.render_info("Bye."))
    member.outbox.loseConnection()


def _reads(kind: str):
    """The answer of a command that reads (C{/mode}, C{/bans}, C{/whois}): its C{kind} event; a change is broadcast."""
    def answer(member, result, _) -> None:
        if result is not None and getattr(result, "type", None) == kind:
            member.write(wire.render_event(result))
    return answer


#: How a command's result is shown, for the commands that show one.
ANSWERS = {
    cmd.Nick: show_nick,
    cmd.Line: show_nick,
    cmd.Join: show_join,
    cmd.Part: show_part,
    cmd.Topic: show_topic,
    cmd.Who: lambda member, event, _: member.write(wire.render_members(event)),
    cmd.Rooms: lambda member, event, _: member.write(wire.render_rooms(event)),
    cmd.History: show_history,
    cmd.Set: show_set,
    cmd.Help: lambda member, _, command: member.write(b"".join(map(wire.line, wire.help_text(command.topic)))),
    cmd.Quit: show_quit,
    cmd.Mode: _reads(ev.MODES),
    cmd.Bans: _reads(ev.BANS),
    cmd.ServerBans: _reads(ev.BANS),
    cmd.Whois: _reads(ev.WHOIS),
    cmd.Away: lambda member, event, _: member.write(wire.render_away(event)),
    cmd.Register: lambda member, result, _: member.write(wire.render_info(
        f"You registered the account {result.account} and are logged in to it.")),
    cmd.Login: lambda member, result, _: member.write(wire.render_info(
        f"You are logged in as {result.account}" + (f"; your nick is {result.nick}." if result.nick else "."))),
    cmd.Logout: lambda member, _, __: member.write(wire.render_info("You are logged out.")),
    cmd.Passwd: lambda member, _, __: member.write(wire.render_info("Your password is changed.")),
    cmd.Drop: lambda member, _, __: member.write(wire.render_info("Your account is deleted.")),
    cmd.Ghost: lambda member, _, command: member.write(wire.render_info(f"{command.nick} is free.")),
    cmd.Kill: lambda member, _, command: member.write(wire.render_info(f"{command.nick} is disconnected.")),
    cmd.ServerBan: lambda member, event, _: member.write(event.encoded(wire.render_event)),
    cmd.ServerUnban: lambda member, event, _: member.write(event.encoded(wire.render_event)),
}
