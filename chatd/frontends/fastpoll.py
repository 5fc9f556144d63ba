# -*- test-case-name: tests.frontends.test_fastpoll -*-
"""
A lean path for the one request a long-poll client makes most:
C{GET /api/sessions/TOKEN/events?after=N&timeout=T}.

A busy long-poll client sends one such request per message; twisted.web
spends most of its cost on each (its request line, header and query
parsing, the request object, the resource walk, the response headers).
This channel recognizes the plain form of that request when it arrives
whole on an idle keep-alive connection, answers it from the session's
queue as L{chatd.frontends.longpoll.LongPollResource} would, and writes
the response itself.

Anything else goes to twisted.web unchanged: another path or method, a
request in several pieces or pipelined behind another, HTTP/1.0 or
C{Connection: close}, a body, CORS (an C{Origin} while C{[web]
cors_origins} is set), a trusted proxy's connection (its requests count
at the gate one by one), an unknown session or a malformed query (their
errors are twisted.web's to answer and log), a cluster's sessions.  An
answered poll writes no access log line either way.
"""

import re
import time
from typing import List, NamedTuple, Optional

from twisted.logger import Logger
from twisted.web.http import datetimeToString

from chatd.frontends.httpbounds import DeadlineChannel
from chatd.frontends.outbox import send_now, socket_transport
from chatd.frontends.pollqueue import encode_batch

log = Logger(namespace="chatd.longpoll")

#: The longest request taken on the lean path; longer ones are twisted.web's.
MOST = 4096
#: Bytes a client may send while its poll is held (a pipelined request), before it is cut off.
HELD_MOST = 65536

_PREFIX = b"GET /api/sessions/"
_END = b"\r\n\r\n"
#: Headers that send a request to twisted.web when present (as found in the lower-cased header block).
_SLOW = (b"\r\ncontent-length:", b"\r\ntransfer-encoding:", b"\r\nexpect:", b"\r\nupgrade:")


class _Date:
    """The Date header's value, made once a second."""

    def __init__(self) -> None:
        self.second = -1
        self.value = b""

    def now(self, seconds: float) -> bytes:
        second = int(seconds)
        if second != self.second:
            self.second, self.value = second, datetimeToString(second)
        return self.value


_date = _Date()


def _parse(data: bytes, cors: bool):
    """(token, after, timeout) of a plain events poll, or None for twisted.web."""
    end = data.find(b"\r\n")
    parts = data[:end].split(b" ")
    if len(parts) != 3 or parts[2] != b"HTTP/1.1":
        return None
    path, _, query = parts[1].partition(b"?")
    segments = path.split(b"/")
    if len(segments) != 5 or segments[4] != b"events" or not segments[3]:
        return None
    headers = data[end:-2].lower()  # each header line begins with CR LF
    if b"\r\n " in headers or b"\r\n\t" in headers or b"\r\n:" in headers:
        return None  # folded or nameless header lines: twisted.web's to judge
    for name in _SLOW:
        if name in headers:
            return None
    if cors and b"\r\norigin:" in headers:
        return None
    at = headers.find(b"\r\nconnection:")
    if at >= 0 and b"close" in headers[at:headers.find(b"\r\n", at + 2)]:
        return None
    after, timeout = 0, None
    for pair in query.split(b"&") if query else ():
        key, _, value = pair.partition(b"=")
        try:
            if key == b"after":
                after = int(value)
                if after < 0:
                    return None
            elif key == b"timeout":
                timeout = float(value)
                if not 0 <= timeout < 1e9:
                    return None
        except ValueError:
            return None
    try:
        token = segments[3].decode("ascii")
    except UnicodeDecodeError:
        return None
    return token, after, timeout


class _Shape(NamedTuple):
    """
    A poll request with its C{after} digits cut out: a client polls with the
    same bytes each time but for its cursor, so the next poll that matches
    needs no parsing.
    """

    head: bytes
    tail: bytes
    token: str
    timeout: Optional[float]
    cors: bool


_AFTER = re.compile(rb"[?&]after=(\d+)(?=[& ])")


def _shape(data: bytes, token: str, timeout: Optional[float], cors: bool) -> Optional[_Shape]:
    """The shape of a poll L{_parse} took, if its cursor appears exactly once."""
    line = data[:data.find(b"\r\n")]
    found = list(_AFTER.finditer(line))
    if len(found) != 1 or b"after=" in line[found[0].end():]:
        return None
    start, end = found[0].span(1)
    return _Shape(data[:start], data[end:], token, timeout, cors)


