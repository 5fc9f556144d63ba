"""
The WebSocket front end, in memory: a raw HTTP upgrade and masked client
frames go in over a StringTransport, server frames are parsed back.  Time is
a Clock (Autobahn's timers run on txaio's loop, set to it here).
"""

import json
import struct
from typing import List, Optional

import pytest
import txaio
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import ISSLTransport
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs
from twisted.python.failure import Failure
from zope.interface import directlyProvides

from rawwire import masked_frame

from chatd.config import Config, WebConfig
from chatd.core.hub import Hub
from chatd.core.rules import Rules
from chatd.frontends import handshake, websocket
from chatd.frontends.handshake import origin_key
from chatd.frontends.websocket import WebSocketMemberFactory
from chatd.store.memory import MemoryStore
from chatd.wire import jsonproto

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="

# -- a tiny WebSocket client ----------------------------------------------------


def parse_frames(data: bytes):
    """Split server frames (never masked) off C{data}: (frames, rest)."""
    frames = []
    while len(data) >= 2:
        assert not data[1] & 0x80, "server frames must not be masked"
        n, start = data[1] & 0x7F, 2
        if n == 126:
            n, start = struct.unpack("!H", data[2:4])[0], 4
        elif n == 127:
            n, start = struct.unpack("!Q", data[2:10])[0], 10
        if len(data) < start + n:
            break
        frames.append((data[0] & 0x0F, data[start:start + n]))
        data = data[start + n:]
    return frames, data


class Transport(StringTransport):
    """Like TCP, unregistering no producer is harmless (Autobahn does it)."""

    def unregisterProducer(self) -> None:
        self.producer = None


class Client:
    """One connection, driven by hand."""

    def __init__(self, factory, origin: Optional[str] = None, host: str = "chat.example:8080",
                 headers: bytes = b"", handshake: bool = True) -> None:
        self.transport = Transport(
            hostAddress=IPv4Address("TCP", "127.0.0.1", 8080),
            peerAddress=IPv4Address("TCP", "192.0.2.7", 50000),
            lenient=True,
        )
        self.proto = factory.buildProtocol(self.transport.getPeer())
        self.proto.makeConnection(self.transport)
        self.raw = b""
        self.status: Optional[int] = None
        self.response = b""
        self.lost = False
        self.closes: List[tuple] = []
        self.pending: List[tuple] = []
        if handshake:
            request = (
                b"GET /ws HTTP/1.1\r\nHost: " + host.encode() + b"\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Key: " + KEY + b"\r\nSec-WebSocket-Version: 13\r\n"
            )
            if origin is not None:
                request += b"Origin: " + origin.encode() + b"\r\n"
            self.proto.dataReceived(request + headers + b"\r\n")
            self.pending = self._read()

    def _read(self) -> List[tuple]:
        """Frames received since the last call: (opcode, payload)."""
        self.raw += self.transport.value()
        self.transport.clear()
        if self.status is None:
            if b"\r\n\r\n" not in self.raw:
                return []
            self.response, self.raw = self.raw.split(b"\r\n\r\n", 1)
            self.status = int(self.response.split()[1])
        frames, self.raw = parse_frames(self.raw)
        for opcode, payload in frames:
            if opcode == 8:
                self.closes.append((struct.unpack("!H", payload[:2])[0], payload[2:].decode()))
        frames, self.pending = self.pending + frames, []
        return frames

    def send_raw(self, payload: bytes, opcode: int = 1, fin: bool = True) -> None:
        self.proto.dataReceived(masked_frame(payload, opcode, fin))

    def send(self, **command) -> None:
        self.send_raw(json.dumps(command).encode())

    def frames(self) -> List[bytes]:
        """Payloads of the text frames received since the last call."""
        out = []
        for opcode, payload in self._read():
            assert opcode in (1, 8, 9, 10), opcode
            if opcode == 1:
                out.append(payload)
        return out

    def events(self) -> List[dict]:
        return [json.loads(p) for p in self.frames()]

    def settle(self) -> None:
        """Deliver connectionLost once the server closed the transport."""
        if not self.lost and (self.transport.disconnecting or self.transport.disconnected):
            self.lost = True
            self.proto.connectionLost(Failure(ConnectionDone()))

    def close(self, code: int = 1000, reason: str = "") -> None:
        self.send_raw(struct.pack("!H", code) + reason.encode(), opcode=8)
        self._read()
        self.settle()

    def login(self, nick: str, room: Optional[str] = "#lobby") -> "Client":
        self.events()
        self.send(type="nick", nick=nick)
        if room:
            self.send(type="join", room=room)
        assert self.events()[-1]["type"] == "ok"
        return self


