# -*- test-case-name: tests.wire.test_irc_codec -*-
"""
The IRC wire format, sans-IO: lines to L{Message}s and back.

Nothing here touches a socket or a clock, so the same code serves IRC over
TCP, over TLS, over WebSocket (one line per message) and on the line port,
and the tests drive it with plain values.

The limits are the protocol's: RFC 1459 allows 512 bytes for a line's
source, command and parameters, CRLF included; IRCv3 message-tags allow
8191 more bytes for the tags, counting the leading C{@} and the space after
them.  L{LineDecoder} holds a client to both and never buffers more of one
line than the two together.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import List, Mapping, Optional, Tuple, Union

__all__ = [
    "IrcSyntaxError", "Message", "parse", "serialize", "line", "escape_tag_value", "unescape_tag_value",
    "IrcInputError", "InvalidUTF8Line", "LineTooLongError", "LineDecoder",
    "strip_formatting", "split_text", "ctcp", "action",
]

_NO_TAGS: Mapping[str, str] = MappingProxyType({})


class IrcSyntaxError(ValueError):
    """
    A line (or a message to send) is not valid IRC; the message says why.
    """


@dataclass(frozen=True, slots=True)
class Message:
    """
    One IRC message: tags, source, command and parameters.
    """

    command: str
    params: Tuple[str, ...] = ()
    source: Optional[str] = None
    tags: Mapping[str, str] = field(default_factory=lambda: _NO_TAGS)


# -- tags -------------------------------------------------------------------

_ESCAPES = {ord("\\"): "\\\\", ord(";"): "\\:", ord(" "): "\\s", ord("\r"): "\\r", ord("\n"): "\\n"}
_UNESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}


def escape_tag_value(value: str) -> str:
    """
    Escape a tag value as IRCv3 message-tags says (C{;} as C{\\:}, space as
    C{\\s}, backslash, CR and LF).
    """
    return value.translate(_ESCAPES)


def unescape_tag_value(value: str) -> str:
    """
    Undo L{escape_tag_value}; an unknown escape stands for its character and
    a lone backslash at the end is dropped.
    """
    if "\\" not in value:
        return value
    out = []
    chars = iter(value)
    for c in chars:
        if c == "\\":
            nxt = next(chars, "")
            out.append(_UNESCAPES.get(nxt, nxt))
        else:
            out.append(c)
    return "".join(out)


def _parse_tags(text: str) -> Mapping[str, str]:
    if not text:
        raise IrcSyntaxError("the line starts with '@' but has no message tags after it")
    tags = {}
    for item in text.split(";"):
        key, _, value = item.partition("=")
        if not key:
            raise IrcSyntaxError("a message tag has no name (an empty item between ';' or before '=')")
        tags[key] = unescape_tag_value(value)
    return MappingProxyType(tags)


# -- lines ------------------------------------------------------------------


def parse(line: str) -> Message:
    """
    Parse one line (without CR or LF) into a L{Message}.

    Spaces between words may be repeated (as RFC 1459 allows); the command
    comes back uppercased.

    @raise IrcSyntaxError: the line is empty, has no command, or its tags
        are malformed.
    """
    rest = line
    tags = _NO_TAGS
    if rest[:1] == "@":
        space = rest.find(" ")
        if space == -1:
            raise IrcSyntaxError("the line has message tags but no command")
        tags = _parse_tags(rest[1:space])
        rest = rest[space + 1:].lstrip(" ")
    else:
        rest = rest.lstrip(" ")
    source = None
    if rest[:1] == ":":
        space = rest.find(" ")
        if space == -1:
            raise IrcSyntaxError("the line has a source but no command")
        source = rest[1:space]
        if not source:
            raise IrcSyntaxError("the line has an empty source (a ':' followed by a space)")
        rest = rest[space + 1:].lstrip(" ")
    if not rest:
        raise IrcSyntaxError("the line is empty" if not line.strip(" ") else "the line has no command")
    trailing = None
    mark = rest.find(" :")
    if mark != -1:
        trailing = rest[mark + 2:]
        rest = rest[:mark]
    words = [word for word in rest.split(" ") if word]
    command = words[0]
    if not (command.isascii() and command.isalnum()):
        raise IrcSyntaxError(f"the command {command!r} is not a word of letters or digits")
    if trailing is not None:
        words.append(trailing)
    return Message(command.upper(), tuple(words[1:]), source, tags)


def _format(command: str, params: Tuple[str, ...], source: Optional[str], tags: Optional[Mapping[str, str]]) -> str:
    parts = []
    if tags:
        parts.append("@" + ";".join([
            key + "=" + value.translate(_ESCAPES) if value else key for key, value in tags.items()
        ]))
    if source is not None:
        parts.append(":" + source)
    parts.append(command)
    if params:
        last = len(params) - 1
        for index, param in enumerate(params):
            if "\n" in param or "\r" in param or "\0" in param:
                raise IrcSyntaxError(f"parameter {index + 1} of {command} holds a line break or NUL")
            if not param or param[0] == ":" or " " in param:
                if index != last:
                    raise IrcSyntaxError(
                        f"parameter {index + 1} of {command} is empty, has a space or starts with ':',"
                        " which only the last parameter may")
                param = ":" + param
            parts.append(param)
    return " ".join(parts)


def serialize(message: Message) -> str:
    """
    Format a L{Message} as one line, without CRLF.

    Only the last parameter may be empty, hold a space or start with C{:};
    it gets its C{:} only then.

    @raise IrcSyntaxError: a parameter could not be read back as sent.
    """
    return _format(message.command, message.params, message.source, message.tags)


def line(command: str, *params: str, source: Optional[str] = None,
         tags: Optional[Mapping[str, str]] = None) -> str:
    """
    Format one line from its parts, as L{serialize} would.
    """
    return _format(command, params, source, tags)


# -- the byte stream ----------------------------------------------------------


class IrcInputError(Exception):
    """
    A line from a client could not be read; C{code} names the problem for
    a standard reply, the message says it in words.
    """

    code = "input-error"


class InvalidUTF8Line(IrcInputError):
    code = "invalid-utf8"


class LineTooLongError(IrcInputError):
    code = "line-too-long"


class LineDecoder:
    """
    Split a byte stream into lines, holding each line to IRC's limits.

    @ivar max_tags: the most bytes the tags may take (C{@} and the space
        after them included).
    @ivar max_rest: the most bytes the rest may take, CRLF included.
    """

    def __init__(self, max_tags: int = 8191, max_rest: int = 512):
        self.max_tags = max_tags
        self.max_rest = max_rest
        self._limit = max_tags + max_rest
        self._buffer = bytearray()
        self._discarding = False

    @property
    def buffered(self) -> int:
        """
        How many bytes of an unfinished line are held (never more than
        C{max_tags + max_rest}).
        """
        return len(self._buffer)

    def feed(self, data: bytes) -> List[Union[str, IrcInputError]]:
        """
        Take bytes as they came; return the lines they complete (as text)
        and, in their place, an L{IrcInputError} for each line that is not
        valid UTF-8 or is too long.
        """
        out: List[Union[str, IrcInputError]] = []
        start, size = 0, len(data)
        while start < size:
            newline = data.find(b"\n", start)
            end = size if newline == -1 else newline
            if not self._discarding:
                room = self._limit - len(self._buffer)
                self._buffer += data[start:min(end, start + room)]
                if newline != -1 and end - start <= room:
                    self._complete(out)
                else:
                    problem = self._too_long(False)
                    if problem:
                        out.append(problem)
                        self._buffer.clear()
                        self._discarding = newline == -1
            elif newline != -1:
                self._discarding = False
            if newline == -1:
                break
            start = newline + 1
        return out

    def _too_long(self, finished: bool) -> Optional[LineTooLongError]:
        """
        Whether the line in the buffer is too long; an unfinished one is if
        it would be whatever comes next.
        """
        buf = self._buffer
        rest = 0
        if buf[:1] == b"@":
            space = buf.find(b" ")
            rest = len(buf) + 1 if space == -1 else space + 1
            if rest > self.max_tags:
                return LineTooLongError(f"the line's message tags are longer than {self.max_tags} bytes")
        # Count the CRLF, or at least the LF still to come.
        if len(buf) - rest + (2 if finished else 1) > self.max_rest:
            return LineTooLongError(f"the line is longer than {self.max_rest} bytes")
        return None

    def _complete(self, out: List[Union[str, IrcInputError]]) -> None:
        buf = self._buffer
        if buf[-1:] == b"\r":
            del buf[-1:]
        if buf:
            problem = self._too_long(True)
            if problem is not None:
                out.append(problem)
            else:
                try:
                    out.append(buf.decode("utf-8"))
                except UnicodeDecodeError as e:
                    out.append(InvalidUTF8Line(f"the line is not valid UTF-8 (byte {e.start + 1} is wrong)"))
        buf.clear()


# -- text -------------------------------------------------------------------

_FORMATTING = re.compile(
    "\x03(?:[0-9]{1,2}(?:,[0-9]{1,2})?)?"
    "|\x04(?:[0-9A-Fa-f]{6}(?:,[0-9A-Fa-f]{6})?)?"
    "|[\x02\x0f\x11\x16\x1d\x1e\x1f]")
_FORMATTING_CODES = frozenset("\x02\x03\x04\x0f\x11\x16\x1d\x1e\x1f")


def strip_formatting(text: str) -> str:
    """
    Remove mIRC formatting (bold, italics, underline, strikethrough,
    monospace, reverse, reset, and colours with their numbers), which IRC
    clients send as control characters the core would refuse.
    """
    if _FORMATTING_CODES.isdisjoint(text):
        return text
    return _FORMATTING.sub("", text)


def _joins(before: str, after: str) -> bool:
    """
    Whether C{after} belongs to the same user-perceived character as
    C{before} (a combining mark, variation selector, emoji modifier or a
    zero-width joiner sequence), so a cut between them would break it.
    """
    if before == "\u200d" or after == "\u200d":
        return True
    code = ord(after)
    if 0xFE00 <= code <= 0xFE0F or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE01EF:
        return True
    return code >= 0x300 and unicodedata.category(after) in ("Mn", "Mc", "Me")


def _char_at(data: bytes, index: int) -> str:
    lead = data[index]
    width = 1 if lead < 0xC0 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
    return data[index:index + width].decode("utf-8", "surrogatepass")


def _char_before(data: bytes, index: int) -> Tuple[int, str]:
    start = index - 1
    while data[start] & 0xC0 == 0x80:
        start -= 1
    return start, data[start:index].decode("utf-8", "surrogatepass")


def split_text(text: str, budget: int) -> List[str]:
    """
    Cut C{text} into parts of at most C{budget} bytes of UTF-8 each, so that
    joining them gives C{text} back.

    A part ends after the last space that fits (the space stays at the end
    of the earlier part); without one, at the last character boundary that
    fits, and not inside a character made of a base and its combining
    marks if that can be helped.
    """
    if budget < 4:
        raise ValueError("a budget of fewer than 4 bytes cannot hold every character")
    if len(text) * 4 <= budget:
        return [text]
    data = text.encode("utf-8", "surrogatepass")
    size = len(data)
    if size <= budget:
        return [text]
    parts = []
    start = 0
    while size - start > budget:
        end = start + budget
        space = data.rfind(b" ", start, end)
        if space != -1:
            cut = space + 1
        else:
            cut = end
            while data[cut] & 0xC0 == 0x80:
                cut -= 1
            fallback = cut
            after = _char_at(data, cut)
            while cut > start:
                previous, before = _char_before(data, cut)
                if not _joins(before, after):
                    break
                cut, after = previous, before
            if cut == start:
                cut = fallback
        parts.append(data[start:cut].decode("utf-8", "surrogatepass"))
        start = cut
    parts.append(data[start:].decode("utf-8", "surrogatepass"))
    return parts


# -- CTCP ---------------------------------------------------------------------


def ctcp(text: str) -> Optional[Tuple[str, str]]:
    """
    The CTCP command (uppercased) and its argument in a PRIVMSG or NOTICE
    text, or L{None} if the text is not CTCP.  A missing final C{\\x01} is
    tolerated, as clients send it so.
    """
    if text[:1] != "\x01":
        return None
    body = text[1:-1] if text.endswith("\x01") and len(text) > 1 else text[1:]
    command, _, argument = body.partition(" ")
    if not command:
        return None
    return command.upper(), argument


def action(text: str) -> str:
    """
    The CTCP ACTION text (C{/me}) for C{text}.
    """
    return "\x01ACTION " + text + "\x01"
