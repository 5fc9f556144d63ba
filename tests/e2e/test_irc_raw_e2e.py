"""
IRC end to end with a raw-socket client (tests/e2e/ircclient.py, parsed by
irctokens): registration as real clients do it, joining #lobby with its
scrollback, chatting with telnet and WebSocket users under the same message
ids, long messages split within IRC's 512 bytes, resume by CHATHISTORY,
and the line port and /irc WebSocket serving IRC too.
"""

import re
import time

import pytest

from certs import make_cert
from chatclients import LineClient, WSUser, of
from ircclient import Closed, IRCClient, batches, message_id, prefix, untagged

#: The ISUPPORT tokens every client relies on, with the values chatd states (docs/irc.md).
ISUPPORT = {
    "CASEMAPPING": "ascii", "CHANTYPES": "#", "NICKLEN": "32", "CHANNELLEN": "50", "TOPICLEN": "390",
    "PREFIX": "(ov)@+", "CHANMODES": "b,k,l,imnt", "LINELEN": "512", "UTF8ONLY": "", "WHOX": "",
    "MSGREFTYPES": "msgid,timestamp",
}
#: IRCv3 server-time: UTC with milliseconds, like chatd's JSON C{ts}.
SERVER_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def privmsgs(lines, target="#lobby"):
    return [l for l in lines if l.command == "PRIVMSG" and l.params[0] == target]


# -- registration -------------------------------------------------------------------------------


def test_registration_with_cap_negotiation(irc):
    """CAP LS 302 / REQ / END, NICK, USER: 001 to 005 in order, ISUPPORT <= 13 tokens a line, LUSERS, MOTD."""
    c = irc()
    offered = c.cap_ls()
    for cap in ("message-tags", "server-time", "batch", "draft/chathistory", "sasl", "echo-message"):
        assert cap in offered, (cap, offered)
    assert "PLAIN" in offered["sasl"].split(","), offered["sasl"]
    assert c.cap_req(["server-time", "message-tags", "batch"]) == ["server-time", "message-tags", "batch"]
    c.send("CAP END")
    c.send("NICK ivan")
    c.send("USER ivan 0 * :Ivan the tester")
    burst = c.until(lambda l: l.command in ("376", "422"))
    numerics = [l.command for l in burst]
    assert numerics[:4] == ["001", "002", "003", "004"], numerics
    assert burst[0].source == "chatd" and burst[0].params[0] == "ivan"
    assert "ivan" in burst[0].params[-1]
    assert burst[3].params[1] == "chatd", burst[3].format()
    isupport = [l for l in burst if l.command == "005"]
    assert isupport and numerics.index("005") == 4
    tokens = {}
    for line in isupport:
        assert line.params[0] == "ivan" and line.params[-1] == "are supported by this server", line.format()
        assert len(line.params[1:-1]) <= 13, f"{len(line.params[1:-1])} tokens in one 005: {line.format()}"
        for token in line.params[1:-1]:
            name, _, value = token.partition("=")
            tokens[name] = value
    for name, value in ISUPPORT.items():
        assert tokens.get(name) == value, (name, tokens.get(name), tokens)
    assert int(tokens["CHATHISTORY"]) > 0 and tokens["NETWORK"], tokens
    assert "PRIVMSG:" in tokens["TARGMAX"], tokens["TARGMAX"]
    for lusers in ("251", "255"):
        assert lusers in numerics, numerics
    assert "375" in numerics and "372" in numerics or numerics[-1] == "422", numerics


def test_commands_before_registration_get_451(irc):
    """irssi's stray JOIN before registering, and a PRIVMSG, get 451; registering then works."""
    c = irc()
    c.send("CAP LS 302")
    c.send("JOIN :")
    assert c.expect("451").params[0] == "*"
    c.send("PRIVMSG #lobby :too early")
    assert c.expect("451").params[-1]
    c.send("CAP END")
    c.send("NICK early")
    c.send("USER early 0 * :Early")
    assert c.expect("001").params[0] == "early"