#: Flood control out of the way, except where a test is about it.
RELAXED = Rules(flood_rate=1000, flood_burst=1000)


class World:
    def __init__(self, clock: Clock, config: Config, store=None) -> None:
        self.clock = clock
        self.config = config
        self.hub = Hub(clock, store or MemoryStore(), config.rules)
        self.factory = WebSocketMemberFactory(self.hub, config, reactor=clock)
        self.clients: List[Client] = []

    def connect(self, **kw) -> Client:
        client = Client(self.factory, **kw)
        self.clients.append(client)
        return client

    def member(self, nick: str, room: Optional[str] = "#lobby", **kw) -> Client:
        client = self.connect(**kw)
        assert client.status == 101
        return client.login(nick, room)

    def finish(self) -> None:
        for client in self.clients:
            if not client.lost:
                if client.status == 101 and not client.transport.disconnecting and not client.transport.disconnected:
                    client.close()
                client.transport.loseConnection()
                client.settle()


@pytest.fixture
def clock():
    clock = Clock()
    saved, txaio.config.loop = txaio.config.loop, clock
    yield clock
    txaio.config.loop = saved


@pytest.fixture
def make_world(clock):
    worlds = []

    def make(store=None, sendq: int = 262144, rules: Rules = RELAXED, **web) -> World:
        world = World(clock, Config(sendq=sendq, web=WebConfig(**web), rules=rules), store)
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        world.finish()
        assert not world.hub.sessions
        assert world.factory.countConnections == 0
    assert clock.getDelayedCalls() == [], "a timer was left behind"


@pytest.fixture
def world(make_world) -> World:
    return make_world()


def of_type(events, kind):
    return [e for e in events if e["type"] == kind]


# -- handshake, limits, welcome -------------------------------------------------------


def test_every_autobahn_limit_comes_from_config(make_world):
    world = make_world(max_frame=1000, max_message=3000, max_connections=7, ping_interval=11,
                       ping_timeout=12, open_handshake_timeout=13, close_handshake_timeout=14)
    f = world.factory
    assert (f.maxFramePayloadSize, f.maxMessagePayloadSize, f.maxConnections) == (1000, 3000, 7)
    assert (f.autoPingInterval, f.autoPingTimeout) == (11, 12)
    assert (f.openHandshakeTimeout, f.closeHandshakeTimeout) == (13, 14)
    assert f.webStatus is False


@pytest.mark.parametrize("name", ["max_frame", "max_message", "max_connections", "ping_interval",
                                  "ping_timeout", "open_handshake_timeout", "close_handshake_timeout"])
def test_a_limit_of_zero_is_refused(clock, name):
    with pytest.raises(ValueError, match="0 would switch it off"):
        WebSocketMemberFactory(Hub(clock, MemoryStore()), Config(web=WebConfig(**{name: 0})), reactor=clock)


def test_welcome_on_open(world):
    client = world.connect()
    assert client.status == 101
    assert b"Server: chatd" in client.response
    [welcome] = client.events()
    assert welcome == {
        "type": "welcome", "server": "chatd", "version": 1, "transport": "websocket",
        "limits": {"message": 4000, "lines": 20, "topic": 390, "nick": 32, "history": 200, "frame": 65536},
    }
    [session] = world.hub.sessions
    assert (session.frontend, session.peer) == ("websocket", "192.0.2.7:50000")


