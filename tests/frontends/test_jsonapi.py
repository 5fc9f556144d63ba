"""
chatd.frontends.jsonapi: the command runner shared by the WebSocket and
long-poll front ends.  Every command gets exactly one ok or error; reading
commands first yield their data event carrying the command's ref; an
unexpected failure becomes an 'internal' error and is logged.
"""

import json

import pytest
from twisted.internet.defer import Deferred, fail
from twisted.internet.task import Clock
from twisted.logger import LogLevel, globalLogPublisher
from twisted.python.failure import Failure
from zope.interface import implementer

from chatd.core.hub import Hub
from chatd.core.interfaces import ISink
from chatd.core.rules import Rules
from chatd.frontends import jsonapi
from chatd.store.memory import MemoryStore
from chatd.wire import jsonproto

T0 = 1_795_810_108.0


@implementer(ISink)
class Sink:
    """Records what the session's client is sent outside command replies."""

    def __init__(self):
        self.events = []

    def deliver(self, event):
        self.events.append(event)

    def disconnect(self, reason):
        self.events.append(("disconnect", reason))


class Chat:
    def __init__(self, **rules):
        self.clock = Clock()
        self.clock.advance(T0)
        self.store = MemoryStore()
        rules = {"flood_rate": 100000, "flood_burst": 100000, **rules}
        self.hub = Hub(self.clock, self.store, Rules(**rules))

    def client(self, nick=None, *rooms):
        sink = Sink()
        session = self.hub.connect(sink, "127.0.0.1:9", "test")
        if nick:
            assert ok(run(session, {"type": "nick", "nick": nick}))
        for room in rooms:
            assert ok(run(session, {"type": "join", "room": room}))
        return session, sink


def run(session, command):
    """Run one command (an object or raw bytes); return the decoded replies."""
    data = command if isinstance(command, bytes) else json.dumps(command).encode()
    box = []
    jsonapi.run(session, data).addBoth(box.append)
    assert box, "the reply Deferred has not fired"
    assert not isinstance(box[0], Failure), box[0]
    assert all(isinstance(b, bytes) and b.startswith(b"{") for b in box[0])
    replies = [json.loads(b) for b in box[0]]
    finals = [r for r in replies if r["type"] in ("ok", "error")]
    assert len(finals) == 1 and replies[-1] is finals[0], replies
    return replies


def ok(replies):
    assert replies[-1]["type"] == "ok", replies
    return replies[-1]


def error(replies):
    assert replies[-1]["type"] == "error", replies
    assert len(replies) == 1
    return replies[-1]


@pytest.fixture
def chat():
    return Chat()


@pytest.fixture
def logged():
    """Every log event emitted while the test runs."""
    events = []
    globalLogPublisher.addObserver(events.append)
    yield events
    globalLogPublisher.removeObserver(events.append)


# -- each command -------------------------------------------------------------------


def test_nick(chat):
    """nick answers a single ok with the ref; a taken nick is nick-in-use with the ref."""
    alice, _ = chat.client()
    assert run(alice, {"type": "nick", "nick": "alice", "ref": 1}) == [{"type": "ok", "ref": 1}]
    bob, _ = chat.client()
    e = error(run(bob, {"type": "nick", "nick": "ALICE", "ref": "n"}))
    assert (e["code"], e["ref"]) == ("nick-in-use", "n")
    assert error(run(bob, {"type": "nick", "nick": "a b"}))["code"] == "invalid-nick"


def test_join(chat):
    """join answers ok with the room's display name; join, members and history go to the sink."""
    chat.client("alice", "#Lobby")
    bob, sink = chat.client("bob")
    assert run(bob, {"type": "join", "room": "#lobby", "ref": 2}) == [{"type": "ok", "ref": 2, "room": "#Lobby"}]
    assert [e.type for e in sink.events] == ["join", "members", "history"]
    assert error(run(bob, {"type": "join", "room": "lobby"}))["code"] == "invalid-room"
    anon, _ = chat.client()
    assert error(run(anon, {"type": "join", "room": "#x"}))["code"] == "no-nick"


def test_join_since(chat):
    """join with since replays the messages after it to the sink."""
    alice, _ = chat.client("alice", "#lobby")
    for i in range(4):
        ok(run(alice, {"type": "say", "room": "#lobby", "text": f"m{i}"}))
    bob, sink = chat.client("bob")
    ok(run(bob, {"type": "join", "room": "#lobby", "since": 2}))
    history = [e for e in sink.events if e.type == "history"][0]
    assert [m.id for m in history.messages] == [3, 4]


