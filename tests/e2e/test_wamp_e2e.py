"""
WAMP at /wamp against the real daemon, with real WAMP clients in their own
processes: Autobahn|Python and autobahn-js (wampusers.py), over wamp.2.json
and wamp.2.msgpack.  They join #lobby, chat with a telnet user and a
WebSocket user both ways, publish to the room, hear private messages on
their session topic, and resume after their process dies without losing
or repeating a message.
"""

import re

import pytest

from chatclients import LineClient, WSUser, of
from wampusers import LOBBY, WampUser


@pytest.fixture(params=["json", "msgpack"])
def serializer(request):
    return request.param


@pytest.fixture
def wamp(daemon, opened, serializer):
    """Start WAMP users on the daemon's /wamp: C{wamp("js")}, C{wamp("py", authid=..., ticket=...)}."""
    url = f"ws://127.0.0.1:{daemon.web_port}/wamp"

    def make(lib, **auth):
        user = WampUser(lib, url, serializer, **auth)
        opened.append(user)
        return user

    return make


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
    """PUBLISH to chatd.room.lobby is a say (or, with type action, an action) that every user sees; not the publisher."""
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
    assert (refused["error"], refused["args"]) == ("chatd.error.not-in-room", ["You are not in #elsewhere; join it first."])
