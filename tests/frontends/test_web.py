"""
The web site, driven over a StringTransport: static files (types, caching,
security headers, no listings), the WebSocket mounted at /ws, the API slot
at /api, and twisted.web's own limits kept.
"""

import json
import os
import struct
from pathlib import Path

import pytest
import txaio
from twisted.internet import _producer_helpers
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock, Cooperator
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from chatd.config import Config, ConfigError, WebConfig
from chatd.core.hub import Hub
from chatd.frontends import web
from chatd.store.memory import MemoryStore

from test_jsonapi import logged  # noqa: F401  (a fixture: every log event during the test)
from test_websocket import KEY, RELAXED, masked_frame, parse_frames

INDEX = b"<!doctype html><title>chatd</title>\n"

FILES = {
    "index.html": INDEX,
    "app.js": b"console.log('hi');\n",
    "style.css": b"body{}\n",
    "logo.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    "icon.png": b"\x89PNG\r\n\x1a\n",
    "favicon.ico": b"\x00\x00\x01\x00",
    "data.json": b"{}",
    "site.webmanifest": b"{}",
    "blob.xyz": b"<script>alert(1)</script>",
    ".secret": b"hidden",
    "sub/nested.js": b"1;",
}


class Transport(StringTransport):
    def unregisterProducer(self) -> None:
        self.producer = None


class Response:
    def __init__(self, raw: bytes) -> None:
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            self.headers[name.decode().lower()] = value.strip().decode()

    def __getitem__(self, name: str) -> str:
        return self.headers[name.lower()]


@pytest.fixture
def clock(monkeypatch):
    """Site timers, Autobahn timers and static file producers on one Clock."""
    clock = Clock()
    saved, txaio.config.loop = txaio.config.loop, clock
    coop = Cooperator(scheduler=lambda tick: clock.callLater(0, tick))
    monkeypatch.setattr(_producer_helpers, "cooperate", coop.cooperate)
    yield clock
    txaio.config.loop = saved


@pytest.fixture
def static(tmp_path) -> Path:
    for name, data in FILES.items():
        path = tmp_path / "client" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (tmp_path / "client" / "empty").mkdir()
    return tmp_path / "client"


class Browser:
    """Requests over fresh connections to one site."""

    def __init__(self, clock, site) -> None:
        self.clock = clock
        self.site = site
        self.connections = []

    def connect(self):
        transport = Transport(
            hostAddress=IPv4Address("TCP", "127.0.0.1", 8080),
            peerAddress=IPv4Address("TCP", "192.0.2.9", 40000),
            lenient=True,
        )
        proto = self.site.buildProtocol(transport.getPeer())
        transport.protocol = proto  # as a TCP transport has
        proto.makeConnection(transport)
        self.connections.append(transport)
        return transport

    def pump(self) -> None:
        while any(call.getTime() <= self.clock.seconds() for call in self.clock.getDelayedCalls()):
            self.clock.advance(0)

    def request(self, method: str, path: str, headers: dict = None, host: str = "127.0.0.1:8080") -> Response:
        transport = self.connect()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        transport.protocol.dataReceived("\r\n".join(lines).encode() + b"\r\n\r\n")
        self.pump()
        return Response(transport.value())

    def get(self, path: str, **headers) -> Response:
        return self.request("GET", path, {k.replace("_", "-"): v for k, v in headers.items()})

    def finish(self) -> None:
        for transport in self.connections:
            if not transport.disconnected:
                transport.loseConnection()
            transport.protocol.connectionLost(Failure(ConnectionDone()))
        self.pump()


@pytest.fixture
def make_browser(clock, static):
    browsers = []

    def make(api=None, **web_settings) -> Browser:
        web_settings.setdefault("static", str(static))
        config = Config(web=WebConfig(**web_settings), rules=RELAXED)
        hub = Hub(clock, MemoryStore(), config.rules)
        browser = Browser(clock, web.makeSite(hub, config, clock, api_resource=api))
        browser.hub = hub
        browsers.append(browser)
        return browser

    yield make
    for browser in browsers:
        browser.finish()
        assert not browser.hub.sessions
    assert clock.getDelayedCalls() == []