def test_join_shows_topic_names_and_end(irc, tel):
    """JOIN #lobby: the JOIN echo with chatd's prefix, then 332, 333, 353 (with the telnet user), 366."""
    tom = tel("tom", "#lobby")
    tom.send("/topic #lobby Welcome to the lobby")
    tom.expect("Welcome to the lobby")
    c = irc("ivan")
    lines = c.join("#lobby")
    commands = [l.command for l in lines]
    join = next(l for l in lines if l.command == "JOIN")
    assert join.source == prefix("ivan") and join.params[0] == "#lobby", join.format()
    assert [x for x in commands if x in ("JOIN", "332", "333", "353", "366")][:3] == ["JOIN", "332", "333"]
    topic = next(l for l in lines if l.command == "332")
    assert topic.params[1:] == ["#lobby", "Welcome to the lobby"]
    who_set = next(l for l in lines if l.command == "333")
    assert who_set.params[1:3] == ["#lobby", "tom"] and abs(int(who_set.params[3]) - time.time()) < 60
    names = set()
    for line in lines:
        if line.command == "353":
            assert line.params[2] == "#lobby"
            names.update(n.lstrip("@+") for n in line.params[3].split())
    assert names == {"ivan", "tom"}, names
    assert lines[-1].command == "366" and lines[-1].params[1] == "#lobby"
    tom.shows("[#lobby] -!- ivan has joined")


def test_scrollback_is_a_chathistory_batch_with_time_and_msgid(irc, tel, daemon, opened):
    """Messages said before the join arrive as one chathistory batch, with chatd's times and ids."""
    tom = tel("tom", "#lobby")
    ws = WSUser(daemon.ws_url, "wendy", "#lobby")
    opened.append(ws)
    for n in range(3):
        tom.send(f"before you came {n}")
    for n in range(3):
        ws.wait(of("message", text=f"before you came {n}"))
    history = ws.ask(type="history", room="#lobby")["messages"]
    c = irc("ivan", caps=("message-tags", "server-time", "batch"))
    lines = c.join("#lobby") + c.drain()
    (kind, inside), = batches(lines).values()
    assert kind == ["chathistory", "#lobby"]
    said = privmsgs(inside)
    assert [l.params[1] for l in said] == [f"before you came {n}" for n in range(3)]
    assert [(message_id(l), l.tags["time"]) for l in said] == [(m["id"], m["ts"]) for m in history]
    for line in said:
        assert line.source == prefix("tom") and SERVER_TIME.match(line.tags["time"])
    assert len({l.tags["msgid"] for l in said}) == 3


def test_what_irssi_and_weechat_ask_after_a_join(irc, tel):
    """MODE #lobby (324, 329), WHOX WHO #lobby %tcuhnfdar,743 (354 per member, 315) and MODE #lobby b (368)."""
    tel("tom", "#lobby")
    c = irc("ivan", "#lobby")
    c.send("MODE #lobby")
    modes = {l.command: l for l in c.until("329")}
    assert modes["324"].params[1] == "#lobby" and modes["324"].params[2].startswith("+"), modes["324"].format()
    assert modes["329"].params[1] == "#lobby" and abs(int(modes["329"].params[2]) - time.time()) < 60
    c.send("WHO #lobby %tcuhnfdar,743")
    who = c.until("315")
    rows = {l.params[5]: l.params[1:] for l in who if l.command == "354"}
    # %tcuhnfdar: token, channel, user, host, nick, flags, hops, account (0: none), real name.
    assert rows["tom"][:6] == ["743", "#lobby", "~tom", "user/tom", "tom", "H"], rows
    assert rows["ivan"][:5] == ["743", "#lobby", "~ivan", "user/ivan", "ivan"] and rows["ivan"][7] == "0", rows
    assert len(rows) == 2 and who[-1].params[1] == "#lobby"
    c.send("MODE #lobby b")
    assert c.expect("368").params[1] == "#lobby"


def test_scrollback_without_tags_is_plain_privmsgs(irc, tel):
    """A client that asked for nothing still sees the scrollback, as plain PRIVMSGs without tags."""
    tom, wes = tel("tom", "#lobby"), tel("wes", "#lobby")
    tom.send("an old message")
    wes.shows("[#lobby] <tom> an old message")
    c = irc("plain", caps=())
    lines = c.join("#lobby") + c.drain()
    said = privmsgs(lines)
    assert [l.params[1] for l in said] == ["an old message"]
    assert not said[0].tags and said[0].source == prefix("tom")
    assert not any(l.command == "BATCH" or l.tags for l in lines), [l.format() for l in lines]


# -- chat across front ends -----------------------------------------------------------------------


