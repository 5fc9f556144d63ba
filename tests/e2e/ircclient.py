"""
A raw IRC client for end-to-end tests: what a hand-written bot does, over a
TCP socket or a WebSocket (IRCv3 WebSocket: one line per message), with
every line parsed by irctokens, an independent parser (not chatd's codec).

It answers the server's PING by itself, as every client does, and keeps
each line it read (L{IRCClient.seen}) with its bytes as they came over the
wire (L{IRCClient.wire}), so a test can check lengths and encodings.
"""

import base64
import re
import socket
import ssl
import time
from contextlib import ExitStack
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import irctokens
from websockets.sync.client import connect as ws_connect

Match = Union[str, Callable[[irctokens.Line], bool]]

#: What a modern client asks for when the server offers it (gamja's and Kiwi's set).
MODERN_CAPS = ("message-tags", "server-time", "batch", "draft/chathistory", "echo-message",
               "labeled-response", "multi-prefix", "account-tag", "extended-join", "cap-notify")


class Closed(AssertionError):
    """The server closed the connection while the test waited for a line."""


class _TCP:
    """CRLF-framed lines over a socket; each line keeps its terminator."""

    def __init__(self, host: str, port: int, timeout: float, cafile: Optional[str] = None) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if cafile is not None:
            context = ssl.create_default_context(cafile=cafile)
            self.sock = context.wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""

    def write(self, line: bytes) -> None:
        self.sock.sendall(line + b"\r\n")

    def read(self, deadline: float) -> Optional[bytes]:
        """The next line with its terminator, None at the deadline; raises L{Closed} at EOF."""
        while b"\n" not in self.buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return None
            except (ConnectionError, ssl.SSLError) as e:
                raise Closed(f"connection reset: {e}")
            if not data:
                raise Closed("the server closed the connection")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class _WebSocket:
    """IRC over WebSocket: one line per message, no CRLF; binary frames with C{binary.ircv3.net}."""

    def __init__(self, url: str, subprotocols: Optional[Sequence[str]], timeout: float) -> None:
        self._stack = ExitStack()
        self.ws = self._stack.enter_context(ws_connect(url, subprotocols=subprotocols, proxy=None,
                                                       open_timeout=timeout))
        self.binary = self.ws.subprotocol == "binary.ircv3.net"

    @property
    def subprotocol(self) -> Optional[str]:
        return self.ws.subprotocol

    def write(self, line: bytes) -> None:
        self.ws.send(line if self.binary else line.decode("utf-8"))

    def read(self, deadline: float) -> Optional[bytes]:
        from websockets.exceptions import ConnectionClosed

        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            message = self.ws.recv(timeout=remaining)
        except TimeoutError:
            return None
        except ConnectionClosed as e:
            raise Closed(f"the server closed the WebSocket: {e}")
        return message if isinstance(message, bytes) else message.encode("utf-8")

    def close(self) -> None:
        self._stack.close()


