"""The frames nodes pass each other through Redis: every event and directive comes back equal."""

import dataclasses

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatd.core import directives as dv
from chatd.core import events as ev
from chatd.wire import cluster

text = st.text(max_size=40)
ts = st.floats(min_value=0, max_value=4e9, allow_nan=False)


def fields(value):
    """A value's fields as plain data, nested events too, the encoding cache left out (events compare by identity)."""
    if dataclasses.is_dataclass(value):
        return {f.name: fields(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "_cache"}
    if isinstance(value, tuple):
        return tuple(fields(item) for item in value)
    return value


@given(room=text, nick=text, body=text, id=st.integers(1, 2**53), when=ts, cid=st.none() | text,
       via=st.none() | st.integers(0, 2**63))
def test_a_numbered_message_frame_carries_its_id_in_front(room, nick, body, id, when, cid, via):
    message = ev.Message(room=room, nick=nick, text=body, id=id, ts=when, cid=cid, via=via)
    frame = cluster.encode_frame(message)
    assert frame.startswith(b"%d\n" % id)
    back = cluster.decode_frame(frame)
    assert type(back) is ev.Message and fields(back) == fields(message)


def test_the_store_script_can_prefix_a_value_that_has_no_id():
    """What the append script publishes (prefix + value without id) is the same frame."""
    action = ev.Action(room="#den", nick="ann", text="waves", ts=5.0)
    frame = cluster.frame_prefix(42) + cluster.encode(action)
    assert fields(cluster.decode_frame(frame)) == fields(dataclasses.replace(action, id=42))


@given(first=st.integers(1, 2**52), bodies=st.lists(text, min_size=1, max_size=8))
def test_a_turns_messages_share_one_frame_numbered_on(first, bodies):
    """The append script publishes a room's messages of one turn as its first id and their values, one after another."""
    messages = [ev.Message(room="#den", nick="ann", text=body, ts=float(i)) for i, body in enumerate(bodies)]
    frame = cluster.frame_prefix(first) + b"".join(cluster.encode(m) for m in messages)
    back = cluster.decode_frames(frame)
    assert [fields(e) for e in back] == [fields(dataclasses.replace(m, id=first + i)) for i, m in enumerate(messages)]


@pytest.mark.parametrize("cut", [1, 5])
def test_a_frame_cut_short_is_refused(cut):
    """A value cut off at the end is never read as the values before it alone: nothing of the frame is taken."""
    one, two = (cluster.encode(ev.Message(room="#a", nick="b", text=body)) for body in ("one", "two"))
    two = one + two
    with pytest.raises(cluster.ClusterWireError, match="cut short"):
        cluster.decode_frames(b"7\n" + two[:-cut])


def test_one_event_asked_for_several_given():
    two = cluster.encode(ev.Message(room="#a", nick="b", text="one")) * 2
    with pytest.raises(cluster.ClusterWireError, match="holding 2 events, not one"):
        cluster.decode_frame(b"7\n" + two)


SAMPLES = [
    ev.Join(room="#den", nick="ann", ts=1.0),
    ev.Quit(room="#den", nick="ann", reason="bye", ts=1.0),
    ev.Kick(room="#den", nick="bob", by="ann", reason=None, ts=1.0),
    ev.Nick(nick="bea", old="bob", ts=2.0),
    ev.Private(nick="ann", to="bob", text="psst", id=7, ts=3.0),
    ev.Members(room="#den", nicks=("ann", "bob"), topic="t", nick="ann", roles=(("ann", "operator"),), ts=1.0),
    ev.Rooms(rooms=(ev.RoomInfo("#den", 2, "t"),), ts=1.0),
    ev.History(room="#den", messages=(ev.Message(room="#den", nick="a", text="x", id=1, ts=1.0),), truncated=True),
    ev.BanSet(room=None, mask="~a:eve", by="op", until=9.5, ts=1.0),
    ev.Muted(room="#den", nick="eve", by="op", ts=1.0),
    dv.ToUser(uid="n1/7", event=ev.Invited(room="#den", nick="ann", to="bob", ts=1.0)),
    dv.Leave(uid="~a:ann", room="#den", event=ev.Part(room="#den", nick="ann", reason="later", ts=1.0)),
    dv.Renamed(uid="~a:ann", nick="Ann", key="ann", look="ann", rooms=("#den", "#lab"),
               event=ev.Nick(nick="Ann", old="ann", ts=1.0)),
    dv.ServerBansChanged(reason="Banned from this server."),
    ev.Message(room="#den", nick="bob", text="yes\nand no", id=4, ts=1.0, reply_to=2, reply_nick="ann",
               reply_text="shall we…", via=3, account="Bob"),
    ev.React(room="#den", nick="bob", message=2, reaction="👍", id=5, ts=1.0, via=3, account="Bob"),
    ev.Unreact(room="#den", nick="bob", message=2, reaction="+1", id=6, ts=1.0),
    ev.Typing(room="#den", nick="ann", state="paused", ts=1.0),
    ev.History(room="#den", messages=(
        ev.Action(room="#den", nick="a", text="x", id=1, ts=1.0,
                  reactions=(("👍", ("bob", "eve")), ("lol", ("ann",)))),
        ev.React(room="#den", nick="bob", message=1, reaction="👍", id=2, ts=2.0))),
    dv.ToUser(uid="~a:bob", event=ev.ReadMarker(room="#den", message=6, ts=1.0)),
    dv.ToUser(uid="~a:bob", event=ev.ReadMarker(to="ann", message=0, ts=1.0)),
    dv.ToUser(uid="n1/7", event=ev.Typing(nick="ann", to="bob", state="done", ts=1.0)),
]


@pytest.mark.parametrize("value", SAMPLES, ids=lambda v: type(v).__name__)
def test_events_and_directives_come_back_equal(value):
    back = cluster.decode(cluster.encode(value))
    assert type(back) is type(value)
    assert fields(back) == fields(value)


def test_a_live_message_s_empty_reactions_do_not_travel():
    """A message on the bus is no bigger for the reactions only history pages carry; a page's do travel."""
    plain = msgpack.unpackb(cluster.encode(ev.Message(room="#den", nick="ann", text="hi", ts=1.0)))
    assert sorted(plain) == ["nick", "room", "text", "ts", "~"]
    page = ev.Message(room="#den", nick="ann", text="hi", ts=1.0, reactions=(("👍", ("bob",)),))
    assert cluster.decode(cluster.encode(page)).reactions == (("👍", ("bob",)),)


def test_every_event_type_travels():
    """No event class is left without a tag (a new one would fail here, not in production)."""
    for cls in ev.BY_TYPE.values():
        assert cls in {type(v) for v in SAMPLES} or cluster.decode(cluster.encode(_minimal(cls))).type == cls.type


def _minimal(cls):
    values = {}
    for f in dataclasses.fields(cls):
        if f.name == "_cache" or f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            continue
        values[f.name] = {"message": 1, "members": 0}.get(f.name, "x")
    return cls(**values)


@pytest.mark.parametrize("junk", [b"", b"no newline", b"12\n\xc1", b"x\n" + cluster.encode(ev.Join(room="#a", nick="b")),
                                  b"\n" + cluster.encode({"~": "e:nonsense"}),
                                  b"\n" + cluster.encode(dv.Announce(event=ev.Notice(nick="a", text="b")))])
def test_junk_on_a_channel_is_refused_by_name(junk):
    with pytest.raises(cluster.ClusterWireError):
        cluster.decode_frame(junk)
    with pytest.raises(cluster.ClusterWireError):
        cluster.decode_frames(junk)


@pytest.mark.parametrize("head", [b"0", b"-3", b"abc", b"07", b" 5"])
def test_a_frame_id_is_a_number_from_one_said_without_python_reprs(head):
    with pytest.raises(cluster.ClusterWireError) as caught:
        cluster.decode_frame(head + b"\n" + cluster.encode(ev.Message(room="#a", nick="b", text="c")))
    assert "b'" not in str(caught.value) and "id is not a number from 1" in str(caught.value)


def test_an_unknown_kind_is_named_plainly():
    with pytest.raises(cluster.ClusterWireError) as caught:
        cluster.decode(cluster.encode({"x": 1}))
    assert str(caught.value) == "a map of an unknown kind (none named)"
