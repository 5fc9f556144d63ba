"""
The web listener behind a trusted proxy, in memory: the listener as the
daemon builds it (the gate around the site, /ws, /irc, /wamp and /api/),
connections over StringTransports from the proxy's address or from
anyone else.  The client the proxy names is the session's address, the
access log's, and the one the gate counts and bans; a header from anyone
else changes nothing.
"""

import io
import json
from typing import Dict, List, Tuple

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.python.failure import Failure

from chatd.config import Config, WebConfig
from chatd.core.hub import Hub
from chatd.frontends import web
from chatd.frontends.gate import Gate
from chatd.frontends.registry import Shared
from chatd.store.memory import MemoryStore

from test_jsonapi import logged  # noqa: F401  (a fixture: every log event during the test)
from test_web import Response, Transport, clock, static  # noqa: F401  (clock and static are fixtures)
from rawwire import masked_frame
from test_websocket import KEY, RELAXED, parse_frames

PROXY = "127.0.0.1"
ALICE = "203.0.113.9"
BOB = "198.51.100.20"


class Front:
    """A web listener (the factory a daemon's listener serves) and its connections."""

    def __init__(self, clock, factory, hub, gate) -> None:
        self.clock, self.factory, self.hub, self.gate = clock, factory, hub, gate
        self.site = factory.wrappedFactory
        self.connections: List[Transport] = []

    @classmethod
    def trusting_localhost(cls, clock, static, per_address: int = 2, banned=()) -> "Front":
        """The web listener of a daemon with [web] trusted_proxies = 127.0.0.1."""
        config = Config(web=WebConfig(static=str(static), trusted_proxies=(PROXY,)), rules=RELAXED,
                        connections_per_ip=per_address)
        hub = Hub(clock, MemoryStore(), config.rules)
        gate = Gate(config.connections_per_ip, config.max_connections, banned=lambda host: host in banned,
                    proxies=config.web.trusted_proxies)
        shared = Shared(hub=hub, reactor=clock, gate=gate, turn=None, bans=None, reload=lambda: [])
        return cls(clock, web.build(config, shared).factory, hub, gate)

    def connect(self, peer: str) -> Transport:
        address = IPv4Address("TCP", peer, 40000 + len(self.connections))
        transport = Transport(hostAddress=IPv4Address("TCP", "127.0.0.1", 8080), peerAddress=address, lenient=True)
        protocol = self.factory.buildProtocol(address)
        transport.protocol = protocol  # as a TCP transport has
        protocol.makeConnection(transport)
        self.connections.append(transport)
        return transport

    def send(self, peer: str, method: str, path: str, headers: Dict[str, str] = None, body: bytes = b"",
             websocket: bool = False) -> Tuple[Transport, Response]:
        transport = self.connect(peer)
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1:8080"]
        if websocket:
            lines += ["Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {KEY.decode()}",
                      "Sec-WebSocket-Version: 13"]
            if path == "/wamp":
                lines.append("Sec-WebSocket-Protocol: wamp.2.json")
        if body:
            lines.append(f"Content-Length: {len(body)}")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        transport.protocol.dataReceived("\r\n".join(lines).encode() + b"\r\n\r\n" + body)
        self.pump()
        return transport, Response(transport.value()) if transport.value() else None  # None: held

    def pump(self) -> None:
        """Run what is due now (static files are written by a cooperator on the clock)."""
        while any(call.getTime() <= self.clock.seconds() for call in self.clock.getDelayedCalls()):
            self.clock.advance(0)

    def websocket(self, peer: str, path: str = "/ws", **headers) -> Tuple[Transport, Response]:
        return self.send(peer, "GET", path, {k.replace("_", "-"): v for k, v in headers.items()}, websocket=True)

    def close(self, transport: Transport) -> None:
        transport.protocol.connectionLost(Failure(ConnectionDone()))

    def peers(self, frontend: str = None) -> List[Tuple[str, str]]:
        return sorted((s.peer, s.host) for s in self.hub.sessions if frontend in (None, s.frontend))

    def finish(self) -> None:
        for transport in self.connections:
            if transport.protocol is not None and not getattr(transport, "lost", False):
                transport.lost = True
                self.close(transport)
        self.clock.advance(60)


@pytest.fixture
def front(clock, static):
    made = []

    def make(**kw) -> Front:
        made.append(Front.trusting_localhost(clock, static, **kw))
        return made[-1]

    yield make
    for f in made:
        f.finish()
        assert not f.hub.sessions
        assert f.gate.count == 0 and not f.gate.open, "every place at the gate was given back"