def test_compression_offers_are_refused(world):
    client = world.connect(headers=b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n")
    assert client.status == 101
    assert b"sec-websocket-extensions" not in client.response.lower()


def test_max_connections(make_world):
    world = make_world(max_connections=1)
    assert world.connect().status == 101
    second = world.connect()
    assert second.status == 503
    second.settle()
    assert len(world.hub.sessions) == 1


# -- commands and events --------------------------------------------------------------


def test_nick_join_say(world):
    alice = world.connect()
    alice.events()
    alice.send(type="nick", nick="alice", ref=1)
    assert alice.events() == [{"type": "ok", "ref": 1}]
    alice.send(type="join", room="#lobby", ref=2)
    join, members, history, ok = alice.events()
    assert (join["type"], join["nick"], join["room"]) == ("join", "alice", "#lobby")
    assert (members["type"], members["nicks"]) == ("members", ["alice"])
    assert (history["type"], history["messages"]) == ("history", [])
    assert ok == {"type": "ok", "ref": 2, "room": "#lobby"}
    alice.send(type="say", room="#lobby", text="hello", cid="c-1", ref=3)
    message, ok = alice.events()
    assert (message["type"], message["from"], message["text"], message["cid"]) == ("message", "alice", "hello", "c-1")
    assert ok == {"type": "ok", "ref": 3, "id": message["id"], "room": "#lobby", "cid": "c-1"}


def test_two_members_see_each_other(world):
    alice = world.member("alice")
    bob = world.member("bob")
    assert of_type(alice.events(), "join")[0]["nick"] == "bob"
    alice.send(type="say", room="#lobby", text="hi bob")
    [to_alice] = of_type(alice.events(), "message")
    [to_bob] = bob.events()
    assert to_alice == to_bob and to_bob["text"] == "hi bob"
    bob.send(type="say", room="#lobby", text="hi alice")
    [seen] = alice.events()
    assert (seen["from"], seen["text"], seen["id"]) == ("bob", "hi alice", to_bob["id"] + 1)


def test_each_event_is_framed_once_for_all_members(world, monkeypatch):
    calls = []
    real = websocket.frame_of

    def counting(event):
        calls.append(event)
        return real(event)

    monkeypatch.setattr(websocket, "frame_of", counting)
    members = [world.member(nick) for nick in ("alice", "bob", "carol", "dave")]
    for m in members:
        m.events()
    del calls[:]
    members[0].send(type="say", room="#lobby", text="once")
    assert len(calls) == 1
    [event] = calls
    frame = event.encoded(counting)
    assert len(calls) == 1, "the frame was cached on the event, not made again"
    assert frame.endswith(event.encoded(jsonproto.encode_event))  # JSON shared with long-poll too
    for m in members[1:]:
        assert m.transport.value() == frame
    assert members[0].transport.value().startswith(frame)  # then the sender's ok
    assert json.loads(parse_frames(frame)[0][0][1])["text"] == "once"


def test_client_close_reason_becomes_the_quit_reason(world):
    alice = world.member("alice")
    bob = world.member("bob")
    alice.events()
    bob.close(1000, "lunch")
    assert bob.closes == [(1000, "")] and bob.lost
    [quit] = alice.events()
    assert (quit["type"], quit["nick"], quit["reason"]) == ("quit", "bob", "lunch")


# -- bad input: an error, and the connection stays usable -----------------------------


@pytest.mark.parametrize(
    "payload, code",
    [
        (b"{not json", "bad-json"),
        (b"[1, 2]", "bad-json"),
        (b'"just a string"', "bad-json"),
        (b'{"type": "dance"}', "unknown-type"),
        (b'{"text": "no type"}', "unknown-type"),
        (b'{"type": "say", "room": "#lobby"}', "bad-command"),
        (b'{"type": "say", "room": 7, "text": "x"}', "bad-command"),
        (b'{"type": "say", "room": "#lobby", "text": "lone \\ud800 surrogate"}', "invalid-text"),
        (b'{"type": "say", "room": "#lobby", "text": "nul \\u0000 byte"}', "invalid-text"),
        (b'{"type": "say", "room": "#lobby", "text": "\\u001b[2J clear"}', "invalid-text"),
        (b'{"type": "say", "room": "#lobby", "text": "\\u009b2J csi"}', "invalid-text"),
        (b'{"type": "say", "room": "#lobby", "text": "raw \x1b[2J"}', "bad-json"),
        (b'{"type": "nick", "nick": "\\u202eevil"}', "invalid-nick"),
    ],
)
def test_bad_input_gets_an_error_and_the_connection_stays_usable(world, payload, code):
    alice = world.member("alice")
    alice.send_raw(payload)
    [error] = alice.events()
    assert (error["type"], error["code"]) == ("error", code), error
    assert error["message"]
    alice.send(type="say", room="#lobby", text="still here", ref="after")
    message, ok = alice.events()
    assert message["text"] == "still here" and ok["ref"] == "after"
    assert not alice.transport.disconnecting


def test_errors_echo_the_ref(world):
    alice = world.member("alice")
    alice.send(type="say", room="#nowhere", text="x", ref=41)
    assert alice.events() == [
        {"type": "error", "code": "not-in-room", "message": "You are not in #nowhere; join it first.", "ref": 41}
    ]


def test_binary_frame_gets_an_error(world):
    alice = world.member("alice")
    alice.send_raw(b"\x00\x01\x02", opcode=2)
    [error] = alice.events()
    assert (error["type"], error["code"]) == ("error", "binary")
    alice.send(type="rooms", ref="r")
    rooms, ok = alice.events()
    assert rooms["rooms"] == [{"name": "#lobby", "members": 1, "topic": ""}] and ok["ref"] == "r"


def test_an_exception_is_logged_and_answered_with_internal(world, monkeypatch):
    alice = world.member("alice")
    real = websocket.jsonapi.run

    def broken(session, payload):
        if b"boom" in payload:
            raise RuntimeError("boom")
        return real(session, payload)

    monkeypatch.setattr(websocket.jsonapi, "run", broken)
    with capturedLogs() as logged:
        alice.send(type="say", room="#lobby", text="boom")
    [error] = alice.events()
    assert (error["code"], error["message"]) == ("internal", "The server failed to handle this frame; it has been logged.")
    assert "boom" not in json.dumps(error)
    [failure] = [e for e in logged if "log_failure" in e]
    assert failure["log_namespace"] == "chatd.websocket" and failure["log_failure"].check(RuntimeError)
    alice.send(type="say", room="#lobby", text="fine")
    assert [e["type"] for e in alice.events()] == ["message", "ok"]


# -- limits: oversized messages close that connection (1009) --------------------------


@pytest.mark.parametrize("frames", [[(b"x" * 1500, True)], [(b"y" * 900, False), (b"z" * 900, True)]])
def test_oversized_message_closes_with_1009(make_world, frames):
    world = make_world(max_frame=1024, max_message=1024)
    alice = world.member("alice")
    bob = world.member("bob")
    alice.events()
    for i, (payload, fin) in enumerate(frames):
        bob.send_raw(payload, opcode=1 if i == 0 else 0, fin=fin)
    assert bob.frames() == [] and bob.closes[0][0] == 1009
    bob.close()
    assert bob.lost
    [quit] = alice.events()
    assert (quit["type"], quit["nick"]) == ("quit", "bob")
    alice.send(type="say", room="#lobby", text="unaffected")
    assert [e["type"] for e in alice.events()] == ["message", "ok"]


def test_unanswered_close_is_dropped_after_the_close_timeout(make_world, clock):
    world = make_world(max_frame=1024, max_message=1024, close_handshake_timeout=2)
    bob = world.member("bob")
    bob.send_raw(b"x" * 1500)
    assert bob.frames() == [] and bob.closes[0][0] == 1009 and not bob.transport.disconnected
    clock.advance(2.5)
    assert bob.transport.disconnected
    bob.settle()


# -- origins ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin, host, secure, status",
    [
        (None, "chat.example:8080", False, 101),
        ("http://chat.example:8080", "chat.example:8080", False, 101),
        ("HTTP://Chat.Example:8080", "chat.example:8080", False, 101),
        ("http://chat.example", "chat.example", False, 101),
        ("http://chat.example:80", "chat.example", False, 101),
        ("https://chat.example", "chat.example", True, 101),
        ("https://chat.example:8443", "chat.example:8443", True, 101),
        ("http://[::1]:8080", "[::1]:8080", False, 101),
        ("http://evil.example", "chat.example:8080", False, 403),
        ("http://chat.example:9090", "chat.example:8080", False, 403),
        ("https://chat.example:8080", "chat.example:8080", False, 403),
        ("http://chat.example", "chat.example", True, 403),
        ("http://chat.example.evil.example:8080", "chat.example:8080", False, 403),
        ("null", "chat.example:8080", False, 403),
        ("file://", "chat.example:8080", False, 403),
        ("chrome-extension://abcdef", "chat.example:8080", False, 403),
        ("https://app.example", "chat.example:8080", False, 101),
        ("https://app.example:443", "chat.example:8080", False, 101),
        ("https://APP.example/", "chat.example:8080", False, 101),
        ("http://app.example", "chat.example:8080", False, 403),
        ("https://app.example:8443", "chat.example:8080", False, 403),
        ("http://localhost:3000", "chat.example:8080", False, 101),
    ],
)
def test_origin_rules(make_world, monkeypatch, origin, host, secure, status):
    # The scheme comes from is_secure, tested below with real TLS wrappers;
    # wss also runs end to end.
    monkeypatch.setattr(websocket, "is_secure", lambda transport: secure)
    world = make_world(allowed_origins=("https://app.example", "http://localhost:3000"))
    with capturedLogs() as logged:
        client = world.connect(origin=origin, host=host)
    assert client.status == status
    if status == 101:
        assert client.events()[0]["type"] == "welcome"
        assert len(world.hub.sessions) == 1
    else:
        assert client.frames() == [] and not world.hub.sessions
        assert client.transport.disconnecting
        client.settle()
    if status == 403:
        assert any("Refused a WebSocket" in e.get("log_format", "") for e in logged)