class IRCClient:
    """One IRC connection, driven line by line."""

    def __init__(self, port: Optional[int] = None, host: str = "127.0.0.1", timeout: float = 5.0,
                 url: Optional[str] = None, subprotocols: Optional[Sequence[str]] = None,
                 cafile: Optional[str] = None) -> None:
        """TCP to C{host}:C{port} (TLS trusting C{cafile}, if given), or a WebSocket to C{url}."""
        self.timeout = timeout
        if url is not None:
            self.transport: Union[_TCP, _WebSocket] = _WebSocket(url, subprotocols, timeout)
        else:
            assert port is not None
            self.transport = _TCP(host, port, timeout, cafile)
        #: Answer the server's PINGs, as every client does; a test of the ping timeout turns it off.
        self.answer_pings = True
        self.seen: List[irctokens.Line] = []
        self.wire: List[bytes] = []
        self.pending: List[irctokens.Line] = []
        self.nick: Optional[str] = None
        self.offered: Dict[str, str] = {}
        self.caps: List[str] = []
        self.isupport: Dict[str, str] = {}
        self.closed = False

    # -- the wire ------------------------------------------------------------------------------

    def send(self, line: str) -> None:
        self.transport.write(line.encode("utf-8"))

    def send_raw(self, line: bytes) -> None:
        """Send bytes as one line, whatever they hold (invalid UTF-8 included)."""
        self.transport.write(line)

    def read(self, timeout: Optional[float] = None) -> Optional[irctokens.Line]:
        """The next line from the server (PINGs answered), or None when none came in time."""
        if self.pending:
            return self.pending.pop(0)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            try:
                raw = self.transport.read(deadline)
            except Closed:
                self.closed = True
                raise
            if raw is None:
                return None
            if not raw.strip():
                continue
            self.wire.append(raw)
            line = irctokens.tokenise(raw.rstrip(b"\r\n").decode("utf-8", "replace"))
            self.seen.append(line)
            if line.command == "PING" and self.answer_pings:
                self.send(irctokens.build("PONG", line.params).format())
            return line

    def expect(self, match: Match, timeout: Optional[float] = None) -> irctokens.Line:
        """Read until a line matches (a command or numeric, or a predicate); return it."""
        return self.until(match, timeout)[-1]

    def until(self, match: Match, timeout: Optional[float] = None) -> List[irctokens.Line]:
        """Every line read up to and including the first that matches."""
        test = _matcher(match)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        got: List[irctokens.Line] = []
        while True:
            try:
                line = self.read(max(0.0, deadline - time.monotonic()))
            except Closed as e:
                raise Closed(f"{e} while waiting for {_describe(match)}; last lines: {self.recent()}")
            if line is not None:
                got.append(line)
                if test(line):
                    return got
            if time.monotonic() >= deadline:
                raise AssertionError(f"no {_describe(match)} within the timeout; last lines: {self.recent()}")

    def drain(self, quiet: float = 0.3) -> List[irctokens.Line]:
        """Every line that arrives until none comes for C{quiet} seconds."""
        out = []
        while True:
            line = self.read(quiet)
            if line is None:
                return out
            out.append(line)

    def unread(self, lines: Iterable[irctokens.Line]) -> None:
        """Give lines back, to be read again before anything new."""
        self.pending[:0] = list(lines)

    def wait_closed(self, timeout: float = 5.0) -> List[irctokens.Line]:
        """Read until the server closes the connection; return what came before."""
        out = []
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                line = self.read(max(0.0, deadline - time.monotonic()))
                if line is not None:
                    out.append(line)
        except Closed:
            return out
        raise AssertionError(f"the server kept the connection open; last lines: {self.recent()}")

    def recent(self, n: int = 15) -> List[str]:
        return [line.format() for line in self.seen[-n:]]

    def close(self) -> None:
        self.transport.close()

    @property
    def subprotocol(self) -> Optional[str]:
        return getattr(self.transport, "subprotocol", None)

    # -- what clients do -------------------------------------------------------------------------

    def cap_ls(self) -> Dict[str, str]:
        """C{CAP LS 302}: the capabilities offered (several C{CAP * LS *} lines joined)."""
        self.send("CAP LS 302")
        while True:
            line = self.expect(lambda l: l.command == "CAP" and len(l.params) >= 3 and l.params[1] == "LS")
            more = line.params[2] == "*" and len(line.params) >= 4
            for token in line.params[-1].split():
                name, _, value = token.partition("=")
                self.offered[name] = value
            if not more:
                return self.offered

    def cap_req(self, caps: Iterable[str]) -> List[str]:
        """C{CAP REQ} for C{caps}; return those acknowledged (a NAK acknowledges none)."""
        wanted = " ".join(caps)
        self.send(f"CAP REQ :{wanted}")
        line = self.expect(lambda l: l.command == "CAP" and len(l.params) >= 3 and l.params[1] in ("ACK", "NAK"))
        if line.params[1] == "NAK":
            return []
        acked = line.params[-1].split()
        self.caps.extend(acked)
        return acked

    def sasl_plain(self, account: str, password: str) -> irctokens.Line:
        """C{AUTHENTICATE PLAIN} with the credentials; return the 903 (or 904 and friends)."""
        self.send("AUTHENTICATE PLAIN")
        self.expect(lambda l: l.command == "AUTHENTICATE" and l.params == ["+"])
        blob = base64.b64encode(f"\0{account}\0{password}".encode("utf-8")).decode("ascii")
        self.send(f"AUTHENTICATE {blob}")
        return self.expect(lambda l: l.command in ("903", "904", "905", "906", "907", "908"))

    def register(self, nick: str, caps: Iterable[str] = MODERN_CAPS, sasl: Optional[Tuple[str, str]] = None,
                 password: Optional[str] = None, timeout: Optional[float] = None) -> List[irctokens.Line]:
        """
        Register as a client does: C{CAP LS 302}, request what is offered of
        C{caps} (and C{sasl}), authenticate, C{CAP END}, C{PASS}, C{NICK},
        C{USER}; return every line up to the end of the MOTD (376 or 422).
        """
        self.nick = nick
        offered = self.cap_ls()
        wanted = [c for c in caps if c in offered]
        if sasl:
            wanted.append("sasl")
        if wanted:
            self.cap_req(wanted)
        if sasl:
            done = self.sasl_plain(*sasl)
            assert done.command == "903", f"SASL PLAIN failed: {done.format()}"
        self.send("CAP END")
        if password is not None:
            self.send(f"PASS {password}")
        self.send(f"NICK {nick}")
        self.send(f"USER {nick} 0 * :{nick} in a test")
        burst = self.until(lambda l: l.command in ("376", "422"), timeout)
        for line in burst:
            if line.command == "001":
                self.nick = line.params[0]
            if line.command == "005":
                for token in line.params[1:-1]:
                    name, _, value = token.partition("=")
                    self.isupport[name] = value
        return burst

    def join(self, room: str, key: Optional[str] = None) -> List[irctokens.Line]:
        """C{JOIN}; every line up to its 366 (or a refusal numeric)."""
        self.send(f"JOIN {room} {key}" if key else f"JOIN {room}")
        return self.until(lambda l: l.command in ("366", "403", "405", "471", "473", "474", "475", "479", "477"))

    def privmsg(self, target: str, text: str) -> None:
        self.send(f"PRIVMSG {target} :{text}")

    def split_message(self, source: str, text: str, timeout: Optional[float] = None) -> List[irctokens.Line]:
        """The PRIVMSGs from C{source} that carry C{text} split in parts, read until they make all of it."""
        parts: List[irctokens.Line] = []
        while reassemble([p.params[1] for p in parts], text) != text:
            parts.append(self.expect(lambda l: l.command == "PRIVMSG" and l.hostmask.nickname == source, timeout))
        return parts

    def batch(self, kind: str, target: Optional[str] = None, timeout: Optional[float] = None) -> List[irctokens.Line]:
        """Read up to the end of the next C{BATCH +ref KIND [target]}; return the lines inside it."""
        start = self.expect(lambda l: l.command == "BATCH" and l.params[0].startswith("+") and len(l.params) >= 2
                            and l.params[1] == kind and (target is None or l.params[2:3] == [target]), timeout)
        ref = start.params[0][1:]
        inside = self.until(lambda l: l.command == "BATCH" and l.params[0] == f"-{ref}", timeout)
        return [line for line in inside[:-1] if (line.tags or {}).get("batch") == ref]