def test_websocket_users_behind_the_proxy_have_their_own_addresses(front, logged):
    """Sessions, whois hosts and logs show the address nginx appended, not nginx's, nor what the client wrote."""
    f = front()
    _, r = f.websocket(PROXY, x_forwarded_for=f"198.51.100.1, {ALICE}")
    assert r.status == 101
    _, r = f.websocket(PROXY, forwarded=f'for="[2001:db8::7]:4711";proto=https')
    assert r.status == 101
    assert f.peers() == [(ALICE, ALICE), ("[2001:db8::7]:4711", "2001:db8::7")]
    said = [e["log_format"].format(**e) for e in logged if e.get("log_namespace") == "chatd.websocket"]
    assert f"websocket connection from {ALICE}" in said


@pytest.mark.parametrize("path, frontend", [("/irc", "irc"), ("/ws", "websocket")])
def test_irc_over_websocket_behind_the_proxy(front, path, frontend):
    f = front()
    _, r = f.websocket(PROXY, path, x_forwarded_for=ALICE)
    assert r.status == 101
    assert f.peers(frontend) == [(ALICE, ALICE)]


def test_wamp_behind_the_proxy_is_logged_with_the_client(front, logged):
    f = front()
    _, r = f.websocket(PROXY, "/wamp", x_forwarded_for=ALICE)
    assert r.status == 101
    said = [e["log_format"].format(**e) for e in logged if e.get("log_namespace") == "chatd.wamp"]
    assert said == [f"wamp connection from {ALICE} (json)"]


def test_a_header_from_anyone_else_is_ignored(front):
    """A client that connects directly cannot pick its address: X-Forwarded-For and Forwarded change nothing."""
    f = front(per_address=3)
    _, r = f.websocket(BOB, x_forwarded_for=ALICE)
    assert r.status == 101
    _, r = f.websocket(BOB, forwarded=f"for={ALICE}")
    assert r.status == 101
    _, r = f.send(BOB, "POST", "/api/sessions", {"X-Forwarded-For": ALICE})
    assert r.status == 201
    assert f.peers() == [(BOB, BOB), (f"{BOB}:40000", BOB), (f"{BOB}:40001", BOB)]


def test_the_proxy_without_a_header_is_its_own_client(front):
    f = front()
    _, r = f.websocket(PROXY)
    assert r.status == 101
    assert f.peers() == [(f"{PROXY}:40000", PROXY)]


def test_the_per_address_limit_counts_each_client_behind_the_proxy(front):
    """
    [limits] connections_per_ip = 2: the proxy's connections are not one
    address; alice's third WebSocket is refused as a direct client's
    would be, bob's first is not; and a closed one gives its place back.
    """
    f = front(per_address=2)
    first, r1 = f.websocket(PROXY, x_forwarded_for=ALICE)
    _, r2 = f.websocket(PROXY, x_forwarded_for=ALICE)
    _, r3 = f.websocket(PROXY, x_forwarded_for=ALICE)
    _, r4 = f.websocket(PROXY, x_forwarded_for=BOB)
    assert [r1.status, r2.status, r3.status, r4.status] == [101, 101, 503, 101]
    assert r3["Content-Type"] == "application/json" and r3["Cache-Control"] == "no-store"
    assert json.loads(r3.body) == {
        "type": "error", "code": "too-many-connections",
        "message": "Too many connections from your address; close some and try again."}
    assert f.gate.stats["connections_refused:too-many-connections"] == 1
    f.close(first)
    first.lost = True
    _, again = f.websocket(PROXY, x_forwarded_for=ALICE)
    assert again.status == 101


def test_a_banned_client_behind_the_proxy_is_refused_and_others_are_not(front):
    f = front(banned={ALICE})
    _, r = f.websocket(PROXY, x_forwarded_for=ALICE)
    assert r.status == 503 and json.loads(r.body)["code"] == "banned"
    _, r = f.send(PROXY, "POST", "/api/sessions", {"X-Forwarded-For": ALICE})
    assert r.status == 503 and json.loads(r.body)["message"] == "This address is banned from this server."
    _, r = f.websocket(PROXY, x_forwarded_for=BOB)
    assert r.status == 101
    assert f.peers() == [(BOB, BOB)]


