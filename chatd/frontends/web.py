# -*- test-case-name: tests.frontends.test_web -*-
"""
The web listener's site: the browser client at C{/}, the WebSocket at
C{/ws}, the long-poll JSON API at C{/api/}, and IRC over WebSocket at
C{/irc} (L{chatd.frontends.irc.websocket}), and WAMP at C{/wamp}
(L{chatd.frontends.wamp}), all on one port.

The WebSocket is Autobahn's C{WebSocketResource} mounted in this site, so
its opening handshake is read by twisted.web, whose header limits
(C{totalHeadersSize}, C{maxHeaders}) are kept as they are.  A stand-alone
Autobahn listener would buffer handshake headers without limit.

Static files: explicit content types (an unknown extension is served as
C{application/octet-stream}, never as HTML), no directory listings, no
dotfiles.  Pages (C{*.html}) are served with C{Cache-Control: no-cache} so
a new version is seen at once; other assets may be cached for
L{ASSET_MAX_AGE} seconds, then revalidated with C{ETag} or
C{Last-Modified}.  Every static response carries the security headers
(L{SECURITY_HEADERS}).

Behind a trusted proxy (C{[web] trusted_proxies}), a request's client is
the one the proxy names (L{chatd.frontends.httpbounds.ForwardedRequest}),
and each request counts against that client's per-address limit, and
its bans, while it lasts (L{ChatSite.getResourceFor}); a WebSocket, for
as long as its connection.
"""

import warnings
from importlib.resources import files
from pathlib import Path
from typing import List, Optional

from autobahn.twisted.resource import WebSocketResource
from twisted.web import http
from twisted.web.resource import Resource
from twisted.web.server import Site

with warnings.catch_warnings():
    # Twisted 26.10 builds deprecated error pages when this module is
    # imported; chatd replaces them (L{NotFound}).
    warnings.filterwarnings("ignore", r".*_Unsafe\w*Resource", DeprecationWarning)
    from twisted.web.static import File

from twisted.logger import Logger

from chatd.config import ConfigError
from chatd.frontends.gate import GatedConnection, GatedFactory, http_refusal, refusal_body
from chatd.frontends.httpbounds import (
    IDLE_TIMEOUT, DeadlineSite, ForwardedRequest, access_log_formatter, is_poll, set_deadlines,
)
from chatd.frontends.fastpoll import PollChannel
from chatd.frontends.longpoll import api_resource
from chatd.frontends.proxies import TrustedProxies
from chatd.frontends.registry import Built, FrontEnd
from chatd.frontends.websocket import WebSocketMemberFactory

log = Logger(namespace="chatd.web")

#: Idle timeout of an HTTP connection between requests, in seconds.
REQUEST_TIMEOUT = IDLE_TIMEOUT

#: How long a browser may reuse a script, style sheet or image unasked.
ASSET_MAX_AGE = 600

#: HTTP 426 (RFC 9110 section 15.5.22); twisted.web has no name for it.
UPGRADE_REQUIRED = 426

#: Longest file name (in bytes) a static path segment may be (POSIX NAME_MAX).
NAME_MAX = 255

SECURITY_HEADERS = {
    b"Content-Security-Policy": b"default-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'",
    b"X-Content-Type-Options": b"nosniff",
    b"Referrer-Policy": b"no-referrer",
}

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}


def client_dir() -> Path:
    """
    The browser client chatd ships: C{chatd/web_client/} in an installed
    package, else C{web/} in a source checkout.
    """
    packaged = files("chatd").joinpath("web_client")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "web"


def _security_headers(request) -> None:
    for name, value in SECURITY_HEADERS.items():
        request.setHeader(name, value)


def _etag_matches(header: Optional[bytes], etag: bytes) -> bool:
    """Weak comparison (RFC 9110 section 13.1.2) against C{If-None-Match}."""
    if header is None:
        return False
    tags = [t.strip() for t in header.split(b",")]
    return b"*" in tags or etag in (t[2:] if t.startswith(b"W/") else t for t in tags)


