# -*- test-case-name: tests.wire.test_lines_codec -*-
"""
The line protocol, sans-IO: what telnet and nc users type and read.

L{parse} turns a line (from L{chatd.wire.telnet.LineDecoder}) into a core
command; the C{render} functions turn core events into the bytes a
terminal shows.
"""

import time
from typing import Optional, Tuple

from chatd.core import commands as cmd
from chatd.core import events as ev
from chatd.core.errors import UnknownCommand, Usage
from chatd.core.events import Event

CRLF = b"\r\n"


# -- commands -------------------------------------------------------------

USAGE = {
    "nick": "/nick NAME",
    "join": "/join #room",
    "part": "/part [#room] [reason]",
    "msg": "/msg NICK text",
    "me": "/me text",
    "topic": "/topic [#room] [text]",
    "who": "/who [#room]",
    "rooms": "/rooms",
    "history": "/history [N]",
    "help": "/help",
    "quit": "/quit [reason]",
}

HELP = [
    "Commands:",
    "  /nick NAME             change your nick",
    "  /join #room            join a room and make it your current room",
    "  /part [#room] [why]    leave a room (default: the current one)",
    "  /msg NICK text         send a private message",
    "  /me text               act in the current room (/me waves)",
    "  /topic [#room] [text]  show or set a room's topic",
    "  /who [#room]           list a room's members",
    "  /rooms                 list rooms",
    "  /history [N]           show the last N messages of the current room",
    "  /quit [reason]         leave chatd",
    "Anything else is said in your current room; start a line with // to say something beginning with /.",
]

def _usage(word: str) -> cmd.Refused:
    return cmd.Refused(error=Usage(f"Usage: {USAGE[word]}"))


def _split(rest: str) -> Tuple[str, str]:
    head, _, tail = rest.strip().partition(" ")
    return head, tail.strip()


def parse(line: str) -> Optional[cmd.Command]:
    """
    Turn one line into a core command, C{None} for a blank line.  A
    command typed wrong, or one that does not exist, becomes a
    L{chatd.core.commands.Refused} carrying the error to answer with.
    A room left out means the current room.
    """
    if not line.strip():
        return None
    if not line.startswith("/") or line.startswith("//"):
        return cmd.Line(text=line[1:] if line.startswith("//") else line)
    word, rest = _split(line[1:])
    word = word.lower()
    if word == "nick":
        return cmd.Nick(nick=rest) if rest else _usage(word)
    if word == "join":
        return cmd.Join(room=_split(rest)[0]) if rest else _usage(word)
    if word == "part":
        room, reason = _split(rest)
        if room and not room.startswith("#"):
            return cmd.Part(room=None, reason=rest)
        return cmd.Part(room=room or None, reason=reason or None)
    if word == "msg":
        to, text = _split(rest)
        return cmd.Msg(to=to, text=text) if to and text else _usage(word)
    if word == "me":
        return cmd.Action(room=None, text=rest) if rest else _usage(word)
    if word == "topic":
        room, text = _split(rest)
        if room.startswith("#"):
            return cmd.Topic(room=room, topic=text or None)
        return cmd.Topic(room=None, topic=rest or None)
    if word == "who":
        return cmd.Who(room=_split(rest)[0] or None)
    if word in ("rooms", "list"):
        return cmd.Rooms()
    if word == "history":
        if rest and (not rest.isdecimal() or len(rest) > 9):
            return _usage(word)
        return cmd.History(room=None, limit=int(rest) if rest else None)
    if word == "help":
        return cmd.Help()
    if word == "quit":
        return cmd.Quit(reason=rest or None)
    return cmd.Refused(error=UnknownCommand(f"There is no /{word[:32]} command; /help lists them."))


# -- rendering ------------------------------------------------------------


def line(text: str) -> bytes:
    return text.encode("utf-8") + CRLF


def _clock(ts: float) -> str:
    return time.strftime("%H:%M", time.gmtime(ts))