class PollChannel(DeadlineChannel):
    """An HTTP connection of the web listener, with the lean path for polls (its site's C{api})."""

    #: The held poll's queue, or None.
    _queue = None
    _held: Optional[List[bytes]] = None
    #: The last lean poll's shape (L{_Shape}).
    _shape: Optional[_Shape] = None
    #: The plain TCP connection answers are sent on (L{socket_transport}), once looked up.
    _raw = False
    #: When the lean path last answered a poll (the idle timeout counts from it, L{timeoutConnection}).
    _answered_at: Optional[float] = None

    def dataReceived(self, data: bytes) -> None:
        if self._held is not None:  # a poll is held: the rest waits for its answer, in order
            self._held.append(data)
            if sum(map(len, self._held)) > HELD_MOST:
                self.transport.abortConnection()
            return
        if (
            self._awaiting
            and data.startswith(_PREFIX)
            and len(data) <= MOST
            and data.endswith(_END)
            and data.find(_END) == len(data) - 4
            and not self.requests
            and not self._buffer  # LineReceiver's: nothing of another request is pending
            and self._lean(data)
        ):
            return
        super().dataReceived(data)

    def _lean(self, data: bytes) -> bool:
        site = self.site
        api = getattr(site, "api", None)
        if api is None or not api.lean or self.transport is None:
            return False
        if getattr(self.transport, "relayed", False):
            return False  # a trusted proxy's: each request counts at the gate
        cors = bool(api.cors_origins)
        shape = self._shape
        if (
            shape is not None
            and shape.cors == cors
            and data.startswith(shape.head)
            and data.endswith(shape.tail)
            and data[len(shape.head):len(data) - len(shape.tail)].isdigit()
        ):
            token, after, timeout = shape.token, int(data[len(shape.head):len(data) - len(shape.tail)]), shape.timeout
        else:
            found = _parse(data, cors)
            if found is None:
                return False
            token, after, timeout = found
            self._shape = _shape(data, token, timeout, cors)
        session = api.sessions.get(token)
        if session is None:
            return False
        web = api.web
        queue = session.queue
        try:
            batch = queue.hold(after, min(web.poll_timeout if timeout is None else timeout, web.max_poll_timeout),
                               self._answer)
        except Exception:
            return False  # twisted.web's path meets it too, and answers (and logs) a 500
        if batch is not None:
            self._answer(batch)
            return True
        # A poll waits as long as it asked to: the idle timeout (which
        # keeps running, see timeoutConnection) does not end it.
        self._queue, self._held = queue, []
        return True

    def _answer(self, batch) -> None:
        try:
            body = encode_batch(batch)
        except Exception:
            log.failure("Could not answer a long-poll poll from {peer}; closing its connection",
                        peer=getattr(self.transport, "getPeer", lambda: None)())
            self._held = self._queue = None
            if self.transport is not None:
                self.transport.abortConnection()
            return
        transport = self.transport
        if transport is not None:
            raw = self._raw
            if raw is False:
                raw = self._raw = socket_transport(transport)
            send_now(transport, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
                     b"Content-Length: %d\r\nDate: %s\r\n\r\n%s" % (len(body), _date.now(time.time()), body), raw)
        self._answered_at = self.site.reactor.seconds()  # idle from here on
        held, self._held, self._queue = self._held, None, None
        if held:
            self.dataReceived(b"".join(held))

    def timeoutConnection(self) -> None:
        """
        The idle timeout is not moved at each lean poll (a timer reset per
        delivery); when it fires, a held poll or a poll answered since
        sends it on for the rest of the time.
        """
        full = self.timeOut
        if full is not None:
            if self._queue is not None:
                self.setTimeout(full)
                return
            idle = full if self._answered_at is None else self.site.reactor.seconds() - self._answered_at
            if idle < full:
                self.setTimeout(full - idle)
                self.timeOut = full  # the next wait is a whole one again
                return
        super().timeoutConnection()

    def connectionLost(self, reason) -> None:
        queue, self._queue = self._queue, None
        if queue is not None:
            queue.release(self._answer)
            self._held = None
        super().connectionLost(reason)
