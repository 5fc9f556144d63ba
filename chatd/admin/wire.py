# -*- test-case-name: tests.test_admin_wire -*-
"""
The admin socket's wire format, shared by the daemon and C{chatctl}; sans IO.

A request is one line: a command word, a space, its arguments.  A reply
starts with a line holding C{ok} or C{error}, a space and a text.  An
C{error} reply is always that one line.  An C{ok} reply to a
L{MULTILINE} command goes on with body lines and ends with a line
holding only C{.}; a body line that starts with C{.} gets another C{.}
in front (as in SMTP), so no body line can end the reply early.

Lines end with LF (a CR before it is ignored) and are UTF-8.
"""

from dataclasses import dataclass
from typing import Iterable, List, Optional, Tuple

DELIMITER = b"\n"

#: The longest request line the daemon reads; a longer one closes the connection.
MAX_REQUEST = 8192

#: Commands whose C{ok} reply has a body ended by a C{.} line.
MULTILINE = frozenset({"status", "rooms", "sessions", "bans", "help", "reload"})

END = "."


def one_line(text: str) -> str:
    """C{text} with its line breaks as spaces: a reply line can hold no break."""
    return " ".join(text.splitlines())


def request(command: str) -> bytes:
    """
    The bytes that send C{command}.

    @raise ValueError: C{command} holds a line break.
    """
    if "\n" in command or "\r" in command:
        raise ValueError("a command is one line")
    return command.encode("utf-8") + DELIMITER


def parse_request(line: bytes) -> Optional[Tuple[str, str]]:
    """
    The command word (lower case) and the arguments of a request line,
    or C{None} for a blank line.  A line that is not UTF-8 reads as
    U+FFFD, a command nobody knows.
    """
    try:
        text = line.decode("utf-8").strip()
    except UnicodeDecodeError:
        text = "\ufffd"
    if not text:
        return None
    verb, _, args = text.partition(" ")
    return verb.lower(), args.strip()


def has_body(verb: str, ok: bool) -> bool:
    """Whether the reply to C{verb} goes on after its first line."""
    return ok and verb in MULTILINE


@dataclass(frozen=True)
class Reply:
    """One reply: its first line (C{ok ...} or C{error ...}) and its body lines."""

    first: str
    body: Tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.first.partition(" ")[0] == "ok"


def ok(text: str, body: Iterable[str] = ()) -> Reply:
    """A successful reply: C{ok TEXT}, then C{body} for a L{MULTILINE} command."""
    return Reply(f"ok {text}", tuple(body))


def error(text: str) -> Reply:
    """A refusal: C{error TEXT}, one line."""
    return Reply(f"error {text}")


def frame(reply: Reply, verb: str) -> bytes:
    """
    The bytes of C{reply} to the command C{verb}: a body only where
    L{has_body} says the reader expects one, dot-stuffed and ended by C{.}.
    """
    lines = [one_line(reply.first)]
    if has_body(verb, reply.ok):
        lines += ["." + line if line.startswith(".") else line for line in map(one_line, reply.body)]
        lines.append(END)
    return b"".join(line.encode("utf-8", "replace") + DELIMITER for line in lines)


class ReplyReader:
    """
    Reads the reply to one command from the bytes that arrive.

    L{feed} returns the L{Reply} once its last line is in, C{None} before.
    """

    def __init__(self, verb: str) -> None:
        self.verb = verb
        self._buffer = b""
        self._first: Optional[str] = None
        self._body: List[str] = []

    def feed(self, data: bytes) -> Optional[Reply]:
        self._buffer += data
        while DELIMITER in self._buffer:
            raw, self._buffer = self._buffer.split(DELIMITER, 1)
            line = raw.decode("utf-8", "replace").rstrip("\r")
            if self._first is None:
                self._first = line
                if not has_body(self.verb, Reply(line).ok):
                    return Reply(line)
            elif line == END:
                return Reply(self._first, tuple(self._body))
            else:
                self._body.append(line[1:] if line.startswith(".") else line)
        return None
