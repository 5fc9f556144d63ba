"""
Tests for L{chatd.frontends.longpoll}: a real twisted.web Site, fed raw
HTTP bytes over L{StringTransport}, with a fake clock.  No sockets, no
real time.
"""

import json
from dataclasses import replace
from typing import List, Optional

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import Site
from zope.interface.verify import verifyObject

from chatd.config import Config, WebConfig
from chatd.core.hub import Hub
from chatd.core.interfaces import ISink
from rawwire import Response, parse_responses

from chatd.frontends import longpoll
from chatd.frontends.fastpoll import PollChannel
from chatd.frontends.httpbounds import DeadlineSite, LimitedRequest, access_log_formatter, limited_request_factory
from chatd.frontends.longpoll import LINGER, LongPollResource
from chatd.store.memory import MemoryStore

# -- a tiny HTTP client over StringTransport ---------------------------------



class Conn:
    """One client connection to the site."""

    def __init__(self, site, ip: str) -> None:
        addr = IPv4Address("TCP", ip, 40000)
        self.proto = site.buildProtocol(addr)
        self.transport = StringTransport(peerAddress=addr)
        self.proto.makeConnection(self.transport)

    def send(self, data: bytes) -> None:
        self.proto.dataReceived(data)

    def responses(self, head: bool = False) -> List[Response]:
        return parse_responses(self.transport.value(), head)

    def lose(self) -> None:
        self.proto.connectionLost(Failure(ConnectionDone()))


