"""
Adversarial fuzzing of every parser chatd exposes to the network, in
process (no sockets, no real time): the line decoder and command parser,
the JSON command decoder, the line and JSON pipelines into a real hub,
and the long-poll HTTP API behind a real twisted.web Site.

Each property is what an attacker must never break:

  - parsers raise nothing but their documented refusal (L{ChatError}
    subclasses; the line parser raises nothing and returns a refusal);
  - the line decoder's memory is bounded by C{max_line}, and it never
    hands out a line holding CR or LF;
  - no control character typed (or JSON-escaped) by one user reaches the
    rendered output of another;
  - the long-poll API answers every request with a JSON body and never
    with a 5xx.

Inputs that once broke these properties are kept as explicit examples
and regression tests (a C{/history} number too long for C{int()}, a
C{ref} holding a lone surrogate).
"""

import json
import string
import unicodedata
from dataclasses import replace
from typing import List, Optional
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import Site
from zope.interface import implementer

from rawwire import parse_responses

from chatd.config import Config, WebConfig
from chatd.core.errors import ChatError
from chatd.core.hub import Hub
from chatd.core.interfaces import ISink
from chatd.core.rules import Rules
from chatd.frontends import jsonapi
from chatd.frontends.lines import LineFactory
from chatd.frontends.longpoll import LongPollResource, limited_request_factory
from chatd.store.memory import MemoryStore
from chatd.wire import jsonproto
from chatd.wire import lines as wire
from chatd.core import commands as cmd
from chatd.wire.telnet import IAC, LineDecoder

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- strategies -----------------------------------------------------------------

#: Bytes an attacker favours against a telnet-aware line decoder.
NASTY_BYTES = [
    b"\r", b"\n", b"\r\n", b"\r\x00", b"\x00", b"\xff", b"\xff\xff", b"\xff\xfd\x01", b"\xff\xfb\x03",
    b"\xff\xfa", b"\xff\xf0", b"\xff\xfa" + b"x" * 5000, b"\xff\xf1", b"\x1b[2J", b"\xc3", b"\xe2\x80",
    b"\xed\xa0\x80", b"\xf4\x90\x80\x80", "é".encode(), "\u202e".encode(), b"x" * 70, b"y" * 300,
]

byte_chunks = st.lists(
    st.one_of(st.binary(max_size=200), st.sampled_from(NASTY_BYTES)), max_size=40
)

#: Every code point, surrogates included (JSON escapes can smuggle them).
any_char = st.characters(codec=None, categories=None)
any_text = st.text(any_char, max_size=60)
#: Text without surrogates (what UTF-8 on the wire can carry).
wire_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)

TRICKY_TEXT = [
    "\x1b[2J", "\x1b]0;pwned\x07", "\x1b]52;c;ZXZpbA==\x07", "\x9b6n", "\x1bc", "\x07", "\x00", "\x7f",
    "\x85", "\r", "\n", "\r\n", "\u2028", "\u2029", "\t", "\u202e", "\u200b", "\ufeff", "\ud800", "\udfff",
    "\U0010ffff", "ＡＬＩＣＥ", "ß", "\u0130",
]
tricky = st.one_of(any_text, st.sampled_from(TRICKY_TEXT), st.lists(st.sampled_from(TRICKY_TEXT)).map("".join))


def _has_control(s: str) -> Optional[str]:
    for ch in s:
        if unicodedata.category(ch) == "Cc":
            return ch
    return None


# -- 1. the line decoder --------------------------------------------------------


@FUZZ
@given(chunks=byte_chunks, max_line=st.integers(1, 128))
@example(chunks=[b"a" * 200 + b"\n"] * 6, max_line=16)
@example(chunks=[b"\xff\xfa" + b"z" * 10000, b"\xff\xf0ok\r"], max_line=8)
@example(chunks=[b"x\r", b"\n", b"\x00y\r", b"\x00"], max_line=4)
def test_line_decoder_never_raises_and_stays_bounded(chunks, max_line):
    decoder = LineDecoder(max_line)
    replied = 0
    for chunk in chunks:
        items = decoder.feed(chunk)
        assert decoder.pending <= max_line
        for item in items:
            if isinstance(item, ChatError):
                assert item.code in ("line-too-long", "invalid-utf8")
                continue
            assert isinstance(item, str)
            assert "\r" not in item and "\n" not in item
            assert len(item.encode("utf-8")) <= max_line
        # Telnet refusals only, three bytes each, at most one per option and verb.
        replies = bytes(decoder.replies)
        assert len(replies) % 3 == 0 and all(replies[i] == IAC for i in range(0, len(replies), 3))
        replied += len(replies)
        decoder.replies.clear()
    assert replied <= 2 * 256 * 3  # WONT/DONT once per option: bounded whatever the peer sends


