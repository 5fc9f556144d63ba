"""
What a WebSocket client sees of other users' accounts and of history
paging, in memory: C{account} on a logged-in user's join and message,
the C{account} event when it logs in or out, and C{history} with
C{after} and times, as JSON on the wire.
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

PASSWORD = "correct horse"
T0 = 1_700_000_000.0


class Web:
    """A hub (passwords allowed over plain WebSocket) and its WebSocket clients."""

    def __init__(self, clock: Clock) -> None:
        rules = Rules(flood_rate=1000, flood_burst=1000, allow_cleartext=True)
        self.clock = clock
        self.hub = Hub(clock, MemoryStore(), rules, hasher=SyncHasher())
        self.factory = WebSocketMemberFactory(self.hub, Config(web=WebConfig(), rules=rules), reactor=clock)
        self.clients: List[Client] = []

    def member(self, nick: str) -> Client:
        client = Client(self.factory)
        self.clients.append(client)
        assert client.status == 101
        return client.login(nick, "#lobby")


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


def test_a_logged_in_users_login_and_message_carry_its_account(web):
    alice = web.member("alice")
    bob = web.member("bob")
    alice.events()
    alice.send(type="register", password=PASSWORD, ref=1)
    [told] = of_type(bob.events(), "account")
    assert told == {"type": "account", "nick": "alice", "account": "alice", "ts": "2023-11-14T22:13:20.000Z"}
    assert of_type(alice.events(), "ok")[0]["ref"] == 1
    alice.send(type="say", room="#lobby", text="hi")
    [message] = bob.events()
    assert (message["from"], message["text"], message["account"]) == ("alice", "hi", "alice")
    assert of_type(alice.events(), "message") == [message]
    bob.send(type="say", room="#lobby", text="hello")
    [guests] = of_type(alice.events(), "message")
    assert guests["from"] == "bob" and "account" not in guests
    alice.send(type="logout")
    assert of_type(bob.events(), "account") == [
        {"type": "account", "nick": "alice", "account": None, "ts": "2023-11-14T22:13:20.000Z"}]


def test_a_logged_in_users_join_carries_its_account_and_history_does_not(web):
    bob = web.member("bob")
    alice = web.member("alice")
    alice.send(type="register", password=PASSWORD)
    alice.send(type="say", room="#lobby", text="hi")
    alice.send(type="part", room="#lobby")
    bob.events()
    alice.send(type="join", room="#lobby")
    [join] = of_type(bob.events(), "join")
    assert (join["nick"], join["account"]) == ("alice", "alice")
    [history] = of_type(alice.events(), "history")
    assert [m["text"] for m in history["messages"]] == ["hi"] and "account" not in history["messages"][0]
    carol = web.member("carol")
    [guest] = of_type(bob.events(), "join")
    assert guest["nick"] == "carol" and "account" not in guest
    assert carol.events() == []


def test_history_pages_forward_and_by_time(web):
    """after, after_ts and before_ts reach the core from JSON: forward pages, oldest first."""
    alice = web.member("alice")
    for n in range(1, 7):
        alice.send(type="say", room="#lobby", text=f"m{n}")
        web.clock.advance(10)
    alice.events()
    alice.send(type="history", room="#lobby", limit=2, after=2, ref="f")
    [page] = of_type(alice.events(), "history")
    assert ([m["id"] for m in page["messages"]], page["truncated"], page["ref"]) == ([3, 4], True, "f")
    alice.send(type="history", room="#lobby", after_ts=T0 + 15, before_ts=T0 + 35.5)
    [page] = of_type(alice.events(), "history")
    assert ([m["id"] for m in page["messages"]], page["truncated"]) == ([3, 4], False)
    alice.send(type="history", room="#lobby", after_ts="yesterday", ref=9)
    [error] = alice.events()
    assert (error["type"], error["code"], error["ref"]) == ("error", "bad-command", 9)
    assert '"after_ts" must be a number' in error["message"]
