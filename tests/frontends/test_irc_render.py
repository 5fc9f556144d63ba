"""
The IRC renderer alone: one rendering per capability profile, messages
split within 512 bytes counting the whole prefix, msgids, server-time.
"""

import re

import irctokens
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatd.core import events as ev
from chatd.frontends.irc.render import LINE_MAX, Profile, Renderer, msgid, parse_msgid, renderer, timestamp
from ircworld import ALL_TAGS, T0, World, only

LONG_NICK = "n" * 32
LONG_ROOM = "#" + "r" * 49
LONG_SERVER = "irc.a-rather-long-server-name.example.net"


def lines_of(data: bytes) -> list:
    """The lines of a rendering, without CR LF; the rendering must end with CR LF."""
    assert data.endswith(b"\r\n")
    return data.split(b"\r\n")[:-1]


def message(text: str, room: str = "#lobby", nick: str = "alice", id: int = 7, action: bool = False):
    kind = ev.Action if action else ev.Message
    return kind(room=room, nick=nick, text=text, id=id, ts=T0)


# -- one rendering per profile -------------------------------------------------------------------------


def test_connections_of_one_profile_share_one_rendering():
    """Two connections that negotiated the same tags get the very same bytes object for an event."""
    world = World()
    a = world.irc_user("alice", "#lobby", caps=ALL_TAGS)
    b = world.irc_user("bob", "#lobby", caps=ALL_TAGS)
    plain = world.irc_user("carol", "#lobby")
    event = message("shared")
    assert a.proto.renderer is b.proto.renderer
    first = event.encoded(a.proto.renderer.render)
    assert event.encoded(b.proto.renderer.render) is first
    other = event.encoded(plain.proto.renderer.render)
    assert other != first and other.startswith(b":alice!~alice@user/alice PRIVMSG #lobby")
    assert first.startswith(b"@time=2023-11-14T22:13:20.000Z;msgid=")


def test_a_room_message_is_rendered_once_for_all_its_members(monkeypatch):
    """Fanned out to three IRC members of one profile, a message is rendered once, and each gets it."""
    world = World()
    members = [world.irc_user(nick, "#lobby", caps=ALL_TAGS) for nick in ("alice", "bob", "carol")]
    speaker = world.terminal("dan", "#lobby")
    for m in members:
        m.read()
    calls = []
    real = Renderer.render

    def counting(self, event):
        calls.append(event)
        return real(self, event)

    monkeypatch.setattr(Renderer, "render", counting)
    speaker.type("hello all")
    seen = [m.raw() for m in members]
    assert len(calls) == 1
    assert seen[0] == seen[1] == seen[2]
    assert [irctokens.tokenise(line.decode()).params for line in seen[0]] == [["#lobby", "hello all"]]


def test_profiles_differ_only_by_rendering_caps():
    """Capabilities that do not change a rendering share the renderer; each tag cap gets its own."""
    assert renderer("chatd", Profile()) is renderer("chatd", Profile())
    assert renderer("chatd", Profile(message_tags=True)) is not renderer("chatd", Profile())
    assert renderer("other", Profile()) is not renderer("chatd", Profile())
    world = World()
    a = world.irc_user("alice", caps=("multi-prefix", "echo-message"))
    b = world.irc_user("bob")
    assert a.proto.renderer is b.proto.renderer


# -- splitting within 512 bytes ---------------------------------------------------------------------------


TEXTS = {
    "ascii words": " ".join(f"word{n}" for n in range(700))[:3990],
    "no spaces": "x" * 4000,
    "two-byte, no spaces": "é" * 4000,
    "three-byte, no spaces": "漢" * 4000,
    "four-byte, no spaces": "\U0001F600" * 4000,
    "mixed, few spaces": ("日本語のテキスト" * 40 + " ") * 12,
    "combining marks": "e\u0301" * 2000,
    "starts with colon": ":" + "y" * 3000,
}


@pytest.mark.parametrize("name", sorted(TEXTS))
@pytest.mark.parametrize("profile", [Profile(), Profile(message_tags=True, server_time=True, account_tag=True)])
@pytest.mark.parametrize("action", [False, True])
def test_every_part_fits_512_bytes_with_long_names(name, profile, action):
    """With the longest nick and room, every part is <= 512 bytes with CR LF, and the parts give the text back."""
    text = TEXTS[name][:4000]
    r = Renderer(LONG_SERVER, profile)
    event = ev.Action(room=LONG_ROOM, nick=LONG_NICK, text=text, id=3, ts=T0, account=LONG_NICK) if action else \
        ev.Message(room=LONG_ROOM, nick=LONG_NICK, text=text, id=3, ts=T0, account=LONG_NICK)
    raw = lines_of(r.render(event))
    assert len(raw) > 1
    parts = []
    for line in raw:
        body = line.split(b" ", 1)[1] if line.startswith(b"@") else line
        assert len(body) + 2 <= LINE_MAX, (name, len(body))
        parsed = irctokens.tokenise(line.decode("utf-8"))
        assert parsed.source == f"{LONG_NICK}!~{LONG_NICK}@user/{LONG_NICK}"
        assert parsed.command == "PRIVMSG" and parsed.params[0] == LONG_ROOM
        said = parsed.params[1]
        if action:
            assert said.startswith("\x01ACTION ") and said.endswith("\x01")
            said = said[8:-1]
        parts.append(said)
    assert "".join(parts) == text
    if profile.message_tags:
        ids = [irctokens.tokenise(line.decode()).tags.get("msgid") for line in raw]
        assert ids[0] == msgid(LONG_ROOM, 3) and ids[1:] == [None] * (len(ids) - 1)


