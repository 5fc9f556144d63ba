# -*- test-case-name: tests.wire.test_lines_codec -*-
"""
The line protocol, sans-IO: what telnet and nc users type and read.

L{parse} (from L{chatd.wire.slash}) turns a line (from
L{chatd.wire.telnet.LineDecoder}) into a core command; the C{render}
functions turn core events into the bytes a terminal shows.

Multi-line messages, replies, reactions and timestamps are shaped by
L{chatd.wire.lineblocks}.
"""

import time
from typing import Optional

from chatd.core import events as ev
from chatd.core.events import Event
from chatd.wire.helptext import HELP, HELP_TOPICS, USAGE, help_text
from chatd.wire.lineblocks import block as _block, clock as _clock, reacted as _reacted, said as _said, stamp
from chatd.wire.slash import parse, parse_duration, says

__all__ = [
    "CRLF", "HELP", "HELP_TOPICS", "USAGE", "help_text", "parse", "parse_duration", "line", "render_event",
    "render_own_join", "render_sent_private", "render_away", "render_members", "render_topic", "render_rooms", "render_history",
    "render_privates", "render_invitation", "render_error", "render_info", "span", "PREFIXES", "render_own_part",
    "render_stamped", "stamp", "says",
]

CRLF = b"\r\n"


# -- rendering ------------------------------------------------------------


def line(text: str) -> bytes:
    return text.encode("utf-8") + CRLF


def _reason(e: Event) -> str:
    return f" ({e.reason})" if e.reason else ""


def render_event(e: Event) -> bytes:
    """
    How every line member sees C{e}; the codec key for L{Event.encoded},
    so a room's line members share one encoding.
    """
    t = e.type
    if t == ev.MESSAGE or t == ev.ACTION:
        if e.reply_to is None and "\n" not in e.text:  # the common case, first
            if t == ev.MESSAGE:
                return f"[{e.room}] <{e.nick}> {e.text}\r\n".encode("utf-8")
            return f"[{e.room}] * {e.nick} {e.text}\r\n".encode("utf-8")
        return _said(f"[{e.room}] ", e).encode("utf-8")
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
        return _block(f"*{e.nick}* ", e.text).encode("utf-8")
    if t == ev.NOTICE:
        return _block(f"-!- Notice from {e.nick}: ", e.text).encode("utf-8")
    if t == ev.MEMBERS:
        return render_members(e)
    if t == ev.ROOMS:
        return render_rooms(e)
    if t == ev.HISTORY:
        return render_history(e)
    render = _RENDER.get(t)
    if render is None:
        raise ValueError(f"no line rendering for event type {t!r}")
    return render(e)


def render_own_join(e: Event) -> bytes:
    return line(f"[{e.room}] -!- You joined {e.room}")


def render_own_part(e: Event) -> bytes:
    """Our own part, as its user sees it (the room sees L{render_event}'s C{has left})."""
    return line(f"[{e.room}] -!- You left {e.room}{_reason(e)}")


def render_sent_private(e: Event) -> bytes:
    sent = _block(f"-> *{e.to}* ", e.text).encode("utf-8")
    if e.away is not None:
        sent += line(f"-!- {e.to} is away: {e.away}")
    return sent


def render_away(e: Event) -> bytes:
    """The answer to C{/away}: this user's own state (others' changes show nothing)."""
    return line(f"-!- You are marked away: {e.away}" if e.away is not None else "-!- You are back")


#: How a member list marks roles, as IRC clients do.
PREFIXES = {"founder": "~", "operator": "@", "voice": "+"}


def render_members(e: Event) -> bytes:
    n = len(e.nicks)
    nicks = e.nicks
    if e.roles:
        roles = dict(e.roles)
        nicks = [PREFIXES.get(roles.get(nick, ""), "") + nick for nick in nicks]
    out = line(f"[{e.room}] -!- {n} member{'s' if n != 1 else ''}: {', '.join(nicks)}")
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


