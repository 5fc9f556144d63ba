"""
End to end: the long-poll API of the real daemon, driven by a plain HTTP
client (requests), next to telnet users (raw sockets) and WebSocket users
(the websockets sync client).
"""

import socket
import threading
import time
from typing import Callable

import pytest
import requests

from chatclients import PollClient, WSUser

Event = dict


def said(text: str) -> Callable[[Event], bool]:
    return lambda e: e["type"] == "message" and e["text"] == text


def line_client_for(daemon, nick, room):
    from chatclients import LineClient

    return LineClient(daemon.lines_port).login(nick, room)


@pytest.fixture
def poll_client(daemon):
    return lambda nick=None, room=None: PollClient(daemon.web_url, nick, room)


def test_longpoll_to_telnet(daemon, poll_client, line_client):
    """A long-poll user's message reaches a telnet user."""
    bob = line_client("bob", "#lobby")
    alice = poll_client("alice", "#lobby")
    bob.expect("alice has joined")
    assert alice.command(type="say", room="#lobby", text="hi from http")["type"] == "ok"
    assert bob.expect("<alice>") == "[#lobby] <alice> hi from http"


def test_telnet_to_longpoll(daemon, poll_client, line_client):
    """A telnet user's message reaches a long-poll user, with a seq."""
    alice = poll_client("alice", "#lobby")
    bob = line_client("bob", "#lobby")
    bob.send("hello from telnet")
    event = alice.expect(said("hello from telnet"))
    assert event["from"] == "bob" and event["room"] == "#lobby" and event["seq"] > 0


def test_longpoll_to_websocket_and_back(daemon, poll_client):
    """Long-poll and WebSocket users talk both ways."""
    alice = poll_client("alice", "#lobby")
    carol = WSUser(daemon.ws_url, "carol", "#lobby")
    try:
        alice.expect(lambda e: e["type"] == "join" and e["nick"] == "carol")
        alice.command(type="say", room="#lobby", text="to the socket")
        assert carol.expect(said("to the socket"))["from"] == "alice"
        carol.send(type="say", room="#lobby", text="to the poller")
        assert alice.expect(said("to the poller"))["from"] == "carol"
    finally:
        carol.close()


def test_same_after_same_events(daemon, poll_client):
    """A poll repeated with the same after returns the same events."""
    alice = poll_client("alice", "#lobby")
    alice.command(type="say", room="#lobby", text="one")
    alice.command(type="say", room="#lobby", text="two")
    first = alice.poll(after=0)
    second = alice.poll(after=0)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    events = first.json()["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e.get("text") for e in events if e["type"] == "message"] == ["one", "two"]
    after = first.json()["last"]
    assert alice.poll(after=after, timeout=0).json() == {"events": [], "last": after}


def test_held_poll_returns_quickly(daemon, poll_client, line_client):
    """A held poll returns within a fraction of a second of a new event."""
    alice = poll_client("alice", "#lobby")
    bob = line_client("bob", "#lobby")
    alice.expect(lambda e: e["type"] == "join" and e["nick"] == "bob")
    done = {}

    def hold():
        done["response"] = alice.poll(timeout=20)
        done["at"] = time.monotonic()

    poller = threading.Thread(target=hold)
    poller.start()
    time.sleep(0.5)
    assert poller.is_alive(), "the poll was not held"
    sent = time.monotonic()
    bob.send("wake up")
    poller.join(10)
    assert not poller.is_alive()
    assert done["at"] - sent < 1.0
    (event,) = done["response"].json()["events"]
    assert event["text"] == "wake up"


def test_delete_makes_user_leave(daemon, poll_client, line_client):
    """DELETE ends the session: a telnet observer sees the user quit; the token is gone."""
    bob = line_client("bob", "#lobby")
    alice = poll_client("alice", "#lobby")
    bob.expect("alice has joined")
    assert alice.delete().status_code == 204
    assert bob.expect("alice has quit")
    assert alice.poll(timeout=0).status_code == 404


def test_expiry_makes_user_leave(make_daemon):
    """A session that stops polling expires: a telnet observer sees the quit; the token 404s."""
    daemon = make_daemon({("web", "session_idle"): "2"})
    bob = line_client_for(daemon, "bob", "#lobby")
    try:
        alice = PollClient(daemon.web_url, "alice", "#lobby")
        bob.expect("alice has joined")
        started = time.monotonic()
        assert bob.expect("alice has quit", timeout=10)
        assert time.monotonic() - started >= 1.0
        r = alice.poll(timeout=0)
        assert r.status_code == 404 and r.json()["code"] == "no-such-session"
    finally:
        bob.close()


def test_http_errors(daemon, poll_client):
    """400, 404 and 405 come back as JSON with the right status."""
    base = daemon.web_url
    alice = poll_client()
    r = requests.post(f"{alice.url}/commands", data=b"{nope", timeout=5)
    assert r.status_code == 400 and r.json()["code"] == "bad-json"
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["Cache-Control"] == "no-store"
    r = requests.post(f"{alice.url}/commands", data=b'{"type":"fly"}', timeout=5)
    assert r.status_code == 400 and r.json()["code"] == "unknown-type"
    r = requests.post(f"{alice.url}/commands", data=b'{"type":"say","room":"#x","text":"hi"}', timeout=5)
    assert r.status_code == 200 and r.json()["code"] == "no-nick"
    r = requests.get(f"{base}/api/sessions/not-a-session/events", timeout=5)
    assert r.status_code == 404 and r.json()["code"] == "no-such-session"
    r = requests.get(f"{base}/api/whatever", timeout=5)
    assert r.status_code == 404 and r.json()["code"] == "not-found"
    r = requests.get(f"{base}/api/sessions", timeout=5)
    assert r.status_code == 405 and r.headers["Allow"] == "POST"


def test_413_and_daemon_carries_on(daemon, poll_client):
    """A 4 MiB body gets a 413 (read by a client that writes it all first); the daemon carries on."""
    alice = poll_client()
    r = requests.post(f"{alice.url}/commands", data=b"x" * (4 * 1024 * 1024), timeout=30)
    assert r.status_code == 413
    assert r.json()["code"] == "too-large"
    assert daemon.alive
    assert alice.command(type="nick", nick="alice") == {"type": "ok"}


def test_413_before_the_body_is_sent(daemon, poll_client):
    """The 413 arrives as soon as the headers are read, before any body byte."""
    alice = poll_client()
    path = f"/api/sessions/{alice.token}/commands"
    with socket.create_connection(("127.0.0.1", daemon.web_port), timeout=5) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {10**9}\r\n\r\n".encode()
        )
        reply = b""
        while b"\r\n\r\n" not in reply:
            reply += sock.recv(4096)
        assert reply.startswith(b"HTTP/1.1 413 ")


def test_429_sessions_per_address(daemon, poll_client):
    """The 33rd session from one address is refused with 429."""
    for _ in range(32):
        poll_client()
    r = requests.post(f"{daemon.web_url}/api/sessions", timeout=5)
    assert r.status_code == 429 and r.json()["code"] == "rate-limited"
    assert daemon.alive