def test_part(chat):
    """part answers ok; parting a room one is not in is not-in-room."""
    alice, _ = chat.client("alice", "#lobby")
    assert run(alice, {"type": "part", "room": "#lobby", "reason": "lunch", "ref": 3}) == [{"type": "ok", "ref": 3}]
    e = error(run(alice, {"type": "part", "room": "#lobby", "ref": 4}))
    assert (e["code"], e["ref"]) == ("not-in-room", 4)


def test_say_ok_carries_id_room_and_cid(chat):
    """say's ok carries the message id, room and cid; the sender also gets the message event."""
    alice, sink = chat.client("alice", "#lobby")
    sink.events.clear()
    replies = run(alice, {"type": "say", "room": "#lobby", "text": "hello", "cid": "b7c1-0001", "ref": 3})
    assert replies == [{"type": "ok", "ref": 3, "id": 1, "room": "#lobby", "cid": "b7c1-0001"}]
    assert [(e.type, e.id, e.cid) for e in sink.events] == [("message", 1, "b7c1-0001")]
    assert run(alice, {"type": "say", "room": "#lobby", "text": "again"}) == [{"type": "ok", "id": 2, "room": "#lobby"}]


def test_say_retry_with_same_cid_gets_same_ok(chat):
    """A resent say with the same cid is answered with the first id and not delivered again."""
    alice, sink = chat.client("alice", "#lobby")
    first = ok(run(alice, {"type": "say", "room": "#lobby", "text": "hi", "cid": "c1"}))
    sink.events.clear()
    again = ok(run(alice, {"type": "say", "room": "#lobby", "text": "hi", "cid": "c1"}))
    assert again == first
    assert sink.events == []


def test_action(chat):
    """action answers ok with the id, like say."""
    alice, sink = chat.client("alice", "#lobby")
    assert run(alice, {"type": "action", "room": "#lobby", "text": "waves", "ref": "a"}) == [
        {"type": "ok", "ref": "a", "id": 1, "room": "#lobby"}
    ]
    assert sink.events[-1].type == "action"


@pytest.mark.parametrize(
    "command, code",
    [
        ({"type": "say", "room": "#nowhere", "text": "hi"}, "not-in-room"),
        ({"type": "say", "room": "#elsewhere", "text": "hi"}, "not-in-room"),
        ({"type": "say", "room": "lobby", "text": "hi"}, "invalid-room"),
        ({"type": "say", "room": "#lobby", "text": "\x1b[2J"}, "invalid-text"),
        ({"type": "say", "room": "#lobby", "text": "a\u2029b"}, "invalid-text"),
        ({"type": "say", "room": "#lobby", "text": "\ud800"}, "invalid-text"),
        ({"type": "say", "room": "#lobby", "text": " "}, "empty"),
        ({"type": "say", "room": "#lobby", "text": "x" * 4001}, "too-long"),
        ({"type": "say", "room": "#lobby", "text": "hi", "cid": "c" * 65}, "too-long"),
        ({"type": "action", "room": "#lobby", "text": ""}, "empty"),
        ({"type": "msg", "to": "nobody", "text": "hi"}, "no-such-nick"),
        ({"type": "msg", "to": "#x", "text": "hi"}, "invalid-nick"),
        ({"type": "topic", "room": "#nowhere"}, "no-such-room"),
        ({"type": "topic", "room": "#elsewhere", "topic": "mine"}, "not-in-room"),
        ({"type": "topic", "room": "#lobby", "topic": "x" * 391}, "too-long"),
        ({"type": "who", "room": "#nowhere"}, "no-such-room"),
        ({"type": "history", "room": "nowhere"}, "invalid-room"),
    ],
)
def test_core_errors_map_to_their_codes(chat, command, code):
    """Each refusal of the core becomes exactly one error object with its code, message and ref."""
    chat.client("bob", "#elsewhere")
    alice, sink = chat.client("alice", "#lobby")
    sink.events.clear()
    e = error(run(alice, dict(command, ref="r")))
    assert (e["code"], e["ref"]) == (code, "r")
    assert isinstance(e["message"], str) and e["message"]
    assert sink.events == []


def test_too_many_rooms(chat):
    """A join over the per-session limit is too-many-rooms."""
    chat = Chat(rooms_per_session=1)
    alice, _ = chat.client("alice", "#a")
    assert error(run(alice, {"type": "join", "room": "#b"}))["code"] == "too-many-rooms"


def test_commands_past_the_flood_rate_are_answered_late_not_refused():
    """Past the burst, a command waits for its token and then gets its normal answer."""
    chat = Chat(flood_rate=1, flood_burst=2)
    alice, _ = chat.client()
    run(alice, {"type": "rooms"})
    run(alice, {"type": "rooms"})
    box = []
    jsonapi.run(alice, b'{"type":"rooms","ref":9}').addCallback(box.append)
    assert box == [], "held: no answer yet"
    chat.clock.advance(1)
    assert [json.loads(b)["type"] for b in box[0]] == ["rooms", "ok"]
    assert json.loads(box[0][-1]) == {"type": "ok", "ref": 9}