def _reason(e: Event) -> str:
    return f" ({e.reason})" if e.reason else ""


def render_event(e: Event) -> bytes:
    """
    How every line member sees C{e}; the codec key for L{Event.encoded},
    so a room's line members share one encoding.
    """
    t = e.type
    if t == ev.MESSAGE:
        return f"[{e.room}] <{e.nick}> {e.text}\r\n".encode("utf-8")
    if t == ev.ACTION:
        return f"[{e.room}] * {e.nick} {e.text}\r\n".encode("utf-8")
    if t == ev.JOIN:
        return line(f"[{e.room}] -!- {e.nick} has joined")
    if t == ev.PART:
        return line(f"[{e.room}] -!- {e.nick} has left{_reason(e)}")
    if t == ev.KICK:
        return line(f"[{e.room}] -!- {e.nick} was kicked by {e.by}{_reason(e)}")
    if t == ev.QUIT:
        return line(f"[{e.room}] -!- {e.nick} has quit{_reason(e)}")
    if t == ev.NICK:
        return line(f"-!- {e.old} is now known as {e.nick}")
    if t == ev.TOPIC:
        if e.topic:
            return line(f"[{e.room}] -!- {e.nick} set the topic to: {e.topic}")
        return line(f"[{e.room}] -!- {e.nick} cleared the topic")
    if t == ev.PRIVATE:
        return line(f"*{e.nick}* {e.text}")
    if t == ev.NOTICE:
        return line(f"-!- Notice from {e.nick}: {e.text}")
    if t == ev.MEMBERS:
        return render_members(e)
    if t == ev.ROOMS:
        return render_rooms(e)
    if t == ev.HISTORY:
        return render_history(e)
    raise ValueError(f"no line rendering for event type {t!r}")


def render_own_join(e: Event) -> bytes:
    return line(f"[{e.room}] -!- You joined {e.room}")


def render_sent_private(e: Event) -> bytes:
    return line(f"-> *{e.to}* {e.text}")


def render_members(e: Event) -> bytes:
    n = len(e.nicks)
    out = line(f"[{e.room}] -!- {n} member{'s' if n != 1 else ''}: {', '.join(e.nicks)}")
    return out + render_topic(e)


def render_topic(e: Event) -> bytes:
    if e.topic:
        by = f" (set by {e.nick})" if e.nick else ""
        return line(f"[{e.room}] -!- Topic: {e.topic}{by}")
    return line(f"[{e.room}] -!- No topic is set")


def render_rooms(e: Event) -> bytes:
    if not e.rooms:
        return line("-!- No rooms yet; /join #lobby to start one")
    out = [line(f"-!- {len(e.rooms)} room{'s' if len(e.rooms) != 1 else ''}:")]
    for r in e.rooms:
        topic = f" {r.topic}" if r.topic else ""
        out.append(line(f"-!-   {r.name} ({r.members}){topic}"))
    return b"".join(out)


def render_history(e: Event, announce_empty: bool = True) -> bytes:
    """Scrollback, clearly marked off from live traffic."""
    if not e.messages:
        return line(f"[{e.room}] -!- No messages yet") if announce_empty else b""
    out = [line(f"[{e.room}] -!- Scrollback ({len(e.messages)} message{'s' if len(e.messages) != 1 else ''}):")]
    if e.truncated:
        out.append(line(f"[{e.room}] -!- (older messages not shown; /history N shows more)"))
    for m in e.messages:
        if m.type == ev.ACTION:
            out.append(line(f"[{e.room}] {_clock(m.ts)} * {m.nick} {m.text}"))
        else:
            out.append(line(f"[{e.room}] {_clock(m.ts)} <{m.nick}> {m.text}"))
    out.append(line(f"[{e.room}] -!- End of scrollback"))
    return b"".join(out)


def render_error(code: str, message: str) -> bytes:
    return line(f"! {code}: {message}")


def render_info(text: str) -> bytes:
    return line(f"-!- {text}")