def test_is_secure():
    from twisted.internet.protocol import Factory, Protocol
    from twisted.internet.ssl import CertificateOptions
    from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
    from twisted.protocols.tls import TLSMemoryBIOFactory

    plain = StringTransport()
    assert not handshake.is_secure(plain)
    gate = ProtocolWrapper(WrappingFactory(Factory.forProtocol(Protocol)), Protocol())
    gate.makeConnection(plain)
    assert not handshake.is_secure(gate)

    ssl_endpoint = StringTransport()
    directlyProvides(ssl_endpoint, ISSLTransport)  # what an ssl: endpoint's transport provides
    assert handshake.is_secure(ssl_endpoint)

    factory = TLSMemoryBIOFactory(CertificateOptions(), False, Factory.forProtocol(Protocol))
    tls = factory.protocol(factory, Protocol())
    assert handshake.is_secure(tls)  # TLS wrapping a site directly
    gated = ProtocolWrapper(WrappingFactory(Factory.forProtocol(Protocol)), Protocol())
    gated.transport = tls
    assert handshake.is_secure(gated)  # TLS under the connection gate


def test_tls_under_a_wrapper_is_hidden_from_autobahn(world):
    """
    Through the connection gate, the transport is a wrapper around TLS:
    Autobahn's channel binding code would raise in connectionMade.
    """
    from twisted.internet.protocol import Factory, Protocol
    from twisted.internet.ssl import CertificateOptions
    from twisted.protocols.policies import WrappingFactory
    from twisted.protocols.tls import TLSMemoryBIOFactory

    tls_factory = TLSMemoryBIOFactory(CertificateOptions(), False, WrappingFactory(Factory.forProtocol(Protocol)))
    tls = tls_factory.buildProtocol(None)
    tls.makeConnection(Transport(peerAddress=IPv4Address("TCP", "192.0.2.7", 50000)))
    gate = tls.wrappedProtocol
    assert ISSLTransport.providedBy(gate)
    member = world.factory.buildProtocol(None)
    gate.wrappedProtocol = member
    member.makeConnection(gate)
    assert member.secure and not ISSLTransport.providedBy(gate)
    member.connectionLost(Failure(ConnectionDone()))