def _plain(request, code: int, text: bytes) -> bytes:
    """A short text answer with the security headers (twisted.web's are HTML)."""
    request.setResponseCode(code)
    request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
    request.setHeader(b"Cache-Control", b"no-cache")
    _security_headers(request)
    return text


def _plausible_name(segment: bytes) -> bool:
    """A path segment that could name a file: UTF-8, no NUL, a usable length."""
    if len(segment) > NAME_MAX or b"\x00" in segment:
        return False
    try:
        segment.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class NotFound(Resource):
    isLeaf = True

    def render(self, request) -> bytes:
        return _plain(request, http.NOT_FOUND, b"Not found.\n")


class WebSocketDoor(Resource):
    """
    C{/ws}: a request that does not ask for a WebSocket upgrade is answered
    here, in one access-log line, and only one that does reaches Autobahn
    (which logs every handshake it refuses, twice).
    """

    isLeaf = True

    def __init__(self, members: WebSocketMemberFactory) -> None:
        super().__init__()
        self.websocket = WebSocketResource(members)

    def render(self, request):
        if request.postpath not in ([], [b""]):
            return NotFound().render(request)
        if b"websocket" not in (request.getHeader(b"upgrade") or b"").lower():
            request.setHeader(b"Upgrade", b"websocket")
            return _plain(request, UPGRADE_REQUIRED, b"This is the WebSocket endpoint; connect with a WebSocket client.\n")
        return self.websocket.render(request)


class StaticFile(File):
    """A L{File} with chatd's content types, caching and security headers."""

    contentTypes = CONTENT_TYPES
    indexNames = ["index.html"]
    childNotFound = NotFound()
    forbidden = NotFound()

    def directoryListing(self) -> Resource:
        return self.childNotFound

    def getChild(self, path: bytes, request) -> Resource:
        """
        Dotfiles, and names no file of ours can have, are not found before
        they reach twisted.web, which logs a traceback for a segment that
        is not UTF-8 (C{%c0%ae}): a request must not cost the log more
        than its access line.
        """
        if path.startswith(b".") or not _plausible_name(path):
            return self.childNotFound
        return super().getChild(path, request)

    def render(self, request):
        if request.method not in (b"GET", b"HEAD"):
            request.setHeader(b"Allow", b"GET, HEAD")
            return _plain(request, http.NOT_ALLOWED, b"Static files can only be read (GET, HEAD).\n")
        return super().render(request)

    def render_GET(self, request):
        self.restat(False)
        if self.isfile():
            _security_headers(request)
            if self.basename().endswith((".html", ".htm")):
                request.setHeader(b"Cache-Control", b"no-cache")
            else:
                request.setHeader(b"Cache-Control", b"public, max-age=%d" % ASSET_MAX_AGE)
            etag = b'"%x-%x"' % (self.getsize(), int(self.getModificationTime() * 1e6))
            request.setHeader(b"ETag", etag)
            condition = request.getHeader(b"If-None-Match")
            if _etag_matches(condition, etag):
                request.setResponseCode(http.NOT_MODIFIED)
                return b""
            if condition is not None:
                # If-None-Match decides alone when present (RFC 9110 13.1.3).
                request.requestHeaders.removeHeader(b"If-Modified-Since")
        return super().render_GET(request)

    render_HEAD = render_GET


def static_root(path: str = "") -> StaticFile:
    """The static resource for C{path}, or for the client chatd ships."""
    directory = Path(path) if path else client_dir()
    if not directory.is_dir():
        raise ConfigError(f"[web] static = {path!r}: {directory} is not a directory; it should hold the browser client.")
    return StaticFile(str(directory), defaultType="application/octet-stream")


class GateRefusal(Resource):
    """A request refused at the gate by its client's address: the answer a direct client gets (503, same body)."""

    isLeaf = True

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason

    def render(self, request) -> bytes:
        request.setResponseCode(http.SERVICE_UNAVAILABLE)
        request.setHeader(b"Content-Type", b"application/json")
        request.setHeader(b"Cache-Control", b"no-store")
        return refusal_body(self.reason)


