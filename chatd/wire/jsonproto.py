# -*- test-case-name: tests.wire.test_jsonproto -*-
"""
The JSON protocol, sans-IO: bytes to commands, events to bytes.

The WebSocket and long-poll front ends carry exactly these objects (one
JSON object per WebSocket text frame, or per HTTP body); docs/protocol.md
documents every one with an example.

Every encoded event is a JSON object whose bytes start with C{b"{"}, so a
transport that must add a field per recipient (the long-poll C{seq}) can do
so by splicing C{b'{"seq":7,'} in front of the shared bytes instead of
encoding again.
"""

import json
import math
import time
from typing import Any, Dict, Optional, Tuple, Union

from chatd.core import commands as cmd
from chatd.core import events as ev
from chatd.core.errors import BadCommand, BadJSON, ChatError, UnknownType
from chatd.core.events import Event
from chatd.core.text import NICK_MAX

PROTOCOL_VERSION = 1

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode

#: Each command the JSON protocol carries: its class and its fields as
#: (name, type, required), from the core's one declaration.
COMMANDS: Dict[str, Tuple[type, tuple]] = {
    name: (cls, cmd.fields_of(cls)) for name, cls in cmd.JSON_COMMANDS.items()
}

#: Longest C{ref} echoed back, in characters.
MAX_REF = 100

Ref = Union[str, int, None]


def _ref_of(obj: Dict[str, Any]) -> Union[str, int, None]:
    ref = obj.get("ref")
    if ref is None:
        return None
    if isinstance(ref, bool) or not isinstance(ref, (str, int)):
        raise BadCommand('"ref" must be a string or an integer.')
    if isinstance(ref, str) and len(ref) > MAX_REF:
        raise BadCommand(f'"ref" is longer than {MAX_REF} characters.')
    if isinstance(ref, str) and any(0xD800 <= ord(c) <= 0xDFFF for c in ref):
        raise BadCommand('"ref" holds an unpaired surrogate; send valid Unicode text.')
    if isinstance(ref, int) and abs(ref) >= 2**53:
        raise BadCommand('"ref" is out of range; use a smaller integer or a string.')
    return ref


def _finite(name: str, value: Any) -> float:
    """A number field (a time in POSIX seconds): any finite JSON number."""
    try:
        if not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value):
            return float(value)
    except OverflowError:  # an integer too large for a float
        pass
    raise BadCommand(f'"{name}" must be a number (a time in seconds since 1970).')


def decode_command(data: Union[bytes, str]) -> Tuple[cmd.Command, Ref]:
    """
    Decode one command: the core command and the client's C{ref}.

    @raise BadJSON: not UTF-8, not JSON, or not a JSON object.
    @raise UnknownType: C{type} is missing or unknown.
    @raise BadCommand: a field is missing or has the wrong type; the
        exception carries C{ref} when the envelope had one, so the error
        reply can echo it.
    """
    try:
        if isinstance(data, bytes):
            data = data.decode("utf-8")
        obj = json.loads(data)
    except UnicodeDecodeError as e:
        raise BadJSON(f"The command is not valid UTF-8 (byte {e.start + 1}).")
    except RecursionError:
        raise BadJSON("The command is nested too deeply; commands are flat JSON objects.")
    except ValueError as e:
        raise BadJSON(f"The command is not valid JSON: {e}.")
    if not isinstance(obj, dict):
        raise BadJSON("A command must be a JSON object, like {\"type\":\"rooms\"}.")
    ref = _ref_of(obj)
    try:
        return command_of(obj), ref
    except ChatError as e:
        e.ref = ref
        raise


def command_of(obj: Dict[str, Any]) -> cmd.Command:
    """
    The core command a decoded object asks for: C{type} names it, the
    other keys are its fields (checked here, with errors naming them).
    Other wire formats that carry the same commands (WAMP) use it too.

    @raise UnknownType: C{type} is missing or unknown.
    @raise BadCommand: a field is missing or has the wrong type.
    """
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise UnknownType('The command has no "type" string.')
    spec = COMMANDS.get(kind)
    if spec is None:
        raise UnknownType(
            f"Unknown command type {kind[:40]!r}; known types: {', '.join(sorted(COMMANDS))}."
        )
    cls, fields = spec
    args: Dict[str, Any] = {}
    for name, kind_of, required in fields:
        value = obj.get(name)
        if value is None:
            if required:
                raise BadCommand(f'The {kind} command needs a "{name}" field.')
            continue
        if kind_of is int:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
                raise BadCommand(f'"{name}" must be a whole number of 0 or more.')
        elif kind_of is float:
            value = _finite(name, value)
        elif not isinstance(value, str):
            raise BadCommand(f'"{name}" must be a string.')
        args[name] = value
    return cls(**args)


