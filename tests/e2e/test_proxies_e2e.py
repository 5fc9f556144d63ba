"""
Issue 17, item 5: behind a proxy, chatd sees each user's real address.

The real daemon with [web] trusted_proxies = 127.0.0.1 and
[lines] proxy_protocol = v1, behind the shipped nginx example
(contrib/nginx/chatd.conf).  Users connect from different loopback
addresses (127.0.0.2, 127.0.0.3) so nginx, which connects to chatd from
127.0.0.1, tells them apart; chatd must too: per-address limits, bans,
whois and chatctl use each user's own address.  A client that connects
to chatd directly cannot pick its address with a header, and a raw
socket on 127.0.0.1 plays a TCP load balancer sending PROXY headers.
"""

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from chatclients import LineClient, WSUser
from cluster_nginx import Nginx

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "contrib" / "nginx" / "chatd.conf"
CHATCTL = str(Path(sys.executable).with_name("chatctl"))
PASSWORD = "correct-horse"
ALICE, BOB, MALLORY = "127.0.0.2", "127.0.0.3", "127.0.0.4"


def render(site: str, web_port: int, port: int, cert: Path, key: Path) -> str:
    """The single-server example with chatd's web port upstream, TLS on 127.0.0.1:PORT, and no port-80 redirect."""
    assert "    server 127.0.0.1:8080;\n" in site
    site = site.replace("    server 127.0.0.1:8080;\n", f"    server 127.0.0.1:{web_port};\n")
    redirect = re.search(r"server \{\n    listen 80;.*?\n\}\n", site, re.S).group(0)
    site = site.replace(redirect, "")
    site = site.replace("    listen 443 ssl;\n    listen [::]:443 ssl;\n", f"    listen 127.0.0.1:{port} ssl;\n")
    site = site.replace("/etc/letsencrypt/live/chat.example.org/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/chat.example.org/privkey.pem", str(key))
    assert not re.search(r"\b443\b", site) and "letsencrypt" not in site, site  # a random port may hold "443"
    return site


class SiteNginx(Nginx):
    """cluster_nginx's nginx process, serving the single-server example (chatd.conf) instead of the cluster's."""

    def __init__(self, directory: Path, web_port: int) -> None:
        super().__init__(directory, [web_port])
        site = render(SITE.read_text(encoding="utf-8"), web_port, self.port, self.cert, self.directory / "server.key")
        (self.directory / "site.conf").write_text(site, encoding="utf-8")


@pytest.fixture
def chatd(make_daemon, tmp_path):
    admin = f"unix:{tmp_path}/admin.sock:mode=600"
    d = make_daemon({
        ("web", "trusted_proxies"): "127.0.0.1",
        ("limits", "connections_per_ip"): "2",
        ("lines", "proxy_protocol"): "v1",
        ("server", "operators"): "root",
        ("admin", "listen"): admin,
    })
    d.admin = admin
    return d


@pytest.fixture
def front(chatd, tmp_path):
    proxy = SiteNginx(tmp_path / "nginx", chatd.web_port)
    try:
        yield proxy.start()
    finally:
        proxy.stop()


@pytest.fixture
def opened():
    clients = []
    yield clients
    for c in clients:
        c.close()


def chatctl(d, *words) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "CHATD_ADMIN_SOCKET"}
    done = subprocess.run([CHATCTL, "--admin", d.admin, *words], capture_output=True, text=True, timeout=30,
                          env=environ)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def through(front, source: str, opened, nick=None, room=None) -> WSUser:
    """A browser user at SOURCE on chatd's /ws through nginx."""
    user = WSUser(front.ws_url, nick, room, source_address=(source, 0), **front.ws_options)
    opened.append(user)
    return user


def refused(front, source: str) -> dict:
    """The error chatd answered, through nginx, to a WebSocket handshake from SOURCE."""
    with pytest.raises(InvalidStatus) as e:
        through(front, source, [])
    assert e.value.response.status_code == 503
    return json.loads(e.value.response.body)


