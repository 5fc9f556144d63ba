"""
WAMP over WebSocket at /wamp, in memory: the opening handshake with its
subprotocol, WAMP messages in text (JSON) and binary (msgpack) frames,
the limits /ws has, and a room's EVENT serialized once per serializer.
Frames are read back with the standard json and msgpack modules, not
with Autobahn (the server's own library).
"""

import json
from typing import List, Optional

import msgpack
import pytest
from twisted.internet.task import Clock

from test_websocket import RELAXED, Client, clock  # noqa: F401 (a fixture: txaio on a Clock)
from wampworld import CLIENT_ROLES

from chatd.config import Config, WebConfig
from chatd.core.hub import Hub
from chatd.frontends.lines import LineFactory
from chatd.frontends.wamp.websocket import WampFactory
from chatd.store.memory import MemoryStore
from test_lines import Terminal

HELLO, WELCOME, ABORT, GOODBYE = 1, 2, 3, 6
SUBSCRIBE, SUBSCRIBED, EVENT, CALL, RESULT = 32, 33, 36, 48, 50


def roles() -> dict:
    return {name: {"features": {}} for name in CLIENT_ROLES}


class WampClient(Client):
    """A WAMP client over a raw WebSocket, speaking one serializer by hand."""

    def __init__(self, factory, protocols: str = "wamp.2.json", **kw) -> None:
        self.binary = "msgpack" in protocols
        headers = b"Sec-WebSocket-Protocol: " + protocols.encode() + b"\r\n" if protocols else b""
        super().__init__(factory, headers=headers, **kw)
        self.requests = iter(range(1, 1000))

    def put(self, *msg) -> None:
        if self.binary:
            self.send_raw(msgpack.packb(list(msg)), opcode=2)
        else:
            self.send_raw(json.dumps(list(msg)).encode())

    def messages(self) -> List[list]:
        out = []
        for opcode, payload in self._read():
            if opcode == 2:
                assert self.binary, "a binary frame to a JSON client"
                out.append(msgpack.unpackb(payload))
            elif opcode == 1:
                assert not self.binary, "a text frame to a msgpack client"
                out.append(json.loads(payload))
        return out

    def open(self, nick: Optional[str] = None, room: Optional[str] = None) -> int:
        self.put(HELLO, "chatd", {"roles": roles()})
        [welcome] = self.messages()
        assert welcome[0] == WELCOME
        if nick:
            self.put(CALL, next(self.requests), {}, "chatd.nick", [nick])
        if room:
            self.put(SUBSCRIBE, next(self.requests), {}, "chatd.room." + room.lstrip("#"))
            self.put(CALL, next(self.requests), {}, "chatd.join", [room])
        self.messages()
        return welcome[1]


class World:
    def __init__(self, clock: Clock, **web) -> None:
        self.config = Config(sendq=262144, web=WebConfig(**web), rules=RELAXED)
        self.hub = Hub(clock, MemoryStore(), RELAXED)
        self.factory = WampFactory(self.hub, self.config, reactor=clock)
        self.lines = LineFactory(self.hub, motd="Be nice.")

    def connect(self, protocols: str = "wamp.2.json", **kw) -> WampClient:
        return WampClient(self.factory, protocols, **kw)


@pytest.fixture
def world(clock):
    return World(clock)


@pytest.mark.parametrize("protocol", ["wamp.2.json", "wamp.2.msgpack"])
def test_a_client_opens_a_session_with_either_serializer(world, protocol):
    client = world.connect(protocol)
    assert client.status == 101
    assert b"Sec-WebSocket-Protocol: " + protocol.encode() in client.response
    session = client.open("alice", "#lobby")
    assert 1 <= session <= 2**53
    assert world.hub.stats["bytes_out:wamp"] > 0  # chatd_bytes_out_total{frontend="wamp"}


def test_the_first_subprotocol_the_server_speaks_is_chosen(world):
    client = world.connect("wamp.2.cbor, wamp.2.msgpack.batched, wamp.2.json")
    assert b"Sec-WebSocket-Protocol: wamp.2.msgpack.batched" in client.response


@pytest.mark.parametrize("protocols", ["", "chat, irc", "wamp.2.cbor"])
def test_a_websocket_without_a_wamp_subprotocol_is_refused(world, protocols):
    client = world.connect(protocols)
    assert client.status == 400
    assert b"wamp.2.json" in client.response + client.raw


