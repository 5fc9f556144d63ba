"""
End to end: WebSocket users (the websockets sync client) next to telnet
users (raw sockets) on the real daemon, over ws:// and wss://.
"""

import socket
import ssl
from typing import Optional

import pytest
import requests
from certs import make_cert
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from chatclients import WSUser


@pytest.fixture
def ws_users(daemon):
    users = []

    def make(*args, url: Optional[str] = None, **kw) -> WSUser:
        user = WSUser(url or daemon.ws_url, *args, **kw)
        users.append(user)
        return user

    yield make
    for user in users:
        user.close()


def assert_healthy(daemon) -> None:
    assert daemon.alive
    log = daemon.log()
    assert "Traceback" not in log and "Unhandled" not in log, log[-3000:]


def test_telnet_and_websocket_users_chat_both_ways(daemon, line_client, ws_users):
    alice = line_client("alice", "#lobby")
    bob = ws_users("bob", "#lobby")
    carol = ws_users("carol", "#lobby")
    alice.expect(r"\[#lobby\] -!- bob has joined")

    ok = bob.command(type="say", room="#lobby", text="hello from the web")
    assert ok["type"] == "ok"
    mine = next(e for e in bob.seen if e["type"] == "message" and e["text"] == "hello from the web")
    theirs = carol.expect(lambda e: e["type"] == "message")
    assert mine["id"] == ok["id"] == theirs["id"]
    assert theirs == mine
    alice.expect(r"\[#lobby\] <bob> hello from the web")

    alice.send("héllo from telnet")
    got_bob = bob.expect(lambda e: e["type"] == "message" and e["from"] == "alice")
    got_carol = carol.expect(lambda e: e["type"] == "message" and e["from"] == "alice")
    assert got_bob == got_carol
    assert (got_bob["text"], got_bob["id"]) == ("héllo from telnet", ok["id"] + 1)

    bob.close()
    alice.expect(r"\[#lobby\] -!- bob has quit")
    assert carol.expect(lambda e: e["type"] == "quit")["nick"] == "bob"
    assert_healthy(daemon)


def test_compression_is_not_negotiated(ws_users):
    user = ws_users()
    assert user.ws.protocol.extensions == []
    assert user.welcome["limits"]["frame"] == 65536


def test_foreign_origin_is_refused_at_the_handshake(daemon, ws_users):
    with pytest.raises(InvalidStatus) as refused:
        with ws_connect(daemon.ws_url, proxy=None, origin="http://evil.example", open_timeout=5):
            pass
    assert refused.value.response.status_code == 403
    same = ws_users(origin=f"http://127.0.0.1:{daemon.web_port}")
    assert same.command(type="rooms")["type"] == "ok"
    assert_healthy(daemon)


def test_bad_input_leaves_the_daemon_and_others_unaffected(daemon, line_client, ws_users):
    alice = line_client("alice", "#lobby")
    bob = ws_users("bob", "#lobby")
    mallory = ws_users("mallory", "#lobby")

    for raw, code in [
        ("{not json", "bad-json"),
        ('{"type":"dance"}', "unknown-type"),
        ('{"type":"say","room":"#lobby"}', "bad-command"),
        ('{"type":"say","room":"#lobby","text":"\\ud800"}', "invalid-text"),
        ('{"type":"say","room":"#lobby","text":"a\\u0000b"}', "invalid-text"),
        ('{"type":"say","room":"#lobby","text":"\\u001b[2J"}', "invalid-text"),
    ]:
        mallory.ws.send(raw)
        assert mallory.expect(lambda e: e["type"] == "error")["code"] == code
    mallory.ws.send(b"\x00\xffbinary")
    assert mallory.expect(lambda e: e["type"] == "error")["code"] == "binary"
    assert mallory.command(type="say", room="#lobby", text="still usable")["type"] == "ok"

    with pytest.raises(ConnectionClosed):
        mallory.ws.send("x" * (4 * 1024 * 1024))
        mallory.recv(timeout=10)
        mallory.recv(timeout=10)
    assert mallory.ws.protocol.close_rcvd is not None and mallory.ws.protocol.close_rcvd.code == 1009

    assert bob.expect(lambda e: e["type"] == "quit")["nick"] == "mallory"
    assert bob.command(type="say", room="#lobby", text="unaffected")["type"] == "ok"
    alice.expect(r"<bob> unaffected")
    alice.send("me too")
    bob.expect(lambda e: e["type"] == "message" and e["text"] == "me too")
    assert_healthy(daemon)


# -- wss ------------------------------------------------------------------------------


def test_wss(make_daemon, tmp_path):
    key, cert = make_cert(tmp_path)
    daemon = make_daemon(args=[
        "--web", "tcp:0:interface=127.0.0.1",
        "--web", f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}",
    ])
    port = daemon.port("web", "ssl")
    context = ssl.create_default_context(cafile=str(cert))
    url = f"wss://localhost:{port}/ws"
    page = f"https://localhost:{port}"

    r = requests.get(page + "/", verify=str(cert), proxies={"http": None, "https": None}, timeout=5)
    assert r.status_code == 200 and "default-src 'self'" in r.headers["Content-Security-Policy"]

    dave = WSUser(url, "dave", "#lobby", ssl=context, server_hostname="localhost", origin=page,
                  sock=_connect(port))
    erin = WSUser(url, "erin", "#lobby", ssl=context, server_hostname="localhost", sock=_connect(port))
    ok = dave.command(type="say", room="#lobby", text="over tls")
    heard = erin.expect(lambda e: e["type"] == "message")
    assert (heard["text"], heard["id"]) == ("over tls", ok["id"])

    # The listener's scheme counts: an http:// page may not use the https port.
    with pytest.raises(InvalidStatus) as refused:
        with ws_connect(url, proxy=None, ssl=context, server_hostname="localhost", sock=_connect(port),
                        origin=f"http://localhost:{port}", open_timeout=5):
            pass
    assert refused.value.response.status_code == 403
    dave.close()
    erin.close()
    assert_healthy(daemon)


def _connect(port: int):
    """A TCP socket to 127.0.0.1 (so 'localhost' never resolves to ::1)."""
    return socket.create_connection(("127.0.0.1", port), timeout=5)