def test_origin_key():
    assert origin_key("https://Chat.Example") == ("https", "chat.example", 443)
    assert origin_key("http://a.example:81/") == ("http", "a.example", 81)
    for junk in ("null", "", "ws://a.example", "http://", "http://a.example/path", "http://u@a.example",
                 "http://a.example:99999", "http://a.example?q"):
        assert origin_key(junk) is None, junk


def test_unparsable_allowed_origin_refuses_to_start(clock):
    with pytest.raises(ValueError, match="allowed_origins"):
        WebSocketMemberFactory(Hub(clock, MemoryStore()), Config(web=WebConfig(allowed_origins=("app.example",))))


# -- slow readers ------------------------------------------------------------------


def test_slow_reader_is_disconnected_and_nobody_else_waits(make_world):
    world = make_world(sendq=3000)
    slow = world.member("slow")
    bob = world.member("bob")
    carol = world.member("carol")
    for c in (slow, bob, carol):
        c.events()
    slow.transport.producer.pauseProducing()  # the kernel buffer is full: the transport pauses us
    with capturedLogs() as logged:
        for i in range(10):
            bob.send(type="say", room="#lobby", text=f"{i} " + "x" * 500, ref=i)
    assert slow.transport.disconnected  # aborted: it cannot even read a close frame
    said = [e for e in bob.events() if e["type"] == "message"]
    heard = carol.events()
    assert [e["text"][0] for e in said] == [str(i) for i in range(10)]
    assert [e for e in heard if e["type"] == "message"] == said
    [quit] = of_type(heard, "quit")
    assert (quit["nick"], quit["reason"]) == ("slow", "too slow: outgoing buffer over 3000 bytes")
    assert any("too slow" in str(e.get("reason")) for e in logged)
    assert [s.nick for s in world.hub.sessions if s.nick == "slow"] == []
    slow.settle()
    carol.send(type="say", room="#lobby", text="still fine")
    assert [e["type"] for e in carol.events()] == ["message", "ok"]