def raw(method: str, path: str, body: Optional[bytes] = None, headers=None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: chat.example"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body is not None and "Transfer-Encoding" not in (headers or {}):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


class LeanSite(DeadlineSite):
    """A site whose polls take the web listener's lean path (chatd.frontends.fastpoll), as chatd's does."""

    channel = PollChannel


class Web:
    """
    A hub, a long-poll resource mounted at /api, and a Site, on a Clock.
    Every test runs twice (L{lean}): through twisted.web alone, and with
    polls on the lean path of the web listener's channel.
    """

    lean = False

    def __init__(self, config: Config = Config(), factory=True) -> None:
        self.clock = Clock()
        self.config = config
        self.hub = Hub(self.clock, MemoryStore())
        self.api = LongPollResource(self.hub, config, self.clock)
        root = Resource()
        root.putChild(b"api", self.api)
        if self.lean:
            self.site = LeanSite(root, timeout=None, reactor=self.clock)
            self.site.api = self.api
        else:
            self.site = Site(root, timeout=None, reactor=self.clock)
        if factory:
            self.site.requestFactory = limited_request_factory(config.web.max_body)

    def connect(self, ip: str = "192.0.2.1") -> Conn:
        return Conn(self.site, ip)

    def send(self, method, path, body=None, headers=None, ip="192.0.2.1") -> Conn:
        conn = self.connect(ip)
        conn.send(raw(method, path, body, headers))
        return conn

    def request(self, method, path, body=None, headers=None, ip="192.0.2.1") -> Response:
        """Send one request and return its (already complete) response."""
        (response,) = self.send(method, path, body, headers, ip).responses(method == "HEAD")
        return response

    def session(self, nick: Optional[str] = None, room: Optional[str] = None, ip="192.0.2.1") -> str:
        token = self.request("POST", "/api/sessions", ip=ip).json()["session"]
        if nick:
            assert self.command(token, {"type": "nick", "nick": nick}).json()["type"] == "ok"
        if room:
            assert self.command(token, {"type": "join", "room": room}).json()["type"] == "ok"
        return token

    def command(self, token: str, command) -> Response:
        return self.request("POST", f"/api/sessions/{token}/commands", json.dumps(command).encode())

    def poll(self, token: str, after: int = 0, timeout: float = 0) -> Response:
        return self.request("GET", f"/api/sessions/{token}/events?after={after}&timeout={timeout}")

    def drain(self, token: str) -> int:
        """Acknowledge everything queued so far; return the cursor."""
        last = self.poll(token).json()["last"]
        self.poll(token, after=last)
        return last


def types(response: Response) -> List[str]:
    return [e["type"] for e in response.json()["events"]]


@pytest.fixture(autouse=True, params=["twisted.web", "lean path"])
def path(request, monkeypatch):
    """Run the test through twisted.web, and again with polls on the lean path."""
    monkeypatch.setattr(Web, "lean", request.param == "lean path")
    return request.param


@pytest.fixture
def web():
    return Web()


def with_web(**changes) -> Config:
    return replace(Config(), web=replace(WebConfig(), **changes))


# -- creating sessions ---------------------------------------------------------


def test_create_session(web):
    """POST /api/sessions: 201, a token of at least 128 bits, a long-poll welcome."""
    r = web.request("POST", "/api/sessions")
    assert r.status == 201
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    token = body["session"]
    assert len(token) >= 32  # token_urlsafe(24): 192 bits
    assert r.headers["location"] == f"/api/sessions/{token}"
    welcome = body["welcome"]
    assert welcome["type"] == "welcome" and welcome["transport"] == "longpoll"
    assert welcome["limits"]["body"] == 65536
    assert web.request("POST", "/api/sessions").json()["session"] != token


def test_session_is_a_sink(web):
    """A poll session provides the core's ISink."""
    token = web.session()
    verifyObject(ISink, web.api.sessions.get(token))


# -- commands ------------------------------------------------------------------


def test_command_ok(web):
    """A command's ok object is the 200 body, ref echoed."""
    token = web.session()
    r = web.command(token, {"type": "nick", "nick": "alice", "ref": 1})
    assert r.status == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "no-store"
    assert r.json() == {"type": "ok", "ref": 1}


def test_command_refused_by_core_is_200(web):
    """A well-formed command the core refuses is a 200 error object, not an HTTP error."""
    token = web.session()
    r = web.command(token, {"type": "say", "room": "#a", "text": "hi", "ref": "x"})
    assert r.status == 200
    assert r.json()["type"] == "error"
    assert r.json()["code"] == "no-nick"
    assert r.json()["ref"] == "x"


@pytest.mark.parametrize(
    "body, code",
    [
        (b"{not json", "bad-json"),
        (b"\xff\xfe", "bad-json"),
        (b"[1, 2]", "bad-json"),
        (b"", "bad-json"),
        (b'{"nick":"x"}', "unknown-type"),
        (b'{"type":"dance"}', "unknown-type"),
        (b'{"type":"nick","ref":7}', "bad-command"),
        (b'{"type":"say","room":"#a","text":5}', "bad-command"),
    ],
)
def test_bad_envelope_is_400(web, body, code):
    """Bad JSON or a bad command envelope is an HTTP 400 with a JSON error body."""
    token = web.session()
    r = web.request("POST", f"/api/sessions/{token}/commands", body)
    assert r.status == 400
    assert r.headers["content-type"] == "application/json"
    assert r.json()["type"] == "error" and r.json()["code"] == code


def test_http_errors_are_counted(web):
    """Every error answered is reported to the hub's metrics."""
    token = web.session()
    web.request("POST", f"/api/sessions/{token}/commands", b"nope")
    web.poll("nope")
    assert web.hub.stats["error:bad-json"] == 1
    assert web.hub.stats["error:no-such-session"] == 1


def test_bad_command_echoes_ref(web):
    """A 400 for a bad field still echoes the command's ref."""
    token = web.session()
    r = web.request("POST", f"/api/sessions/{token}/commands", b'{"type":"nick","ref":7}')
    assert r.json()["ref"] == 7


def test_reading_command_queues_data_event(web):
    """A reading command's data event (with ref) is queued just before its ok is answered."""
    token = web.session("alice", "#lobby")
    last = web.drain(token)
    r = web.command(token, {"type": "who", "room": "#lobby", "ref": "w"})
    assert r.json() == {"type": "ok", "ref": "w"}
    (event,) = web.poll(token, after=last).json()["events"]
    assert event == {"seq": last + 1, "type": "members", "room": "#lobby", "nicks": ["alice"], "topic": "", "ref": "w"}


# -- events ----------------------------------------------------------------------


def test_events_after_join(web):
    """A joiner's poll returns join, members, history, each with a seq, and last."""
    token = web.session("alice", "#lobby")
    body = web.poll(token).json()
    assert [e["type"] for e in body["events"]] == ["join", "members", "history"]
    assert [e["seq"] for e in body["events"]] == [1, 2, 3]
    assert body["last"] == 3


def test_same_after_same_events(web):
    """Polling again with the same after returns the same events (a lost response is resent)."""
    token = web.session("alice", "#lobby")
    first = web.poll(token, after=1)
    second = web.poll(token, after=1)
    assert first.body == second.body
    assert [e["seq"] for e in first.json()["events"]] == [2, 3]


def test_after_acknowledges(web):
    """Events up to after are dropped once acknowledged."""
    token = web.session("alice", "#lobby")
    web.poll(token, after=3)
    assert len(web.api.sessions.get(token).queue) == 0
    assert web.poll(token, after=0).json() == {"events": [], "last": 0}


def test_held_poll_wakes_on_message(web):
    """A held poll answers as soon as another session says something."""
    alice = web.session("alice", "#lobby")
    bob = web.session("bob", "#lobby")
    last = web.drain(bob)
    held = web.send("GET", f"/api/sessions/{bob}/events?after={last}&timeout=30")
    assert held.responses() == []
    assert web.command(alice, {"type": "say", "room": "#lobby", "text": "hi bob"}).json()["type"] == "ok"
    (r,) = held.responses()
    assert r.status == 200
    (event,) = r.json()["events"]
    assert event["type"] == "message" and event["text"] == "hi bob" and event["from"] == "alice"
    assert r.json()["last"] == event["seq"] == last + 1


def test_fan_out_encodes_once(web):
    """Every long-poll member of a room queues the very same encoded bytes."""
    alice = web.session("alice", "#lobby")
    bob = web.session("bob", "#lobby")
    web.command(alice, {"type": "say", "room": "#lobby", "text": "shared"})
    tails = [web.api.sessions.get(t).queue.take(0).entries[-1][1] for t in (alice, bob)]
    assert b"shared" in tails[0]
    assert tails[0] is tails[1]


def test_poll_default_timeout(web):
    """Without timeout a poll is held 25 s, then answered with an empty batch."""
    token = web.session()
    held = web.send("GET", f"/api/sessions/{token}/events?after=0")
    web.clock.advance(24.9)
    assert held.responses() == []
    web.clock.advance(0.1)
    (r,) = held.responses()
    assert r.status == 200 and r.json() == {"events": [], "last": 0}


def test_poll_timeout_clamped(web):
    """A timeout over the maximum (60 s) is clamped to it."""
    token = web.session()
    held = web.send("GET", f"/api/sessions/{token}/events?after=0&timeout=3600")
    web.clock.advance(59.9)
    assert held.responses() == []
    web.clock.advance(0.1)
    assert held.responses()[0].json() == {"events": [], "last": 0}


def test_poll_fractional_timeout(web):
    """A fractional timeout is allowed."""
    token = web.session()
    held = web.send("GET", f"/api/sessions/{token}/events?after=0&timeout=0.5")
    web.clock.advance(0.5)
    assert held.responses()[0].status == 200


@pytest.mark.parametrize("query", ["after=-1", "after=x", "after=1.5", "timeout=abc", "timeout=-3", "timeout=nan"])
def test_bad_query_is_400(web, query):
    """A cursor or timeout that is not a number of 0 or more is a 400."""
    token = web.session()
    r = web.request("GET", f"/api/sessions/{token}/events?{query}")
    assert r.status == 400 and r.json()["code"] == "bad-request"


def test_second_poll_answers_first(web):
    """A second poll on the same session answers the held one at once."""
    token = web.session()
    first = web.send("GET", f"/api/sessions/{token}/events?after=0&timeout=30")
    second = web.send("GET", f"/api/sessions/{token}/events?after=0&timeout=30")
    assert first.responses()[0].json() == {"events": [], "last": 0}
    assert second.responses() == []


def test_client_leaving_cancels_poll(web):
    """A client that disconnects while held leaves no waiter and no poll timer."""
    token = web.session()
    queue = web.api.sessions.get(token).queue
    held = web.send("GET", f"/api/sessions/{token}/events?after=0&timeout=30")
    assert queue.waiting
    held.lose()
    assert not queue.waiting
    assert len(web.clock.getDelayedCalls()) == 1  # the session's idle timer only
    queue.append(b'{"type":"notice"}')  # nothing to write to any more


def test_requests_pipelined_behind_a_held_poll_are_answered_after_it_in_order(web):
    """HTTP/1.1 answers in order: what a client sends behind a held poll waits for it, then is answered."""
    alice = web.session("alice", "#lobby")
    bob = web.session("bob", "#lobby")
    last = web.drain(bob)
    conn = web.connect()
    conn.send(raw("GET", f"/api/sessions/{bob}/events?after={last}&timeout=30"))
    conn.send(raw("GET", f"/api/sessions/{bob}/events?after={last}&timeout=0")
              + raw("POST", f"/api/sessions/{bob}/commands", json.dumps({"type": "rooms"}).encode()))
    assert conn.responses() == []
    web.command(alice, {"type": "say", "room": "#lobby", "text": "now"})
    first, second, third = conn.responses()
    assert [e["text"] for e in first.json()["events"]] == ["now"]
    assert [e["text"] for e in second.json()["events"]] == ["now"]  # the same cursor: not acknowledged yet
    assert third.json()["type"] == "ok"


def test_a_poll_that_arrives_in_pieces_is_answered(web):
    token = web.session()
    request = raw("GET", f"/api/sessions/{token}/events?after=0&timeout=0")
    conn = web.connect()
    for piece in (request[:7], request[7:30], request[30:]):
        conn.send(piece)
    (r,) = conn.responses()
    assert r.status == 200 and r.json() == {"events": [], "last": 0}


def test_a_poll_asking_to_close_is_answered_then_closed(web):
    token = web.session()
    conn = web.connect()
    conn.send(raw("GET", f"/api/sessions/{token}/events?after=0&timeout=0", headers={"Connection": "close"}))
    (r,) = conn.responses()
    assert r.status == 200 and conn.transport.disconnecting


def test_a_poll_for_an_unknown_session_or_with_a_bad_cursor_is_refused_in_json(web):
    token = web.session()
    assert web.poll("no-such-token").status == 404
    bad = web.request("GET", f"/api/sessions/{token}/events?after=minus-one")
    assert bad.status == 400 and bad.json()["type"] == "error"


def test_overflow_event(web):
    """A session that falls behind its backlog gets an overflow error event."""
    web = Web(with_web(backlog=4))
    token = web.session("alice", "#lobby")
    for i in range(5):
        web.command(token, {"type": "say", "room": "#lobby", "text": f"m{i}"})
    events = web.poll(token).json()["events"]
    assert len(events) == 4
    assert events[-1]["type"] == "error" and events[-1]["code"] == "overflow"


# -- ending sessions ------------------------------------------------------------


def test_delete_leaves_rooms(web):
    """DELETE: 204, the others see a quit, and the token is gone."""
    alice = web.session("alice", "#lobby")
    bob = web.session("bob", "#lobby")
    last = web.drain(bob)
    r = web.request("DELETE", f"/api/sessions/{alice}")
    assert r.status == 204 and r.body == b""
    (quit,) = web.poll(bob, after=last).json()["events"]
    assert quit["type"] == "quit" and quit["nick"] == "alice" and quit["room"] == "#lobby"
    for method, path in [("DELETE", ""), ("GET", "/events"), ("POST", "/commands")]:
        r = web.request(method, f"/api/sessions/{alice}{path}", b"{}" if method == "POST" else None)
        assert r.status == 404 and r.json()["code"] == "no-such-session"
    assert "alice" not in [s.nick for s in web.hub.sessions]


def test_delete_answers_held_poll(web):
    """Ending a session answers its held poll."""
    token = web.session()
    held = web.send("GET", f"/api/sessions/{token}/events?after=0&timeout=30")
    web.request("DELETE", f"/api/sessions/{token}")
    assert held.responses()[0].status == 200
    assert web.clock.getDelayedCalls() == []


def test_expiry(web):
    """A session not polled for session_idle seconds expires: others see a quit, the token 404s."""
    alice = web.session("alice", "#lobby")
    bob = web.session("bob", "#lobby")
    last = web.drain(bob)
    web.clock.advance(30)
    assert web.poll(alice).status == 200  # alice polls at 30 s: she expires at 90 s
    web.clock.advance(20)
    held = web.send("GET", f"/api/sessions/{bob}/events?after={last}&timeout=45")
    web.clock.advance(39)
    assert held.responses() == []
    assert web.api.sessions.get(alice) is not None
    web.clock.advance(1)
    (r,) = held.responses()
    (quit,) = r.json()["events"]
    assert quit["type"] == "quit" and quit["nick"] == "alice" and quit["reason"] == "Session expired"
    assert web.poll(alice).status == 404
    assert web.api.sessions.get(bob) is not None


def test_held_poll_keeps_session_alive():
    """A poll being held counts as activity: the idle time starts when it ends."""
    web = Web(with_web(session_idle=10))
    token = web.session()
    web.send("GET", f"/api/sessions/{token}/events?after=0&timeout=60")
    web.clock.advance(60)  # the poll times out now, after 60 s without expiring
    assert web.api.sessions.get(token) is not None
    web.clock.advance(9)
    assert web.api.sessions.get(token) is not None
    web.clock.advance(1)
    assert web.api.sessions.get(token) is None


def test_shutdown_tells_held_poll(web):
    """The server ending every session tells a held poll why."""
    token = web.session()
    held = web.send("GET", f"/api/sessions/{token}/events?after=0&timeout=30")
    web.hub.shutdown("The server is shutting down")
    (event,) = held.responses()[0].json()["events"]
    assert event == {"seq": 1, "type": "shutdown", "reason": "The server is shutting down"}
    assert web.api.sessions.get(token) is not None, "the token lingers so a late poll can read why"
    web.clock.advance(LINGER)
    assert web.api.sessions.get(token) is None
    assert web.clock.getDelayedCalls() == []


def test_shutdown_reaches_a_client_between_polls(web):
    """A client whose poll was just answered collects the shutdown event on its next poll."""
    token = web.session()
    web.hub.shutdown("Going away")
    r = web.poll(token)
    assert [e["type"] for e in r.json()["events"]] == ["shutdown"]
    web.clock.advance(LINGER)
    assert web.poll(token).status == 404


# -- HTTP errors ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api", "/api/", "/api/nope", "/api/sessions/T/events/more", "/api/sessions/T/x"])
def test_unknown_path_404(web, path):
    """Paths outside the API are 404 with a JSON body."""
    r = web.request("GET", path)
    assert r.status == 404
    assert r.headers["content-type"] == "application/json"
    assert r.json()["code"] == "not-found"


def test_unknown_session_404(web):
    """An unknown token is a 404."""
    r = web.poll("nope")
    assert r.status == 404 and r.json()["code"] == "no-such-session"


@pytest.mark.parametrize(
    "method, path, allow",
    [
        ("GET", "/api/sessions", "POST"),
        ("PUT", "/api/sessions/{t}", "DELETE"),
        ("GET", "/api/sessions/{t}", "DELETE"),
        ("GET", "/api/sessions/{t}/commands", "POST"),
        ("POST", "/api/sessions/{t}/events", "GET"),
        ("HEAD", "/api/sessions/{t}/events", "GET"),
        ("OPTIONS", "/api/sessions", "POST"),
    ],
)
def test_wrong_method_405(web, method, path, allow):
    """A wrong method is a 405 with an Allow header."""
    token = web.session()
    r = web.request(method, path.format(t=token), b"{}" if method in ("POST", "PUT") else None)
    assert r.status == 405
    assert r.headers["allow"] == allow
    if method != "HEAD":
        assert r.json()["code"] == "method-not-allowed"


def test_rate_limit_sessions_per_ip(web):
    """More than 32 sessions from one address is a 429; others are not affected."""
    tokens = [web.session(ip="198.51.100.7") for _ in range(32)]
    r = web.request("POST", "/api/sessions", ip="198.51.100.7")
    assert r.status == 429 and r.json()["code"] == "rate-limited"
    assert r.headers["content-type"] == "application/json"
    assert web.request("POST", "/api/sessions", ip="198.51.100.8").status == 201
    web.request("DELETE", f"/api/sessions/{tokens[0]}")
    assert web.request("POST", "/api/sessions", ip="198.51.100.7").status == 201


def test_unexpected_error_is_500(web, monkeypatch):
    """A bug answers 500 JSON, is logged under chatd.longpoll, and the next request works."""
    logged = []
    monkeypatch.setattr(longpoll, "log", Logger(namespace="chatd.longpoll", observer=logged.append))
    token = web.session()

    def broken(*a, **k):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(web.api.sessions.get(token).queue, "hold", broken)  # under wait too
    r = web.poll(token)
    assert r.status == 500 and r.json()["code"] == "internal"
    (failure,) = [e for e in logged if "log_failure" in e]
    assert failure["log_failure"].check(ZeroDivisionError)
    assert failure["log_namespace"] == "chatd.longpoll"
    assert web.command(token, {"type": "rooms"}).status == 200


def test_failing_command_is_500(web, monkeypatch):
    """A Deferred that fails outside the command's own error handling is a 500, not a hang."""
    logged = []
    monkeypatch.setattr(longpoll, "log", Logger(namespace="chatd.longpoll", observer=logged.append))
    token = web.session()
    monkeypatch.setattr(web.api, "_replied", lambda *a: 1 / 0)
    r = web.command(token, {"type": "rooms"})
    assert r.status == 500
    (failure,) = [e for e in logged if "log_failure" in e]
    assert failure["log_failure"].check(ZeroDivisionError)


# -- 413 ------------------------------------------------------------------------


def test_413_before_body(web):
    """A declared body over max_body is refused when the headers arrive, before any body byte."""
    token = web.session()
    conn = web.connect()
    size = 4 * 1024 * 1024
    head = raw("POST", f"/api/sessions/{token}/commands", headers={"Content-Length": size})
    conn.send(head)
    (r,) = conn.responses()
    assert r.status == 413
    assert r.headers["connection"] == "close"
    assert r.headers["content-type"] == "application/json"
    assert r.json()["code"] == "too-large"
    assert not conn.transport.disconnecting  # still reading, so the client can finish writing
    chunk = b"x" * 65536
    for _ in range(size // len(chunk) - 1):
        conn.send(chunk)
    assert not conn.transport.disconnecting
    conn.send(chunk)
    assert conn.transport.disconnecting  # whole body read: now close
    assert len(conn.responses()) == 1


def test_413_body_not_kept(web, monkeypatch):
    """A refused body is neither buffered nor run."""
    token = web.session()
    ran = []
    monkeypatch.setattr(longpoll.jsonapi, "execute", lambda *a: ran.append(a))
    conn = web.connect()
    body = b'{"type":"rooms","pad":"' + b"x" * 70000 + b'"}'
    conn.send(raw("POST", f"/api/sessions/{token}/commands", body))
    assert conn.responses()[0].status == 413
    assert ran == []


def test_413_no_100_continue(web):
    """Expect: 100-continue with an oversized body gets the 413, never a 100."""
    conn = web.connect()
    conn.send(raw("POST", "/api/sessions", headers={"Content-Length": 10**6, "Expect": "100-continue"}))
    assert conn.transport.value().startswith(b"HTTP/1.1 413 ")
    assert b"100 Continue" not in conn.transport.value()


def test_413_huge_declared_body_closes_at_once(web):
    """A declared body over the drain limit is not read at all: 413, then close."""
    conn = web.connect()
    conn.send(raw("POST", "/api/sessions", headers={"Content-Length": LimitedRequest.drainLimit + 1}))
    assert conn.responses()[0].status == 413
    assert conn.transport.disconnecting


def test_413_chunked_drain_limit(web, monkeypatch):
    """A refused chunked body that goes on past the drain limit is cut off."""
    monkeypatch.setattr(LimitedRequest, "drainLimit", 200000)
    conn = web.connect()
    conn.send(raw("POST", "/api/sessions", headers={"Transfer-Encoding": "chunked"}))
    chunk = b"x" * 50000
    for _ in range(3):
        conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    assert conn.responses()[0].status == 413
    assert not conn.transport.disconnecting
    conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk) * 2)
    assert conn.transport.disconnecting