def held_command(data: bytes):
    """A session with one token spent, then C{data}: (chat, session, list its replies will land in)."""
    chat = Chat(flood_rate=1, flood_burst=1)
    alice, _ = chat.client()
    run(alice, {"type": "rooms"})
    box = []
    jsonapi.run(alice, data).addCallback(box.append)
    assert box == [], "held: no answer yet"
    return chat, alice, box


def test_garbage_waits_its_turn_too():
    """Undecodable input past the burst is held like any command, then refused in order."""
    chat, _, box = held_command(b"not json")
    chat.clock.advance(1)
    assert json.loads(box[0][0])["code"] == "bad-json"


def test_a_held_command_of_a_session_that_ends_is_answered_unavailable():
    """The client is owed an answer for every command: one that never ran gets unavailable."""
    _, alice, box = held_command(b'{"type":"rooms","ref":"late"}')
    alice.close("Connection closed")
    [reply] = [json.loads(b) for b in box[0]]
    assert (reply["type"], reply["code"], reply["ref"]) == ("error", "unavailable", "late")


def test_msg(chat):
    """msg answers ok; both ends get the private event."""
    alice, a = chat.client("alice")
    bob, b = chat.client("bob")
    assert run(alice, {"type": "msg", "to": "BOB", "text": "psst", "ref": 5}) == [{"type": "ok", "ref": 5}]
    assert [e.type for e in a.events] == ["private"] and [e.type for e in b.events] == ["private"]


def test_topic_set_then_get(chat):
    """Setting a topic answers ok; reading it yields the topic event with the ref, then ok."""
    alice, _ = chat.client("alice", "#lobby")
    assert run(alice, {"type": "topic", "room": "#lobby", "topic": "Welcome", "ref": 1}) == [{"type": "ok", "ref": 1}]
    replies = run(alice, {"type": "topic", "room": "#lobby", "ref": 2})
    assert [r["type"] for r in replies] == ["topic", "ok"]
    assert replies[0]["topic"] == "Welcome" and replies[0]["nick"] == "alice" and replies[0]["ref"] == 2
    assert replies[1] == {"type": "ok", "ref": 2}


def test_who(chat):
    """who yields the members event with the ref, then ok."""
    chat.client("bob", "#lobby")
    alice, _ = chat.client("alice")
    assert run(alice, {"type": "who", "room": "#lobby", "ref": 5}) == [
        {"type": "members", "room": "#lobby", "nicks": ["bob"], "topic": "", "ref": 5},
        {"type": "ok", "ref": 5},
    ]


def test_rooms(chat):
    """rooms yields the rooms event with the ref, then ok."""
    chat.client("bob", "#lobby")
    alice, _ = chat.client()
    assert run(alice, {"type": "rooms", "ref": 6}) == [
        {"type": "rooms", "rooms": [{"name": "#lobby", "members": 1, "topic": ""}], "ref": 6},
        {"type": "ok", "ref": 6},
    ]


def test_history(chat):
    """history yields the history event (limit and before honoured) with the ref, then ok."""
    alice, _ = chat.client("alice", "#lobby")
    for i in range(5):
        ok(run(alice, {"type": "say", "room": "#lobby", "text": f"m{i + 1}"}))
    replies = run(alice, {"type": "history", "room": "#lobby", "limit": 2, "before": 5, "ref": "h"})
    assert [r["type"] for r in replies] == ["history", "ok"]
    data = replies[0]
    assert data["ref"] == "h" and data["truncated"] is True
    assert [(m["id"], m["text"]) for m in data["messages"]] == [(3, "m3"), (4, "m4")]
    assert replies[1] == {"type": "ok", "ref": "h"}


def test_reading_commands_without_ref(chat):
    """A reading command without ref yields its data event and an ok, neither with a ref."""
    alice, _ = chat.client()
    replies = run(alice, {"type": "rooms"})
    assert replies == [{"type": "rooms", "rooms": []}, {"type": "ok"}]


# -- malformed input --------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, code, ref",
    [
        (b"not json", "bad-json", None),
        (b"[1]", "bad-json", None),
        (b"\xff", "bad-json", None),
        (b"[" * 100000, "bad-json", None),
        (b'{"type":"dance","ref":3}', "unknown-type", 3),
        (b'{"ref":"x"}', "unknown-type", "x"),
        (b'{"type":"say","room":"#a","ref":"s"}', "bad-command", "s"),
        (b'{"type":"history","room":"#a","limit":-1,"ref":8}', "bad-command", 8),
        (b'{"type":"rooms","ref":true}', "bad-command", None),
    ],
)
def test_malformed_commands(chat, data, code, ref):
    """Malformed input gets exactly one error with the documented code, echoing a usable ref."""
    alice, _ = chat.client("alice")
    e = error(run(alice, data))
    assert e["code"] == code
    assert e.get("ref") == ref