@FUZZ
@given(chunks=byte_chunks, max_line=st.integers(1, 64))
def test_line_decoder_does_not_depend_on_how_bytes_are_split(chunks, max_line):
    """TCP may split a stream anywhere: the lines must be the same."""
    whole = LineDecoder(max_line)
    expected = whole.feed(b"".join(chunks))
    pieces = LineDecoder(max_line)
    got: List = []
    for chunk in chunks:
        got.extend(pieces.feed(chunk))
    assert got == expected
    assert bytes(pieces.replies) == bytes(whole.replies)
    assert pieces.pending == whole.pending


# -- 2. the line command parser ---------------------------------------------------

KNOWN = set(cmd.JSON_COMMANDS.values()) - {cmd.Say} | {cmd.Line, cmd.Help, cmd.Quit, cmd.Refused}
COMMAND_WORDS = ["/" + word for word in wire.USAGE] + ["/list", "/", "//", "/NICK", "/HiStOrY", "/\u0130", "/BAN"]

#: Arguments of the accounts and moderation commands: rooms, durations right and wrong, flags.
ARGUMENT_WORDS = ["#den", "#", "bob", "~a:bob", "spam*", "10m", "0", "9" * 30, "7d", "3x", "٣m", "+k", "-i", "+",
                  "register", "transfer", "drop", "42", "-1", "hunter22", "\u3000", ""]

command_lines = st.one_of(
    wire_text,
    st.tuples(st.sampled_from(COMMAND_WORDS), st.sampled_from(["", " ", "  ", "\t", "\u3000"]), wire_text).map("".join),
    st.tuples(st.just("/history "), st.text(string.digits + "٣５²-+. ", max_size=30)).map("".join),
    st.integers(4000, 5000).map(lambda n: "/history " + "9" * n),
    st.tuples(st.sampled_from(COMMAND_WORDS), st.lists(st.sampled_from(ARGUMENT_WORDS) | wire_text, max_size=4)).map(
        lambda t: " ".join([t[0], *t[1]])),
)


@FUZZ
@given(line=command_lines)
@example(line="/history " + "9" * 5000)
def test_parse_never_raises(line):
    command = wire.parse(line)
    if command is None:
        assert not line.strip()
        return
    assert type(command) in KNOWN
    if isinstance(command, cmd.Refused):
        assert command.error.code in ("usage", "unknown-command") and command.error.message
    if isinstance(command, cmd.History):
        assert command.limit is None or command.limit >= 0
    for name in ("duration", "id"):
        value = getattr(command, name, None)
        assert value is None or (type(value) is int and 0 <= value < 2**63)  # what JSON would accept too


def test_parse_history_with_a_huge_number_is_a_usage_error():
    """Regression: int() refuses over 4,300 digits with ValueError, which once escaped as 'internal'."""
    assert wire.parse("/history " + "9" * 5000).error.code == "usage"


# -- 3. the JSON command decoder ------------------------------------------------------


class Raw:
    """A JSON number written out verbatim (json.dumps refuses >4300 digits)."""

    def __init__(self, text: str) -> None:
        self.text = text


def dump(obj, ascii_only: bool) -> str:
    """Serialise a JSON-ish value, with L{Raw} numbers and lone surrogates allowed."""
    if isinstance(obj, Raw):
        return obj.text
    if isinstance(obj, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=ascii_only) + ":" + dump(v, ascii_only) for k, v in obj.items()) + "}"
    if isinstance(obj, list):
        return "[" + ",".join(dump(v, ascii_only) for v in obj) + "]"
    return json.dumps(obj, ensure_ascii=ascii_only)


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(2**70), 2**70),
    st.sampled_from([2**53, -(2**53), 2**63, 2**63 - 1, -1, 0]),
    st.integers(4290, 4400).map(lambda n: Raw("9" * n)),
    st.sampled_from([Raw("1e999"), Raw("-1e999"), Raw("1E-999"), Raw("0.0"), Raw("-0")]),
    st.floats(allow_nan=True, allow_infinity=True),
    tricky,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.one_of(st.sampled_from(["type", "ref", "room", "text", "nick"]), any_text), children, max_size=5),
    ),
    max_leaves=20,
)