def render_history(e: Event, announce_empty: bool = True, ids: bool = False, stamped: bool = False) -> bytes:
    """
    Scrollback, clearly marked off from live traffic; each message with
    its UTC time (first, C{[20:08]}, when C{stamped}), its id with C{ids}
    (what C{/reply}, C{/react} and C{/delete} take), and the reactions
    to it on a line under it.
    """
    if not e.messages:
        return _stamped(line(f"[{e.room}] -!- No messages yet"), e.ts, stamped) if announce_empty else b""
    n = len(e.messages)
    head = [line(f"[{e.room}] -!- Scrollback ({n} message{'s' if n != 1 else ''}):")]
    if e.truncated:
        head.append(line(f"[{e.room}] -!- (older messages not shown; /history N shows more)"))
    out = [_stamped(b"".join(head), e.ts, stamped)]
    for m in e.messages:
        where = f"[{e.room}] " if stamped else f"[{e.room}] {_clock(m.ts)} "
        if m.type == ev.MESSAGE or m.type == ev.ACTION:
            shown = _said(where + (f"({m.id}) " if ids and m.id is not None else ""), m).encode("utf-8")
        else:  # a reaction, among the messages
            shown = line(where + _reacted(m))
        out.append(stamp(shown, m.ts) if stamped else shown)
    out.append(_stamped(line(f"[{e.room}] -!- End of scrollback"), e.ts, stamped))
    return b"".join(out)


def render_privates(e: Event, me: Optional[str] = None, stamped: bool = False) -> bytes:
    """
    A login's replay of stored private messages, marked off like
    scrollback; with C{me} (the reader's nick) the ones it sent show as
    sent.  Nothing at all when there are none.
    """
    if not e.messages:
        return b""
    n = len(e.messages)
    head = [line(f"-!- Stored private messages ({n}):")]
    if e.truncated:
        head.append(line("-!- (older private messages not shown)"))
    out = [_stamped(b"".join(head), e.ts, stamped)]
    today = _day(e.ts)
    for m in e.messages:
        when = _clock(m.ts) if _day(m.ts) == today else f"{_day(m.ts)} {_clock(m.ts)}"
        when = f"[{when}] " if stamped else f"{when} "
        if me is None:
            said = _block(f"{when}*{m.nick}* to {m.to}: ", m.text)
        elif m.nick == me and m.to != me:
            said = _block(f"{when}-> *{m.to}* ", m.text)
        else:
            said = _block(f"{when}*{m.nick}* ", m.text)
        out.append(said.encode("utf-8"))
    out.append(_stamped(line("-!- End of private messages"), e.ts, stamped))
    return b"".join(out)


def render_invitation(e: Event) -> bytes:
    """The invitation as its invitee sees it."""
    return line(f"-!- {e.nick} invited you to {e.room} (/join {e.room})")


def _stamped(data: bytes, ts: float, stamped: bool) -> bytes:
    return stamp(data, ts) if stamped else data


def render_stamped(e: Event) -> bytes:
    """L{render_event} with times, for the users who set C{timestamps} on: a codec key of its own."""
    if e.type == ev.HISTORY:
        return render_history(e, stamped=True)
    if e.type == ev.PRIVATES:
        return render_privates(e, stamped=True)
    return stamp(render_event(e), e.ts)


# -- moderation ---------------------------------------------------------------------------


def _day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def _date(ts: float) -> str:
    return f"{_day(ts)} {_clock(ts)} UTC"


def _where(e: Event) -> str:
    """The room prefix; none for what concerns the whole server."""
    return f"[{e.room}] -!-" if e.room else "-!-"


