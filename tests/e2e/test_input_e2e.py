"""
What people type, as they type it, against the real daemon: lines sent
straight after a join, pastes past the flood rate on every front end, stray
bytes and terminal keys on the line port, look-alike nicks and bidi
overrides.  Flood tests use the DEFAULT flood limits (3 per second, burst
12, recvq 32768): the harness loosens them for every other test.
"""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from chatclients import LineClient, PollClient, WSUser

REAL_FLOOD = {("limits", "flood_rate"): "3", ("limits", "flood_burst"): "12", ("limits", "recvq"): "32768"}


@pytest.fixture
def flood_daemon(make_daemon):
    return make_daemon(REAL_FLOOD)


def said(observer: LineClient, nick: str, count: int, timeout: float) -> list:
    """The next C{count} room lines from C{nick} the observer reads, in order."""
    got = []
    while len(got) < count:
        line = observer.expect(rf"<{nick}>|\* {nick} ", timeout=timeout)
        got.append(line.split("> ", 1)[1] if "> " in line else line.split(f"* {nick} ", 1)[1])
    return got


# -- commands take effect in the order they were sent ------------------------------------


def test_lines_sent_straight_after_a_join_are_said_in_that_room(daemon):
    """printf 'p1\\n/join #lobby\\nhello\\n/me waves\\n' | nc: both lines reach the room, no not-in-room."""
    observer = LineClient(daemon.lines_port).login("watcher", "#lobby")
    for attempt in range(4):
        nick = f"p{attempt}"
        nc = LineClient(daemon.lines_port)
        nc.send_raw(f"{nick}\n/join #lobby\nhello {attempt}\n/me waves {attempt}\n".encode())
        assert observer.expect(rf"<{nick}> ") == f"[#lobby] <{nick}> hello {attempt}"
        assert observer.expect(rf"\* {nick} ") == f"[#lobby] * {nick} waves {attempt}"
        nc.expect("Your current room is #lobby")
        assert not [line for line in nc.drain() + nc.seen if line.startswith("! ")], nc.seen
        nc.close()


# -- pastes and floods (fakelag) ------------------------------------------------------


def test_a_40_line_paste_arrives_complete_in_order_and_late_on_every_front_end(flood_daemon):
    """Telnet, WebSocket and long-poll each send 40 messages at once: all arrive, in order, none refused."""
    d = flood_daemon
    observer = LineClient(d.lines_port, timeout=30).login("watcher", "#paste")
    telnet = LineClient(d.lines_port).login("typist", "#paste")
    web = WSUser(d.ws_url, nick="webby", room="#paste")
    poller = PollClient(d.web_url, nick="poller", room="#paste")
    time.sleep(2)  # a person reads a while before pasting: the burst the login spent is back
    lines = [f"line {n:02d} of the paste" for n in range(40)]

    started = time.monotonic()
    telnet.send_raw("".join(f"{text}\r\n" for text in lines).encode())
    for n, text in enumerate(lines):
        web.send(type="say", room="#paste", text=text, ref=n)

    def post(text):
        r = poller.http.post(f"{poller.url}/commands", data=json.dumps({"type": "say", "room": "#paste", "text": text}),
                             timeout=30)
        return r.status_code, r.json()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, lines))
        web_answers = [web.expect(lambda e: e.get("ref") == n and e["type"] in ("ok", "error"), timeout=30)
                       for n in range(40)]
        heard = {"typist": [], "webby": [], "poller": []}
        while sum(map(len, heard.values())) < 120:
            line = observer.expect(r"<(typist|webby|poller)> ", timeout=30)
            nick = line.split("<", 1)[1].split(">", 1)[0]
            heard[nick].append(line.split("> ", 1)[1])
    took = time.monotonic() - started

    assert [a["type"] for a in web_answers] == ["ok"] * 40, web_answers
    assert all(status == 200 and body["type"] == "ok" for status, body in answers), answers
    assert heard["typist"] == lines, "telnet: complete and in order"
    assert heard["webby"] == lines, "WebSocket: complete and in order"
    assert sorted(heard["poller"]) == lines, "long-poll: complete (concurrent requests have no order)"
    assert 5 < took < 30, f"at 3 per second past a burst of 12 the paste takes about 9 s, not {took:.1f} s"
    assert not [line for line in telnet.drain() if line.startswith("! ")]
    telnet.send("still here")
    assert observer.expect("<typist> still here")