def test_privmsg_between_irc_telnet_and_websocket_with_one_id(irc, tel, daemon, opened):
    """A message from each of IRC, telnet and WebSocket reaches the other two; IRC's msgid is chatd's id."""
    tom = tel("tom", "#lobby")
    ws = WSUser(daemon.ws_url, "wendy", "#lobby")
    opened.append(ws)
    c = irc("ivan", "#lobby")
    assert "echo-message" in c.caps
    c.drain()

    c.privmsg("#lobby", "hello from irc")
    tom.shows("[#lobby] <ivan> hello from irc")
    got = ws.wait(of("message", room="#lobby", **{"from": "ivan", "text": "hello from irc"}))
    echo = c.expect(lambda l: l.command == "PRIVMSG" and l.params == ["#lobby", "hello from irc"])
    assert echo.source == prefix("ivan") and message_id(echo) == got["id"]

    tom.send("hello from telnet")
    line = c.expect("PRIVMSG")
    assert (line.source, line.params) == (prefix("tom"), ["#lobby", "hello from telnet"])
    assert message_id(line) == ws.wait(of("message", text="hello from telnet"))["id"]

    ws.command(type="say", room="#lobby", text="hello from the web")
    line = c.expect("PRIVMSG")
    assert (line.source, line.params) == (prefix("wendy"), ["#lobby", "hello from the web"])
    assert message_id(line) == first_id(ws, "hello from the web")
    tom.shows("[#lobby] <wendy> hello from the web")
    assert c.drain() == [], "each message exactly once"


def first_id(ws, text):
    return next(e["id"] for e in ws.seen if e["type"] == "message" and e["text"] == text)


def test_private_messages_and_actions(irc, tel):
    """PRIVMSG to a nick is chatd's private message both ways; CTCP ACTION is chatd's action."""
    tom = tel("tom", "#lobby")
    c = irc("ivan", "#lobby")
    c.privmsg("tom", "psst")
    tom.shows("*ivan* psst")
    tom.send("/msg ivan psst back")
    line = c.expect(lambda l: l.command == "PRIVMSG" and l.params[0] == "ivan")
    assert (line.source, line.params[1]) == (prefix("tom"), "psst back")
    c.privmsg("#lobby", "\x01ACTION waves\x01")
    tom.shows("[#lobby] * ivan waves")
    tom.send("/me waves back")
    line = c.expect(lambda l: l.command == "PRIVMSG" and l.params[0] == "#lobby" and l.source != prefix("ivan"))
    assert line.params[1] == "\x01ACTION waves back\x01"


def test_mirc_formatting_is_stripped_for_telnet(irc, tel):
    """Bold, colour, reset, italics and underline from an IRC client reach telnet as plain text."""
    tom = tel("tom", "#lobby")
    c = irc("ivan", "#lobby")
    c.privmsg("#lobby", "\x02bold\x02 and \x0304,01red\x03 and \x1ditalic\x1d \x1funder\x1f\x0f done")
    tom.shows("[#lobby] <ivan> bold and red and italic under done")


def test_invalid_utf8_gets_fail_and_the_connection_goes_on(irc, tel):
    """A line that is not UTF-8 is refused with FAIL * INVALID_UTF8; nothing is relayed; the client stays."""
    tom = tel("tom", "#lobby")
    c = irc("ivan", "#lobby")
    c.send_raw(b"PRIVMSG #lobby :caf\xe9 latin-1")
    fail = c.expect("FAIL")
    assert fail.params[:2] == ["*", "INVALID_UTF8"], fail.format()
    c.privmsg("#lobby", "café in UTF-8")
    tom.shows("[#lobby] <ivan> café in UTF-8")
    assert not any("latin-1" in line for line in tom.seen)


def test_a_3000_character_message_reaches_irc_whole_in_512_byte_lines(irc, daemon, opened):
    """A WebSocket user's 3,000 characters (words, a long run, multi-byte text) arrive whole, each line <= 512 bytes."""
    c = irc("ivan", "#lobby")
    c.drain()
    ws = WSUser(daemon.ws_url, "wendy", "#lobby")
    opened.append(ws)
    words = " ".join(f"wörd{n}-ünïcødé" for n in range(120))
    text = (words + " " + "é" * 700 + " " + words)[:3000]
    assert len(text) == 3000
    ws.command(type="say", room="#lobby", text=text)
    msg_id = first_id(ws, text)
    first_wire = len(c.wire)
    parts = c.split_message("wendy", text)
    assert len(parts) >= 7, len(parts)
    for raw in c.wire[first_wire:]:
        line = untagged(raw)  # IRCv3 tags have their own budget, outside the 512 bytes
        assert len(line) <= 512 and line.endswith(b"\r\n"), (len(line), line[:80])
        line.decode("utf-8")  # never cut inside a character
    assert all(p.source == prefix("wendy") and p.params[0] == "#lobby" for p in parts)
    assert message_id(parts[0]) == msg_id
    assert "msgid" not in (parts[1].tags or {}), "the msgid is on the first part only"
    assert [l for l in c.drain() if l.command == "PRIVMSG"] == [], "nothing more than the text"


