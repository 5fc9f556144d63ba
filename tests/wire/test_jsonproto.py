"""
The JSON protocol codec (chatd.wire.jsonproto): decoding client commands,
refusing malformed ones with the documented codes, and encoding events in
the shapes docs/protocol.md shows.
"""

import json
from dataclasses import fields
import pathlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatd.core import events as ev
from chatd.core.errors import BadCommand
from chatd.core.events import Event, RoomInfo
from chatd.core.rules import Rules
from chatd.wire import jsonproto
from chatd.core.errors import BadJSON, UnknownType
from chatd.wire.jsonproto import decode_command, encode_event, iso_ts

from accountsdoc import json_block

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def cmd(**obj):
    return json.dumps(obj).encode()


def decode(data):
    """Decode one command as (type, the fields it was given, ref)."""
    command, ref = decode_command(data)
    given = {f.name: getattr(command, f.name) for f in fields(command) if getattr(command, f.name) is not None}
    return command.name, given, ref


# -- decoding commands ----------------------------------------------------------------


@pytest.mark.parametrize(
    "obj, type, args",
    [
        ({"type": "nick", "nick": "alice"}, "nick", {"nick": "alice"}),
        ({"type": "join", "room": "#lobby"}, "join", {"room": "#lobby"}),
        ({"type": "join", "room": "#lobby", "since": 41}, "join", {"room": "#lobby", "since": 41}),
        ({"type": "join", "room": "#lobby", "since": 0}, "join", {"room": "#lobby", "since": 0}),
        ({"type": "part", "room": "#lobby"}, "part", {"room": "#lobby"}),
        ({"type": "part", "room": "#lobby", "reason": "lunch"}, "part", {"room": "#lobby", "reason": "lunch"}),
        ({"type": "say", "room": "#lobby", "text": "hello"}, "say", {"room": "#lobby", "text": "hello"}),
        (
            {"type": "say", "room": "#lobby", "text": "hello", "cid": "b7c1-0001"},
            "say",
            {"room": "#lobby", "text": "hello", "cid": "b7c1-0001"},
        ),
        ({"type": "action", "room": "#lobby", "text": "waves"}, "action", {"room": "#lobby", "text": "waves"}),
        (
            {"type": "action", "room": "#lobby", "text": "waves", "cid": "x"},
            "action",
            {"room": "#lobby", "text": "waves", "cid": "x"},
        ),
        ({"type": "msg", "to": "bob", "text": "psst"}, "msg", {"to": "bob", "text": "psst"}),
        ({"type": "topic", "room": "#lobby"}, "topic", {"room": "#lobby"}),
        ({"type": "topic", "room": "#lobby", "topic": "Welcome"}, "topic", {"room": "#lobby", "topic": "Welcome"}),
        ({"type": "topic", "room": "#lobby", "topic": ""}, "topic", {"room": "#lobby", "topic": ""}),
        ({"type": "topic", "room": "#lobby", "topic": None}, "topic", {"room": "#lobby"}),
        ({"type": "who", "room": "#lobby"}, "who", {"room": "#lobby"}),
        ({"type": "rooms"}, "rooms", {}),
        ({"type": "history", "room": "#lobby"}, "history", {"room": "#lobby"}),
        (
            {"type": "history", "room": "#lobby", "limit": 50, "before": 120},
            "history",
            {"room": "#lobby", "limit": 50, "before": 120},
        ),
        ({"type": "rooms", "extra": [1, 2], "x": {"y": 1}}, "rooms", {}),
    ],
)
def test_decode_each_command(obj, type, args):
    """Every documented command decodes to its type and arguments; unknown fields are ignored."""
    command = decode(json.dumps(obj).encode())
    assert command == (type, args, None)
    assert decode(json.dumps(obj)) == command  # str works too


