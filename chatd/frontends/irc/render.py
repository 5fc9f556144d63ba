# -*- test-case-name: tests.frontends.test_irc_render -*-
"""
Core events as IRC lines.

A room's event is rendered once per capability profile, not once per
member: every IRC connection that negotiated the same tag-related
capabilities shares one L{Renderer}, whose C{render} is the codec key of
L{chatd.core.events.Event.encoded}.  A thousand irssi users in a room cost
one rendering and a thousand writes.

What IRC cannot say in one line is cut here: a chatd message (up to 4,000
characters, and several lines) becomes as many PRIVMSGs as its text
needs, one or more per line, each within the 512 bytes RFC 1459 allows a
line, counting the full prefix chatd sends, cut at UTF-8 boundaries and
preferably at spaces.  Clients with C{draft/multiline} get them as one
batch; for the others the msgid rides on the first part, so a client that
resumes from it resumes after the whole message.  Replies, reactions and
typing notices are the client-only tags IRCv3 clients use for them.
"""

import calendar
import hashlib
import time
from functools import lru_cache
from typing import Dict, List, NamedTuple, Optional

from chatd.core import events as ev
from chatd.core.text import fold
from chatd.wire import irc

#: RFC 1459: a line is at most 512 bytes, CR LF included.
LINE_MAX = 512


class Profile(NamedTuple):
    """The negotiated capabilities that change how an event is rendered."""

    message_tags: bool = False
    server_time: bool = False
    account_tag: bool = False
    extended_join: bool = False
    multiline: bool = False


def timestamp(ts: float) -> str:
    """IRCv3 server-time: UTC, millisecond precision, truncated as the JSON protocol's C{ts} is."""
    ms = int(ts * 1000)
    seconds, ms = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ms:03d}Z"


def parse_timestamp(text: str) -> Optional[float]:
    """A server-time C{2026-11-30T12:00:00.000Z} as POSIX seconds, or None if it is not one."""
    main, _, frac = text.rstrip("Z").partition(".")
    try:
        seconds = calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None
    return seconds + (float("0." + frac) if frac.isdigit() else 0.0)


@lru_cache(maxsize=4096)
def room_tag(room: str) -> str:
    """Eight hex digits naming a room in msgids, the same for every spelling of it."""
    return hashlib.blake2s(fold(room).encode("utf-8"), digest_size=4).hexdigest()


def msgid(room: str, id: int) -> str:
    """
    A room message's IRC msgid: C{<id>.<room tag>}.  The number is the
    message's chatd id, so C{msgid=} references map onto chatd's C{since}
    and C{before}; the room tag keeps msgids unique across rooms.
    """
    return f"{id}.{room_tag(room)}"


def parse_msgid(value: str, room: str) -> Optional[int]:
    """The chatd id of a msgid of C{room}, or None if it is not one."""
    number, dot, tag = value.partition(".")
    if not dot or not number.isdigit() or tag != room_tag(room):
        return None
    return int(number)


def user_host(nick: str) -> str:
    """
    A user's host as IRC clients see it: C{user/NICK} (the form of
    Libera.Chat's cloaks).  chatd shows no addresses; naming the nick in
    both the user and the host parts means every ban mask a client builds
    (C{*!*@host}, C{*!*nick@*}, C{nick!*@*}) names one user, and maps onto
    chatd's nick ban (L{chatd.frontends.irc.modes.chatd_mask}).
    """
    return "user/" + nick


def source(nick: str, server: Optional[str] = None) -> str:
    """A user's IRC source: C{nick!~nick@user/nick}."""
    return f"{nick}!~{nick}@user/{nick}"


#: Tags of a message that belong on its first line only (or on its multiline batch).
_FIRST_ONLY = ("msgid", "label", "+draft/reply")

#: Role -> the MODE change that shows it (IRC has no "member" mode: remove both).
_ROLE_MODES = {
    "founder": ("+o", 1),
    "operator": ("+o", 1),
    "voice": ("-o+v", 2),
    "member": ("-ov", 2),
}


