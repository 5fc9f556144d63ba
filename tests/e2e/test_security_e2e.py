"""
End to end: security promises of docs/security.md against the real daemon
(C{twistd -n chatd}), with raw sockets and plain HTTP, read back from the
log the daemon writes.

  - a WebSocket ping flood from a client that never reads is cut off at
    its send-queue bound, and the daemon's memory stays bounded;
  - long-poll session tokens never reach the access log;
  - a request body trickled a byte a second is closed at the request
    deadline ([web] request_timeout);
  - the metrics listener goes through the connection gate and has the
    web listener's deadlines;
  - nasty static paths get 4xx and at most one log line each.
"""

import selectors
import signal
import socket
import threading
import time
from typing import List, Tuple

import requests

from chatclients import PollClient
from daemon import render_ini
from rawwire import masked_frame, parse_responses
from test_abuse_e2e import (  # noqa: F401  (abuse is a fixture)
    abuse,
    during,
    finish,
    raw_connect,
    read_until_closed,
    ws_handshake,
)

MiB = 1024 * 1024


def log_lines(daemon) -> List[str]:
    return daemon.log().splitlines()


def wait_for_log(daemon, text: str, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in daemon.log():
            return True
        time.sleep(0.05)
    return False


def raw_request(port: int, request: bytes, timeout: float = 5.0) -> bytes:
    """Send one raw HTTP request; return everything the server answers until it closes."""
    sock = raw_connect(port)
    try:
        sock.sendall(request)
        got, _ = read_until_closed(sock, timeout)
        return got
    finally:
        sock.close()


# -- 10: a ping flood from a client that never reads ---------------------------------------------

#: How far the daemon's RSS may rise during a ping flood on three connections.
PING_FLOOD_RSS_KIB = 40 * 1024


def ping_flood(port: int, pings: int, deadline: float, payload: bytes) -> Tuple[int, bool]:
    """
    Open a WebSocket, never read, and send up to C{pings} pings flat
    out.  Returns (pings sent, whether the server closed the connection).
    """
    sock = ws_handshake(port)
    sock.setblocking(False)
    ping = masked_frame(payload, opcode=9)
    batch = ping * 500
    sent = 0  # bytes
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(sock, selectors.EVENT_WRITE)
            while sent < pings * len(ping) and time.monotonic() < deadline:
                if not sel.select(0.2):
                    continue  # the server is not reading us for the moment
                offset = sent % len(batch)
                try:
                    sent += sock.send(batch[offset:])
                except BlockingIOError:
                    continue
                except OSError:
                    return sent // len(ping), True
        return sent // len(ping), False
    finally:
        sock.close()


def test_a_ping_flood_that_never_reads_is_cut_off_and_memory_stays_bounded(abuse):
    """
    Three WebSocket clients that never read each send up to 600,000 pings
    of 125 bytes (75 MiB) flat out.  Their pongs count against sendq: each is
    disconnected once its queue passes the bound, long before the ping
    timeout, the daemon's RSS rises by far less than the flood (it went
    from 60 to 397 MiB when pongs bypassed the bound), and alice and bob
    keep chatting throughout.
    """
    daemon, honest, memory = abuse()
    results: List[Tuple[int, bool]] = []
    deadline = time.monotonic() + 20

    def flood() -> None:
        results.append(ping_flood(daemon.web_port, 600_000, deadline, b"p" * 125))

    def attack() -> None:
        threads = [threading.Thread(target=flood) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    attacker = threading.Thread(target=attack, name="ping-flood")
    attacker.start()
    during(honest, attacker, deadline=deadline + 5, every=0.2, memory=memory)
    attacker.join(30)
    print(f"\npings sent and closed: {results}; RSS peak {memory.peak - memory.baseline} KiB over the baseline")
    assert len(results) == 3 and all(closed for _, closed in results), results
    assert all(sent < 600_000 for sent, _ in results), results
    assert memory.peak - memory.baseline < PING_FLOOD_RSS_KIB, (memory.baseline, memory.peak)
    assert daemon.log().count("too slow: outgoing buffer over 262144 bytes") >= 3
    finish(daemon, honest, memory)


# -- 11: session tokens stay out of the access log -------------------------------------------


def test_session_tokens_never_reach_the_access_log(daemon):
    """
    A long-poll user creates a session, polls it, posts a command and
    deletes it, with plain HTTP.  The access log records each request with
    the token replaced by C{-}; the token itself is nowhere in the log.
    Answered polls are the session's stream of events and get no line (as
    WebSocket frames do not); a poll refused gets one.
    """
    user = PollClient(daemon.web_url, "tokenuser", "#lobby")
    assert user.poll(timeout=0).status_code == 200
    assert user.command(type="say", room="#lobby", text="hello")["type"] == "ok"
    assert user.delete().status_code in (200, 204)
    assert user.poll(timeout=0, after=0).status_code == 404  # the session is gone
    assert wait_for_log(daemon, '"GET /api/sessions/-/events?after=0&timeout=0 HTTP/1.1" 404'), \
        log_lines(daemon)[-20:]
    log = daemon.log()
    assert user.token not in log, [line for line in log.splitlines() if user.token in line]
    assert '"POST /api/sessions/-/commands HTTP/1.1" 200' in log
    assert '"DELETE /api/sessions/- HTTP/1.1"' in log
    assert '"GET /api/sessions/-/events?after=0&timeout=0 HTTP/1.1" 200' not in log


# -- 12: a request must arrive within [web] request_timeout --------------------------------------


def trickle(daemon, token: str, seconds: float) -> float:
    """
    A command posted with a chunked body at one byte a second, headers
    sent at once; returns when the server closed the connection (seconds
    after the first byte), or C{seconds} if it is still open then.
    """
    sock = raw_connect(daemon.web_port)
    start = time.monotonic()
    try:
        sock.sendall(
            f"POST /api/sessions/{token}/commands HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        for byte in b'{"type":"say","room":"#lobby","text":"' + b"s" * 100:
            if time.monotonic() - start >= seconds:
                return seconds
            try:
                sock.sendall(b"1\r\n%c\r\n" % byte)
            except OSError:
                return time.monotonic() - start
            _, closed = read_until_closed(sock, 1.0)
            if closed:
                return time.monotonic() - start
        raise AssertionError("ran out of body to trickle")
    finally:
        sock.close()


def test_a_trickled_body_is_closed_at_the_request_deadline(make_daemon):
    """
    A body sent a byte a second is closed at [web] request_timeout, on
    SIGHUP too: first 30 s (still open after 3 s), then 2 s after a reload.
    A long-poll GET held 4 s, longer than the deadline, is answered, not cut.
    """
    daemon = make_daemon({("web", "header_timeout"): "1", ("web", "request_timeout"): "30"})
    user = PollClient(daemon.web_url, "poller", "#lobby")
    assert trickle(daemon, user.token, 3.0) == 3.0, "closed before the 30 s deadline"

    daemon.settings[("web", "request_timeout")] = "2"
    daemon.config_path.write_text(render_ini(daemon.settings))
    daemon.send_signal(signal.SIGHUP)
    assert wait_for_log(daemon, "Reload: "), log_lines(daemon)[-5:]
    took = trickle(daemon, user.token, 10.0)
    assert 1.5 <= took <= 4.0, took
    assert wait_for_log(daemon, "its whole request did not arrive within 2s ([web] request_timeout)")

    held = user.poll(timeout=4, after=user.poll(timeout=0).json()["last"])
    assert held.status_code == 200 and held.elapsed.total_seconds() >= 3.5, held.elapsed
    assert daemon.alive


# -- 13: the metrics listener goes through the gate, with the deadlines --------------------------------


def silent(sock: socket.socket) -> bool:
    """Open, and nothing from the server yet (neither an answer nor a close)."""
    sock.setblocking(False)
    try:
        sock.recv(1, socket.MSG_PEEK)
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False


def test_the_metrics_listener_is_gated_and_has_deadlines(make_daemon):
    """
    connections_per_ip = 4: of 6 connections to the metrics port from one
    address, 4 are admitted and 2 refused at once with 503; a web
    connection is refused too (one gate for every listener).  A slowloris
    on metrics is closed at the header deadline (1 s), a trickled body at
    the request deadline (2 s); then a scrape works again.
    """
    daemon = make_daemon({
        ("metrics", "listen"): "tcp:0:interface=127.0.0.1",
        ("limits", "connections_per_ip"): "4",
        ("web", "header_timeout"): "1",
        ("web", "request_timeout"): "2",
    })
    port = daemon.port("metrics")
    socks = [raw_connect(port) for _ in range(6)]
    time.sleep(0.5)
    refused = [s for s in socks if not silent(s)]
    assert len(refused) == 2
    for sock in refused:
        sock.setblocking(True)
        got, _ = read_until_closed(sock, 2)
        assert got.startswith(b"HTTP/1.1 503 ") and b'"code":"too-many-connections"' in got, got[:200]
    web = raw_connect(daemon.web_port)
    got, closed = read_until_closed(web, 2)
    assert closed and b'"code":"too-many-connections"' in got, got[:200]

    loris, trickler, *idle = [s for s in socks if s not in refused]
    start = time.monotonic()
    loris.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    trickler.sendall(b"POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    closed_at = {}
    while len(closed_at) < 2 and time.monotonic() - start < 8:
        for name, sock, drip in (("loris", loris, b"X-Slow: 1\r\n"), ("trickler", trickler, b"1\r\nx\r\n")):
            if name not in closed_at:
                try:
                    sock.sendall(drip)
                except OSError:
                    pass
                if not silent(sock):
                    closed_at[name] = time.monotonic() - start
        time.sleep(0.25)
    assert 0.8 <= closed_at.get("loris", 99) <= 2.5, closed_at
    assert 1.8 <= closed_at.get("trickler", 99) <= 3.5, closed_at
    assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 200
    for sock in socks + [web]:
        sock.close()
    assert "did not arrive within 1s ([web] header_timeout)" in daemon.log()


# -- 14: nasty paths: 4xx and one log line at most -------------------------------------------------

NASTY_PATHS = [
    "/%c0%ae%c0%ae/etc/passwd",  # overlong UTF-8 for '.'
    "/%c0%af",  # overlong '/'
    "/%ff%fe",  # not UTF-8 at all
    "/%ed%a0%80",  # an encoded surrogate
    "/index.html%00.png",
    "/%00",
    "/..%5c..%5cetc%5cpasswd",  # backslashes
    "/..\\..\\etc\\passwd",
    "/" + "a" * 5000,  # longer than any file name
    "/" + "a/" * 2000,  # very deep
    "/../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/....//....//etc/passwd",
    "/.%2e/",
    "/ws/%c0%ae",
    "/api/%c0%ae%c0%ae",
    "/api/sessions/%ff/events",
]


def test_nasty_paths_get_4xx_and_at_most_one_log_line(daemon):
    """
    Each request goes out raw (no client normalises the path).  Each gets
    a 404 or 400, never a 5xx, and the daemon's log grows by at most one
    line per request: nobody can inflate the log with a request.
    """
    answers = {}
    for path in NASTY_PATHS:
        before = len(log_lines(daemon))
        got = raw_request(
            daemon.web_port,
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode("latin-1"),
        )
        responses = parse_responses(got)
        assert responses, (path[:80], got[:200])
        answers[path[:60]] = responses[0].status
        time.sleep(0.2)  # the access-log line is written when the answer is
        grown = log_lines(daemon)[before:]
        assert len(grown) <= 1, (path[:80], grown[:20])
    print(f"\n{answers}")
    assert all(status in (400, 404) for status in answers.values()), answers
    assert daemon.alive
