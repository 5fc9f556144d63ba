"""
WAMP at /wamp against the real daemon, with real WAMP clients in their own
processes: Autobahn|Python and autobahn-js (wampusers.py), over wamp.2.json
and wamp.2.msgpack.  They join #lobby, chat with a telnet user and a
WebSocket user both ways, publish to the room, hear private messages on
their session topic, and resume after their process dies without losing
or repeating a message.
"""

import json
import re

import pytest

from chatclients import WSUser, first, of
from wampusers import LOBBY, serializer, wamp  # noqa: F401  (serializer and wamp are fixtures)


def spoke(daemon, serializer: str, count: int) -> None:
    """The daemon logged C{count} WAMP connections, all with C{serializer}: the clients spoke what the test meant."""
    kinds = re.findall(r"wamp connection from \S+ \((\S+)\)", daemon.log())
    assert kinds == [serializer] * count, kinds


def test_js_and_python_chat_with_telnet_and_websocket(daemon, wamp, tel, opened, serializer):
    """Both libraries join #lobby, and every message reaches every user, once, with one id, whoever sent it."""
    tom = tel("tom", "#lobby")
    wendy = WSUser(daemon.ws_url, "wendy", "#lobby")
    opened.append(wendy)
    js, py = wamp("js"), wamp("py")
    js.opened(), py.opened()

    joined = js.enter("jess")
    assert joined["room"] == "#lobby" and set(joined["members"]) == {"tom", "wendy", "jess"}
    tom.shows("[#lobby] -!- jess has joined")
    assert set(py.enter("pyotr")["members"]) == {"tom", "wendy", "jess", "pyotr"}
    tom.shows("[#lobby] -!- pyotr has joined")
    wendy.wait(of("join", nick="pyotr"))

    tom.send("hello, WAMP")
    from_tom = js.said("hello, WAMP")
    assert (from_tom["type"], from_tom["from"], from_tom["room"]) == ("message", "tom", "#lobby")
    assert py.said("hello, WAMP")["id"] == from_tom["id"] == wendy.wait(of("message", text="hello, WAMP"))["id"]

    wendy.command(type="say", room="#lobby", text="hello from the web")
    assert js.said("hello from the web")["from"] == py.said("hello from the web")["from"] == "wendy"
    tom.shows("[#lobby] <wendy> hello from the web")

    for user, nick in ((js, "jess"), (py, "pyotr")):
        said = user.result("chatd.say", "#lobby", f"{nick} says hi", cid=f"{nick}-1")
        assert said["room"] == "#lobby" and said["cid"] == f"{nick}-1"
        tom.shows(f"[#lobby] <{nick}> {nick} says hi")
        assert wendy.wait(of("message", text=f"{nick} says hi"))["id"] == said["id"]
        other = py if user is js else js
        assert other.said(f"{nick} says hi")["id"] == said["id"]
        assert user.said(f"{nick} says hi")["cid"] == f"{nick}-1", "a caller hears its own say in the room too"

    tom.send("/me waves at the robots")
    action = py.next_room_event(kind="action")
    assert (action["from"], action["text"]) == ("tom", "waves at the robots")
    assert js.next_room_event(kind="action")["text"] == "waves at the robots"
    spoke(daemon, serializer, 2)


def test_publish_to_the_room_topic_is_said(daemon, wamp, tel, opened, serializer):
    """PUBLISH to chatd.room.lobby is a say (with type action, an action) that all but the publisher see."""
    tom = tel("tom", "#lobby")
    wendy = WSUser(daemon.ws_url, "wendy", "#lobby")
    opened.append(wendy)
    js, py = wamp("js"), wamp("py")
    js.enter("jess")
    py.enter("pyotr")

    published = js.publish(LOBBY, "published by js")
    assert published["event"] == "published"
    tom.shows("[#lobby] <jess> published by js")
    assert wendy.wait(of("message", text="published by js"))["id"] == published["publication"]
    assert py.said("published by js")["id"] == published["publication"]

    published = py.publish(LOBBY, text="published by python", type="action")
    tom.shows("[#lobby] * pyotr published by python")
    assert js.next_room_event(kind="action")["id"] == published["publication"]

    # exclude_me (the default): neither publisher heard its own, so the next of each kind is tom's.
    tom.send("after the publications")
    tom.send("/me acts last")
    assert js.next_room_event()["text"] == "after the publications"
    assert py.next_room_event(kind="action")["text"] == "acts last"

    refused = py.publish("chatd.room.elsewhere", "not a member")
    assert refused["event"] == "error", refused
    assert refused["error"] == "chatd.error.not-in-room"
    assert refused["args"] == ["You are not in #elsewhere; join it first."]