def test_a_script_flooding_without_pause_is_disconnected_and_others_go_on(flood_daemon):
    """5,000 lines flat out: the burst is said, the flooder is disconnected at recvq, the room goes on."""
    d = flood_daemon
    observer = LineClient(d.lines_port).login("watcher", "#honest")
    flooder = LineClient(d.lines_port).login("flooder", "#honest")
    time.sleep(2)
    flood = b"".join(b"flood %d\r\n" % n for n in range(5000))
    sender = threading.Thread(target=lambda: _send_quietly(flooder, flood), daemon=True)
    sender.start()
    flooder.expect("Disconnected for flooding: you sent more than 32768 bytes", timeout=10)
    assert flooder.wait_closed(5)
    sender.join(10)
    heard = [line for line in observer.drain(1.0) if "<flooder>" in line]
    assert len(heard) <= 14, heard
    assert not [line for line in flooder.seen if line.startswith("! ")], "nothing is refused before the cut"
    bob = LineClient(d.lines_port).login("bob", "#honest")
    bob.send("the room is fine")
    assert observer.expect("<bob> ") == "[#honest] <bob> the room is fine"
    assert "for flooding" in d.log()


def _send_quietly(client, data):
    try:
        client.send_raw(data)
    except OSError:
        pass  # the server closed on us: that is the point


# -- bytes a terminal sends -------------------------------------------------------------


@pytest.mark.parametrize("bad", [b"caf\xff", b"\xfe\xff", b"\xff\xfb"])
def test_a_stray_0xff_never_merges_two_lines(daemon, bad):
    """The line with the bad byte is refused as invalid-utf8; the next line is its own line."""
    observer = LineClient(daemon.lines_port).login("watcher", "#lobby")
    ffa = LineClient(daemon.lines_port).login("ffa", "#lobby")
    ffa.send_raw(bad + b"\n")
    ffa.expect("! invalid-utf8: That line is not valid UTF-8")
    ffa.send_raw(b"next line\n")
    assert observer.expect("<ffa>") == "[#lobby] <ffa> next line"


def test_arrow_keys_are_dropped_and_backspace_edits(daemon):
    """Cursor keys never cost the line; a raw DEL or BS erases a character; other escapes are still refused."""
    observer = LineClient(daemon.lines_port).login("watcher", "#lobby")
    tty = LineClient(daemon.lines_port).login("tty", "#lobby")
    tty.send_raw(b"hel\x1b[Dlo \x1b[Aworld\r\n")
    assert observer.expect("<tty>") == "[#lobby] <tty> hello world"
    tty.send_raw(b"typoo\x7f\x08o fixed\r\n")
    assert observer.expect("<tty>") == "[#lobby] <tty> typo fixed"
    tty.send_raw(b"\x1b]0;owned\x07title\r\n")
    assert "U+001B (ESCAPE)" in tty.expect("! invalid-text")
    tty.send("plain again")
    assert observer.expect("<tty>") == "[#lobby] <tty> plain again"


# -- look-alike nicks ---------------------------------------------------------------------


def test_look_alike_nicks_are_refused_on_every_front_end(daemon):
    """While alice is online, аlice (Cyrillic а) and AIice (capital i) are refused, naming alice."""
    alice = LineClient(daemon.lines_port).login("alice", "#lobby")
    telnet = LineClient(daemon.lines_port)
    telnet.expect("Choose a nick")
    telnet.send("AIice")
    assert "looks like alice" in telnet.expect("! nick-in-use: ")
    web = WSUser(daemon.ws_url)
    refused = web.command(type="nick", nick="\u0430lice")
    assert refused["type"] == "error" and refused["code"] == "nick-in-use" and "looks like alice" in refused["message"]
    poller = PollClient(daemon.web_url)
    refused = poller.command(type="nick", nick="A1ice")
    assert refused["code"] == "nick-in-use" and "alice" in refused["message"]
    alice.send("/quit")
    alice.wait_closed()
    assert web.command(type="nick", nick="\u0430lice")["type"] == "ok", "free once alice has gone"
    telnet.send("alicia")
    telnet.expect("You are now alicia")


# -- bidi controls ------------------------------------------------------------------------


def test_bidi_overrides_are_refused_and_isolates_pass(daemon):
    """RLO in a message or topic is refused by name on every front end; an isolate is relayed."""
    observer = LineClient(daemon.lines_port).login("watcher", "#bidi")
    telnet = LineClient(daemon.lines_port).login("rtl", "#bidi")
    telnet.send("rtl \u202e override")
    assert "U+202E (RIGHT-TO-LEFT OVERRIDE) at position 5" in telnet.expect("! invalid-text: ")
    web = WSUser(daemon.ws_url, nick="webrtl", room="#bidi")
    refused = web.command(type="topic", room="#bidi", topic="topic \u202b embedded")
    assert refused["code"] == "invalid-text" and "U+202B" in refused["message"]
    refused = web.command(type="part", room="#bidi", reason="bye \u202d")
    assert refused["code"] == "invalid-text" and "U+202D" in refused["message"]
    telnet.send("name: \u2067שלום\u2069 ok")
    assert observer.expect("<rtl>") == "[#bidi] <rtl> name: \u2067שלום\u2069 ok"
    assert not [line for line in observer.drain() if "\u202e" in line or "\u202b" in line]
    assert requests.get(daemon.web_url + "/", timeout=5).status_code == 200