def test_execute_runs_a_decoded_command(chat):
    """execute() answers an already decoded command like run()."""
    alice, _ = chat.client()
    command, ref = jsonproto.decode_command(b'{"type":"nick","nick":"alice","ref":1}')
    box = []
    jsonapi.execute(alice, command, ref).addCallback(box.append)
    assert [json.loads(b) for b in box[0]] == [{"type": "ok", "ref": 1}]


def test_reply_waits_for_the_store():
    """The ok for a say is sent only once the store has committed the message."""

    class SlowStore(MemoryStore):
        def __init__(self):
            super().__init__()
            self.held = []

        def append(self, *args, **kwargs):
            d = Deferred()
            self.held.append((d, super().append(*args, **kwargs)))
            return d

    chat = Chat()
    chat.store = chat.hub.store = SlowStore()
    alice, sink = chat.client("alice", "#lobby")
    sink.events.clear()
    box = []
    jsonapi.run(alice, b'{"type":"say","room":"#lobby","text":"hi","ref":1}').addCallback(box.append)
    assert box == [] and sink.events == []
    d, stored = chat.store.held.pop()
    stored.addCallback(d.callback)
    assert [json.loads(b) for b in box[0]] == [{"type": "ok", "ref": 1, "id": 1, "room": "#lobby"}]
    assert [e.type for e in sink.events] == ["message"]


# -- unexpected failures ---------------------------------------------------------------------


def _failures(logged):
    return [e for e in logged if "log_failure" in e]


def test_unexpected_exception_becomes_internal_and_is_logged(chat, logged, monkeypatch):
    """A bug in the core (RuntimeError) is answered with 'internal' (with ref) and logged with its traceback."""
    alice, _ = chat.client("alice", "#lobby")

    def broken(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(type(alice), "say", lambda self, *a, **k: broken(*a, **k))
    e = error(run(alice, {"type": "say", "room": "#lobby", "text": "hi", "ref": 11}))
    assert (e["code"], e["ref"]) == ("internal", 11)
    assert "kaboom" not in e["message"]
    failures = _failures(logged)
    assert len(failures) == 1
    event = failures[0]
    assert event["log_failure"].check(RuntimeError)
    assert str(event["log_failure"].value) == "kaboom"
    assert event["log_level"] == LogLevel.critical
    assert event["log_namespace"] == "chatd.session"  # the core maps every failure, for every front end
    assert (event["who"], event["command"]) == ("alice", "say")


def test_asynchronous_failure_becomes_internal_and_is_logged(chat, logged, monkeypatch):
    """A Deferred that fails with an unexpected error is answered with 'internal' and logged."""
    alice, _ = chat.client("alice", "#lobby")
    monkeypatch.setattr(type(alice), "history", lambda *a: fail(ValueError("store exploded")))
    e = error(run(alice, {"type": "history", "room": "#lobby", "ref": "h"}))
    assert (e["code"], e["ref"]) == ("internal", "h")
    failures = _failures(logged)
    assert len(failures) == 1 and failures[0]["log_failure"].check(ValueError)


@pytest.mark.parametrize(
    "method, command",
    [
        ("set_nick", {"type": "nick", "nick": "x"}),
        ("join", {"type": "join", "room": "#a"}),
        ("part", {"type": "part", "room": "#a"}),
        ("act", {"type": "action", "room": "#a", "text": "x"}),
        ("private", {"type": "msg", "to": "x", "text": "x"}),
        ("topic", {"type": "topic", "room": "#a"}),
        ("set_topic", {"type": "topic", "room": "#a", "topic": "t"}),
        ("who", {"type": "who", "room": "#a"}),
        ("list_rooms", {"type": "rooms"}),
    ],
)
def test_every_command_turns_bugs_into_internal(chat, logged, monkeypatch, method, command):
    """Whatever command hits a bug, the client gets one 'internal' error and the bug is logged."""
    alice, _ = chat.client("alice")
    monkeypatch.setattr(type(alice), method, lambda *a, **k: 1 / 0)
    e = error(run(alice, dict(command, ref=1)))
    assert (e["code"], e["ref"]) == ("internal", 1)
    assert [f["log_failure"].type for f in _failures(logged)] == [ZeroDivisionError]


def test_chat_errors_are_not_logged(chat, logged):
    """An ordinary refusal is answered, not logged as a failure."""
    alice, _ = chat.client("alice")
    error(run(alice, {"type": "say", "room": "#a", "text": "hi"}))
    error(run(alice, b"nope"))
    assert _failures(logged) == []