class ChatSite(DeadlineSite):
    """
    The web listener's site: every request must arrive in time
    (L{DeadlineSite}), and one a trusted proxy relays counts at the gate
    by its client's address.
    """

    requestFactory = ForwardedRequest
    channel = PollChannel
    #: The long-poll API whose polls take the lean path (set by L{build}).
    api = None
    #: The proxies whose word about a client's address is taken (shared with the gate, reloaded in place).
    proxies = TrustedProxies()

    def getResourceFor(self, request):
        connection = request.channel.transport
        if isinstance(connection, GatedConnection) and connection.relayed:
            host = request.getClientAddress().host
            reason = connection.claim(host)
            if reason is not None:
                log.info("Refused a web request from {peer} (through the proxy {proxy}): {reason}", peer=host,
                         proxy=connection.getPeer().host, reason=reason)
                return GateRefusal(reason)
            # A WebSocket never finishes its request: its claim lasts until its connection closes.
            request.notifyFinish().addBoth(lambda _: connection.unclaim(host))
        return super().getResourceFor(request)

    def log(self, request) -> None:
        """
        The access log has a line for every request but a long-poll
        client's answered polls: they are its session's stream of events,
        as a WebSocket's frames are, and writing one line per poll cost a
        fifth of a busy long-poll server's CPU (docs/performance.md).
        """
        if not is_poll(request):
            super().log(request)


def makeSite(hub, config, reactor, api_resource=None, turn=None) -> Site:
    """
    The site for every web listener (plain or TLS: it works unchanged over
    C{ssl:} endpoints; the WebSocket origin check reads the connection's
    scheme).

    @param api_resource: the long-poll API, mounted at C{/api/} if given.
    """
    root = static_root(config.web.static)
    members = WebSocketMemberFactory(hub, config, reactor=reactor, turn=turn)
    root.putChild(b"ws", WebSocketDoor(members))
    if api_resource is not None:
        root.putChild(b"api", api_resource)
    # twisted.web reads the access-log formatter it was built with, only:
    # session tokens (credentials) are masked from the first request on.
    site = ChatSite(root, timeout=REQUEST_TIMEOUT, reactor=reactor, logFormatter=access_log_formatter)
    site.proxies = members.proxies
    set_deadlines(site, config.web)
    site.displayTracebacks = False
    site.websocket = members  # for reloads: sendq and allowed_origins apply live
    return site


def build(config, shared) -> Built:
    """
    The web front end on every C{[web] listen} endpoint: the browser
    client, the WebSocket at /ws and the long-poll API at /api/, behind
    the connection gate.
    """
    from chatd.frontends.irc import settings_for
    from chatd.frontends.irc.websocket import IrcWebSocketFactory
    from chatd.frontends.wamp.websocket import WampFactory

    api = api_resource(shared.hub, config, shared.reactor, shared.cluster)
    site = makeSite(shared.hub, config, shared.reactor, api_resource=api, turn=shared.turn)
    site.requestFactory = api.requestFactory  # refuses bodies over the limit before reading them
    site.api = api  # its polls may take the lean path (chatd.frontends.fastpoll)
    irc = IrcWebSocketFactory(settings_for(config, shared), config, reactor=shared.reactor)
    site.resource.putChild(b"irc", WebSocketDoor(irc))
    wamp = WampFactory(shared.hub, config, reactor=shared.reactor, turn=shared.turn, cluster=shared.cluster)
    site.resource.putChild(b"wamp", WebSocketDoor(wamp))
    # One list of trusted proxies for every listener: the gate's, which a reload changes in place.
    site.proxies = site.websocket.proxies = irc.proxies = wamp.proxies = shared.gate.proxies

    def reload(old, new) -> List[str]:
        set_deadlines(site, new.web)
        irc.reload(old, new)
        return api.reload(old, new) + site.websocket.reload(old, new) + wamp.reload(old, new)

    return Built(GatedFactory(shared.gate, site, http_refusal, "web", forwarded=True), reload)


FRONT_END = FrontEnd("web", lambda config: config.web_listeners(), build)