@st.composite
def commands(draw):
    """Command-shaped objects: a real type, its fields, wrong and nasty values."""
    kind = draw(st.one_of(st.sampled_from(sorted(jsonproto.COMMANDS)), tricky, scalars))
    obj = {"type": kind}
    fields = jsonproto.COMMANDS[kind][1] if isinstance(kind, str) and kind in jsonproto.COMMANDS else ()
    for name, _, _ in fields:
        if draw(st.booleans()):
            obj[name] = draw(st.one_of(tricky, scalars, json_values))
    if draw(st.booleans()):
        obj["ref"] = draw(st.one_of(tricky, scalars))
    if draw(st.booleans()):
        obj[draw(any_text)] = draw(json_values)
    return obj


json_bytes = st.one_of(
    st.binary(max_size=300),
    st.tuples(st.one_of(json_values, commands()), st.booleans()).map(
        lambda t: dump(t[0], t[1]).encode("utf-8", "surrogatepass")
    ),
    st.integers(1, 200_000).map(lambda n: (b"[" * n) + (b"]" * n)),
    st.integers(1, 100_000).map(lambda n: (b'{"a":' * n) + b"1" + (b"}" * n)),
)


@FUZZ
@given(data=json_bytes)
@example(data=b"[" * 1_000_000)
@example(data=b'"\\ud800"')
@example(data=b'{"type":"say","room":"#a","text":"\\ud800\\u001b[2J"}')
@example(data=b'{"type":"history","room":"#a","limit":' + b"9" * 5000 + b"}")
def test_decode_command_raises_only_chat_errors(data):
    try:
        command, ref = jsonproto.decode_command(data)
    except ChatError as e:
        assert e.code in ("bad-json", "unknown-type", "bad-command"), e
        # Error messages never echo raw input: they are always encodable.
        jsonproto.encode(jsonproto.error(e.code, e.message))
        return
    assert command.name in jsonproto.COMMANDS
    for name, kind, required in jsonproto.COMMANDS[command.name][1]:
        value = getattr(command, name)
        if value is None:
            assert not required
            continue
        assert isinstance(value, kind) and not isinstance(value, bool)
        if kind is int:
            assert 0 <= value < 2**63
    assert ref is None or (isinstance(ref, str) and len(ref) <= jsonproto.MAX_REF) or (
        isinstance(ref, int) and not isinstance(ref, bool) and abs(ref) < 2**53
    )


@FEW
@given(obj=json_values, ascii_only=st.booleans())
def test_decode_command_on_any_json_value(obj, ascii_only):
    try:
        jsonproto.decode_command(dump(obj, ascii_only).encode("utf-8", "surrogatepass"))
    except ChatError:
        pass


def test_a_ref_that_cannot_be_echoed_is_refused():
    """Regression: a ref holding a lone surrogate (JSON escape) could not be encoded back."""
    with pytest.raises(ChatError) as refused:
        jsonproto.decode_command(b'{"type":"rooms","ref":"\\ud800"}')
    assert refused.value.code == "bad-command"
    jsonproto.encode(jsonproto.error(refused.value.code, refused.value.message, getattr(refused.value, "ref", None)))


# -- 4. line and JSON pipelines into a real hub: no control character gets through ---


@implementer(ISink)
class JSONSink:
    """A JSON member (WebSocket or long-poll): encodes every event it gets."""

    def __init__(self) -> None:
        self.frames: List[bytes] = []

    def deliver(self, event) -> None:
        self.frames.append(event.encoded(jsonproto.encode_event))

    def disconnect(self, reason) -> None:
        pass