def test_decode_documented_examples():
    """Every client command example in docs/protocol.md decodes; with docs/accounts.md's, they show every type."""
    text = DOCS.read_text("utf-8")
    block = text.split("### Client commands", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    examples = [ln for ln in block.splitlines() if ln.strip()]
    assert len(examples) >= 12
    types = {decode(ln.encode())[0] for ln in examples}
    types |= {decode(json.dumps(obj))[0] for obj in json_block(2)}
    assert types == set(jsonproto.COMMANDS)


def test_decode_keeps_unicode_and_surrogates_for_the_core():
    """Text is decoded as sent; a JSON-escaped lone surrogate is passed on for the core to refuse."""
    c = decode(b'{"type":"say","room":"#caf\\u00e9","text":"\\ud800 \xe2\x98\x95"}')
    assert c[1] == {"room": "#café", "text": "\ud800 ☕"}


# -- ref ---------------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["a", "x" * 100, "", 0, 1, -5, 2**53 - 1, -(2**53 - 1)])
def test_ref_is_echoed(ref):
    """A string up to 100 characters or an integer (JSON safe) is accepted as ref."""
    assert decode(cmd(type="rooms", ref=ref))[2] == ref


def test_ref_absent_or_null_is_none():
    """A command with no ref (or ref null) has none."""
    assert decode(cmd(type="rooms"))[2] is None
    assert decode(cmd(type="rooms", ref=None))[2] is None


@pytest.mark.parametrize("ref", [True, False, 1.5, [1], {"a": 1}, "x" * 101, 2**53, -(2**53)])
def test_bad_ref_is_refused(ref):
    """A bool, float, list, object, over-long string or unsafe integer ref is bad-command."""
    with pytest.raises(BadCommand) as info:
        decode_command(cmd(type="rooms", ref=ref))
    assert info.value.code == "bad-command"
    assert '"ref"' in info.value.message


# -- bad JSON ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, fragment",
    [
        (b"", "not valid JSON"),
        (b"hello", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b'{"type":"rooms"} x', "not valid JSON"),
        (b"{'type':'rooms'}", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'"rooms"', "must be a JSON object"),
        (b"42", "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b'{"type":"say","text":"\xff"}', "not valid UTF-8"),
        (b"\xc3(", "not valid UTF-8"),
        (b"[" * 100000, "nested too deeply"),
        (b'{"a":' * 100000, "nested too deeply"),
        (b'{"type":"join","room":"#a","since":' + b"9" * 5000 + b"}", "not valid JSON"),
    ],
)
def test_bad_json(data, fragment):
    """Bytes that are not one UTF-8 JSON object are refused with bad-json and a sentence."""
    with pytest.raises(BadJSON) as info:
        decode_command(data)
    assert info.value.code == "bad-json"
    assert fragment in info.value.message
    assert getattr(info.value, "ref", None) is None


def test_invalid_utf8_names_the_byte():
    """The bad-json message for invalid UTF-8 says where the bad byte is."""
    with pytest.raises(BadJSON, match="byte 3"):
        decode_command(b'{"\xff":1}')


# -- unknown type -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "obj", [{}, {"type": None}, {"type": 1}, {"type": ["say"]}, {"type": "shout"}, {"type": "SAY"}, {"type": ""}]
)
def test_unknown_or_missing_type(obj):
    """A missing, non-string or unknown type is unknown-type, listing the known ones."""
    with pytest.raises(UnknownType) as info:
        decode_command(json.dumps(obj).encode())
    assert info.value.code == "unknown-type"


def test_unknown_type_lists_known_types_and_carries_ref():
    """The unknown-type message lists the known types and the error keeps the ref."""
    with pytest.raises(UnknownType) as info:
        decode_command(cmd(type="x" * 1000, ref="r1"))
    assert all(f" {name}," in info.value.message or f" {name}." in info.value.message for name in jsonproto.COMMANDS)
    assert len(info.value.message) < 500
    assert info.value.ref == "r1"