def test_chathistory_after_a_disconnect_returns_exactly_the_missed(irc, tel):
    """CHATHISTORY AFTER #lobby msgid=X 100, after reconnecting: the messages missed, oldest first, once each."""
    tom, wes = tel("tom", "#lobby"), tel("wes", "#lobby")
    c = irc("ivan", "#lobby")
    tom.send("seen before leaving")
    last = c.expect(lambda l: l.command == "PRIVMSG" and l.params[1] == "seen before leaving")
    c.send("QUIT :brb")
    assert [l.command for l in c.wait_closed()][-1:] == ["ERROR"], "QUIT is answered with ERROR"
    tom.shows("[#lobby] -!- ivan has quit (brb)")
    missed = [f"missed {n}" for n in range(5)]
    for text in missed:
        tom.send(text)
        wes.shows(f"[#lobby] <tom> {text}")

    again = irc("ivan", caps=("message-tags", "server-time", "batch", "draft/chathistory"))
    assert "draft/chathistory" in again.caps
    again.join("#lobby")
    again.drain()
    again.send(f"CHATHISTORY AFTER #lobby msgid={last.tags['msgid']} 100")
    got = privmsgs(again.batch("chathistory", "#lobby"))
    assert [l.params[1] for l in got] == missed
    ids = [message_id(l) for l in got]
    assert ids == sorted(set(ids)) and ids[0] > message_id(last)
    assert [l.source for l in got] == [prefix("tom")] * 5

    again.send(f"CHATHISTORY AFTER #lobby msgid={got[-1].tags['msgid']} 100")
    assert privmsgs(again.batch("chathistory", "#lobby")) == [], "nothing after the newest"


def missed_while_away(irc, tel, texts):
    """ivan sees one message from tom, quits, and misses C{texts}; return the last line ivan saw."""
    tom, wes = tel("tom", "#lobby"), tel("wes", "#lobby")
    c = irc("ivan", "#lobby")
    tom.send("seen before leaving")
    last = c.expect(lambda l: l.command == "PRIVMSG" and l.params[1] == "seen before leaving")
    c.send("QUIT :brb")
    c.wait_closed()
    for text in texts:
        tom.send(text)
        wes.shows(f"[#lobby] <tom> {text}")
    return last


def test_chathistory_latest_and_before_page_back(irc, tel):
    """LATEST * N is the newest N; BEFORE msgid=X N pages back from there; both oldest first."""
    texts = [f"said {n}" for n in range(6)]
    missed_while_away(irc, tel, texts)
    again = irc("ivan", caps=("message-tags", "server-time", "batch", "draft/chathistory"))
    again.send("CHATHISTORY LATEST #lobby * 3")
    newest = privmsgs(again.batch("chathistory", "#lobby"))
    assert [l.params[1] for l in newest] == texts[3:]
    again.send(f"CHATHISTORY BEFORE #lobby msgid={newest[0].tags['msgid']} 2")
    assert [l.params[1] for l in privmsgs(again.batch("chathistory", "#lobby"))] == texts[1:3]


def test_chathistory_after_a_timestamp_resumes_without_the_last_seen(irc, tel):
    """gamja's resume: AFTER timestamp=T (the time tag of the last line seen) is what came after it, not it again."""
    texts = [f"said {n}" for n in range(6)]
    last = missed_while_away(irc, tel, texts)
    again = irc("ivan", caps=("message-tags", "server-time", "batch", "draft/chathistory"))
    again.send(f"CHATHISTORY AFTER #lobby timestamp={last.tags['time']} 100")
    assert [l.params[1] for l in privmsgs(again.batch("chathistory", "#lobby"))] == texts


# -- where IRC is served ------------------------------------------------------------------------