def test_parts_end_after_a_space_and_do_not_split_combined_characters():
    r = Renderer(LONG_SERVER, Profile())
    words = " ".join(["abcdefghij"] * 300)
    parts = [irctokens.tokenise(line.decode()).params[1] for line in lines_of(r.render(message(words)))]
    assert all(part.endswith(" ") for part in parts[:-1])
    accented = "e\u0301" * 2000
    raw = lines_of(r.render(message(accented, room=LONG_ROOM, nick=LONG_NICK)))
    parts = [irctokens.tokenise(line.decode()).params[1] for line in raw]
    assert all(part.startswith("e") and part.endswith("\u0301") for part in parts)


def test_the_budget_counts_the_whole_prefix():
    """A text that exactly fills a line is one line of 512 bytes; one byte more is two lines."""
    r = Renderer(LONG_SERVER, Profile())
    head = f":{LONG_NICK}!~{LONG_NICK}@user/{LONG_NICK} PRIVMSG {LONG_ROOM} :"
    fits = "a " * ((LINE_MAX - 2 - len(head)) // 2)
    fits += "b" * (LINE_MAX - 2 - len(head) - len(fits))
    one = lines_of(r.render(message(fits, room=LONG_ROOM, nick=LONG_NICK)))
    assert len(one) == 1 and len(one[0]) + 2 == LINE_MAX
    two = lines_of(r.render(message(fits + "c", room=LONG_ROOM, nick=LONG_NICK)))
    assert len(two) == 2 and all(len(line) + 2 <= LINE_MAX for line in two)
    short = lines_of(Renderer("chatd", Profile()).render(message(fits + "c", room="#a", nick="al")))
    assert len(short) == 1  # a short prefix leaves room for more text


def test_a_private_message_is_split_for_its_target():
    r = Renderer(LONG_SERVER, Profile())
    event = ev.Private(nick=LONG_NICK, to="m" * 32, text="ü" * 3000, ts=T0)
    raw = r.message_lines(event, target="m" * 32)
    assert len(raw) > 1
    assert all(len(line.encode()) + 2 <= LINE_MAX for line in raw)
    assert "".join(irctokens.tokenise(line).params[1] for line in raw) == "ü" * 3000


# -- msgid and server-time ------------------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=2 ** 63), st.from_regex(r"#[a-z0-9_-]{1,49}", fullmatch=True))
def test_msgid_round_trip(id, room):
    value = msgid(room, id)
    assert re.fullmatch(r"\d+\.[0-9a-f]{8}", value)
    assert parse_msgid(value, room) == id
    assert parse_msgid(value, room.upper()) == id  # the same room, however it is spelled
    assert parse_msgid(value, room + "x") is None


def test_msgids_of_other_rooms_and_garbage_are_refused():
    value = msgid("#lobby", 12)
    assert parse_msgid(value, "#den") is None
    for bad in ("", "12", "12.", ".2d66ac79", "x.2d66ac79", "-1." + value.split(".")[1], value + "0"):
        assert parse_msgid(bad, "#lobby") is None, bad


def test_server_time_format():
    """Milliseconds, truncated as the JSON protocol's ts is, so both show a message at the same time."""
    from chatd.wire.jsonproto import iso_ts

    assert timestamp(T0) == "2023-11-14T22:13:20.000Z"
    assert timestamp(T0 + 0.0456) == "2023-11-14T22:13:20.045Z"
    assert timestamp(T0 + 59.9996) == "2023-11-14T22:14:19.999Z"
    assert timestamp(0) == "1970-01-01T00:00:00.000Z"
    for ts in (T0 + 0.0456, T0 + 59.9996, T0 + 1.9075, 1764500000.802999):
        assert timestamp(ts) == iso_ts(ts)


def test_tags_per_profile():
    event = message("hi", id=5)
    plain = [irctokens.tokenise(line.decode()) for line in lines_of(Renderer("chatd", Profile()).render(event))]
    assert [(line.tags, line.source, line.params) for line in plain] == [(None, "alice!~alice@user/alice", ["#lobby", "hi"])]
    timed = irctokens.tokenise(lines_of(Renderer("chatd", Profile(server_time=True)).render(event))[0].decode())
    assert timed.tags == {"time": "2023-11-14T22:13:20.000Z"}
    tagged = irctokens.tokenise(lines_of(Renderer("chatd", Profile(message_tags=True)).render(event))[0].decode())
    assert tagged.tags == {"time": "2023-11-14T22:13:20.000Z", "msgid": msgid("#lobby", 5)}


def test_join_scrollback_tags_match_the_live_ones():
    """A message's msgid and time are the same live and read back in a join's chathistory batch."""
    world = World()
    alice = world.irc_user("alice", "#lobby", caps=ALL_TAGS)
    world.terminal("bob", "#lobby").type("remember me")
    live = only(alice.read(), "PRIVMSG")[0].tags
    late = world.irc_user("carol", caps=ALL_TAGS)
    late.send("JOIN #lobby")
    stored = only(late.read(), "PRIVMSG")[0].tags
    assert (stored["msgid"], stored["time"]) == (live["msgid"], live["time"])