def closed(user: WSUser, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            user.recv(max(0.1, deadline - time.monotonic()))
        except ConnectionClosed:
            return True
        except TimeoutError:
            pass
    return False


def operator(d, opened) -> WSUser:
    """root, a server operator, on the web listener directly from 127.0.0.1 (the proxy's address, no header)."""
    root = WSUser(d.ws_url, "root")
    opened.append(root)
    assert root.command(type="register", password=PASSWORD)["type"] == "ok"
    return root


def sessions(d) -> dict:
    """chatctl sessions: {nick: (front end, address)}."""
    out = {}
    for line in chatctl(d, "sessions").splitlines():
        words = line.split()
        if len(words) >= 3 and not line.startswith(" "):
            out[words[0]] = (words[1], words[2])
    return out


def test_two_users_behind_nginx_are_limited_and_banned_separately(chatd, front, opened):
    alice = [through(front, ALICE, opened, "alice", "#lobby"), through(front, ALICE, opened, "alice2")]
    bob = [through(front, BOB, opened, "bob", "#lobby"), through(front, BOB, opened, "bob2")]
    # connections_per_ip = 2: each has as many as it may, though nginx connects from one address.
    for source in (ALICE, BOB):
        assert refused(front, source) == {"type": "error", "code": "too-many-connections", "message":
                                          "Too many connections from your address; close some and try again."}
    listed = sessions(chatd)
    assert (listed["alice"], listed["alice2"]) == (("websocket", ALICE), ("websocket", ALICE))
    assert (listed["bob"], listed["bob2"]) == (("websocket", BOB), ("websocket", BOB))
    root = operator(chatd, opened)
    assert root.ask(type="whois", nick="alice")["address"] == ALICE
    assert root.ask(type="whois", nick="bob")["address"] == BOB

    # An operator's server ban on alice's address puts out both her connections and refuses her
    # next one; bob stays, and may come and go.  (chatctl ban refuses loopback addresses.)
    assert root.command(type="gban", mask=ALICE, duration=300, reason="spam")["type"] == "ok"
    assert all(closed(user) for user in alice)
    assert refused(front, ALICE)["code"] == "banned"
    assert bob[0].command(type="say", room="#lobby", text="still here")["type"] == "ok"
    bob[1].close()
    again = through(front, BOB, opened, "bob3", "#lobby")
    assert again.command(type="say", room="#lobby", text="back")["type"] == "ok"
    log = chatd.log()
    assert "Refused a web request from 127.0.0.2 (through the proxy 127.0.0.1): banned" in log
    assert re.search(r'"127\.0\.0\.2" - - \[[^]]+\] "GET /ws HTTP/1\.1" 503 ', log), "the access log names alice"

    # The long-poll API through nginx counts and bans the same way.
    def create(source: str) -> int:
        conn = http.client.HTTPSConnection("127.0.0.1", front.port, timeout=5, source_address=(source, 0),
                                           context=front.ws_options["ssl"])
        try:
            conn.request("POST", "/api/sessions")
            return conn.getresponse().status
        finally:
            conn.close()

    assert (create(ALICE), create(MALLORY)) == (503, 201)
    assert sessions(chatd)["-"] == ("longpoll", MALLORY)


def test_a_header_from_a_client_that_connects_directly_is_ignored(chatd, opened):
    """From 127.0.0.2 straight to chatd (not a trusted proxy), X-Forwarded-For and Forwarded change nothing."""
    liar = WSUser(chatd.ws_url, "liar", source_address=(ALICE, 0),
                  additional_headers={"X-Forwarded-For": "198.51.100.7", "Forwarded": "for=198.51.100.7"})
    opened.append(liar)
    assert sessions(chatd)["liar"] == ("websocket", re.search(r"127\.0\.0\.2:\d+", chatctl(chatd, "sessions"))[0])
    root = operator(chatd, opened)
    assert root.ask(type="whois", nick="liar")["address"] == ALICE


def test_a_balancer_sends_proxy_headers_on_the_line_listener(chatd, opened):
    """
    A raw socket on 127.0.0.1 is the balancer: the address its header names
    is the user's, counted and banned as such; a header from 127.0.0.2 is
    a lie, closed and logged; without one, 127.0.0.2 is served as itself.
    """
    def balanced(client: str, port: int, nick: str) -> LineClient:
        c = LineClient(chatd.lines_port)
        opened.append(c)
        c.send_raw(f"PROXY TCP4 {client} 127.0.0.1 {port} {chatd.lines_port}\r\n".encode())
        return c.login(nick) if nick else c

    balanced("203.0.113.7", 5555, "carol")
    balanced("203.0.113.7", 5556, "carol2")
    third = balanced("203.0.113.7", 5557, None)
    assert third.refused("too-many-connections") == "Too many connections from your address; close some and try again."
    balanced("198.51.100.8", 6000, "dave")
    listed = sessions(chatd)
    assert (listed["carol"], listed["dave"]) == (("lines", "203.0.113.7:5555"), ("lines", "198.51.100.8:6000"))

    direct = LineClient(chatd.lines_port, source=ALICE).login("erin")
    opened.append(direct)
    assert sessions(chatd)["erin"][1].startswith(f"{ALICE}:")
    liar = LineClient(chatd.lines_port, source=MALLORY)
    opened.append(liar)
    liar.send_raw(b"PROXY TCP4 203.0.113.99 127.0.0.1 1 2\r\n")
    assert liar.wait_closed()
    assert (f"Closed a lines connection from {MALLORY}: it sent a PROXY protocol header, but it is not in "
            "[web] trusted_proxies") in chatd.log()

    banned = chatctl(chatd, "ban", "203.0.113.7", "5").strip()
    assert banned == "ok banned 203.0.113.7/32 for 5 minutes; kicked 2 sessions"
    assert balanced("203.0.113.7", 5558, None).refused("banned") == "This address is banned from this server."
    assert "dave" in sessions(chatd)


def test_an_irc_client_on_a_tls_line_port_stays_irc(make_daemon, tmp_path):
    """
    An IRC client on the line port is handed to the IRC front end; behind
    a wrapping transport (TLS here, a PROXY protocol reader above) its later
    lines must reach the IRC connection too, not the line one it left.
    """
    import ssl

    from certs import make_cert

    key, cert = make_cert(tmp_path)
    d = make_daemon({("lines", "listen"): f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}"})
    context = ssl.create_default_context(cafile=str(cert))
    raw = socket.create_connection(("127.0.0.1", d.port("lines", "ssl")), timeout=5)
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(b"NICK ivan\r\nUSER ivan 0 * :Ivan\r\n")
        seen = b""
        while b" 376 ivan " not in seen:
            seen += tls.recv(4096)
        tls.sendall(b"PING :still-irc\r\n")
        while b"\r\n" not in seen.partition(b"PONG")[2]:
            seen += tls.recv(4096)
    assert b":chatd PONG chatd still-irc\r\n" in seen