class Pipeline:
    """A hub with two line members and a JSON member in #room, on a Clock."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.clock.advance(1_700_000_000)
        self.hub = Hub(self.clock, MemoryStore(), Rules(flood_rate=100000, flood_burst=100000))
        self.factory = LineFactory(self.hub, max_line=512, motd="hi")
        self.alice = self.line("alice")
        self.mallory = self.line("mallory")
        self.json = JSONSink()
        session = self.hub.connect(self.json, peer="192.0.2.9:1", frontend="websocket")
        session.set_nick("jay")
        session.join("#room")
        self.alice.transport.clear()
        self.json.frames.clear()

    def line(self, nick):
        proto = self.factory.buildProtocol(IPv4Address("TCP", "192.0.2.1", 4000))
        transport = StringTransport()
        proto.makeConnection(transport)
        proto.dataReceived(f"{nick}\r\n/join #room\r\n".encode())
        assert proto.current == "#room", transport.value()
        return proto

    def check_alice(self, data: bytes) -> None:
        """Alice's terminal: UTF-8 lines ending CRLF, no control character anywhere."""
        text = data.decode("utf-8")  # strict: nothing undecodable is relayed
        assert text == "" or text.endswith("\r\n")
        for row in text.split("\r\n"):
            bad = _has_control(row)
            assert bad is None, f"control character U+{ord(bad):04X} reached alice: {row!r}"

    def check_json(self) -> None:
        for frame in self.json.frames:
            obj = json.loads(frame.decode("utf-8"))
            for value, multiline in _strings(obj):
                bad = _has_control(value.replace("\n", "") if multiline else value)
                assert bad is None, f"control character U+{ord(bad):04X} reached a JSON member: {value!r}"
        self.json.frames.clear()


#: Events whose text may hold line breaks: a multi-line message (a line
#: user's trailing backslash, issue 18); no other string may.
MULTILINE = {"message", "action", "private"}


def _strings(obj, multiline=False):
    """Every string in a JSON value, and whether it is a message's text (which may break lines)."""
    if isinstance(obj, str):
        yield obj, multiline
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield k, False
            yield from _strings(v, k == "text" and obj.get("type") in MULTILINE)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def test_pipeline_positive_control():
    """The harness itself: honest text is relayed, an escape sequence is refused and not relayed."""
    world = Pipeline()
    world.mallory.dataReceived(b"hello\r\n\x1b]0;owned\x07\r\n")
    assert world.alice.transport.value() == b"[#room] <mallory> hello\r\n"
    assert b"! invalid-text: " in world.mallory.transport.value()
    assert [json.loads(f)["text"] for f in world.json.frames] == ["hello"]


LINE_PREFIXES = ["", "//", "/me ", "/nick ", "/topic ", "/topic #room ", "/part #room ", "/part ", "/msg alice ",
                 "/msg jay ", "/quit ", "/join ", "/join #room", "/who ", "/history ", "/rooms"]
attack_lines = st.lists(
    st.tuples(st.sampled_from(LINE_PREFIXES), tricky.filter(lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s)),
              st.sampled_from([b"\r\n", b"\n", b"\r", b"\r\x00"])),
    min_size=1, max_size=12,
)


@FUZZ
@given(lines=attack_lines, raw=st.lists(st.sampled_from(NASTY_BYTES) | st.binary(max_size=40), max_size=4),
       cut=st.integers(1, 64))
@example(lines=[("", "0\\", b"\n"), ("", "0", b"\n")], raw=[], cut=64)  # a multi-line message: one "\n" is its line break
def test_no_control_character_reaches_another_member_from_a_line_user(lines, raw, cut):
    world = Pipeline()
    data = b"".join(prefix.encode() + text.encode("utf-8") + end for prefix, text, end in lines)
    data += b"".join(raw) + b"\r\n"
    for i in range(0, len(data), cut):
        if world.mallory.transport.disconnecting:
            break
        world.mallory.dataReceived(data[i:i + cut])
    seen = world.alice.transport.value()
    event("alice saw something" if seen else "alice saw nothing")
    world.check_alice(seen)
    world.check_json()


json_attacks = st.lists(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["say", "action", "topic", "nick", "part", "msg", "join"])},
        optional={
            "room": st.one_of(st.just("#room"), tricky),
            "text": tricky, "topic": tricky, "nick": tricky, "reason": tricky, "cid": tricky,
            "to": st.one_of(st.sampled_from(["alice", "jay"]), tricky),
            "ref": st.one_of(st.integers(-10, 10), tricky),
        },
    ),
    min_size=1, max_size=8,
)


