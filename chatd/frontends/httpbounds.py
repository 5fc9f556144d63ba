# -*- test-case-name: tests.frontends.test_longpoll -*-
"""
HTTP plumbing that twisted.web does not give, for every HTTP listener (web
and metrics): deadlines for a request to arrive, request bodies bounded
while they arrive, an access log that keeps session tokens (credentials)
out of log files, and the client a trusted proxy names as a request's
client address (L{ForwardedRequest}).
"""

import re
from io import BytesIO
from typing import Optional

from twisted.logger import Logger
from twisted.web import http, server
from twisted.web.http import combinedLogFormatter
from twisted.web.iweb import IAccessLogFormatter
from zope.interface import provider

from chatd.frontends import proxies
from chatd.wire import jsonproto

log = Logger(namespace="chatd.longpoll")


def client_ip(request) -> str:
    return str(getattr(request.getClientAddress(), "host", None) or "local")


# -- deadlines ----------------------------------------------------------------

#: Seconds an HTTP connection may stay idle between requests (twisted.web
#: then closes it, and aborts it 15 s later if the client does not let go).
IDLE_TIMEOUT = 30


class DeadlineChannel(http.HTTPChannel):
    """
    An HTTP connection on which each request must arrive in time.

    twisted.web restarts its idle timeout on every byte, so a client that
    sends a byte a second (slowloris, or a trickled body) would hold a
    connection for hours.  Here, from a request's first byte, its headers
    must be complete within C{headerTimeout} seconds and the whole request,
    body included, within C{requestTimeout}; otherwise the connection is
    aborted.  A request that has fully arrived is timed by neither: a held
    long-poll GET waits for its answer as long as it needs.
    """

    headerTimeout = 10.0
    requestTimeout = 30.0
    _headerCall = None
    _requestCall = None
    _awaiting = True  # between requests: the next byte starts a new one

    def dataReceived(self, data: bytes) -> None:
        if self._awaiting and data:
            self._awaiting = False
            self._headerCall = self.callLater(self.headerTimeout, self._tooSlow, "header_timeout")
            self._requestCall = self.callLater(self.requestTimeout, self._tooSlow, "request_timeout")
        super().dataReceived(data)

    def allHeadersReceived(self) -> None:
        self._headerCall = _cancel(self._headerCall)
        super().allHeadersReceived()

    def allContentReceived(self) -> None:
        self._headerCall = _cancel(self._headerCall)
        self._requestCall = _cancel(self._requestCall)
        super().allContentReceived()

    def requestDone(self, request) -> None:
        self._awaiting = True
        super().requestDone(request)

    def _tooSlow(self, key: str) -> None:
        self._headerCall = _cancel(self._headerCall)
        self._requestCall = _cancel(self._requestCall)
        if self.transport is None:
            return
        what, limit = (
            ("its request headers", self.headerTimeout) if key == "header_timeout"
            else ("its whole request", self.requestTimeout)
        )
        self._log.info(
            "Closing HTTP connection from {peer}: {what} did not arrive within {limit}s ([web] {key})",
            peer=getattr(self.transport.getPeer(), "host", "local"), what=what, limit=limit, key=key,
        )
        self.transport.abortConnection()

    def connectionLost(self, reason) -> None:
        self._headerCall = _cancel(self._headerCall)
        self._requestCall = _cancel(self._requestCall)
        super().connectionLost(reason)


def _cancel(call) -> None:
    if call is not None and call.active():
        call.cancel()
    return None


class DeadlineSite(server.Site):
    """A site whose connections are L{DeadlineChannel}s."""

    noisy = False
    headerTimeout = 10.0
    requestTimeout = 30.0

    channel = None  # the channel class: DeadlineChannel unless a subclass says otherwise

    def protocol(self) -> DeadlineChannel:
        channel = (self.channel or DeadlineChannel)()
        channel.headerTimeout = self.headerTimeout
        channel.requestTimeout = self.requestTimeout
        return channel


def set_deadlines(site: DeadlineSite, web) -> None:
    """Apply C{[web] header_timeout} and C{request_timeout} to the site's next connections."""
    site.headerTimeout = web.header_timeout
    site.requestTimeout = web.request_timeout