@pytest.fixture
def browser(make_browser) -> Browser:
    return make_browser()


# -- static files ---------------------------------------------------------------------


def test_index_page(browser):
    r = browser.get("/")
    assert r.status == 200 and r.body == INDEX
    assert r["Content-Type"] == "text/html; charset=utf-8"
    assert r["Cache-Control"] == "no-cache"
    assert r["Content-Security-Policy"].startswith("default-src 'self'; connect-src 'self' ws: wss:")
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Referrer-Policy"] == "no-referrer"
    assert r["ETag"].startswith('"') and r["Last-Modified"].endswith("GMT")
    assert browser.get("/index.html").body == INDEX


@pytest.mark.parametrize(
    "path, content_type",
    [
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/logo.svg", "image/svg+xml"),
        ("/icon.png", "image/png"),
        ("/favicon.ico", "image/x-icon"),
        ("/data.json", "application/json"),
        ("/site.webmanifest", "application/manifest+json"),
        ("/blob.xyz", "application/octet-stream"),
        ("/sub/nested.js", "text/javascript; charset=utf-8"),
    ],
)
def test_assets(browser, path, content_type):
    r = browser.get(path)
    assert r.status == 200 and r.body == FILES[path[1:]]
    assert r["Content-Type"] == content_type
    assert r["Cache-Control"] == f"public, max-age={web.ASSET_MAX_AGE}"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["ETag"] and r["Last-Modified"]


def test_revalidation(browser, static):
    first = browser.get("/app.js")
    etag, modified = first["ETag"], first["Last-Modified"]
    for headers in ({"If-None-Match": etag}, {"If-None-Match": f'"nope", W/{etag}'}, {"If-None-Match": "*"},
                    {"If-Modified-Since": modified}):
        r = browser.request("GET", "/app.js", headers)
        assert (r.status, r.body) == (304, b""), headers
        assert r["ETag"] == etag and r["Cache-Control"].startswith("public")
    # If-None-Match decides alone: a stale tag means a full answer.
    r = browser.request("GET", "/app.js", {"If-None-Match": '"old"', "If-Modified-Since": modified})
    assert (r.status, r.body) == (200, FILES["app.js"])
    # A new version gets a new tag.
    path = static / "app.js"
    path.write_bytes(b"console.log('v2');\n")
    os.utime(path, (1, 2_000_000_000))
    r = browser.request("GET", "/app.js", {"If-None-Match": etag})
    assert r.status == 200 and r.body == b"console.log('v2');\n" and r["ETag"] != etag


def test_head(browser):
    r = browser.request("HEAD", "/")
    assert r.status == 200 and r.body == b"" and r["Cache-Control"] == "no-cache"


@pytest.mark.parametrize(
    "path",
    ["/missing.js", "/.secret", "/empty/", "/sub/", "/../etc/passwd", "/%2e%2e/etc/passwd",
     "/sub%2f..%2f..%2fetc%2fpasswd", "/app.js/x"],
)
def test_not_found_and_no_listings(browser, path):
    r = browser.get(path)
    assert r.status == 404, (path, r.body)
    assert r["Content-Type"] == "text/plain; charset=utf-8"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert b"<" not in r.body


@pytest.mark.parametrize(
    "path",
    ["/%c0%ae%c0%ae/etc/passwd", "/%ff%fe", "/%ed%a0%80", "/sub/%c0%af", "/%00", "/index.html%00.png",
     "/..%5c..%5cetc%5cpasswd", "/" + "a" * 5000, "/sub/" + "b" * 300],
)
def test_undecodable_and_impossible_names_are_404_without_a_traceback(browser, logged, path):
    """Not UTF-8, NUL, longer than a file name: a plain 404, and nothing logged as an error."""
    r = browser.get(path)
    assert r.status == 404 and r["Content-Type"] == "text/plain; charset=utf-8", (path, r.body)
    assert not [e for e in logged if e.get("log_failure") or e.get("isError")], logged


def test_a_directory_without_slash_redirects_then_404s(browser):
    assert browser.get("/sub").status in (301, 302, 303)