def test_a_paused_reader_that_catches_up_is_kept(make_world):
    world = make_world(sendq=3000)
    alice = world.member("alice")
    bob = world.member("bob")
    alice.events()
    producer = alice.transport.producer
    producer.pauseProducing()
    bob.send(type="say", room="#lobby", text="y" * 1000)
    producer.resumeProducing()
    bob.send(type="say", room="#lobby", text="z" * 1000)
    producer.pauseProducing()
    bob.send(type="say", room="#lobby", text="w" * 1000)
    producer.resumeProducing()
    assert not alice.transport.disconnected
    assert [e["text"][0] for e in alice.events()] == ["y", "z", "w"]


# -- order, timers, shutdown ---------------------------------------------------------


class SlowStore(MemoryStore):
    """A store whose writes wait until the test releases them."""

    def __init__(self):
        super().__init__()
        self.waiting: List[tuple] = []

    def append(self, *args, **kwargs):
        d = Deferred()
        self.waiting.append((d, args))
        return d

    def release(self):
        while self.waiting:
            d, args = self.waiting.pop(0)
            MemoryStore.append(self, *args).chainDeferred(d)


def test_replies_keep_command_order_while_the_store_works(make_world):
    """A reply never overtakes the reply to an earlier command, and reading goes on meanwhile."""
    store = SlowStore()
    world = make_world(store=store)
    alice = world.member("alice")
    alice.send(type="say", room="#lobby", text="first", ref=1)
    alice.send(type="rooms", ref=2)
    assert alice.events() == [] and alice.transport.producerState == "producing"
    store.release()
    assert [(e["type"], e.get("ref")) for e in alice.events()] == [
        ("message", None), ("ok", 1), ("rooms", 2), ("ok", 2)]


def test_reading_pauses_past_the_pipeline_limit(make_world):
    """Past PIPELINE commands waiting for the store, reading from that client pauses until they are answered."""
    store = SlowStore()
    world = make_world(store=store)
    alice = world.member("alice")
    for i in range(websocket.PIPELINE + 1):
        alice.send(type="say", room="#lobby", text=f"m{i}", ref=i)
    assert alice.transport.producerState == "paused"
    store.release()
    oks = [e["ref"] for e in alice.events() if e["type"] == "ok"]
    assert oks == list(range(websocket.PIPELINE + 1))
    assert alice.transport.producerState == "producing"