# -- bad command ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "obj, field",
    [
        ({"type": "nick"}, "nick"),
        ({"type": "nick", "nick": None}, "nick"),
        ({"type": "nick", "nick": 5}, "nick"),
        ({"type": "join"}, "room"),
        ({"type": "join", "room": ["#a"]}, "room"),
        ({"type": "join", "room": "#a", "since": -1}, "since"),
        ({"type": "join", "room": "#a", "since": 1.0}, "since"),
        ({"type": "join", "room": "#a", "since": "41"}, "since"),
        ({"type": "join", "room": "#a", "since": True}, "since"),
        ({"type": "join", "room": "#a", "since": 2**63}, "since"),
        ({"type": "part"}, "room"),
        ({"type": "part", "room": "#a", "reason": 1}, "reason"),
        ({"type": "say", "room": "#a"}, "text"),
        ({"type": "say", "text": "hi"}, "room"),
        ({"type": "say", "room": "#a", "text": True}, "text"),
        ({"type": "say", "room": "#a", "text": "hi", "cid": 7}, "cid"),
        ({"type": "action", "room": "#a"}, "text"),
        ({"type": "msg", "text": "hi"}, "to"),
        ({"type": "msg", "to": "bob"}, "text"),
        ({"type": "msg", "to": {"nick": "bob"}, "text": "hi"}, "to"),
        ({"type": "topic"}, "room"),
        ({"type": "topic", "room": "#a", "topic": 1}, "topic"),
        ({"type": "who"}, "room"),
        ({"type": "history"}, "room"),
        ({"type": "history", "room": "#a", "limit": -1}, "limit"),
        ({"type": "history", "room": "#a", "limit": False}, "limit"),
        ({"type": "history", "room": "#a", "limit": 2.5}, "limit"),
        ({"type": "history", "room": "#a", "before": -3}, "before"),
        ({"type": "history", "room": "#a", "before": "120"}, "before"),
        ({"type": "history", "room": "#a", "before": 10**30}, "before"),
    ],
)
def test_bad_command(obj, field):
    """A missing required field or a field of the wrong type is bad-command naming the field, with the ref."""
    obj = dict(obj, ref=7)
    with pytest.raises(BadCommand) as info:
        decode_command(json.dumps(obj).encode())
    assert info.value.code == "bad-command"
    assert f'"{field}"' in info.value.message
    assert info.value.ref == 7


def test_nan_and_infinity_are_not_numbers_of_the_protocol():
    """Python's JSON extensions NaN and Infinity are not whole numbers."""
    for literal in (b"NaN", b"Infinity", b"-Infinity"):
        with pytest.raises((BadCommand, BadJSON)):
            decode_command(b'{"type":"history","room":"#a","limit":' + literal + b"}")


@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
))
@settings(max_examples=300, deadline=None)
def test_decode_never_fails_unexpectedly(value):
    """Any JSON value decodes to a Command or a ChatError with a documented code, nothing else."""
    for obj in (value, {"type": "say", "room": value, "text": value, "ref": value}, {"type": value}):
        try:
            command = decode(json.dumps(obj).encode())
        except (BadJSON, BadCommand, UnknownType) as e:
            assert e.code in ("bad-json", "bad-command", "unknown-type")
            continue
        assert command[0] in jsonproto.COMMANDS


# -- encoding events --------------------------------------------------------------------------

TS = 1_795_810_108.123  # 2026-11-27T20:08:28.123Z


def enc(event):
    data = encode_event(event)
    assert data.startswith(b"{")
    return json.loads(data)