def test_no_index_is_a_404_not_a_listing(make_browser, static):
    (static / "index.html").unlink()
    r = make_browser().get("/")
    assert r.status == 404 and b"app.js" not in r.body


def test_other_methods_are_refused(browser):
    r = browser.request("POST", "/app.js")
    assert r.status == 405 and r["Allow"] == "GET, HEAD"
    assert browser.request("DELETE", "/").status == 405


def test_missing_static_dir_refuses_to_start(clock, tmp_path):
    config = Config(web=WebConfig(static=str(tmp_path / "nope")))
    with pytest.raises(ConfigError, match="static"):
        web.makeSite(Hub(clock, MemoryStore()), config, clock)


def test_client_dir_prefers_the_packaged_client(monkeypatch, tmp_path):
    monkeypatch.setattr(web, "files", lambda package: tmp_path)
    assert web.client_dir() == Path(__file__).resolve().parents[2] / "web"
    (tmp_path / "web_client").mkdir()
    assert web.client_dir() == tmp_path / "web_client"


def test_empty_static_setting_serves_the_shipped_client(make_browser):
    r = make_browser(static="").get("/")
    assert r.status == 200 and r.body == (web.client_dir() / "index.html").read_bytes()


# -- mounts, limits, timeouts ---------------------------------------------------------


def test_api_is_mounted_when_given(make_browser):
    api = Resource()
    api.putChild(b"ping", _Text(b"pong"))
    assert make_browser(api=api).get("/api/ping").body == b"pong"


def test_no_api_without_a_resource(browser):
    assert browser.get("/api/sessions").status == 404


class _Text(Resource):
    isLeaf = True

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body

    def render_GET(self, request):
        return self.body


def test_header_limits_are_kept(browser):
    many = {f"X-Junk-{i}": "a" * 1000 for i in range(20)}  # 20 kB in all
    assert browser.request("GET", "/ws", many).status == 400
    transport = browser.connect()  # one line over 16 kB: dropped
    transport.protocol.dataReceived(b"GET /ws HTTP/1.1\r\nX-Junk: " + b"a" * 20000)
    assert transport.disconnecting and transport.value() == b""


def test_idle_connection_times_out(browser, clock):
    transport = browser.connect()
    clock.advance(web.REQUEST_TIMEOUT + 1)
    assert transport.disconnecting


