# -*- test-case-name: tests.wire.test_lines_conversation_codec -*-
"""
How a terminal shows what may span lines, sans IO: multi-line messages,
replies, reactions, and the times of C{/set timestamps on}.

Every line the server writes starts with a prefix only the server writes
(C{[#room] <nick>}, C{-!-}, C{! }, C{*nick*}); the further lines of a
multi-line message are indented under the first (L{block}), so no text a
user sends can begin a line that passes for another.
"""

import time
import unicodedata

from chatd.core import events as ev
from chatd.core.events import Event

CRLF = b"\r\n"

#: The further lines of a message are indented to the width of its first
#: line's prefix, up to this many columns (a long room name and nick would
#: otherwise push the text off a narrow terminal).
INDENT_MAX = 32

#: Most nicks named for one reaction under a message in scrollback.
REACTORS_SHOWN = 5


def clock(ts: float) -> str:
    """C{20:08}: the UTC time of C{ts}."""
    return time.strftime("%H:%M", time.gmtime(ts))


def width(text: str) -> int:
    """Columns C{text} takes on a terminal: wide characters two, combining and invisible ones none."""
    if text.isascii():
        return len(text)
    columns = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        columns += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return columns


def _indent(prefix: str) -> str:
    return " " * max(1, min(width(prefix), INDENT_MAX))


def block(prefix: str, text: str) -> str:
    """
    C{prefix} and the first line of C{text}, then each further line
    indented under it: never at the start of a line, where it could pass
    for a prefix only the server writes.
    """
    if "\n" not in text:
        return f"{prefix}{text}\r\n"
    indent = _indent(prefix)
    first, *rest = text.split("\n")
    return f"{prefix}{first}\r\n" + "".join(f"{indent}{more}\r\n" for more in rest)


def said(head: str, m: Event) -> str:
    """
    A room message after C{head} (C{[#room] }, its time...): C{<nick> text}
    or C{* nick text}.  A reply first quotes what it answers
    (C{<bob> ↪ alice: the excerpt}) and its text follows on the lines under
    it; in scrollback, the reactions to it (C{reactions: 👍 bob, carol})
    come on a line of their own under it.
    """
    prefix = head + (f"* {m.nick} " if m.type == ev.ACTION else f"<{m.nick}> ")
    text = m.text
    if m.reply_to is not None:
        if m.reply_nick is not None:
            quote = f"{m.reply_nick}: {' '.join((m.reply_text or '').splitlines())}"
        else:
            quote = f"message {m.reply_to}"
        text = f"↪ {quote}\n{text}"
    shown = block(prefix, text)
    if not m.reactions:
        return shown
    parts = []
    for reaction, nicks in m.reactions:
        who = ", ".join(nicks[:REACTORS_SHOWN])
        if len(nicks) > REACTORS_SHOWN:
            who += f" and {len(nicks) - REACTORS_SHOWN} more"
        parts.append(f"{reaction} {who}")
    return f"{shown}{_indent(prefix)}reactions: {'; '.join(parts)}\r\n"


def reacted(e: Event) -> str:
    """A reaction, after its room: C{-!- bob reacted 👍 to message 41}, or took it back."""
    if e.type == ev.UNREACT:
        return f"-!- {e.nick} took back {e.reaction} from message {e.message}"
    return f"-!- {e.nick} reacted {e.reaction} to message {e.message}"


def stamp(data: bytes, ts: float) -> bytes:
    """
    Every line of C{data} with its time first, C{[20:08] } in UTC; the
    indented further lines of a message, indented as far again.
    """
    head = f"[{clock(ts)}] ".encode("ascii")
    pad = b" " * len(head)
    return b"".join((pad if row[:1] == b" " else head) + row + CRLF for row in data.split(CRLF)[:-1])