def test_pings_and_ping_timeout(make_world, clock):
    world = make_world(ping_interval=10, ping_timeout=5)
    alice = world.member("alice")
    bob = world.member("bob")
    alice.events()
    clock.advance(10)
    [(op, ping)] = alice._read()
    assert op == 9
    [(op, ping)] = bob._read()
    bob.send_raw(ping, opcode=10)  # bob answers; alice does not
    clock.advance(6)
    assert not bob.transport.disconnected
    assert alice.transport.disconnected
    alice.settle()
    [quit] = bob.events()
    assert quit["nick"] == "alice"


def test_open_handshake_timeout(make_world, clock):
    world = make_world(open_handshake_timeout=5)
    client = world.connect(handshake=False)
    clock.advance(6)
    assert client.transport.disconnected
    client.settle()


def test_commands_past_the_burst_are_answered_late_in_order(make_world, clock):
    """40 commands at once: all answered, in order, the ones past the burst late; nothing refused."""
    world = make_world(rules=Rules(flood_rate=3, flood_burst=12))
    alice = world.member("alice", room=None)
    clock.advance(10)
    alice.events()
    for n in range(40):
        alice.send(type="rooms", ref=n)
    oks = [e["ref"] for e in alice.events() if e["type"] == "ok"]
    assert oks == list(range(12))
    clock.pump([1] * 10)
    events = alice.events()
    assert [e["ref"] for e in events if e["type"] == "ok"] == list(range(12, 40))
    assert of_type(events, "error") == []
    assert not alice.transport.disconnected


def test_a_flooder_is_told_and_disconnected(make_world):
    """Held input past recvq: the client gets the reason and close 1001; everyone else goes on."""
    world = make_world(rules=Rules(flood_rate=1, flood_burst=5, recvq=2048))
    alice = world.member("alice", room=None)
    bob = world.member("bob", room=None)
    for _ in range(40):
        alice.send(type="rooms")
    events = alice.events()
    assert of_type(events, "error") == []
    assert events[-1] == {"type": "shutdown", "reason": "Disconnected for flooding: you sent more than 2048 "
                                                       "bytes of commands faster than 1 per second."}
    assert alice.closes[0][0] == 1001
    assert [s.nick for s in world.hub.sessions] == ["bob"]
    alice.close()
    bob.send(type="rooms", ref=1)
    assert bob.events()[-1] == {"type": "ok", "ref": 1}


def test_the_outbox_holds_the_producer_slot(world):
    alice = world.connect()
    assert alice.transport.producer is alice.proto.outbox and alice.transport.streaming


def test_shutdown_tells_the_client_and_closes_1001(world):
    alice = world.member("alice")
    alice.events()
    world.hub.shutdown("The server is shutting down")
    assert alice.events() == [{"type": "shutdown", "reason": "The server is shutting down"}]
    assert alice.closes == [(1001, "The server is shutting down")]
    assert not world.hub.sessions
    alice.close()
    assert alice.lost


def test_with_a_turn_frames_leave_once_per_turn_and_before_any_close(make_world, clock):
    """Coalesced per reactor turn, a member's queued frames still reach the wire before Autobahn's own close frame."""
    from chatd.frontends.outbox import Turn

    world = make_world()
    alice, bob = world.member("alice"), world.member("bob")
    alice.events()
    turn = Turn(clock)
    alice.proto.outbox.turn = turn
    bob.send(type="say", room="#lobby", text="one")
    bob.send(type="say", room="#lobby", text="two")
    assert alice.transport.value() == b"", "nothing leaves before the end of the turn"
    clock.advance(0)
    assert [e["text"] for e in alice.events()] == ["one", "two"]
    bob.send(type="say", room="#lobby", text="last words")
    world.hub.shutdown("Going away now")
    raw = alice.transport.value()
    said, shutdown, close = raw.find(b"last words"), raw.find(b'"type":"shutdown"'), raw.find(b"\x88")
    assert 0 <= said < shutdown < close, "queued frames went out before the close frame"
    clock.advance(0)
