"""
The line protocol codec (chatd.wire.lines), sans IO: the command parser,
and the renderings a terminal shows (checked against docs/protocol.md,
"Lines protocol").  The decoder is tested in test_telnet.py.
"""

import pathlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatd.core import events as ev
from chatd.core.events import Event, RoomInfo
from chatd.core import commands as cmd
from chatd.wire import lines as wire
from chatd.wire.lines import parse

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


# -- parse ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, command",
    [
        ("", None),
        ("   ", None),
        ("\t", None),
        ("hello", cmd.Line(text="hello")),
        ("  hello there ", cmd.Line(text="  hello there ")),
        ("//slash at start", cmd.Line(text="/slash at start")),
        ("// ", cmd.Line(text="/ ")),
        ("/nick alice", cmd.Nick(nick="alice")),
        ("/NICK  alice ", cmd.Nick(nick="alice")),
        ("/join #lobby", cmd.Join(room="#lobby")),
        ("/join #lobby secret", cmd.Join(room="#lobby", key="secret")),
        ("/part", cmd.Part()),
        ("/part #lobby", cmd.Part(room="#lobby")),
        ("/part #lobby see you", cmd.Part(room="#lobby", reason="see you")),
        ("/part see you", cmd.Part(reason="see you")),
        ("/msg bob psst", cmd.Msg(to="bob", text="psst")),
        ("/msg bob psst  there", cmd.Msg(to="bob", text="psst  there")),
        ("/me waves", cmd.Action(text="waves")),
        ("/me  waves  hi", cmd.Action(text="waves  hi")),
        ("/topic", cmd.Topic()),
        ("/topic #lobby", cmd.Topic(room="#lobby")),
        ("/topic #lobby New topic", cmd.Topic(room="#lobby", topic="New topic")),
        ("/topic New topic", cmd.Topic(topic="New topic")),
        ("/who", cmd.Who()),
        ("/who #lobby", cmd.Who(room="#lobby")),
        ("/rooms", cmd.Rooms()),
        ("/list", cmd.Rooms()),
        ("/history", cmd.History()),
        ("/history 20", cmd.History(limit=20)),
        ("/help", cmd.Help()),
        ("/help accounts", cmd.Help(topic="accounts")),
        ("/help Moderation", cmd.Help(topic="moderation")),
        ("/quit", cmd.Quit()),
        ("/quit gone fishing", cmd.Quit(reason="gone fishing")),
    ],
)
def test_parse(line, command):
    """Each documented command parses to its core command; plain text is a Line; blank lines are nothing."""
    assert parse(line) == command


@pytest.mark.parametrize("line, word", [("/frobnicate now", "frobnicate"), ("/", "")])
def test_parse_unknown_command_is_refused_by_name(line, word):
    """An unknown /command becomes a refusal naming it, answered in its turn."""
    command = parse(line)
    assert isinstance(command, cmd.Refused) and command.error.code == "unknown-command"
    assert command.error.message == f"There is no /{word} command; /help lists them."


@pytest.mark.parametrize(
    "line, usage",
    [
        ("/nick", "/nick NAME"),
        ("/nick   ", "/nick NAME"),
        ("/join", "/join #room [KEY]"),
        ("/join #lobby secret extra", "/join #room [KEY]"),
        ("/msg", "/msg NICK text"),
        ("/msg bob", "/msg NICK text"),
        ("/msg bob   ", "/msg NICK text"),
        ("/me", "/me text"),
        ("/history lots", "/history [N]"),
        ("/history -5", "/history [N]"),
        ("/history 1.5", "/history [N]"),
    ],
)
def test_parse_usage_errors(line, usage):
    """A known command missing its arguments is refused with usage, showing the right form."""
    command = parse(line)
    assert isinstance(command, cmd.Refused) and command.error.code == "usage"
    assert command.error.message == f"Usage: {usage}"


@pytest.mark.parametrize("line", ["/history ²", "/history ①", "/history 1²"])
def test_parse_history_with_non_decimal_digits_is_a_usage_error(line):
    """Digits int() cannot read are a usage error, not a crash."""
    assert parse(line).error.code == "usage"


def test_every_usage_is_in_help():
    """Every command (but /help itself) appears in /help or one of its pages, and /help names every page."""
    help_text = "\n".join(wire.HELP + [text for page in wire.HELP_TOPICS.values() for text in page])
    for name, usage in wire.USAGE.items():
        if name == "help":
            continue
        assert usage.split(" ")[0] in help_text
    for topic in wire.HELP_TOPICS:
        assert f"/help {topic}" in "\n".join(wire.HELP)
        assert wire.help_text(topic) == wire.HELP_TOPICS[topic]
    assert wire.help_text() == wire.HELP


