# -*- test-case-name: tests.wire.test_lines_codec -*-
"""
Terminal input, sans-IO: the bytes telnet and nc users send, as lines.

L{LineDecoder} turns received bytes into lines and refusals: it splits on
LF, CRLF, bare CR or CR NUL (nc sends bare LF, telnet CRLF or CR NUL),
strips telnet option negotiation (refusing every option politely, so real
telnet clients fall back to plain line mode), bounds line length, decodes
UTF-8, and applies what a terminal sends on its own (L{terminal_input}).
L{Continuation} joins a message typed over several lines (each but the
last ending in a backslash).  L{chatd.wire.lines} turns the lines into
commands.
"""

import re
from typing import List, Optional, Tuple, Union

from chatd.core.errors import ChatError, InvalidUTF8, LineTooLong, TooLong

# Telnet (RFC 854) command bytes.
IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
EC, EL = 247, 248  # erase character, erase line
_NEGOTIATION = (WILL, WONT, DO, DONT)
#: Longest subnegotiation we skip over before giving up on the peer.
_MAX_SB = 4096

_DATA, _IAC, _OPT, _SB, _SB_IAC = range(5)


#: What the decoder yields: a line, or the error that refused one.
Item = Union[str, ChatError]


class LineDecoder:
    """
    Bytes in, lines (and the errors that refused lines) out.

    After each L{feed}, L{take_replies} gives the bytes to send back
    (telnet refusals), and L{overlong} counts consecutive over-long lines
    so the front end can decide when a client is abusive.  Between lines
    it holds no buffer: an idle connection costs the decoder alone.
    """

    __slots__ = (
        "max_line", "_buf", "_state", "_verb", "_sb_len", "_discarding", "_after_cr",
        "_answered", "_replies", "overlong", "discarded",
    )

    def __init__(self, max_line: int = 16384) -> None:
        self.max_line = max_line
        #: The line begun so far, or None between lines.
        self._buf: Optional[bytearray] = None
        self._state = _DATA
        self._verb = 0
        self._sb_len = 0
        self._discarding = False
        self._after_cr = False
        self._answered: Optional[set] = None  # telnet options refused so far
        self._replies: Optional[bytearray] = None
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
                        self._buf = None
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
        if buf is None:
            return
        while buf and 0x80 <= buf[-1] < 0xC0:
            buf.pop()  # UTF-8 continuation bytes
        if buf:
            buf.pop()

    def _plain(self, data: bytes, out: List[Item]) -> List[Item]:
        *lines, rest = data.split(b"\n")
        for chunk in lines:
            buf = self._buf
            if not self._discarding and (len(buf) if buf is not None else 0) + len(chunk) > self.max_line:
                self._too_long(out)
            if self._discarding:
                self._discarding = False  # the over-long line ends here
                self.discarded = 0
                self._buf = None
                continue
            if buf is not None:  # the line began in an earlier read
                buf += chunk
                chunk = bytes(buf)
                self._buf = None
            self._end_line(out, chunk)
        if rest:
            if self._discarding:
                self.discarded += len(rest)
            else:
                if self._buf is None:
                    self._buf = bytearray(rest)
                else:
                    self._buf += rest
                if len(self._buf) > self.max_line:
                    self._too_long(out)
        return out

    def _add(self, byte: int, out: List[Item]) -> None:
        if self._discarding:
            self.discarded += 1
            return
        if self._buf is None:
            self._buf = bytearray()
        self._buf.append(byte)
        if len(self._buf) > self.max_line:
            self._too_long(out)

    def _too_long(self, out: List[Item]) -> None:
        self.discarded = self.pending
        self._buf = None
        self._discarding = True
        self.overlong += 1
        out.append(LineTooLong(f"That line is over {self.max_line} bytes; it was discarded."))

    def _end_line(self, out: List[Item], raw: Optional[bytes] = None) -> None:
        """The line ends: C{raw}, or what the buffer holds."""
        if self._discarding:
            self._discarding = False
            self.discarded = 0
            return
        if raw is None:
            raw = bytes(self._buf) if self._buf is not None else b""
            self._buf = None
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            out.append(InvalidUTF8(
                f"That line is not valid UTF-8 (byte 0x{raw[e.start]:02X} at "
                f"position {e.start + 1}); set your terminal to UTF-8."
            ))
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
            self.replies.extend((IAC, answer, option))

    @property
    def replies(self) -> bytearray:
        """The bytes to send back (telnet refusals) until cleared."""
        if self._replies is None:
            self._replies = bytearray()
        return self._replies

    def take_replies(self) -> bytes:
        """The bytes to send back, once (empty when there are none)."""
        replies, self._replies = self._replies, None
        return bytes(replies) if replies else b""

    @property
    def pending(self) -> int:
        """Bytes of an unfinished line held in memory."""
        return len(self._buf) if self._buf is not None else 0


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


def line_end(line: str) -> Tuple[str, bool]:
    """
    A line's text, and whether the message goes on in the next line: a
    line ending in a backslash continues, and at the end of a line two
    backslashes stand for one (C{C:\\\\} sends C{C:\\}).
    """
    if not line.endswith("\\"):
        return line, False
    text = line.rstrip("\\")
    n = len(line) - len(text)
    return text + "\\" * (n // 2), n % 2 == 1


class Continuation:
    """
    A message typed over several lines, each but the last ending in a
    backslash (L{line_end}), joined with line breaks.

    It is bounded, at C{max_lines} lines and C{max_bytes} bytes, so that
    a client cannot make the server hold an endless message: past a bound
    the message is refused once, and its remaining lines are dropped as
    they come, up to its last line.
    """

    __slots__ = ("lines", "size", "max_lines", "max_bytes", "refused")

    def __init__(self, max_lines: int, max_bytes: int) -> None:
        self.lines: List[str] = []
        self.size = 0
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        #: Over a bound: the lines still to come are dropped.
        self.refused = False

    def add(self, text: str) -> Optional[ChatError]:
        """Take one more line; the error that refuses the message the first time it goes over a bound."""
        if self.refused:
            return None
        self.size += len(text.encode("utf-8")) + 1
        if len(self.lines) >= self.max_lines:
            problem = f"over {self.max_lines} lines"
        elif self.size > self.max_bytes + 1:
            problem = f"over {self.max_bytes} bytes"
        else:
            self.lines.append(text)
            return None
        self.refused, self.lines = True, []
        return TooLong(f"That message is {problem}; it was discarded (a line ending in \\ continues it).")

    def text(self) -> str:
        """The message: its lines joined with line breaks, without blank lines before or after it."""
        lines = self.lines
        start, end = 0, len(lines)
        while start < end and not lines[start].strip():
            start += 1
        while end > start and not lines[end - 1].strip():
            end -= 1
        return "\n".join(lines[start:end])