# -- the client behind a proxy ----------------------------------------------


class ForwardedRequest(server.Request):
    """
    A request from a trusted proxy (its site's C{proxies}) has the client
    the proxy names as its client address (L{proxies.web_client}), decided
    once its headers are in: C{getClientAddress()}, the access log, the
    long-poll API's per-address limit and the gate all see it.  From
    anyone else, those headers are ignored.
    """

    def forward(self) -> None:
        found = proxies.web_client(self.client, self, getattr(getattr(self.channel, "site", None), "proxies", None))
        if found is not None:
            self.client = found.address(via=self.client)

    def gotLength(self, length):
        self.forward()
        super().gotLength(length)


# -- bounded request bodies -------------------------------------------------


class LimitedRequest(ForwardedRequest):
    """
    A request that refuses a body over C{maxBody} bytes while it arrives.

    A declared C{Content-Length} over the limit is refused as soon as the
    headers are in; a chunked body when its count passes the limit.  The
    413 is written in full at once, then the rest of the body is read and
    discarded (up to C{drainLimit} bytes) before the connection closes:
    closing with unread data would reset the connection, and a client that
    writes its whole body before reading would lose the answer.
    """

    maxBody = 65536
    drainLimit = 16 * 1024 * 1024
    _refused = False
    _closing = False
    _received = 0

    def gotLength(self, length):
        self.forward()
        if length is not None and length > self.maxBody:
            self.content = BytesIO()
            self._refuse(length)
        elif length is None:
            self.content = BytesIO()  # chunked: bounded in handleContentChunk
        else:
            server.Request.gotLength(self, length)

    def handleContentChunk(self, data):
        self._received += len(data)
        if self._refused:
            if self._received > self.drainLimit and not self._closing:
                self._close()
        elif self._received > self.maxBody:
            self._refuse(None)
        else:
            self.content.write(data)

    def requestReceived(self, command, path, version):
        if self._refused:
            self._close()  # the whole body is read; the 413 went out already
            return
        server.Request.requestReceived(self, command, path, version)

    def _refuse(self, length: Optional[int]) -> None:
        self._refused = True
        # Answering 100 Continue after a final answer would corrupt the stream.
        self.requestHeaders.removeHeader(b"Expect")
        body = jsonproto.encode(jsonproto.error(
            "too-large", f"The request body is over {self.maxBody} bytes; nothing was done."))
        self.channel.transport.write(
            b"HTTP/1.1 413 Request Entity Too Large\r\n"
            b"Content-Type: application/json\r\nCache-Control: no-store\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n" % (len(body),) + body
        )
        log.info("Refused a request body of {length} bytes (limit {limit}) from {peer}",
                 length="unknown" if length is None else length, limit=self.maxBody,
                 peer=client_ip(self))
        if length is not None and length > self.drainLimit:
            self._close()

    def _close(self) -> None:
        self._closing = True
        self.channel.loseConnection()


def limited_request_factory(max_body: int) -> type:
    """A L{LimitedRequest} class for C{Site.requestFactory} with this limit."""
    return type("LimitedRequest", (LimitedRequest,), {"maxBody": max_body})


_TOKEN_IN_PATH = re.compile(r"(/api/sessions/)[^/?\s\"]+")
_SESSIONS = "/api/sessions/"


def _masked(match) -> str:
    return match.group(1) + "-"


@provider(IAccessLogFormatter)
def access_log_formatter(timestamp: str, request) -> str:
    """The combined access log, with session tokens (credentials) masked."""
    line = combinedLogFormatter(timestamp, request)
    return _TOKEN_IN_PATH.sub(_masked, line) if _SESSIONS in line else line


def is_poll(request) -> bool:
    """A long-poll client's C{GET .../events}, answered with its events (200)."""
    return request.code == 200 and request.method == b"GET" and request.path.endswith(b"/events") \
        and request.path.startswith(b"/api/sessions/")


__all__ = [
    "IDLE_TIMEOUT", "DeadlineChannel", "DeadlineSite", "ForwardedRequest", "LimitedRequest", "access_log_formatter",
    "client_ip", "is_poll", "limited_request_factory", "set_deadlines",
]