def irc_client(port: int, nick: str, **register) -> IRCClient:
    """A client connected to C{port} and registered as C{nick}."""
    client = IRCClient(port)
    client.register(nick, **register)
    return client


def prefix(nick: str, server: str = "chatd") -> str:
    """The source chatd gives a user: C{NICK!~NICK@user/NICK} (docs/irc.md)."""
    return f"{nick}!~{nick}@user/{nick}"


MSGID = re.compile(r"^(\d+)\.([0-9a-f]{8})$")


def message_id(line: irctokens.Line) -> int:
    """chatd's id of a room message, from the line's msgid tag (C{ID.TAG})."""
    msgid = (line.tags or {}).get("msgid", "")
    found = MSGID.match(msgid)
    assert found, f"msgid {msgid!r} is not ID.TAG (8 hex digits): {line.format()}"
    return int(found.group(1))


def batches(lines: Iterable[irctokens.Line]) -> Dict[str, Tuple[List[str], List[irctokens.Line]]]:
    """The batches among C{lines}: ref -> (type and parameters, the lines tagged with it), complete ones only."""
    opened: Dict[str, Tuple[List[str], List[irctokens.Line]]] = {}
    done = {}
    for line in lines:
        if line.command == "BATCH" and line.params and line.params[0][:1] == "+":
            opened[line.params[0][1:]] = (line.params[1:], [])
        elif line.command == "BATCH" and line.params and line.params[0][:1] == "-":
            ref = line.params[0][1:]
            done[ref] = opened.pop(ref)
        elif (line.tags or {}).get("batch") in opened:
            opened[line.tags["batch"]][1].append(line)
    return done


def untagged(raw: bytes) -> bytes:
    """A line as it came, without its IRCv3 tags (which have their own length budget)."""
    if raw.startswith(b"@"):
        return raw.split(b" ", 1)[1].lstrip(b" ")
    return raw


def reassemble(parts: Sequence[str], original: str) -> str:
    """
    The text the parts of a split message make: each cut is either inside a
    run of text (the parts join as they are) or at one space the server may
    have left out.  Fails on anything else lost or added.
    """
    text, at = "", 0
    for part in parts:
        if original.startswith(part, at):
            text, at = text + part, at + len(part)
        elif at and original[at] == " " and original.startswith(part, at + 1):
            text, at = text + " " + part, at + 1 + len(part)
        else:
            raise AssertionError(f"part at {at} is not the original's next text: {part[:40]!r}...")
    return text


def _matcher(match: Match) -> Callable[[irctokens.Line], bool]:
    if callable(match):
        return match
    return lambda line: line.command == match


def _describe(match: Match) -> str:
    return repr(match) if isinstance(match, str) else "matching line"