def test_413_chunked(web):
    """A chunked body is counted as it arrives and refused once over the limit."""
    token = web.session()
    conn = web.connect()
    conn.send(raw("POST", f"/api/sessions/{token}/commands", headers={"Transfer-Encoding": "chunked"}))
    chunk = b"x" * 30000
    for _ in range(2):
        conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    assert conn.responses() == []
    conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    assert conn.responses()[0].status == 413
    assert not conn.transport.disconnecting
    conn.send(b"0\r\n\r\n")
    assert conn.transport.disconnecting


def test_chunked_within_limit(web):
    """A chunked body within the limit is accepted."""
    token = web.session()
    conn = web.connect()
    body = json.dumps({"type": "nick", "nick": "chunky"}).encode()
    conn.send(raw("POST", f"/api/sessions/{token}/commands", headers={"Transfer-Encoding": "chunked"}))
    conn.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    assert conn.responses()[0].json() == {"type": "ok"}


def test_body_at_limit_accepted(web):
    """A body of exactly max_body bytes is not refused."""
    web = Web(with_web(max_body=100))
    token = web.session()
    body = b'{"type":"nick","nick":"bob"}'
    body += b" " * (100 - len(body))
    assert web.request("POST", f"/api/sessions/{token}/commands", body).status == 200
    assert web.request("POST", f"/api/sessions/{token}/commands", body + b" ").status == 413


