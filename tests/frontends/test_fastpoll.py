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
