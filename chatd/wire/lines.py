# -*- test-case-name: tests.wire.test_lines -*-
"""
The line protocol, sans-IO: what telnet and nc users type and read.

L{LineDecoder} turns received bytes into lines and problems: it splits on
LF, CRLF, bare CR or CR NUL (nc sends bare LF, telnet CRLF or CR NUL),
strips telnet option negotiation (refusing every option politely, so real
telnet clients fall back to plain line mode), bounds line length, and
decodes UTF-8.  L{parse} turns a line into a command tuple.  The C{render}
functions turn core events into the bytes a terminal shows.
"""

import re
import time
from dataclasses import dataclass
from typing import List, Optional, Tuple, Union

from chatd.core import events as ev
from chatd.core.events import Event

CRLF = b"\r\n"

# Telnet (RFC 854) command bytes.
IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
EC, EL = 247, 248  # erase character, erase line
_NEGOTIATION = (WILL, WONT, DO, DONT)
#: Longest subnegotiation we skip over before giving up on the peer.
_MAX_SB = 4096

_DATA, _IAC, _OPT, _SB, _SB_IAC = range(5)


@dataclass(frozen=True)
class Problem:
    """Input that could not become a line; the user is told C{message}."""

    code: str
    message: str


Item = Union[str, Problem]


class LineDecoder:
    """
    Bytes in, lines out.

    After each L{feed}, L{replies} holds bytes to send back (telnet
    refusals), and L{overlong} counts consecutive over-long lines so the
    front end can decide when a client is abusive.
    """

    __slots__ = (
        "max_line", "_buf", "_state", "_verb", "_sb_len", "_discarding", "_after_cr",
        "_answered", "replies", "overlong", "discarded",
    )

    def __init__(self, max_line: int = 16384) -> None:
        self.max_line = max_line
        self._buf = bytearray()
        self._state = _DATA
        self._verb = 0
        self._sb_len = 0
        self._discarding = False
        self._after_cr = False
        self._answered: Optional[set] = None  # telnet options refused so far
        self.replies = bytearray()
        #: Over-long lines in a row (a good line resets it).
        self.overlong = 0
        #: Bytes thrown away from the current over-long line.
        self.discarded = 0

    def feed(self, data: bytes) -> List[Item]:
        """Take received bytes; return complete lines and problems, in order."""
        out: List[Item] = []
        if self._state == _DATA and not self._after_cr and IAC not in data and b"\r" not in data:
            # Fast path: plain text with LF line ends (nc, scripts).
            return self._plain(data, out)
        for byte in data:
            state = self._state
            if state == _DATA:
                self._data(byte, out)
            elif state == _IAC:
                if byte == IAC:
                    self._state = _DATA
                    self._add(IAC, out)  # an escaped literal 0xFF
                elif byte in _NEGOTIATION:
                    self._verb, self._state = byte, _OPT
                elif byte == SB:
                    self._state, self._sb_len = _SB, 0
                elif byte >= SE:
                    self._state = _DATA
                    if byte == EC:
                        self._erase()
                    elif byte == EL:
                        self._buf.clear()
                    # NOP, DM, BRK, IP, AO, AYT, GA: nothing to do
                else:
                    # Not a telnet command: a stray 0xFF.  It stays in the
                    # line (which is then refused as invalid UTF-8) and the
                    # byte after it is data, line ends included.
                    self._state = _DATA
                    self._add(IAC, out)
                    self._data(byte, out)
            elif state == _OPT:
                self._state = _DATA
                if byte == 10 or byte == 13:
                    # No option is a line end: these were stray bytes.
                    self._add(IAC, out)
                    self._add(self._verb, out)
                    self._data(byte, out)
                else:
                    self._refuse(self._verb, byte)
            elif state == _SB:
                self._sb_len += 1
                if byte == IAC:
                    self._state = _SB_IAC
                elif self._sb_len > _MAX_SB:
                    self._state = _DATA
            else:  # _SB_IAC
                self._state = _DATA if byte == SE else _SB
        return out

    def _data(self, byte: int, out: List[Item]) -> None:
        """One byte of the data stream (not inside a telnet command)."""
        if byte == IAC:
            self._state = _IAC
        elif byte == 10 or byte == 13 or (byte == 0 and self._after_cr):
            if self._after_cr and byte != 13:
                self._after_cr = False
                return  # the LF or NUL of CRLF / CR NUL
            self._after_cr = byte == 13
            self._end_line(out)
        else:
            self._after_cr = False
            self._add(byte, out)

    def _erase(self) -> None:
        """Telnet's Erase Character: drop the last character of the line."""
        buf = self._buf
        while buf and 0x80 <= buf[-1] < 0xC0:
            buf.pop()  # UTF-8 continuation bytes
        if buf:
            buf.pop()

    def _plain(self, data: bytes, out: List[Item]) -> List[Item]:
        *lines, rest = data.split(b"\n")
        for chunk in lines:
            if not self._discarding and len(self._buf) + len(chunk) > self.max_line:
                self._too_long(out)
            if self._discarding:
                self._discarding = False  # the over-long line ends here
                self.discarded = 0
                self._buf.clear()
                continue
            self._buf += chunk
            self._end_line(out)
        if rest:
            if self._discarding:
                self.discarded += len(rest)
            else:
                self._buf += rest
                if len(self._buf) > self.max_line:
                    self._too_long(out)
        return out

    def _add(self, byte: int, out: List[Item]) -> None:
        if self._discarding:
            self.discarded += 1
            return
        self._buf.append(byte)
        if len(self._buf) > self.max_line:
            self._too_long(out)

    def _too_long(self, out: List[Item]) -> None:
        self.discarded = len(self._buf)
        self._buf.clear()
        self._discarding = True
        self.overlong += 1
        out.append(
            Problem(
                "line-too-long",
                f"That line is over {self.max_line} bytes; it was discarded.",
            )
        )

    def _end_line(self, out: List[Item]) -> None:
        if self._discarding:
            self._discarding = False
            self.discarded = 0
            return
        raw = bytes(self._buf)
        self._buf.clear()
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            out.append(
                Problem(
                    "invalid-utf8",
                    f"That line is not valid UTF-8 (byte 0x{raw[e.start]:02X} at "
                    f"position {e.start + 1}); set your terminal to UTF-8.",
                )
            )
            return
        self.overlong = 0
        out.append(terminal_input(line))

    def _refuse(self, verb: int, option: int) -> None:
        """Answer DO with WONT and WILL with DONT, once per option."""
        answer = {DO: WONT, WILL: DONT}.get(verb)
        if self._answered is None:
            self._answered = set()
        if answer is not None and (answer, option) not in self._answered:
            self._answered.add((answer, option))
            self.replies += bytes((IAC, answer, option))

    @property
    def pending(self) -> int:
        """Bytes of an unfinished line held in memory."""
        return len(self._buf)