@FUZZ
@given(attacks=json_attacks, ascii_only=st.booleans())
@example(attacks=[{"type": "say", "room": "#room", "text": "\x1b]0;owned\x07"}], ascii_only=True)
@example(attacks=[{"type": "topic", "room": "#room", "topic": "a\r\nb"}], ascii_only=True)
@example(attacks=[{"type": "part", "room": "#room", "reason": "\ud800\x1b[2J"}], ascii_only=True)
def test_no_control_character_reaches_another_member_from_a_json_user(attacks, ascii_only):
    """JSON escapes (\\u001b, \\ud800, \\r\\n) must not smuggle what UTF-8 framing would not."""
    world = Pipeline()
    ws = JSONSink()
    session = world.hub.connect(ws, peer="192.0.2.7:1", frontend="websocket")
    session.set_nick("eve")
    session.join("#room")
    world.alice.transport.clear()
    world.json.frames.clear()
    for attack in attacks:
        if session.closed:
            break
        data = dump(attack, ascii_only).encode("utf-8", "surrogatepass")
        replies: list = []
        jsonapi.run(session, data).addBoth(replies.append)
        [result] = replies
        assert isinstance(result, list), result  # never a Failure
        for reply in result:
            event("reply " + json.loads(reply.decode("utf-8"))["type"])
    world.check_alice(world.alice.transport.value())
    world.check_json()


def test_jsonapi_run_never_fails_even_for_an_unencodable_ref():
    """Regression: jsonapi.run ('never fails') once failed with UnicodeEncodeError here."""
    world = Pipeline()
    session = world.hub.connect(JSONSink(), peer="192.0.2.7:1", frontend="websocket")
    results: list = []
    jsonapi.run(session, b'{"type":"rooms","ref":"\\ud800"}').addBoth(results.append)
    [result] = results
    assert isinstance(result, list), result


# -- 5. the long-poll HTTP API ------------------------------------------------------------




class API:
    """A hub and the long-poll resource at /api in a real Site, on a Clock."""

    def __init__(self) -> None:
        self.clock = Clock()
        web = replace(WebConfig(), max_body=512, session_idle=3600)
        self.config = Config(web=web, rules=Rules(flood_rate=100000, flood_burst=100000))
        self.hub = Hub(self.clock, MemoryStore(), self.config.rules)
        self.api = LongPollResource(self.hub, self.config, self.clock)
        root = Resource()
        root.putChild(b"api", self.api)
        self.site = Site(root, timeout=None, reactor=self.clock)
        self.site.requestFactory = limited_request_factory(web.max_body)

    def exchange(self, request: bytes, head: bool):
        addr = IPv4Address("TCP", "192.0.2.1", 40000)
        proto = self.site.buildProtocol(addr)
        transport = StringTransport(peerAddress=addr)
        proto.makeConnection(transport)
        proto.dataReceived(request)
        responses = parse_responses(transport.value(), head)
        if not responses:  # a held poll: let it time out
            self.clock.advance(self.config.web.max_poll_timeout + 1)
            responses = parse_responses(transport.value(), head)
        proto.connectionLost(Failure(ConnectionDone()))
        return responses

    def token(self) -> str:
        [(status, _, body)] = self.exchange(b"POST /api/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", False)
        assert status == 201
        return json.loads(body)["session"]


TOKEN = "\x00token"  # replaced by a live session's token
segment = st.one_of(
    st.sampled_from(["sessions", TOKEN, TOKEN, "commands", "events", "", ".", "..", "api", "%00", "%ff", "%2F"]),
    st.text(string.ascii_letters + string.digits + "-_.~%", max_size=20),
    any_text.map(lambda s: quote(s.encode("utf-8", "surrogatepass"), safe="")),
)
query_values = st.one_of(
    st.sampled_from(["0", "1", "0.5", "-1", "1e9", "nan", "inf", "1.2.3", "", "9" * 5000, "0" * 100 + "1"]),
    st.integers(0, 10**20).map(str),
    st.floats(allow_nan=True).map(str),
    any_text,
)
query = st.lists(
    st.tuples(st.sampled_from(["after", "timeout", "x", "after[]", ""]) | any_text, query_values), max_size=4
).map(lambda pairs: "&".join(
    quote(k.encode("utf-8", "surrogatepass"), safe="") + "=" + quote(v.encode("utf-8", "surrogatepass"), safe="")
    for k, v in pairs
))
methods = st.one_of(
    st.sampled_from(["GET", "POST", "POST", "DELETE"]),
    st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH", "OPTIONS", "HEAD", "TRACE", "CONNECT"]),
    st.text(string.ascii_uppercase, min_size=1, max_size=12),
)
ROUTES = ["/api/sessions", f"/api/sessions/{TOKEN}", f"/api/sessions/{TOKEN}/commands", f"/api/sessions/{TOKEN}/events",
          f"/api/sessions/{TOKEN}/events/", "/api/sessions/not-a-token/commands"]
