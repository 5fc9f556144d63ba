"""
The JSON codec for accounts and moderation (docs/accounts.md): every
command example decodes to its core command, and every event and answer
encodes to exactly the object the document shows.
"""

import json

import pytest

from chatd.core import commands as cmd
from chatd.core import events as ev
from chatd.core.errors import BadCommand
from chatd.wire import jsonproto
from chatd.wire.jsonproto import decode_command, encode_event, event_object

from accountsdoc import ANSWERS, EVENTS, json_block

TS = 1_795_810_200.0  # 2026-11-27T20:10:00.000Z


# -- commands ------------------------------------------------------------------------------------

EXPECTED_COMMANDS = [
    cmd.Register(password="correct horse", email="alice@example.org"),
    cmd.Login(account="alice", password="correct horse"),
    cmd.Login(token="q7Vx2mJ0cJ9hTq3W5yq8r3cV4Qm2u0YdZk1aXb6nE0s", since=7),
    cmd.Logout(),
    cmd.Passwd(old="correct horse", new="battery staple"),
    cmd.Ghost(nick="alice"),
    cmd.Drop(password="battery staple"),
    cmd.Whois(nick="bob"),
    cmd.Join(room="#den", key="secret"),
    cmd.Room(room="#den", action="register"),
    cmd.Room(room="#den", action="transfer", account="bob"),
    cmd.Room(room="#den", action="drop"),
    cmd.Op(room="#den", nick="bob"),
    cmd.Deop(room="#den", nick="bob"),
    cmd.Voice(room="#den", nick="carol"),
    cmd.Devoice(room="#den", nick="carol"),
    cmd.Kick(room="#den", nick="bob", reason="spam"),
    cmd.Ban(room="#den", mask="spam*", duration=600, reason="spam"),
    cmd.Ban(room="#den", mask="~a:troll"),
    cmd.Unban(room="#den", mask="spam*"),
    cmd.Bans(room="#den"),
    cmd.Mute(room="#den", nick="bob", duration=300),
    cmd.Unmute(room="#den", nick="bob"),
    cmd.Invite(room="#den", nick="carol"),
    cmd.Mode(room="#den"),
    cmd.Mode(room="#den", modes="+k", arg="secret"),
    cmd.Mode(room="#den", modes="-i"),
    cmd.Delete(room="#den", id=42),
    cmd.Kill(nick="spammer", reason="flooding"),
    cmd.Announce(text="Restarting at 21:00 UTC"),
    cmd.ServerBan(mask="192.0.2.0/24", duration=86400, reason="botnet"),
    cmd.ServerUnban(mask="192.0.2.0/24"),
    cmd.ServerBans(),
]


def test_documented_commands_decode():
    """Each command example of docs/accounts.md decodes to the core command it describes, with its ref."""
    examples = json_block(2)
    assert [decode_command(json.dumps(obj))[0] for obj in examples] == EXPECTED_COMMANDS
    assert [decode_command(json.dumps(obj))[1] for obj in examples[:2]] == [1, 2]


def test_every_new_command_has_an_example():
    """docs/accounts.md shows every command that docs/protocol.md does not."""
    documented = {obj["type"] for obj in json_block(2)}
    old = {"nick", "join", "part", "say", "action", "msg", "away", "topic", "who", "rooms", "history",
           "react", "unreact", "typing", "read", "set"}
    assert documented | old == set(jsonproto.COMMANDS)