def _documented_events():
    text = DOCS.read_text("utf-8")
    block = text.split("### Server events", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    return {json.loads(ln)["type"]: json.loads(ln) for ln in block.splitlines() if ln.strip()}


def _shape(obj):
    """Keys and JSON types, recursively, ignoring values."""
    if isinstance(obj, dict):
        return {k: _shape(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_shape(obj[0])] if obj else []
    return type(obj).__name__


MESSAGE = ev.Message(room="#lobby", nick="alice", text="hello", id=42, ts=TS, cid="b7c1-0001")
EVENTS = {
    "message": MESSAGE,
    "action": ev.Action(room="#lobby", nick="alice", text="waves", id=43, ts=TS),
    "join": ev.Join(room="#lobby", nick="bob", ts=TS),
    "part": ev.Part(room="#lobby", nick="bob", reason="lunch", ts=TS),
    "quit": ev.Quit(room="#lobby", nick="bob", reason="Connection closed", ts=TS),
    "kick": ev.Kick(room="#lobby", nick="bob", by="an operator", reason="spam", ts=TS),
    "nick": ev.Nick(nick="robert", old="bob", ts=TS),
    "account": ev.AccountChanged(nick="alice", account="Alice", ts=TS),
    "away": ev.AwayChanged(nick="alice", away="lunch", ts=TS),
    "topic": ev.Topic(room="#lobby", topic="Welcome", nick="alice", ts=TS),
    "private": ev.Private(nick="alice", to="bob", text="psst", ts=TS),
    "notice": ev.Notice(nick="chatd", text="Server restarting in 5 minutes", ts=TS),
    "members": ev.Members(room="#lobby", nicks=("alice", "bob"), topic="Welcome", ts=TS),
    "rooms": ev.Rooms(rooms=(RoomInfo("#lobby", 2, "Welcome"),), ts=TS),
    "history": ev.History(
        room="#lobby",
        messages=(ev.Message(room="#lobby", nick="alice", text="hello", id=42, ts=TS),),
        ts=TS,
    ),
    "react": ev.React(room="#lobby", nick="bob", message=42, reaction="\U0001f44d", id=46, ts=TS),
    "unreact": ev.Unreact(room="#lobby", nick="bob", message=42, reaction="\U0001f44d", id=47, ts=TS),
    "typing": ev.Typing(nick="bob", state="active", room="#lobby", ts=TS),
    "read": ev.ReadMarker(room="#lobby", message=45, ts=TS),
}

REPLY_ONLY = {"members", "rooms"}  # documented with the ref of the command they answer


@pytest.mark.parametrize("type", sorted(EVENTS))
def test_event_shapes_match_the_docs(type):
    """Each event type encodes with exactly the keys and JSON types the docs example shows."""
    documented = _documented_events()[type]
    if type in REPLY_ONLY:
        documented.pop("ref")
    got = enc(EVENTS[type])
    assert _shape(got) == _shape(documented)
    assert got["type"] == type


@pytest.mark.parametrize("type", sorted(EVENTS))
def test_event_values_match_the_docs(type):
    """Encoding the docs' example events gives the docs' example objects."""
    documented = _documented_events()[type]
    got = enc(EVENTS[type])
    if type in REPLY_ONLY:
        got = jsonproto.event_object(EVENTS[type], documented["ref"])
    if "ts" in documented:
        assert TS_RE.match(got["ts"])
        got["ts"] = documented["ts"]
    if type == "history":
        got["messages"][0]["ts"] = documented["messages"][0]["ts"]
    assert got == documented


def test_message_without_cid_has_no_cid_key():
    """cid appears on a message event only when its sender gave one."""
    got = enc(EVENTS["action"])
    assert "cid" not in got
    assert enc(MESSAGE)["cid"] == "b7c1-0001"


def test_part_and_quit_without_reason_omit_it():
    """A part or quit with no reason has no reason key."""
    assert "reason" not in enc(ev.Part(room="#a", nick="bob", ts=TS))
    assert "reason" not in enc(ev.Quit(room="#a", nick="bob", ts=TS))


def test_cleared_topic_and_empty_members():
    """A cleared topic is an empty string, never null; members of a topicless room say topic ''."""
    assert enc(ev.Topic(room="#a", nick="bob", topic="", ts=TS))["topic"] == ""
    assert enc(ev.Members(room="#a", nicks=("bob",), ts=TS))["topic"] == ""


def test_history_truncated_flag_and_action_rows():
    """History rows keep their type (message or action) and truncated is a boolean."""
    rows = (
        ev.Message(room="#a", nick="x", text="1", id=1, ts=TS),
        ev.Action(room="#a", nick="x", text="2", id=2, ts=TS),
    )
    got = enc(ev.History(room="#a", messages=rows, truncated=True))
    assert got["truncated"] is True
    assert [m["type"] for m in got["messages"]] == ["message", "action"]
    assert [m["id"] for m in got["messages"]] == [1, 2]


@pytest.mark.parametrize("type", sorted(EVENTS))
def test_encoded_bytes_start_with_brace_and_are_compact_utf8(type):
    """Every encoded event starts with '{' (so seq can be spliced in) and is compact UTF-8."""
    data = encode_event(EVENTS[type])
    assert data[:1] == b"{"
    assert b", " not in data and b": " not in data
    spliced = json.loads(b'{"seq":7,' + data[1:])
    assert spliced["seq"] == 7 and spliced["type"] == type


def test_non_ascii_is_sent_as_utf8_not_escaped():
    """Non-ASCII text is sent as UTF-8 bytes, not \\u escapes."""
    data = encode_event(ev.Message(room="#café", nick="zoë", text="☕", id=1, ts=TS))
    assert "☕".encode() in data and b"\\u" not in data


def test_encode_event_is_cached_per_event():
    """encode_event used through Event.encoded encodes once and shares the bytes."""
    assert MESSAGE.encoded(encode_event) is MESSAGE.encoded(encode_event)


@pytest.mark.parametrize(
    "ts, text",
    [
        (0.0, "1970-01-01T00:00:00.000Z"),
        (TS, "2026-11-27T20:08:28.123Z"),
        (1_700_000_000.5, "2023-11-14T22:13:20.500Z"),
        (1_700_000_000.999, "2023-11-14T22:13:20.999Z"),
        (1_700_000_000.0009, "2023-11-14T22:13:20.000Z"),
        (951_782_400.0, "2000-02-29T00:00:00.000Z"),
    ],
)
def test_iso_ts(ts, text):
    """Times are ISO 8601 UTC with milliseconds and Z."""
    assert iso_ts(ts) == text


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
@settings(max_examples=200, deadline=None)
def test_iso_ts_format_property(ts):
    """Every time formats as YYYY-MM-DDTHH:MM:SS.mmmZ."""
    assert TS_RE.match(iso_ts(ts))


# -- replies -------------------------------------------------------------------------------------


def test_ok_error_and_welcome_objects():
    """ok, error and welcome build the documented objects; ref only when given."""
    assert jsonproto.ok() == {"type": "ok"}
    assert jsonproto.ok(3, id=42, room="#lobby", cid="b7c1-0001") == {
        "type": "ok", "ref": 3, "id": 42, "room": "#lobby", "cid": "b7c1-0001"
    }
    assert jsonproto.error("not-in-room", "You are not in #x; join it first.", 4) == {
        "type": "error", "code": "not-in-room", "message": "You are not in #x; join it first.", "ref": 4
    }
    assert "ref" not in jsonproto.error("bad-json", "x")
    limits = jsonproto.limits(Rules(), frame=65536)
    documented = _documented_events()["welcome"]
    assert jsonproto.welcome("chatd", limits, "websocket") == documented
    assert jsonproto.welcome("chatd", limits, "longpoll", session="tok")["session"] == "tok"


def test_encode_is_compact_json():
    """encode() gives compact UTF-8 JSON starting with '{'."""
    assert jsonproto.encode({"type": "ok", "ref": "é"}) == '{"type":"ok","ref":"é"}'.encode()