# -- rendering ----------------------------------------------------------------------

TS = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


def E(type, **kw):
    """An event of wire type C{type} at TS."""
    return ev.BY_TYPE[type](ts=TS, **kw)


RENDERINGS = [
    (E(ev.MESSAGE, room="#lobby", nick="alice", text="hello", id=1), "[#lobby] <alice> hello"),
    (E(ev.ACTION, room="#lobby", nick="alice", text="waves", id=2), "[#lobby] * alice waves"),
    (E(ev.JOIN, room="#lobby", nick="bob"), "[#lobby] -!- bob has joined"),
    (E(ev.PART, room="#lobby", nick="bob", reason="bye"), "[#lobby] -!- bob has left (bye)"),
    (E(ev.PART, room="#lobby", nick="bob"), "[#lobby] -!- bob has left"),
    (E(ev.QUIT, room="#lobby", nick="bob", reason="Connection closed"), "[#lobby] -!- bob has quit (Connection closed)"),
    (E(ev.QUIT, room="#lobby", nick="bob"), "[#lobby] -!- bob has quit"),
    (E(ev.KICK, room="#lobby", nick="bob", by="an operator", reason="spam"), "[#lobby] -!- bob was kicked by an operator (spam)"),
    (E(ev.KICK, room="#lobby", nick="bob", by="an operator"), "[#lobby] -!- bob was kicked by an operator"),
    (E(ev.NICK, nick="robert", old="bob"), "-!- bob is now known as robert"),
    (E(ev.TOPIC, room="#lobby", nick="alice", topic="Welcome"), "[#lobby] -!- alice set the topic to: Welcome"),
    (E(ev.TOPIC, room="#lobby", nick="alice", topic=""), "[#lobby] -!- alice cleared the topic"),
    (E(ev.PRIVATE, nick="bob", to="alice", text="psst, private"), "*bob* psst, private"),
    (E(ev.NOTICE, nick="chatd", text="Server restarting"), "-!- Notice from chatd: Server restarting"),
]


@pytest.mark.parametrize("event, text", RENDERINGS, ids=[r[1] for r in RENDERINGS])
def test_render_event(event, text):
    """Each room and private event renders as one documented CRLF-terminated line."""
    assert wire.render_event(event) == text.encode() + b"\r\n"


def test_render_event_is_utf8():
    """Non-ASCII text is sent as UTF-8."""
    e = E(ev.MESSAGE, room="#café", nick="zoë", text="naïve ☕", id=1)
    assert wire.render_event(e) == "[#café] <zoë> naïve ☕\r\n".encode("utf-8")


def test_render_event_works_as_shared_codec():
    """render_event is usable as the Event.encoded codec key; the bytes are cached."""
    e = E(ev.MESSAGE, room="#lobby", nick="alice", text="hi", id=1)
    assert e.encoded(wire.render_event) is e.encoded(wire.render_event)


def test_render_own_join_and_sent_private():
    """The joiner's own join and the sender's copy of a private message have their own forms."""
    assert wire.render_own_join(E(ev.JOIN, room="#lobby", nick="alice")) == b"[#lobby] -!- You joined #lobby\r\n"
    assert wire.render_sent_private(E(ev.PRIVATE, nick="alice", to="bob", text="psst")) == b"-> *bob* psst\r\n"


def test_render_members_and_topic():
    """Members are listed with a count, then the topic (with setter) or 'No topic'."""
    two = E(ev.MEMBERS, room="#lobby", nicks=("alice", "bob"), topic="Welcome", nick="alice")
    assert wire.render_event(two) == (
        b"[#lobby] -!- 2 members: alice, bob\r\n[#lobby] -!- Topic: Welcome (set by alice)\r\n"
    )
    one = E(ev.MEMBERS, room="#lobby", nicks=("alice",), topic="")
    assert wire.render_members(one) == b"[#lobby] -!- 1 member: alice\r\n[#lobby] -!- No topic is set\r\n"
    no_setter = E(ev.TOPIC, room="#lobby", topic="Hi")
    assert wire.render_topic(no_setter) == b"[#lobby] -!- Topic: Hi\r\n"


