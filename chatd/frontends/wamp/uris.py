# -*- test-case-name: tests.frontends.test_wamp_uris -*-
"""
The names chatd gives things in WAMP: room topics, session topics, error
URIs, and the rule that maps any room name onto a valid URI and back.

A WAMP URI is components joined by dots, and a component may hold no
dot, no C{#} and no whitespace.  A room's topic is C{chatd.room.} and the
room's name without its leading C{#}, with C{%}, C{.}, C{#}, whitespace
and control characters written as C{%XX} (the UTF-8 bytes, upper-case
hex), as in a URL: C{#dev.ops} is C{chatd.room.dev%2Eops}.  Reading a
topic back undoes exactly that; the room's name is then checked by the
core like any other.
"""

import re
from typing import Optional
from urllib.parse import unquote

ROOM = "chatd.room."
SESSION = "chatd.session."
ERROR = "chatd.error."
#: Procedures and topics chatd owns: clients may not register or publish under it.
RESERVED = "chatd."
#: What the WAMP specification keeps for routers (meta API, errors): not a client's either.
WAMP = "wamp."

#: The WAMP specification's error URIs chatd answers with.
INVALID_URI = "wamp.error.invalid_uri"
INVALID_ARGUMENT = "wamp.error.invalid_argument"
NOT_AUTHORIZED = "wamp.error.not_authorized"
PROTOCOL_VIOLATION = "wamp.error.protocol_violation"

#: Characters a room topic escapes.
_ESCAPE = re.compile(r"[%.#\s\x00-\x1f\x7f]")
#: A loose WAMP URI: non-empty components without dots, '#' or whitespace
#: (empty components are pattern-based subscriptions, which chatd does not offer).
_URI = re.compile(r"^([^\s.#]+\.)*[^\s.#]+$")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _escape(match) -> str:
    return "".join(f"%{b:02X}" for b in match.group(0).encode("utf-8"))


def topic_of(room: str) -> str:
    """The WAMP topic of a room: C{#dev.ops} -> C{chatd.room.dev%2Eops}."""
    name = room[1:] if room.startswith("#") else room
    return ROOM + _ESCAPE.sub(_escape, name)


def room_of(topic: str) -> Optional[str]:
    """
    The room name a room topic stands for, or None if C{topic} is not one
    (another topic, or a room part that is not escaped as L{topic_of} does).
    """
    if not topic.startswith(ROOM):
        return None
    rest = topic[len(ROOM):]
    if not rest or "." in rest or "#" in rest or _PERCENT.search(rest):
        return None
    try:
        name = unquote(rest, errors="strict")
    except UnicodeDecodeError:
        return None
    return "#" + name


def session_topic(session_id: int) -> str:
    """Where a WAMP session's private events are published."""
    return f"{SESSION}{session_id}"


def error_uri(code: str) -> str:
    """The WAMP error URI of a chatd error code: C{chatd.error.banned}."""
    return ERROR + code


def valid(uri: object) -> bool:
    """A URI a client may name (a topic or a procedure): loose rules, no empty components."""
    return isinstance(uri, str) and 0 < len(uri) <= 512 and _URI.match(uri) is not None