def test_a_foreign_page_is_refused(world):
    client = world.connect(origin="https://evil.example")
    assert client.status == 403


def test_a_message_that_is_not_wamp_aborts_the_session_and_closes(world):
    client = world.connect()
    client.send_raw(b'{"type": "hello"}')
    [abort] = client.messages()
    assert abort[0] == ABORT and abort[2] == "wamp.error.protocol_violation"
    assert client.closes and client.closes[0][0] == 1000


def test_goodbye_is_answered_and_the_connection_closes(world):
    client = world.connect()
    client.open()
    client.put(GOODBYE, {}, "wamp.close.close_realm")
    [goodbye] = client.messages()
    assert goodbye[0] == GOODBYE and goodbye[2] == "wamp.close.goodbye_and_out"
    assert client.closes


def test_a_room_event_is_serialized_once_per_serializer_for_every_subscriber(world, monkeypatch):
    counts = {}
    for name, serializer in world.factory.serializers.items():
        real = serializer.serialize

        def counting(msg, real=real, name=name):
            if msg.MESSAGE_TYPE == EVENT:
                counts[name] = counts.get(name, 0) + 1
            return real(msg)

        monkeypatch.setattr(serializer, "serialize", counting)
    jsons = [world.connect("wamp.2.json") for _ in range(3)]
    packs = [world.connect("wamp.2.msgpack") for _ in range(2)]
    for i, client in enumerate(jsons + packs):
        client.open(f"user{i}", "#lobby")
    for client in jsons + packs:
        client.messages()
    alice = Terminal(world.lines)
    alice.type("alice", "/join #lobby")
    for client in jsons + packs:
        client.messages()
    counts.clear()
    alice.type("hello everyone")
    assert counts == {"json": 1, "msgpack": 1}
    seen = [client.messages() for client in jsons + packs]
    for messages in seen:
        assert all(m[4] == [] for m in messages if m[0] == EVENT), "Arguments is a list before ArgumentsKw"
        said = [m for m in messages if m[0] == EVENT and m[-1].get("type") == "message"]
        assert [m[-1]["text"] for m in said] == ["hello everyone"]
    assert jsons[0].transport.value() == jsons[1].transport.value()


def test_an_oversized_message_closes_with_1009_and_others_go_on(clock):
    world = World(clock, max_frame=1024, max_message=1024)
    bob, carol = world.connect(), world.connect()
    bob.open("bob", "#lobby")
    carol.open("carol", "#lobby")
    bob.messages()  # carol's join
    bob.send_raw(json.dumps([CALL, 9, {}, "chatd.say", ["#lobby", "x" * 1500]]).encode())
    assert bob.messages() == []
    assert bob.closes and bob.closes[0][0] == 1009
    carol.put(CALL, 50, {}, "chatd.say", ["#lobby", "still here"])
    results = [m for m in carol.messages() if m[0] == RESULT]
    assert results and results[0][1] == 50


def test_the_configured_call_timeout_ends_a_call_nobody_answers(clock):
    world = World(clock, wamp_call_timeout=7)
    callee, caller = world.connect(), world.connect()
    callee.open()
    caller.open()
    callee.put(64, 1, {}, "bot.slow")  # REGISTER
    assert callee.messages()[0][0] == 65  # REGISTERED
    caller.put(CALL, 2, {}, "bot.slow", [])
    assert callee.messages()[0][0] == 68  # INVOCATION
    clock.advance(6.9)
    assert caller.messages() == []
    clock.advance(0.2)
    [error] = caller.messages()
    assert error[:5] == [8, CALL, 2, {}, "wamp.error.timeout"]


def test_a_reload_applies_the_wamp_limits_to_new_calls(clock):
    world = World(clock, wamp_call_timeout=7)
    new = Config(sendq=262144, web=WebConfig(wamp_call_timeout=2, wamp_pending_calls=5), rules=RELAXED)
    assert world.factory.reload(world.config, new) == ["[wamp] call_timeout = 2, pending_calls = 5 for new calls"]
    callee, caller = world.connect(), world.connect()
    callee.open()
    caller.open()
    callee.put(64, 1, {}, "bot.slow")
    callee.messages()
    caller.put(CALL, 2, {}, "bot.slow", [])
    clock.advance(2.1)
    [error] = caller.messages()
    assert error[4] == "wamp.error.timeout"
