"""
Away over JSON (a WebSocket client, in memory): the C{away} command and
its C{ok}, the C{away} event, and C{away} in C{members}, C{whois} and the
sender's copy of a C{private} message, as JSON on the wire.
"""

from typing import List

import pytest
import txaio
from twisted.internet.task import Clock
from test_websocket import Client

from chatd.config import Config, WebConfig
from chatd.core.hub import Hub
from chatd.core.rules import Rules
from chatd.frontends.websocket import WebSocketMemberFactory
from chatd.passwords import SyncHasher
from chatd.store.memory import MemoryStore

T0 = 1_700_000_000.0
TS = "2023-11-14T22:13:20.000Z"


class Web:
    """A hub and its WebSocket clients."""

    def __init__(self, clock: Clock) -> None:
        rules = Rules(flood_rate=1000, flood_burst=1000)
        self.hub = Hub(clock, MemoryStore(), rules, hasher=SyncHasher())
        self.factory = WebSocketMemberFactory(self.hub, Config(web=WebConfig(), rules=rules), reactor=clock)
        self.clients: List[Client] = []

    def member(self, nick: str) -> Client:
        client = Client(self.factory)
        self.clients.append(client)
        client.login(nick, "#lobby")
        return client


@pytest.fixture
def web():
    clock = Clock()
    clock.advance(T0)
    saved, txaio.config.loop = txaio.config.loop, clock
    made = Web(clock)
    yield made
    for client in made.clients:
        if not client.lost:
            client.close()
    txaio.config.loop = saved


def of_type(events, kind):
    return [e for e in events if e["type"] == kind]


def test_away_and_back_are_told_to_the_room_and_answered(web):
    alice, bob = web.member("alice"), web.member("bob")
    alice.events()
    alice.send(type="away", text="lunch", ref=1)
    mine = alice.events()
    assert of_type(mine, "ok") == [{"type": "ok", "ref": 1, "away": "lunch"}]
    assert of_type(mine, "away") == of_type(bob.events(), "away") == [
        {"type": "away", "nick": "alice", "away": "lunch", "ts": TS}]
    alice.send(type="away", text="lunch", ref=2)  # no change: only the answer
    assert alice.events() == [{"type": "ok", "ref": 2, "away": "lunch"}]
    assert bob.events() == []
    alice.send(type="away", ref=3)
    assert of_type(alice.events(), "ok") == [{"type": "ok", "ref": 3, "away": None}]
    assert bob.events() == [{"type": "away", "nick": "alice", "away": None, "ts": TS}]


def test_who_whois_and_private_name_the_away_message(web):
    alice, bob = web.member("alice"), web.member("bob")
    alice.send(type="away", text="lunch")
    bob.events()
    bob.send(type="who", room="#lobby", ref="w")
    [members] = of_type(bob.events(), "members")
    assert (members["nicks"], members["away"]) == (["alice", "bob"], ["alice"])
    bob.send(type="whois", nick="alice")
    [whois] = of_type(bob.events(), "whois")
    assert whois["away"] == "lunch"
    alice.send(type="whois", nick="bob")
    [whois] = of_type(alice.events(), "whois")
    assert "away" not in whois
    bob.send(type="msg", to="alice", text="there?")
    [sent] = of_type(bob.events(), "private")
    assert sent == {"type": "private", "from": "bob", "to": "alice", "text": "there?", "ts": TS, "away": "lunch"}
    [received] = of_type(alice.events(), "private")
    assert "away" not in received
    alice.send(type="away")
    bob.send(type="who", room="#lobby")
    [members] = of_type(bob.events(), "members")
    assert "away" not in members


def test_a_bad_away_message_gets_a_clear_error(web):
    alice = web.member("alice")
    alice.events()
    alice.send(type="away", text=42, ref=7)
    [error] = alice.events()
    assert (error["type"], error["code"], error["ref"]) == ("error", "bad-command", 7)
    assert '"text"' in error["message"]
    alice.send(type="away", text="a\nb", ref=8)
    [error] = alice.events()
    assert (error["code"], error["ref"]) == ("invalid-text", 8)
    assert "away message" in error["message"]