def test_render_rooms():
    """The room list shows a count, then each room with members and topic."""
    assert wire.render_event(E(ev.ROOMS)) == b"-!- No rooms yet; /join #lobby to start one\r\n"
    rooms = E(ev.ROOMS, rooms=(RoomInfo("#lobby", 2, "Welcome"), RoomInfo("#quiet", 1, "")))
    assert wire.render_event(rooms) == (
        b"-!- 2 rooms:\r\n-!-   #lobby (2) Welcome\r\n-!-   #quiet (1)\r\n"
    )
    one = E(ev.ROOMS, rooms=(RoomInfo("#a", 1, ""),))
    assert wire.render_rooms(one).startswith(b"-!- 1 room:\r\n")


def test_render_history():
    """Scrollback is framed by a header and an end line, with UTC HH:MM times."""
    m1 = ev.Message(room="#lobby", nick="alice", text="hello", id=1, ts=TS)
    m2 = ev.Action(room="#lobby", nick="bob", text="waves", id=2, ts=TS + 120)
    history = E(ev.HISTORY, room="#lobby", messages=(m1, m2))
    assert wire.render_event(history) == (
        b"[#lobby] -!- Scrollback (2 messages):\r\n"
        b"[#lobby] 22:13 <alice> hello\r\n"
        b"[#lobby] 22:15 * bob waves\r\n"
        b"[#lobby] -!- End of scrollback\r\n"
    )
    truncated = E(ev.HISTORY, room="#lobby", messages=(m1,), truncated=True)
    assert wire.render_history(truncated).splitlines() == [
        b"[#lobby] -!- Scrollback (1 message):",
        b"[#lobby] -!- (older messages not shown; /history N shows more)",
        b"[#lobby] 22:13 <alice> hello",
        b"[#lobby] -!- End of scrollback",
    ]
    empty = E(ev.HISTORY, room="#lobby")
    assert wire.render_history(empty) == b"[#lobby] -!- No messages yet\r\n"
    assert wire.render_history(empty, announce_empty=False) == b""


def test_render_error_and_info():
    """Errors are '! code: sentence'; information lines start with '-!- '."""
    assert wire.render_error("not-in-room", "You are not in #x; join it first.") == (
        b"! not-in-room: You are not in #x; join it first.\r\n"
    )
    assert wire.render_info("Bye.") == b"-!- Bye.\r\n"


def test_render_unknown_event_type_is_refused():
    """An event type with no line form is a programming error, raised loudly."""
    with pytest.raises(ValueError):
        wire.render_event(Event())


def _documented_block():
    text = DOCS.read_text("utf-8")
    block = text.split("What you see:", 1)[1].split("```", 2)[1]
    return [re.sub(r"\s{2,}\(.*\)$", "", ln).rstrip() for ln in block.splitlines() if ln.strip()]


def test_documented_lines_match_the_renderings():
    """Every line shown in docs/protocol.md 'What you see' is what the code renders."""
    documented = _documented_block()
    rendered = [
        wire.render_event(E(ev.MESSAGE, room="#lobby", nick="alice", text="hello", id=1)),
        wire.render_event(E(ev.ACTION, room="#lobby", nick="alice", text="waves", id=1)),
        wire.render_event(E(ev.PRIVATE, nick="bob", to="alice", text="psst, private")),
        wire.render_sent_private(E(ev.PRIVATE, nick="alice", to="bob", text="psst")),
        wire.render_event(E(ev.JOIN, room="#lobby", nick="bob")),
        wire.render_event(E(ev.PART, room="#lobby", nick="bob", reason="bye")),
        wire.render_event(E(ev.QUIT, room="#lobby", nick="bob", reason="Connection closed")),
        wire.render_event(E(ev.KICK, room="#lobby", nick="bob", by="an operator", reason="spam")),
        wire.render_event(E(ev.NICK, nick="robert", old="bob")),
        wire.render_event(E(ev.TOPIC, room="#lobby", nick="alice", topic="Welcome")),
        wire.render_error("not-in-room", "You are not in #x; join it first."),
    ]
    for data in rendered:
        assert data.endswith(b"\r\n")
        assert data[:-2].decode() in documented


def test_documented_scrollback_markers_match():
    """The scrollback markers named in docs/protocol.md are the ones rendered."""
    text = DOCS.read_text("utf-8")
    m = ev.Message(room="#lobby", nick="alice", text="hello", id=1, ts=TS)
    rendered = wire.render_history(E(ev.HISTORY, room="#lobby", messages=(m, m))).decode().splitlines()
    assert f"`{rendered[0]}`" in text
    assert f"`{rendered[-1]}`" in text