def iso_ts(ts: float) -> str:
    """POSIX seconds as ISO 8601 UTC with milliseconds: C{2026-11-27T20:08:28.123Z}."""
    ms = int(ts * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def _message(e: Event) -> Dict[str, Any]:
    d = {"type": e.type, "room": e.room, "from": e.nick, "text": e.text, "id": e.id, "ts": iso_ts(e.ts)}
    if e.cid is not None:
        d["cid"] = e.cid
    if e.account is not None:
        d["account"] = e.account
    if e.reply_to is not None:
        d["reply_to"] = e.reply_to
        d["reply"] = {"nick": e.reply_nick, "text": e.reply_text}
    if e.reactions:
        d["reactions"] = [{"reaction": r, "nicks": list(nicks)} for r, nicks in e.reactions]
    return d


def _reaction(e: Event) -> Dict[str, Any]:
    return {"type": e.type, "room": e.room, "id": e.id, "nick": e.nick, "message": e.message,
            "reaction": e.reaction, "ts": iso_ts(e.ts)}


def _typing(e: Event) -> Dict[str, Any]:
    d = {"type": "typing", "nick": e.nick, "state": e.state}
    if e.room is not None:
        d["room"] = e.room
    else:
        d["to"] = e.to
    return d


def _read(e: Event) -> Dict[str, Any]:
    d: Dict[str, Any] = {"type": "read"}
    if e.room is not None:
        d["room"] = e.room
    else:
        d["to"] = e.to
    d["id"] = e.message
    return d


def _join(e: Event) -> Dict[str, Any]:
    d = {"type": "join", "room": e.room, "nick": e.nick, "ts": iso_ts(e.ts)}
    if e.account is not None:
        d["account"] = e.account
    return d


def _with_reason(d: Dict[str, Any], e: Event) -> Dict[str, Any]:
    if e.reason:
        d["reason"] = e.reason
    return d


def _when(ts: Optional[float]) -> Optional[str]:
    """An expiry: ISO 8601, or None (JSON null) for one that never comes."""
    return None if ts is None else iso_ts(ts)


def _private(e: Event) -> Dict[str, Any]:
    d = {"type": "private", "from": e.nick, "to": e.to, "text": e.text, "ts": iso_ts(e.ts)}
    if e.id is not None:
        d["id"] = e.id
    if e.away is not None:  # the sender's copy: the recipient is away
        d["away"] = e.away
    return d


def _members(e: Event) -> Dict[str, Any]:
    d = {"type": "members", "room": e.room, "nicks": list(e.nicks), "topic": e.topic or ""}
    if e.roles:
        d["roles"] = dict(e.roles)
    if e.away:
        d["away"] = list(e.away)
    return d


def _whois(e: Event) -> Dict[str, Any]:
    d = {"type": "whois", "nick": e.nick, "account": e.account, "rooms": list(e.rooms), "address": e.address,
         "operator": e.operator}
    if e.away is not None:
        d["away"] = e.away
    return d


def _ban(e: Event) -> Dict[str, Any]:
    d = {"type": "ban", "room": e.room, "mask": e.mask, "by": e.by}
    _with_reason(d, e)
    d["until"] = _when(e.until)
    d["ts"] = iso_ts(e.ts)
    return d


def _mode(e: Event) -> Dict[str, Any]:
    d = {"type": "mode", "room": e.room, "nick": e.nick, "modes": e.modes}
    if e.arg is not None:
        d["arg"] = e.arg
    d["ts"] = iso_ts(e.ts)
    return d


def _room(e: Event) -> Dict[str, Any]:
    d = {"type": "room", "room": e.room, "action": e.action}
    if e.founder is not None:
        d["founder"] = e.founder
    d["by"] = e.by
    d["ts"] = iso_ts(e.ts)
    return d


def _bans(e: Event) -> Dict[str, Any]:
    rows = [{"mask": b.mask, "by": b.by, "reason": b.reason, "since": iso_ts(b.since), "until": _when(b.until)}
            for b in e.bans]
    return {"type": "bans", "room": e.room, "bans": rows}


_SHAPES = {
    ev.MESSAGE: _message,
    ev.ACTION: _message,
    ev.JOIN: _join,
    ev.PART: lambda e: _with_reason({"type": "part", "room": e.room, "nick": e.nick, "ts": iso_ts(e.ts)}, e),
    ev.KICK: lambda e: _with_reason(
        {"type": "kick", "room": e.room, "nick": e.nick, "by": e.by, "ts": iso_ts(e.ts)}, e),
    ev.QUIT: lambda e: _with_reason({"type": "quit", "room": e.room, "nick": e.nick, "ts": iso_ts(e.ts)}, e),
    ev.NICK: lambda e: {"type": "nick", "old": e.old, "new": e.nick, "ts": iso_ts(e.ts)},
    ev.ACCOUNT: lambda e: {"type": "account", "nick": e.nick, "account": e.account, "ts": iso_ts(e.ts)},
    ev.AWAY: lambda e: {"type": "away", "nick": e.nick, "away": e.away, "ts": iso_ts(e.ts)},
    ev.TOPIC: lambda e: {"type": "topic", "room": e.room, "topic": e.topic or "", "nick": e.nick, "ts": iso_ts(e.ts)},
    ev.PRIVATE: _private,
    ev.NOTICE: lambda e: {"type": "notice", "from": e.nick, "text": e.text, "ts": iso_ts(e.ts)},
    ev.MEMBERS: _members,
    ev.ROOMS: lambda e: {
        "type": "rooms",
        "rooms": [{"name": r.name, "members": r.members, "topic": r.topic} for r in e.rooms],
    },
    ev.HISTORY: lambda e: {
        "type": "history",
        "room": e.room,
        "messages": [_SHAPES[m.type](m) for m in e.messages],
        "truncated": e.truncated,
    },
    ev.PRIVATES: lambda e: {
        "type": "privates", "messages": [_private(m) for m in e.messages], "truncated": e.truncated,
    },
    ev.ROLE: lambda e: {"type": "role", "room": e.room, "nick": e.nick, "role": e.role, "by": e.by, "ts": iso_ts(e.ts)},
    ev.MODE: _mode,
    ev.BAN: _ban,
    ev.UNBAN: lambda e: {"type": "unban", "room": e.room, "mask": e.mask, "by": e.by, "ts": iso_ts(e.ts)},
    ev.MUTE: lambda e: {
        "type": "mute", "room": e.room, "nick": e.nick, "by": e.by, "until": _when(e.until), "ts": iso_ts(e.ts),
    },
    ev.UNMUTE: lambda e: {"type": "unmute", "room": e.room, "nick": e.nick, "by": e.by, "ts": iso_ts(e.ts)},
    ev.INVITE: lambda e: {"type": "invite", "room": e.room, "nick": e.nick, "to": e.to, "ts": iso_ts(e.ts)},
    ev.DELETE: lambda e: {"type": "delete", "room": e.room, "id": e.message, "by": e.by, "ts": iso_ts(e.ts)},
    ev.ROOM: _room,
    ev.MODES: lambda e: {
        "type": "modes", "room": e.room, "modes": e.modes, "key": e.key, "limit": e.limit, "founder": e.founder,
    },
    ev.BANS: _bans,
    ev.WHOIS: _whois,
    ev.REACT: _reaction,
    ev.UNREACT: _reaction,
    ev.TYPING: _typing,
    ev.READ: _read,
}


def event_object(event: Event, ref: Union[str, int, None] = None) -> Dict[str, Any]:
    """The JSON object for C{event} (with C{ref} when it answers a command)."""
    d = _SHAPES[event.type](event)
    if ref is not None:
        d["ref"] = ref
    return d


def encode_event(event: Event) -> bytes:
    """
    Encode an event for every JSON member.  Used as the codec key of
    L{Event.encoded}, so a room's fan-out encodes it once.
    """
    return _dumps(_SHAPES[event.type](event)).encode("utf-8")


def encode(obj: Dict[str, Any]) -> bytes:
    """Encode any protocol object (welcome, ok, error, a reply with C{ref})."""
    text = _dumps(obj)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Client-supplied text that the core never saw (an error quoting
        # it) may hold a lone surrogate: escape it rather than fail.
        return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def ok(ref: Union[str, int, None] = None, **fields: Any) -> Dict[str, Any]:
    d: Dict[str, Any] = {"type": "ok"}
    if ref is not None:
        d["ref"] = ref
    d.update(fields)
    return d


def error(code: str, message: str, ref: Union[str, int, None] = None) -> Dict[str, Any]:
    d: Dict[str, Any] = {"type": "error", "code": code, "message": message}
    if ref is not None:
        d["ref"] = ref
    return d


def limits(rules, **transport: int) -> Dict[str, int]:
    """
    The limits a welcome tells a client: the chat rules' (from
    L{chatd.core.rules.Rules}, as in force now) and the transport's own.
    """
    return {"message": rules.max_message, "lines": rules.max_lines, "topic": rules.max_topic, "nick": NICK_MAX,
            "history": rules.history_max, **transport}


def welcome(server: str, limits: Dict[str, int], transport: str, session: Optional[str] = None) -> Dict[str, Any]:
    d: Dict[str, Any] = {
        "type": "welcome",
        "server": server,
        "version": PROTOCOL_VERSION,
        "transport": transport,
        "limits": limits,
    }
    if session is not None:
        d["session"] = session
    return d