def test_413_without_limited_request(monkeypatch):
    """Mounted on a Site without LimitedRequest, the resource still answers 413 itself."""
    web = Web(with_web(max_body=100), factory=False)
    token = web.session()
    conn = web.connect()
    conn.send(raw("POST", f"/api/sessions/{token}/commands", b"{" + b" " * 200 + b"}"))
    (r,) = conn.responses()
    assert r.status == 413 and r.json()["code"] == "too-large"
    assert not conn.transport.disconnecting  # the body was read; the connection can go on


def test_keepalive_after_response(web):
    """Normal responses keep the connection open for the next request."""
    conn = web.connect()
    conn.send(raw("POST", "/api/sessions") + raw("GET", "/api/nope"))
    assert [r.status for r in conn.responses()] == [201, 404]
    assert not conn.transport.disconnecting


# -- CORS ------------------------------------------------------------------------


def test_cors_off_by_default(web):
    """Without cors_origins no CORS header is ever sent and OPTIONS is not allowed."""
    r = web.request("POST", "/api/sessions", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in r.headers
    r = web.request("OPTIONS", "/api/sessions", headers={"Origin": "https://app.example"})
    assert r.status == 405 and "access-control-allow-origin" not in r.headers


def test_cors_allow_list():
    """With cors_origins, listed origins get CORS headers and preflights; others do not."""
    web = Web(with_web(cors_origins=("https://app.example",)))
    good = {"Origin": "https://app.example"}
    r = web.request("OPTIONS", "/api/sessions/whatever/events", headers=dict(good, **{
        "Access-Control-Request-Method": "GET"}))
    assert r.status == 204
    assert r.headers["access-control-allow-origin"] == "https://app.example"
    assert r.headers["access-control-allow-methods"] == "GET, OPTIONS"
    assert r.headers["access-control-allow-headers"] == "Content-Type"
    assert r.headers["vary"] == "Origin"
    r = web.request("POST", "/api/sessions", headers=good)
    assert r.status == 201 and r.headers["access-control-allow-origin"] == "https://app.example"
    r = web.request("GET", "/api/sessions/nope/events", headers=good)
    assert r.status == 404 and r.headers["access-control-allow-origin"] == "https://app.example"

    evil = {"Origin": "https://evil.example"}
    r = web.request("OPTIONS", "/api/sessions", headers=evil)
    assert r.status == 204 and "access-control-allow-origin" not in r.headers
    assert "access-control-allow-methods" not in r.headers
    r = web.request("POST", "/api/sessions", headers=evil)
    assert "access-control-allow-origin" not in r.headers
    r = web.request("PUT", "/api/sessions", b"", headers=good)
    assert r.status == 405 and r.headers["allow"] == "POST, OPTIONS"


# -- access log -------------------------------------------------------------------


def test_access_log_masks_tokens(tmp_path):
    """Session tokens are credentials: the access log masks them."""
    web = Web()
    path = tmp_path / "access.log"
    web.site = Site(web.site.resource, timeout=None, reactor=web.clock,
                    logPath=str(path), logFormatter=access_log_formatter)
    web.site.requestFactory = limited_request_factory(65536)
    web.site.startFactory()
    try:
        token = web.session()
        web.poll(token)
    finally:
        web.site.stopFactory()
    log = path.read_text()
    assert token not in log
    assert '"GET /api/sessions/-/events?after=0&timeout=0 HTTP/1.1" 200' in log