@pytest.mark.parametrize(
    "obj, field",
    [
        ({"type": "register"}, "password"),
        ({"type": "register", "password": 12345678}, "password"),
        ({"type": "login", "account": "alice", "password": ["x"]}, "password"),
        ({"type": "login", "token": 7}, "token"),
        ({"type": "login", "token": "t", "since": "7"}, "since"),
        ({"type": "passwd", "old": "a"}, "new"),
        ({"type": "ghost"}, "nick"),
        ({"type": "drop"}, "password"),
        ({"type": "whois"}, "nick"),
        ({"type": "join", "room": "#den", "key": 1234}, "key"),
        ({"type": "room", "action": "register"}, "room"),
        ({"type": "room", "room": "#den"}, "action"),
        ({"type": "op", "room": "#den"}, "nick"),
        ({"type": "kick", "nick": "bob"}, "room"),
        ({"type": "ban", "room": "#den"}, "mask"),
        ({"type": "ban", "room": "#den", "mask": "x", "duration": "10m"}, "duration"),
        ({"type": "ban", "room": "#den", "mask": "x", "duration": -1}, "duration"),
        ({"type": "ban", "room": "#den", "mask": "x", "duration": 1.5}, "duration"),
        ({"type": "mute", "room": "#den", "nick": "bob", "duration": True}, "duration"),
        ({"type": "mode", "room": "#den", "modes": ["+k"]}, "modes"),
        ({"type": "mode", "room": "#den", "modes": "+l", "arg": 20}, "arg"),
        ({"type": "delete", "room": "#den"}, "id"),
        ({"type": "delete", "room": "#den", "id": "42"}, "id"),
        ({"type": "delete", "room": "#den", "id": 2**63}, "id"),
        ({"type": "kill"}, "nick"),
        ({"type": "announce"}, "text"),
        ({"type": "gban", "mask": "x", "duration": "1d"}, "duration"),
        ({"type": "gunban"}, "mask"),
    ],
)
def test_bad_fields_are_refused(obj, field):
    """Durations and ids are whole numbers, passwords, tokens and keys strings; room commands name the room."""
    with pytest.raises(BadCommand) as info:
        decode_command(json.dumps(dict(obj, ref="r")))
    assert f'"{field}"' in info.value.message
    assert info.value.ref == "r"


# -- events and answers --------------------------------------------------------------------------


def test_documented_events_are_the_encoded_events():
    """The events block of docs/accounts.md is, line by line, what the codec sends for these events."""
    assert json_block(0) == [json.loads(encode_event(e)) for e in EVENTS]


def test_documented_answers_are_the_encoded_answers():
    """The answers block of docs/accounts.md is what the codec sends, with the ref of the command answered."""
    assert json_block(1) == [event_object(e, ref) for e, ref in ANSWERS]


def test_every_event_type_has_an_encoding():
    """No event type of the core lacks a JSON shape, and each starts with '{' (so seq can be spliced in)."""
    samples = {e.type: e for e in EVENTS + [e for e, _ in ANSWERS]}
    assert set(ev.BY_TYPE) - set(samples) <= {
        "message", "action", "join", "part", "quit", "topic", "nick", "notice", "rooms", "history", "account",
        "away", "react", "unreact", "typing", "read",  # tests/wire/test_jsonproto.py's samples
    }
    for e in samples.values():
        data = encode_event(e)
        assert data.startswith(b"{") and json.loads(b'{"seq":1,' + data[1:])["seq"] == 1


def test_optional_fields_appear_only_when_set():
    """A private has an id, members have roles, a mode its arg, a room event its founder, only when there is one."""
    assert "id" not in json.loads(encode_event(ev.Private(nick="a", to="b", text="x", ts=TS)))
    assert "roles" not in json.loads(encode_event(ev.Members(room="#a", nicks=("a",), ts=TS)))
    assert "arg" not in json.loads(encode_event(ev.ModeChange(room="#a", nick="a", modes="+t", ts=TS)))
    assert "founder" not in json.loads(encode_event(ev.RoomChanged(room="#a", action="dropped", by="a", ts=TS)))
    ban = json.loads(encode_event(ev.BanSet(room="#a", mask="x", by="a", ts=TS)))
    assert "reason" not in ban and ban["until"] is None


def test_until_and_since_are_iso_times():
    """Expiries and ban times are ISO 8601 UTC with milliseconds, like every ts."""
    got = json.loads(encode_event(ev.Muted(room="#a", nick="b", by="a", until=TS + 0.5, ts=TS)))
    assert got["until"] == "2026-11-27T20:10:00.500Z"
    rows = json.loads(encode_event(ev.BanList(room="#a", bans=(ev.BanInfo("x", "a", None, TS, TS + 60),))))["bans"]
    assert rows == [{"mask": "x", "by": "a", "reason": None, "since": "2026-11-27T20:10:00.000Z",
                     "until": "2026-11-27T20:11:00.000Z"}]