class Renderer:
    """
    Renders events for every connection of one capability profile.

    @ivar render: the codec: an event to its CRLF-terminated lines.
    """

    def __init__(self, server: str, profile: Profile) -> None:
        self.server = server
        self.profile = profile
        self._by_type = {
            ev.MESSAGE: self._message,
            ev.ACTION: self._message,
            ev.JOIN: self._join,
            ev.PART: self._part,
            ev.QUIT: self._quit,
            ev.KICK: self._kick,
            ev.TOPIC: self._topic,
            ev.NICK: self._nick,
            ev.ROLE: self._role,
            ev.MODE: self._mode,
            ev.BAN: self._ban,
            ev.UNBAN: self._unban,
            ev.MUTE: self._mute,
            ev.UNMUTE: self._unmute,
            ev.DELETE: self._delete,
            ev.ROOM: self._room,
            ev.REACT: self.reaction_lines,
            ev.UNREACT: self.reaction_lines,
            ev.TYPING: self._typing,
            "account": self._account,
        }

    def render(self, event) -> bytes:
        """The event's lines, or nothing for an event IRC clients are not shown."""
        build = self._by_type.get(event.type)
        if build is None:
            return b""
        lines = build(event)
        if not lines:
            return b""
        return ("\r\n".join(lines) + "\r\n").encode("utf-8")

    # -- tags ------------------------------------------------------------------

    def tags(self, event, extra: Optional[Dict[str, str]] = None) -> Optional[Dict[str, str]]:
        """The tags this profile carries for C{event}: time, msgid, account, and C{extra} (batch, label)."""
        p = self.profile
        tags: Dict[str, str] = {}
        if p.server_time or p.message_tags:
            tags["time"] = timestamp(event.ts)
        if p.message_tags and event.id is not None and event.room is not None:
            tags["msgid"] = msgid(event.room, event.id)
        account = getattr(event, "account", None)
        if account and p.account_tag:
            tags["account"] = account
        reply = getattr(event, "reply_to", None)
        if reply is not None and p.message_tags and event.room is not None:
            tags["+draft/reply"] = msgid(event.room, reply)
        if extra:  # batch and label: only given to connections that negotiated them
            tags.update(extra)
        return tags or None

    def source(self, nick: str) -> str:
        return source(nick, self.server)

    # -- messages --------------------------------------------------------------

    def message_lines(self, event, target: Optional[str] = None, extra: Optional[Dict[str, str]] = None,
                      verb: str = "PRIVMSG") -> List[str]:
        """
        A message as PRIVMSGs within L{LINE_MAX} bytes each (the tags have
        their own budget).  One that needs several lines (line breaks, or
        too long for one) is one C{draft/multiline} batch for clients that
        negotiated it, nested in C{extra}'s batch if there is one; for the
        others, a PRIVMSG per part of each line, without the blank lines,
        the msgid and reply on the first.
        """
        target = target or event.room
        src = self.source(event.nick)
        action = event.type == ev.ACTION
        head = len(f":{src} {verb} {target} :".encode("utf-8")) + 2
        budget = max(LINE_MAX - head - (9 if action else 0), 16)
        tags = self.tags(event, extra)
        text = event.text
        if "\n" not in text and len(text.encode("utf-8")) <= budget:
            return [irc.line(verb, target, irc.action(text) if action else text, source=src, tags=tags)]
        lines = [irc.split_text(line, budget) if line.strip() else [line] for line in text.split("\n")]
        if self.profile.multiline and not action:
            return self._multiline(event, target, src, verb, lines, tags)
        out = []
        for parts in lines:
            if not parts[0].strip():
                continue  # IRC has no empty message: a blank line is not sent
            for part in parts:
                out.append(irc.line(verb, target, irc.action(part) if action else part, source=src, tags=tags))
                if tags and len(out) == 1:
                    tags = {k: v for k, v in tags.items() if k not in _FIRST_ONLY} or None
        return out

    def _multiline(self, event, target: str, src: str, verb: str, lines: List[List[str]],
                   tags: Optional[Dict[str, str]]) -> List[str]:
        """
        One C{draft/multiline} batch: the msgid, reply and label on the
        C{BATCH} line (which joins an outer batch if C{tags} names one),
        a PRIVMSG per line, and the parts a long line was cut into after
        the first marked C{draft/multiline-concat}.
        """
        ref = "m" + (msgid(event.room, event.id).replace(".", "") if event.id is not None and event.room else
                     str(int(event.ts * 1000)))
        outer = dict(tags or {})
        inner = {k: v for k, v in outer.items() if k not in _FIRST_ONLY}
        inner["batch"] = ref
        concat = dict(inner, **{"draft/multiline-concat": ""})
        out = [irc.line("BATCH", "+" + ref, "draft/multiline", target, source=src, tags=outer or None)]
        for parts in lines:
            for n, part in enumerate(parts):
                out.append(irc.line(verb, target, part, source=src, tags=concat if n else inner))
        out.append(irc.line("BATCH", "-" + ref, source=src, tags={"batch": outer["batch"]} if "batch" in outer
                            else None))
        return out

    def reaction_lines(self, event, extra: Optional[Dict[str, str]] = None) -> List[str]:
        """
        A C{react} or C{unreact} as the TAGMSG IRCv3 clients send for one
        (C{+draft/react} or C{+draft/unreact}, and C{+draft/reply} naming
        the message); nothing for a client without C{message-tags}, which
        has no way to show one.
        """
        if not self.profile.message_tags:
            return []
        tags = self.tags(event, extra)
        tags["+draft/unreact" if event.type == ev.UNREACT else "+draft/react"] = event.reaction
        tags["+draft/reply"] = msgid(event.room, event.message)
        return [irc.line("TAGMSG", event.room, source=self.source(event.nick), tags=tags)]

    def _typing(self, event) -> List[str]:
        """A typing notice: a C{+typing} TAGMSG to the room, or to the one it is for, if the client reads tags."""
        if not self.profile.message_tags:
            return []
        tags = self.tags(event)
        tags["+typing"] = event.state
        return [irc.line("TAGMSG", event.room or event.to, source=self.source(event.nick), tags=tags)]

    def _message(self, event) -> List[str]:
        return self.message_lines(event)

    # -- presence --------------------------------------------------------------

    def _join(self, event) -> List[str]:
        src = self.source(event.nick)
        tags = self.tags(event) if self.profile.message_tags or self.profile.server_time else None
        if self.profile.extended_join:
            account = getattr(event, "account", None) or "*"
            return [irc.line("JOIN", event.room, account, event.nick, source=src, tags=tags)]
        return [irc.line("JOIN", event.room, source=src, tags=tags)]

    def _part(self, event) -> List[str]:
        params = (event.room, event.reason) if event.reason else (event.room,)
        return [irc.line("PART", *params, source=self.source(event.nick), tags=self._time(event))]

    def _quit(self, event) -> List[str]:
        return [irc.line("QUIT", f"Quit: {event.reason}" if event.reason else "Quit",
                         source=self.source(event.nick), tags=self._time(event))]

    def _kick(self, event) -> List[str]:
        return [irc.line("KICK", event.room, event.nick, event.reason or event.by,
                         source=self.by(event.by), tags=self._time(event))]

    def _topic(self, event) -> List[str]:
        return [irc.line("TOPIC", event.room, event.topic, source=self.by(event.nick), tags=self._time(event))]

    def _nick(self, event) -> List[str]:
        if event.old is None:
            return []
        return [irc.line("NICK", event.nick, source=self.source(event.old), tags=self._time(event))]

    def _account(self, event) -> List[str]:
        return []  # account-notify: sent per connection (only to those that asked for it)

    # -- moderation ----------------------------------------------------------------

    def _role(self, event) -> List[str]:
        modes, n = _ROLE_MODES.get(event.role, ("-ov", 2))
        return [irc.line("MODE", event.room, modes, *([event.nick] * n), source=self.by(event.by),
                         tags=self._time(event))]

    def _mode(self, event) -> List[str]:
        arg = event.arg
        if arg is None and "-k" in event.modes:
            arg = "*"  # CHANMODES puts k among the modes that always take a parameter
        params = [event.room, event.modes] + ([arg] if arg else [])
        return [irc.line("MODE", *params, source=self.by(event.nick), tags=self._time(event))]

    def _ban(self, event) -> List[str]:
        if event.room is None:
            return [self._notice(event, f"{event.by} banned {event.mask} from the server"
                                        + (f": {event.reason}" if event.reason else ""))]
        return [irc.line("MODE", event.room, "+b", ban_mask(event.mask), source=self.by(event.by),
                         tags=self._time(event))]

    def _unban(self, event) -> List[str]:
        if event.room is None:
            return [self._notice(event, f"{event.by} lifted the server ban on {event.mask}")]
        return [irc.line("MODE", event.room, "-b", ban_mask(event.mask), source=self.by(event.by),
                         tags=self._time(event))]

    def _mute(self, event) -> List[str]:
        until = f" until {time.strftime('%H:%M UTC', time.gmtime(event.until))}" if event.until else ""
        return [self._notice(event, f"{event.nick} was muted by {event.by}{until}", event.room)]

    def _unmute(self, event) -> List[str]:
        return [self._notice(event, f"{event.nick} was unmuted by {event.by}", event.room)]

    def _delete(self, event) -> List[str]:
        return [self._notice(event, f"{event.by} deleted message {msgid(event.room, event.message)}", event.room)]

    def _room(self, event) -> List[str]:
        what = {"registered": f"registered {event.room}; its founder is {event.founder}",
                "transferred": f"transferred {event.room} to {event.founder}",
                "dropped": f"dropped the registration of {event.room}"}.get(event.action, f"{event.action} {event.room}")
        return [self._notice(event, f"{event.by} {what}", event.room)]

    # -- helpers -----------------------------------------------------------------------

    def _time(self, event) -> Optional[Dict[str, str]]:
        if self.profile.server_time or self.profile.message_tags:
            return {"time": timestamp(event.ts)}
        return None

    def by(self, nick: Optional[str]) -> str:
        """The source of a moderation change: the member who made it, or the server."""
        if not nick or " " in nick or nick == self.server:
            return self.server
        return self.source(nick)

    def _notice(self, event, text: str, target: Optional[str] = None) -> str:
        return irc.line("NOTICE", target or "*", text, source=self.server, tags=self._time(event))


def ban_mask(mask: str) -> str:
    """A chatd ban mask as IRC clients list it: a nick pattern as C{nick!*@*}."""
    if mask.startswith("~a:") or any(c in mask for c in ".:/") and not any(c in mask for c in "*?"):
        return mask
    return f"{mask}!*@*"


_renderers: Dict[tuple, Renderer] = {}


def renderer(server: str, profile: Profile) -> Renderer:
    """The shared renderer of a profile (there are at most sixteen per server name)."""
    key = (server, profile)
    found = _renderers.get(key)
    if found is None:
        found = _renderers[key] = Renderer(server, profile)
    return found
