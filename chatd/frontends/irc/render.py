# -*- test-case-name: tests.frontends.test_irc_render -*-
"""
Core events as IRC lines.

A room's event is rendered once per capability profile, not once per
member: every IRC connection that negotiated the same tag-related
capabilities shares one L{Renderer}, whose C{render} is the codec key of
L{chatd.core.events.Event.encoded}.  A thousand irssi users in a room cost
one rendering and a thousand writes.

What IRC cannot say in one line is cut here: a chatd message (up to 4,000
characters) becomes as many PRIVMSGs as its text needs, each within the
512 bytes RFC 1459 allows a line, counting the full prefix chatd sends,
cut at UTF-8 boundaries and preferably at spaces; the msgid rides on the
first part, so a client that resumes from it resumes after the whole
message.
"""

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
        their own budget), the msgid on the first.
        """
        target = target or event.room
        src = self.source(event.nick)
        action = event.type == ev.ACTION
        head = len(f":{src} {verb} {target} :".encode("utf-8")) + 2
        budget = LINE_MAX - head - (9 if action else 0)
        tags = self.tags(event, extra)
        if len(event.text.encode("utf-8")) <= budget:
            return [irc.line(verb, target, irc.action(event.text) if action else event.text, source=src, tags=tags)]
        parts = irc.split_text(event.text, max(budget, 16))
        if self.profile.multiline and not action and "batch" not in (extra or {}):
            return self._multiline(event, target, src, verb, parts, tags)
        out = []
        for n, part in enumerate(parts):
            if n == 1 and tags and "msgid" in tags:
                tags = {k: v for k, v in tags.items() if k != "msgid"}
            out.append(irc.line(verb, target, irc.action(part) if action else part, source=src, tags=tags))
        return out

    def _multiline(self, event, target: str, src: str, verb: str, parts: List[str],
                   tags: Optional[Dict[str, str]]) -> List[str]:
        """
        One C{draft/multiline} batch: the msgid on the batch, each part
        after the first marked C{draft/multiline-concat} (chatd's message
        is one line of text, cut only to fit).
        """
        ref = "m" + (msgid(event.room, event.id).replace(".", "") if event.id is not None and event.room else
                     str(int(event.ts * 1000)))
        outer = dict(tags or {})
        inner = {k: v for k, v in outer.items() if k not in ("msgid", "label")}
        inner["batch"] = ref
        out = [irc.line("BATCH", "+" + ref, "draft/multiline", target, source=src, tags=outer or None)]
        for n, part in enumerate(parts):
            line_tags = inner if n == 0 else dict(inner, **{"draft/multiline-concat": ""})
            out.append(irc.line(verb, target, part, source=src, tags=line_tags))
        out.append(irc.line("BATCH", "-" + ref, source=src))
        return out

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
