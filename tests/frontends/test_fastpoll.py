"""
Which requests the web listener's lean path answers itself: only a plain
long-poll GET; everything else is left to twisted.web (whose answers the
long-poll tests check through both paths).
"""

import pytest

from chatd.frontends.fastpoll import _parse


def request(target: str = "/api/sessions/T0k-en_/events?after=3&timeout=25", version: str = "HTTP/1.1",
            headers=("Host: chat.example",)) -> bytes:
    return (f"GET {target} {version}\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n").encode("latin-1")


def test_a_plain_poll_is_read_with_its_cursor_and_timeout():
    assert _parse(request(), cors=False) == ("T0k-en_", 3, 25.0)
    assert _parse(request("/api/sessions/abc/events"), cors=False) == ("abc", 0, None)
    assert _parse(request("/api/sessions/abc/events?timeout=0.5&x=1"), cors=False) == ("abc", 0, 0.5)


@pytest.mark.parametrize("target", [
    "/api/sessions/abc/commands", "/api/sessions//events", "/api/sessions/abc/events/more",
    "/api/sessions/abc/events?after=-1", "/api/sessions/abc/events?after=one", "/api/sessions/abc/events?timeout=nan",
    "/api/sessions/abc/events?timeout=-2", "/api/sessions/ab%FFc/events".replace("%FF", "\xff"),
])
def test_other_targets_and_bad_arguments_are_twisted_webs(target):
    assert _parse(request(target), cors=False) is None


@pytest.mark.parametrize("headers", [
    ("Connection: close",), ("connection: Keep-Alive, Close",), ("Content-Length: 0",),
    ("Transfer-Encoding: chunked",), ("Expect: 100-continue",), ("Upgrade: websocket",),
    ("X-Long: a", " folded"), (": nameless",),
])
def test_requests_with_bodies_closes_upgrades_or_odd_headers_are_twisted_webs(headers):
    assert _parse(request(headers=headers), cors=False) is None


def test_http_1_0_is_twisted_webs():
    assert _parse(request(version="HTTP/1.0"), cors=False) is None


def test_an_origin_matters_only_when_cors_is_on():
    with_origin = request(headers=("Host: x", "Origin: https://other.example"))
    assert _parse(with_origin, cors=False) is not None
    assert _parse(with_origin, cors=True) is None


# -- on a connection: the lean path's own state --------------------------------

from test_longpoll import Web, raw  # noqa: E402

from chatd.frontends.fastpoll import PollChannel  # noqa: E402
from chatd.frontends.httpbounds import DeadlineSite  # noqa: E402


class IdleSite(DeadlineSite):
    """chatd's web listener: lean polls, and a 30 s idle timeout between requests."""

    channel = PollChannel


class LeanWeb(Web):
    lean = True

    def __init__(self, config=None) -> None:
        super().__init__(**({} if config is None else {"config": config}))
        idle = IdleSite(self.site.resource, timeout=30, reactor=self.clock)
        idle.api, idle.requestFactory = self.api, self.site.requestFactory
        self.site = idle


def poll_bytes(token: str, after: int, timeout: float = 30, headers=None) -> bytes:
    return raw("GET", f"/api/sessions/{token}/events?after={after}&timeout={timeout:g}", headers=headers)


def test_polls_on_one_connection_read_each_cursor_and_lose_nothing():
    """A client polling on with its cursor on one keep-alive connection gets every event once, in order."""
    web = LeanWeb()
    alice = web.session("alice", "#lobby")
    bob = web.session("bob", "#lobby")
    last = web.drain(bob)
    conn = web.connect()
    texts = []
    said = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    for n, say in enumerate(said):
        web.clock.advance(5)  # within flood control
        conn.send(poll_bytes(bob, last))
        web.command(alice, {"type": "say", "room": "#lobby", "text": say})
        web.clock.advance(0)
        body = conn.responses()[n].json()
        texts += [e["text"] for e in body["events"]]
        last = body["last"]
    assert texts == said
    conn.send(poll_bytes(bob, 0, timeout=0))  # an older cursor: what is not acknowledged yet comes again
    again = conn.responses()[-1].json()
    assert [e["text"] for e in again["events"]] == ["ten"] and again["last"] == last


def test_a_poll_of_another_session_or_timeout_on_the_same_connection_is_read_afresh():
    web = LeanWeb()
    alice = web.session("alice", "#lobby")
    bob = web.session("bob", "#lobby")
    alice_last = web.drain(alice)
    conn = web.connect()
    conn.send(poll_bytes(alice, alice_last, timeout=0))
    conn.send(poll_bytes(bob, 0, timeout=0))
    conn.send(poll_bytes(bob, 3, timeout=5))
    first, second = conn.responses()
    assert first.json() == {"events": [], "last": alice_last}
    assert [e["type"] for e in second.json()["events"]] == ["join", "members", "history"]
    web.clock.advance(4.9)
    assert len(conn.responses()) == 2
    web.clock.advance(0.1)
    assert conn.responses()[2].json() == {"events": [], "last": 3}


def test_a_session_that_ended_between_polls_is_refused_on_the_same_connection():
    web = LeanWeb()
    token = web.session("alice", "#lobby")
    conn = web.connect()
    conn.send(poll_bytes(token, 3, timeout=0))
    web.request("DELETE", f"/api/sessions/{token}")
    conn.send(poll_bytes(token, 3, timeout=0))
    answered, refused = conn.responses()
    assert answered.status == 200
    assert refused.status == 404 and refused.json()["code"] == "no-such-session"


def test_cors_turned_on_between_two_polls_applies_to_the_second():
    web = LeanWeb()
    token = web.session()
    conn = web.connect()
    origin = {"Origin": "https://app.example"}
    conn.send(poll_bytes(token, 0, timeout=0, headers=origin))
    web.api.cors_origins = frozenset({"https://app.example"})  # what a reload does
    conn.send(poll_bytes(token, 0, timeout=0, headers=origin))
    first, second = conn.responses()
    assert "access-control-allow-origin" not in first.headers
    assert second.headers["access-control-allow-origin"] == "https://app.example"


def test_a_held_poll_outlasts_the_idle_timeout_and_idleness_counts_from_its_answer():
    """A poll held longer than the connection's idle timeout is answered; 30 s after, the idle connection closes."""
    web = LeanWeb()
    token = web.session()
    conn = web.connect()
    conn.send(poll_bytes(token, 0, timeout=50))
    web.clock.advance(45)
    assert not conn.transport.disconnecting and conn.responses() == []
    web.clock.advance(5)
    assert conn.responses()[0].json() == {"events": [], "last": 0}
    web.clock.advance(29)
    assert not conn.transport.disconnecting
    web.clock.advance(1.5)
    assert conn.transport.disconnecting


def test_polls_answered_at_once_keep_the_connection_from_going_idle():
    """A client whose polls are answered at once, one every 20 s, keeps its connection; silent 30 s, it is closed."""
    web = LeanWeb()
    token = web.session()
    conn = web.connect()
    for n in range(1, 5):
        conn.send(poll_bytes(token, 0, timeout=0))
        web.clock.advance(20)
        assert not conn.transport.disconnecting and len(conn.responses()) == n
    web.clock.advance(9.9)
    assert not conn.transport.disconnecting
    web.clock.advance(0.2)
    assert conn.transport.disconnecting