def test_a_request_counts_for_its_client_while_it_lasts(front):
    """
    Long-poll through the proxy, with connections_per_ip = 1: a held poll
    is alice's one connection, so a command sent meanwhile is refused;
    once the poll is answered, the next request passes.  Requests that
    are over hold nothing, however many there were.
    """
    f = front(per_address=1)
    _, created = f.send(PROXY, "POST", "/api/sessions", {"X-Forwarded-For": ALICE})
    assert created.status == 201
    assert f.peers("longpoll") == [(ALICE, ALICE)]
    token = json.loads(created.body)["session"]
    held, answer = f.send(PROXY, "GET", f"/api/sessions/{token}/events?after=0&timeout=10", {"X-Forwarded-For": ALICE})
    assert answer is None
    nick = json.dumps({"type": "nick", "nick": "alice"}).encode()
    _, refused = f.send(PROXY, "POST", f"/api/sessions/{token}/commands", {"X-Forwarded-For": ALICE}, nick)
    assert refused.status == 503 and json.loads(refused.body)["code"] == "too-many-connections"
    _, other = f.send(PROXY, "POST", "/api/sessions", {"X-Forwarded-For": BOB})
    assert other.status == 201
    f.clock.advance(10)  # the poll is answered: alice's place is free
    assert Response(held.value()).status == 200
    for _ in range(3):
        _, r = f.send(PROXY, "POST", f"/api/sessions/{token}/commands", {"X-Forwarded-For": ALICE}, nick)
        assert r.status == 200


def test_the_access_log_names_the_client(front):
    f = front()
    f.site.logFile = log = io.StringIO()
    f.send(PROXY, "GET", "/", {"X-Forwarded-For": ALICE})
    f.send(BOB, "GET", "/", {"X-Forwarded-For": "192.0.2.99"})
    lines = log.getvalue().splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == [f'"{ALICE}"', f'"{BOB}"']


def test_a_reload_changes_whom_the_web_listener_trusts(front):
    f = front()
    f.gate.proxies.set([BOB])
    _, r = f.websocket(PROXY, x_forwarded_for=ALICE)
    _, r2 = f.websocket(BOB, x_forwarded_for=ALICE)
    assert r.status == r2.status == 101
    assert f.peers() == [(f"{PROXY}:40000", PROXY), (ALICE, ALICE)]


def test_a_reload_changes_whom_every_listener_trusts(clock):
    """SIGHUP with a new [web] trusted_proxies: the daemon's web listener believes the new proxy at once."""
    from dataclasses import replace

    from twisted.internet.testing import MemoryReactorClock

    from chatd import config as cfg
    from chatd.service import makeService

    new = {}
    service = makeService(cfg.build({}), MemoryReactorClock(), store=MemoryStore(), loader=lambda: new["config"])
    old = service.config
    new["config"] = replace(old, web=replace(old.web, trusted_proxies=(BOB,)), lines_proxy_protocol="v1")
    report = service.reload()
    assert "trusted proxies updated" in report and "needs a restart to take effect: [lines] proxy_protocol" in report
    front = Front(clock, service.frontends["web"].factory, service.hub, service.gate)
    _, r = front.websocket(BOB, x_forwarded_for=ALICE)
    assert r.status == 101 and front.peers() == [(ALICE, ALICE)]
    front.finish()
    assert service.gate.count == 0


@pytest.mark.parametrize("path", ["/ws", "/api/"])
def test_a_password_may_come_through_a_proxy_on_this_machine(front, path):
    """
    Whether a password may travel is judged by the connection chatd has,
    as before trusted_proxies: a proxy on this machine (TLS is its job) is
    local, whatever user it names; the user's own address does not make
    the long-poll API refuse what the WebSocket accepts.
    """
    f = front()
    login = {"type": "login", "account": "nobody", "password": "correct-horse", "ref": 1}
    if path == "/ws":
        transport, r = f.websocket(PROXY, x_forwarded_for=ALICE)
        transport.clear()
        transport.protocol.dataReceived(masked_frame(json.dumps(login).encode()))
        f.pump()
        [(_, answer)] = parse_frames(transport.value())[0]
        answer = json.loads(answer)
    else:
        _, created = f.send(PROXY, "POST", "/api/sessions", {"X-Forwarded-For": ALICE})
        token = json.loads(created.body)["session"]
        _, r = f.send(PROXY, "POST", f"/api/sessions/{token}/commands", {"X-Forwarded-For": ALICE},
                      json.dumps(login).encode())
        answer = json.loads(r.body)
    assert answer["type"] == "error" and answer["code"] != "insecure", answer