class _Held(Resource):
    """Answers nothing until told: a long-poll GET waiting for events."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.bodies = []

    def render(self, request):
        self.bodies.append(request.content.read())
        return NOT_DONE_YET


def test_a_trickled_body_is_cut_at_the_request_deadline(make_browser, clock):
    """Headers in time, then a chunked body at a byte a second: aborted after request_timeout."""
    held = _Held()
    browser = make_browser(api=held, header_timeout=5, request_timeout=12)
    transport = browser.connect()
    transport.protocol.dataReceived(
        b"POST /api/sessions/T/commands HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    seconds = 0
    while not transport.disconnecting and seconds < 100:
        transport.protocol.dataReceived(b"1\r\nx\r\n")
        clock.advance(1)
        seconds += 1
    assert transport.disconnecting and seconds == 12
    assert held.bodies == []


def test_a_held_request_is_not_cut_once_it_has_arrived(make_browser, clock):
    """A GET, or a POST whose body is complete, may wait for its answer beyond every deadline."""
    held = _Held()
    browser = make_browser(api=held, header_timeout=5, request_timeout=12)
    get, post = browser.connect(), browser.connect()
    get.protocol.dataReceived(b"GET /api/sessions/T/events HTTP/1.1\r\nHost: x\r\n\r\n")
    post.protocol.dataReceived(b"POST /api/sessions/T/commands HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{")
    clock.advance(4)
    post.protocol.dataReceived(b"}")
    clock.advance(100)
    assert held.bodies == [b"", b"{}"]
    assert not get.disconnecting and not post.disconnecting


def test_each_request_on_a_connection_gets_its_own_deadline(make_browser, clock):
    """Keep-alive: the deadline starts at each request's first byte, not at the connection's."""
    browser = make_browser(header_timeout=5, request_timeout=12)
    transport = browser.connect()
    for _ in range(3):
        transport.protocol.dataReceived(b"GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n")
        browser.pump()
        clock.advance(10)
    assert not transport.disconnecting and transport.value().count(b"HTTP/1.1 200 OK") == 3


def test_no_tracebacks_for_visitors(browser):
    assert browser.site.displayTracebacks is False


# -- the WebSocket at /ws ------------------------------------------------------------


def upgrade(browser, origin=None):
    transport = browser.connect()
    request = (
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: " + KEY + b"\r\nSec-WebSocket-Version: 13\r\n"
    )
    if origin:
        request += b"Origin: " + origin.encode() + b"\r\n"
    transport.protocol.dataReceived(request + b"\r\n")
    head, _, rest = transport.value().partition(b"\r\n\r\n")
    transport.clear()
    return transport, head, rest


def test_websocket_through_the_site(browser):
    transport, head, rest = upgrade(browser, origin="http://127.0.0.1:8080")
    assert head.startswith(b"HTTP/1.1 101")
    ws = transport.protocol
    assert transport.producer is ws.outbox  # twisted.web's channel let go of it
    [(opcode, welcome)] = parse_frames(rest)[0]
    assert json.loads(welcome)["transport"] == "websocket"
    ws.dataReceived(masked_frame(b'{"type":"nick","nick":"webby","ref":1}'))
    [(opcode, ok)] = parse_frames(transport.value())[0]
    assert json.loads(ok) == {"type": "ok", "ref": 1}
    ws.dataReceived(masked_frame(struct.pack("!H", 1000), opcode=8))
    assert transport.disconnecting or transport.disconnected


def test_websocket_foreign_origin_is_refused_by_the_site(browser):
    transport, head, rest = upgrade(browser, origin="http://evil.example")
    assert head.startswith(b"HTTP/1.1 403")
    assert transport.disconnecting and not browser.hub.sessions


def test_pongs_are_answered_after_queued_frames(browser):
    """A client that reads gets its pong at once, in order after what was queued for it."""
    transport, head, _ = upgrade(browser, origin="http://127.0.0.1:8080")
    ws = transport.protocol
    ws.dataReceived(masked_frame(b'{"type":"nick","nick":"pinger","ref":1}') + masked_frame(b"hello?", opcode=9))
    frames, rest = parse_frames(transport.value())
    assert [opcode for opcode, _ in frames] == [1, 10] and frames[1][1] == b"hello?" and rest == b""
    assert json.loads(frames[0][1]) == {"type": "ok", "ref": 1}


def test_a_ping_flood_from_a_client_that_reads_nothing_is_cut_off_at_sendq(browser):
    """
    The client stops reading (the transport pauses the connection's
    producer), then sends 600 KiB of pings: the pongs are held and counted
    against sendq (256 KiB by default), and past it the connection is
    aborted at once; the rest of the flood is not answered.
    """
    transport, head, _ = upgrade(browser, origin="http://127.0.0.1:8080")
    ws = transport.protocol
    transport.clear()
    transport.producer.pauseProducing()
    ping = masked_frame(b"p" * 125, opcode=9)
    for _ in range(30):
        if transport.disconnected:
            break
        ws.dataReceived(ping * 160)  # 20 KiB of pings, as one read
    assert transport.disconnected, "still open after 600 KiB of pings"
    assert transport.value() == b"", "nothing is written to a paused transport"
    assert browser.hub.stats["slow_dropped"] == 1


def test_plain_get_on_ws_gets_426(browser):
    assert browser.get("/ws").status == 426


@pytest.mark.parametrize("path, status", [("/ws", 426), ("/ws/", 426), ("/ws/%c0%ae", 404), ("/ws/x/y", 404)])
def test_what_is_not_a_handshake_is_answered_without_log_lines(browser, logged, path, status):
    """Autobahn, which logs two lines per refusal, never sees it."""
    r = browser.get(path)
    assert r.status == status and r["Content-Type"] == "text/plain; charset=utf-8"
    assert status != 426 or r["Upgrade"] == "websocket"
    assert logged == []