def test_irc_over_tls(make_daemon, tmp_path, opened):
    """An ssl: IRC listener (port 6697's kind) serves a client that checks its certificate."""
    key, cert = make_cert(tmp_path)
    d = make_daemon({("irc", "listen"): f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}"})
    tom = LineClient(d.lines_port).login("tom", "#lobby")
    c = IRCClient(d.port("irc", "ssl"), cafile=str(cert))
    opened.extend([tom, c])
    c.register("ivan")
    c.join("#lobby")
    c.privmsg("#lobby", "over TLS")
    tom.shows("[#lobby] <ivan> over TLS")


def test_ping_both_ways_and_a_silent_client_is_closed(make_daemon, opened):
    """The server PINGs an idle client; one that never answers gets ERROR and is gone; PING gets PONG."""
    d = make_daemon({("irc", "ping_interval"): "1", ("irc", "ping_timeout"): "1"})
    tom = LineClient(d.lines_port).login("tom", "#lobby")
    awake, silent = IRCClient(d.irc_port), IRCClient(d.irc_port)
    opened.extend([tom, awake, silent])
    awake.register("awake")
    silent.register("silent")
    silent.join("#lobby")
    silent.answer_pings = False
    closing, deadline = [], time.monotonic() + 6
    while not silent.closed and time.monotonic() < deadline:
        awake.drain(0.05)  # reads as a client does, answering each PING
        try:
            closing.append(silent.read(0.05))
        except Closed:
            pass
    commands = [l.command for l in closing if l is not None]
    assert "PING" in commands and commands[-1] == "ERROR", commands
    tom.expect(r"^\[#lobby\] -!- silent has quit")
    assert any(l.command == "PING" for l in awake.seen)
    awake.send("PING :are-you-there")
    pong = awake.expect("PONG")
    assert pong.params[-1] == "are-you-there"


@pytest.mark.parametrize("opening", ["CAP LS 302", "NICK", "PASS"])
def test_the_line_port_serves_an_irc_client(daemon, tel, opened, opening):
    """An IRC client pointed at the telnet port by mistake is served as IRC, not asked for a nick."""
    tom = tel("tom", "#lobby")
    c = IRCClient(daemon.lines_port)
    opened.append(c)
    if opening == "CAP LS 302":
        c.register("ivan", caps=("server-time",))
        assert "server-time" in c.caps
    else:
        if opening == "PASS":
            c.send("PASS unused")
        c.send("NICK ivan")
        c.send("USER ivan 0 * :Ivan")
        c.until(lambda l: l.command in ("376", "422"))
    c.join("#lobby")
    c.privmsg("#lobby", "via the line port")
    tom.shows("[#lobby] <ivan> via the line port")


@pytest.mark.parametrize("subprotocols", [None, ["text.ircv3.net"], ["binary.ircv3.net"]],
                         ids=["no-subprotocol", "text", "binary"])
def test_irc_over_websocket(daemon, tel, opened, subprotocols):
    """ws://.../irc: gamja's and Kiwi's way in (no subprotocol) and the IRCv3 ones register and chat."""
    tom = tel("tom", "#lobby")
    c = IRCClient(url=f"ws://127.0.0.1:{daemon.web_port}/irc", subprotocols=subprotocols)
    opened.append(c)
    assert c.subprotocol == (subprotocols[0] if subprotocols else None)
    c.register("webirc")
    for raw in c.wire:
        assert not raw.endswith(b"\n"), f"one line per message, without CRLF: {raw!r}"
    c.join("#lobby")
    c.privmsg("#lobby", "over a websocket")
    tom.shows("[#lobby] <webirc> over a websocket")
    tom.send("back over telnet")
    line = c.expect(lambda l: l.command == "PRIVMSG" and l.params[-1] == "back over telnet")
    assert line.source == prefix("tom")


def test_irc_over_websocket_checks_the_origin_like_ws(daemon):
    """A page from a foreign origin cannot open /irc (403); the server's own page can."""
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect as ws_connect

    url = f"ws://127.0.0.1:{daemon.web_port}/irc"
    with pytest.raises(InvalidStatus) as refused:
        with ws_connect(url, proxy=None, origin="http://evil.example", open_timeout=5):
            pass
    assert refused.value.response.status_code == 403
    with ws_connect(url, proxy=None, origin=f"http://127.0.0.1:{daemon.web_port}", open_timeout=5) as ws:
        ws.send("PING :same-origin")
        assert "PONG" in ws.recv(timeout=5)