def test_resume_after_the_process_dies_misses_nothing(daemon, wamp, tel, opened, serializer):
    """
    Both clients die; others talk; new processes join with since = the
    last id they saw: the join's history is exactly what they missed, and
    the room's live events follow it without gap or duplicate, even while
    the room talks during the join.
    """
    tom = tel("tom", "#lobby")
    wendy = WSUser(daemon.ws_url, "wendy", "#lobby")
    opened.append(wendy)
    users = {"jess": wamp("js"), "pyotr": wamp("py")}
    for nick, user in users.items():
        user.enter(nick)
    tom.send("before the crash")
    last = {nick: user.said("before the crash")["id"] for nick, user in users.items()}
    for nick, user in users.items():
        user.kill()
        tom.expect(rf"^\[#lobby\] -!- {nick} has quit")

    missed = []
    tom.send("missed one")
    wendy.command(type="say", room="#lobby", text="missed two")
    tom.send("/me missed three")
    for text in ("missed one", "missed two", "missed three"):
        missed.append(first(wendy, lambda e, t=text: e["type"] in ("message", "action") and e["text"] == t)["id"])

    again = {"jess": wamp("js"), "pyotr": wamp("py")}
    joins = {}
    for nick, user in again.items():
        assert user.subscribe()["event"] == "subscribed"
        assert user.result("chatd.nick", nick) == {"nick": nick}
        joins[nick] = user.send("call", procedure="chatd.join", args=["#lobby", last[nick]], kwargs={})
    during = [f"said during the join {i}" for i in range(5)]
    for text in during:
        tom.send(text)
    live = [first(wendy, of("message", text=text))["id"] for text in during]

    for nick, user in again.items():
        result = user.answer(joins[nick])
        assert result["event"] == "result", result
        history = result["kwargs"]["history"]
        assert result["kwargs"]["truncated"] is False
        assert [m["id"] for m in history][:3] == missed, history
        assert [(m["type"], m["from"], m["text"]) for m in history][:3] == [
            ("message", "tom", "missed one"), ("message", "wendy", "missed two"), ("action", "tom", "missed three")]
        got = [m["id"] for m in history]
        while len(got) < len(missed) + len(live):
            got.append(user.next_room_event()["id"])
        assert got == missed + live, f"{nick}: history then live events must be every id once, in order"
        tom.expect(rf"^\[#lobby\] -!- {nick} has joined")
    tom.send("welcome back")
    for user in again.values():
        assert user.next_room_event()["text"] == "welcome back", "nothing came twice"


def test_private_messages_go_to_the_session_topic(daemon, wamp, tel, serializer):
    """A /msg reaches each library on chatd.session.<its id>, chatd.msg reaches telnet; no one else hears."""
    tom = tel("tom", "#lobby")
    for lib, nick in (("js", "jess"), ("py", "pyotr")):
        user = wamp(lib)
        own = f"chatd.session.{user.opened()['session']}"
        assert user.subscribe(own)["event"] == "subscribed"
        user.enter(nick)
        tom.send(f"/msg {nick} psst, {nick}")
        got = user.said(f"psst, {nick}", topic=own)
        assert (got["type"], got["from"], got["to"]) == ("private", "tom", nick)
        assert user.result("chatd.msg", "tom", f"psst back from {nick}") == {}
        assert tom.expect(rf"^\*{nick}\*") == f"*{nick}* psst back from {nick}"

        others = user.subscribe("chatd.session.1")
        assert (others["event"], others["error"]) == ("error", "wamp.error.not_authorized"), others
    tom.send("public again")
    assert user.said("public again")["from"] == "tom"
    assert not any("psst, jess" in json.dumps(e) for e in user.seen), "pyotr heard jess's private message"


def test_a_subscriber_hears_a_room_only_once_it_joins(daemon, wamp, tel, serializer):
    """Subscribing is not joining: what was said before the join comes as its history, then live events."""
    tom = tel("tom", "#lobby")
    js = wamp("js")
    assert js.subscribe()["event"] == "subscribed"
    assert js.result("chatd.nick", "jess") == {"nick": "jess"}
    tom.send("said before jess joined")
    tom.send("/who")
    tom.expect(r"^\[#lobby\] -!- 1 member: tom$")  # tom's line was said before this answer
    joined = js.result("chatd.join", "#lobby")
    assert [m["text"] for m in joined["history"]] == ["said before jess joined"]
    tom.send("said after jess joined")
    assert js.next_room_event()["text"] == "said after jess joined", "no live copy of what the history had"


def test_a_room_name_with_a_dot_has_an_escaped_topic(daemon, wamp, tel, serializer):
    """#dev.ops is chatd.room.dev%2Eops: both libraries accept the URI and hear the room on it."""
    tom = tel("tom", "#dev.ops")
    for lib, nick in (("js", "jess"), ("py", "pyotr")):
        user = wamp(lib)
        assert user.subscribe("chatd.room.dev%2Eops")["event"] == "subscribed"
        assert user.result("chatd.nick", nick) == {"nick": nick}
        assert user.result("chatd.join", "#dev.ops")["room"] == "#dev.ops"
        tom.send(f"hello {nick}, in dev.ops")
        got = user.said(f"hello {nick}, in dev.ops", topic="chatd.room.dev%2Eops")
        assert (got["room"], got["from"]) == ("#dev.ops", "tom")
        assert user.publish("chatd.room.dev%2Eops", f"{nick} publishes to dev.ops")["event"] == "published"
        tom.shows(f"[#dev.ops] <{nick}> {nick} publishes to dev.ops")



@pytest.mark.parametrize("serializer", ["json.batched", "msgpack.batched"])
def test_the_batched_serializers_chat_too(daemon, wamp, tel, serializer):
    """Autobahn|Python over wamp.2.json.batched and wamp.2.msgpack.batched (autobahn-js has neither)."""
    tom = tel("tom", "#lobby")
    py = wamp("py")
    py.enter("pyotr")
    tom.shows("[#lobby] -!- pyotr has joined")
    tom.send("hello, batched")
    assert py.said("hello, batched")["from"] == "tom"
    py.result("chatd.say", "#lobby", "batched hello")
    tom.shows("[#lobby] <pyotr> batched hello")
    spoke(daemon, serializer, 1)


def test_a_publication_without_a_cid_shows_none(daemon, wamp, opened, serializer):
    """docs/protocol.md: a message event has a cid only when its sender gave one; a WAMP publisher gave none."""
    wendy = WSUser(daemon.ws_url, "wendy", "#lobby")
    opened.append(wendy)
    js = wamp("js")
    js.enter("jess")
    assert js.publish(LOBBY, "no cid given")["event"] == "published"
    assert "cid" not in wendy.wait(of("message", text="no cid given"))
    assert "cid" not in wendy.ask(type="history", room="#lobby")["messages"][-1]