def span(seconds: int) -> str:
    """A duration in the largest unit it is a whole number of: C{10 minutes}, C{1 day}, C{90 seconds}."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def _lasting(e: Event) -> str:
    """C{ for 10 minutes} until C{e.until}; nothing for ever."""
    if e.until is None:
        return ""
    return f" for {span(max(1, round(e.until - e.ts)))}"


def _role(e: Event) -> bytes:
    if e.role == "member":
        return line(f"[{e.room}] -!- {e.by} made {e.nick} a plain member")
    return line(f"[{e.room}] -!- {e.by} gave {e.nick} {e.role}")


def _mode(e: Event) -> bytes:
    arg = f" {e.arg}" if e.arg else ""
    return line(f"[{e.room}] -!- {e.nick} set mode {e.modes}{arg}")


def _ban(e: Event) -> bytes:
    where = "" if e.room else " from the server"
    return line(f"{_where(e)} {e.by} banned {e.mask}{where}{_reason(e)}{_lasting(e)}")


def _unban(e: Event) -> bytes:
    which = "ban" if e.room else "server ban"
    return line(f"{_where(e)} {e.by} lifted the {which} on {e.mask}")


_ROOM_ACTIONS = {
    "registered": "{by} registered {room}",
    "transferred": "{by} gave {room} to {founder}",
    "dropped": "{by} unregistered {room}",
}


def _room(e: Event) -> bytes:
    said = _ROOM_ACTIONS.get(e.action, "{by}: {room} {action}")
    return line(f"[{e.room}] -!- " + said.format(by=e.by, room=e.room, founder=e.founder, action=e.action))


_MODE_NAMES = {"m": "moderated", "i": "invite-only", "t": "topic-locked"}


def _modes(e: Event) -> bytes:
    named = []
    for flag in e.modes.lstrip("+"):
        if flag == "k":
            named.append(f"key {e.key}" if e.key else "a key")
        elif flag == "l":
            named.append(f"at most {e.limit} member{'s' if e.limit != 1 else ''}" if e.limit else "a member limit")
        elif flag in _MODE_NAMES:
            named.append(_MODE_NAMES[flag])
    if not e.modes:
        out = line(f"[{e.room}] -!- No modes are set")
    else:
        out = line(f"[{e.room}] -!- Modes: {e.modes}" + (f" ({', '.join(named)})" if named else ""))
    if e.founder:
        return out + line(f"[{e.room}] -!- Registered; founder: {e.founder}")
    return out + line(f"[{e.room}] -!- Not registered (/room register)")


def _bans(e: Event) -> bytes:
    which = "ban" if e.room else "server ban"
    n = len(e.bans)
    if not n:
        return line(f"{_where(e)} No {which}s")
    out = [line(f"{_where(e)} {n} {which}{'s' if n != 1 else ''}:")]
    for b in e.bans:
        reason = f" ({b.reason})" if b.reason else ""
        until = f", until {_date(b.until)}" if b.until is not None else ""
        out.append(line(f"{_where(e)}   {b.mask}{reason} by {b.by} on {_date(b.since)}{until}"))
    return b"".join(out)


def _whois(e: Event) -> bytes:
    out = [line(f"-!- {e.nick} is logged in as {e.account}" if e.account else f"-!- {e.nick} is not logged in")]
    out.append(line(f"-!- {e.nick} is in {', '.join(e.rooms)}" if e.rooms else f"-!- {e.nick} is in no rooms"))
    if e.address:
        out.append(line(f"-!- {e.nick} connects from {e.address}"))
    if e.operator:
        out.append(line(f"-!- {e.nick} is a server operator"))
    if e.away is not None:
        out.append(line(f"-!- {e.nick} is away: {e.away}"))
    return b"".join(out)


_RENDER = {
    ev.PRIVATES: render_privates,
    ev.ROLE: _role,
    ev.MODE: _mode,
    ev.BAN: _ban,
    ev.UNBAN: _unban,
    ev.MUTE: lambda e: line(f"[{e.room}] -!- {e.by} muted {e.nick}{_lasting(e)}"),
    ev.UNMUTE: lambda e: line(f"[{e.room}] -!- {e.by} unmuted {e.nick}"),
    ev.INVITE: lambda e: line(f"[{e.room}] -!- {e.nick} invited {e.to}"),
    ev.DELETE: lambda e: line(f"[{e.room}] -!- {e.by} deleted message {e.message}"),
    ev.ROOM: _room,
    ev.MODES: _modes,
    ev.BANS: _bans,
    ev.WHOIS: _whois,
    ev.ACCOUNT: lambda e: b"",  # a terminal shows logins only in /whois
    ev.AWAY: lambda e: b"",  # away shows in /whois, and to whoever messages the user
    ev.REACT: lambda e: line(f"[{e.room}] {_reacted(e)}"),
    ev.UNREACT: lambda e: line(f"[{e.room}] {_reacted(e)}"),
    ev.TYPING: lambda e: b"",  # a terminal cannot show who is typing (the front end drops these)
    ev.READ: lambda e: b"",  # read markers are for clients that show unread lines
}


def render_error(code: str, message: str) -> bytes:
    return line(f"! {code}: {message}")


def render_info(text: str) -> bytes:
    return line(f"-!- {text}")
