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
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Union

from chatd.core import events as ev
from chatd.core.errors import BadCommand, ChatError
from chatd.core.events import Event

PROTOCOL_VERSION = 1

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


class BadJSON(ChatError):
    """The bytes are not one JSON object."""

    code = "bad-json"


class UnknownType(ChatError):
    """The command's C{type} is not one the server knows."""

    code = "unknown-type"


#: Each command: its fields, mapped to (python type, required).
_STR, _INT = str, int
COMMANDS: Dict[str, Dict[str, tuple]] = {
    "nick": {"nick": (_STR, True)},
    "join": {"room": (_STR, True), "since": (_INT, False)},
    "part": {"room": (_STR, True), "reason": (_STR, False)},
    "say": {"room": (_STR, True), "text": (_STR, True), "cid": (_STR, False)},
    "action": {"room": (_STR, True), "text": (_STR, True), "cid": (_STR, False)},
    "msg": {"to": (_STR, True), "text": (_STR, True)},
    "topic": {"room": (_STR, True), "topic": (_STR, False)},
    "who": {"room": (_STR, True)},
    "rooms": {},
    "history": {"room": (_STR, True), "limit": (_INT, False), "before": (_INT, False)},
}

#: Longest C{ref} echoed back, in characters.
MAX_REF = 100


@dataclass(frozen=True)
class Command:
    """A decoded, shape-checked client command."""

    type: str
    args: Dict[str, Any] = field(default_factory=dict)
    ref: Union[str, int, None] = None


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


def decode_command(data: Union[bytes, str]) -> Command:
    """
    Decode one command.

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
        kind = obj.get("type")
        if not isinstance(kind, str):
            raise UnknownType('The command has no "type" string.')
        spec = COMMANDS.get(kind)
        if spec is None:
            raise UnknownType(
                f"Unknown command type {kind[:40]!r}; known types: {', '.join(sorted(COMMANDS))}."
            )
        args: Dict[str, Any] = {}
        for name, (kind_of, required) in spec.items():
            value = obj.get(name)
            if value is None:
                if required:
                    raise BadCommand(f'The {kind} command needs a "{name}" field.')
                continue
            if kind_of is _INT:
                if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
                    raise BadCommand(f'"{name}" must be a whole number of 0 or more.')
            elif not isinstance(value, str):
                raise BadCommand(f'"{name}" must be a string.')
            args[name] = value
    except ChatError as e:
        e.ref = ref
        raise
    return Command(kind, args, ref)


def iso_ts(ts: float) -> str:
    """POSIX seconds as ISO 8601 UTC with milliseconds: C{2026-11-27T20:08:28.123Z}."""
    ms = int(ts * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def _message(e: Event) -> Dict[str, Any]:
    d = {"type": e.type, "room": e.room, "from": e.nick, "text": e.text, "id": e.id, "ts": iso_ts(e.ts)}
    if e.cid is not None:
        d["cid"] = e.cid
    return d


def _with_reason(d: Dict[str, Any], e: Event) -> Dict[str, Any]:
    if e.reason:
        d["reason"] = e.reason
    return d


_SHAPES = {
    ev.MESSAGE: _message,
    ev.ACTION: _message,
    ev.JOIN: lambda e: {"type": "join", "room": e.room, "nick": e.nick, "ts": iso_ts(e.ts)},
    ev.PART: lambda e: _with_reason({"type": "part", "room": e.room, "nick": e.nick, "ts": iso_ts(e.ts)}, e),
    ev.QUIT: lambda e: _with_reason({"type": "quit", "room": e.room, "nick": e.nick, "ts": iso_ts(e.ts)}, e),
    ev.NICK: lambda e: {"type": "nick", "old": e.old, "new": e.nick, "ts": iso_ts(e.ts)},
    ev.TOPIC: lambda e: {"type": "topic", "room": e.room, "topic": e.topic or "", "nick": e.nick, "ts": iso_ts(e.ts)},
    ev.PRIVATE: lambda e: {"type": "private", "from": e.nick, "to": e.to, "text": e.text, "ts": iso_ts(e.ts)},
    ev.NOTICE: lambda e: {"type": "notice", "from": e.nick, "text": e.text, "ts": iso_ts(e.ts)},
    ev.MEMBERS: lambda e: {"type": "members", "room": e.room, "nicks": list(e.nicks), "topic": e.topic or ""},
    ev.ROOMS: lambda e: {
        "type": "rooms",
        "rooms": [{"name": r.name, "members": r.members, "topic": r.topic} for r in e.rooms],
    },
    ev.HISTORY: lambda e: {
        "type": "history",
        "room": e.room,
        "messages": [_message(m) for m in e.messages],
        "truncated": e.truncated,
    },
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