#: What a terminal sends by itself for cursor, editing and function keys:
#: CSI sequences with a key's final byte (the arrows ESC [ A to D, Home and
#: End, ESC [ 3 ~ for Delete, ESC [ 1 ; 5 C for Ctrl-Right, ESC [ Z for
#: Shift-Tab, bracketed paste ESC [ 200 ~) and SS3 sequences (ESC O A in
#: application mode).  Sequences no key sends (ESC [ 2 J erases the
#: screen, ESC [ 31 m colours) are left for the text rules to refuse.
_TERMINAL_KEYS = re.compile("\x1b(?:\\[[0-9;]*[A-HPQRSZ~u]|O[A-HPQRS])")


def terminal_input(line: str) -> str:
    """
    The line as its user meant it: key sequences the terminal sent on its
    own (arrow keys and the like) dropped, and raw backspaces and DELs
    (character-mode clients) applied as edits.  Every other control
    character stays, for the text rules to refuse by name.
    """
    if "\x1b" in line:
        line = _TERMINAL_KEYS.sub("", line)
    if "\x08" in line or "\x7f" in line:
        kept: List[str] = []
        for ch in line:
            if ch == "\x08" or ch == "\x7f":
                if kept:
                    kept.pop()
            else:
                kept.append(ch)
        line = "".join(kept)
    return line


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

Command = Tuple


class UsageError(Exception):
    """A command was typed wrong; the message shows the right form."""


def _split(rest: str) -> Tuple[str, str]:
    head, _, tail = rest.strip().partition(" ")
    return head, tail.strip()


def parse(line: str) -> Optional[Command]:
    """
    Turn one line into a command tuple, C{None} for a blank line.

    @raise UsageError: a known command with missing arguments.
    """
    if not line.strip():
        return None
    if not line.startswith("/") or line.startswith("//"):
        return ("say", line[1:] if line.startswith("//") else line)
    word, rest = _split(line[1:])
    word = word.lower()
    if word == "nick":
        if not rest:
            raise UsageError(USAGE["nick"])
        return ("nick", rest)
    if word == "join":
        if not rest:
            raise UsageError(USAGE["join"])
        return ("join", _split(rest)[0])
    if word == "part":
        room, reason = _split(rest)
        if room and not room.startswith("#"):
            return ("part", None, rest)
        return ("part", room or None, reason or None)
    if word == "msg":
        to, text = _split(rest)
        if not to or not text:
            raise UsageError(USAGE["msg"])
        return ("msg", to, text)
    if word == "me":
        if not rest:
            raise UsageError(USAGE["me"])
        return ("me", rest)
    if word == "topic":
        room, text = _split(rest)
        if room.startswith("#"):
            return ("topic", room, text or None)
        return ("topic", None, rest or None)
    if word == "who":
        return ("who", _split(rest)[0] or None)
    if word in ("rooms", "list"):
        return ("rooms",)
    if word == "history":
        if rest and (not rest.isdecimal() or len(rest) > 9):
            raise UsageError(USAGE["history"])
        return ("history", int(rest) if rest else None)
    if word == "help":
        return ("help",)
    if word == "quit":
        return ("quit", rest or None)
    return ("unknown", word)


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