bodies = st.one_of(
    st.none(), st.binary(max_size=700),
    st.tuples(commands(), st.booleans()).map(lambda t: dump(t[0], t[1]).encode("utf-8", "surrogatepass")),
    st.tuples(commands(), st.booleans()).map(lambda t: dump(t[0], t[1]).encode("utf-8", "surrogatepass")),
    json_bytes.filter(lambda b: len(b) < 2000),
)
#: The API's routes with their own method, so that fuzzed requests get past routing.
MATCHED = [("POST", "/api/sessions"), ("DELETE", f"/api/sessions/{TOKEN}"),
           ("POST", f"/api/sessions/{TOKEN}/commands"), ("POST", f"/api/sessions/{TOKEN}/commands"),
           ("GET", f"/api/sessions/{TOKEN}/events"), ("GET", f"/api/sessions/{TOKEN}/events")]
targets = st.one_of(
    st.sampled_from(MATCHED), st.sampled_from(MATCHED),
    st.tuples(methods, st.one_of(
        st.sampled_from(ROUTES),
        st.lists(segment, max_size=5).map(lambda segs: "/api/" + "/".join(segs)),
    )),
)
http_requests = st.lists(
    st.fixed_dictionaries({
        "target": targets,
        "query": st.one_of(st.just(""), query),
        "body": bodies,
        "chunked": st.booleans(),
        "headers": st.lists(st.sampled_from([
            "Content-Type: application/json", "Content-Type: text/html", "Origin: https://evil.example",
            "Origin: null", "Expect: 100-continue", "Accept: */*", "Connection: close",
        ]), max_size=3, unique=True),
    }),
    min_size=1, max_size=6,
)


def build_request(r, token: str) -> bytes:
    method, path = r["target"]
    path = path.replace(TOKEN, token) + ("?" + r["query"] if r["query"] else "")
    head = [f"{method} {path} HTTP/1.1", "Host: chat.example", *r["headers"]]
    body = r["body"]
    if body is None:
        payload = b""
    elif r["chunked"]:
        head.append("Transfer-Encoding: chunked")
        payload = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 100]), body[i:i + 100]) for i in range(0, len(body), 100))
        payload += b"0\r\n\r\n"
    else:
        head.append(f"Content-Length: {len(body)}")
        payload = body
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload


@FUZZ
@given(requests=http_requests)
@example(requests=[{"target": ("POST", f"/api/sessions/{TOKEN}/commands"), "query": "",
                    "body": b"[" * 100000, "chunked": False, "headers": []}])
@example(requests=[{"target": ("GET", f"/api/sessions/{TOKEN}/events"), "query": "after=" + "9" * 5000,
                    "body": None, "chunked": False, "headers": []}])
@example(requests=[{"target": ("POST", f"/api/sessions/{TOKEN}/commands"), "query": "",
                    "body": b"x" * 700, "chunked": True, "headers": ["Expect: 100-continue"]}])
def test_long_poll_answers_json_and_never_5xx(requests):
    api = API()
    token = api.token()
    for r in requests:
        head = r["target"][0] == "HEAD"
        responses = api.exchange(build_request(r, token), head)
        assert responses, f"no answer to {r!r}"
        status, headers, body = responses[0]
        event(f"HTTP {status}")
        assert status < 500, (r, status, body[:300])
        if status == 204:
            assert body == b""
            continue
        assert headers.get("content-type") == "application/json", (r, status, headers, body[:300])
        if not head:
            json.loads(body)


@pytest.mark.parametrize("body", [b'{"type":"rooms","ref":"\\ud800"}', b'{"type":"nope","ref":"\\udfff"}'])
def test_long_poll_refuses_an_unencodable_ref_with_400(body):
    """Regression: these were answered 500 (HTML for an unknown type)."""
    api = API()
    token = api.token()
    request = f"POST /api/sessions/{token}/commands HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
    [(status, headers, reply)] = api.exchange(request.encode() + body, False)
    assert status == 400 and headers["content-type"] == "application/json", (status, reply[:200])
