"""
chatd's WAMP front end on a real cluster (issues 14 and 16): real chatd
nodes on one real redis-server, and real WAMP clients in their own
processes, Autobahn|Python and autobahn-js (wampusers.py), each on a
different node.  A procedure registered on one node is called from
another and its name is unique across the cluster; WAMP and telnet users
on different nodes share #lobby and see each message once; a callee's
node killed with kill -9 makes its procedures fail at once, and frees
their names for another node after [cluster] node_timeout.
"""

import time

from chatclients import LineClient
from cluster import NODE_TIMEOUT, eventually
from wampusers import LIBRARY, LOBBY, WampUser

#: After a kill -9, the dead node's procedure names are free again within this long.
FREED_WITHIN = NODE_TIMEOUT + 5
#: A call to a dead node's procedure fails within this long (the call timeout is 60 s).
PROMPTLY = 3.0


def wamp_url(node) -> str:
    return f"ws://127.0.0.1:{node.web_port}/wamp"


def wamp_on(opened, node, lib: str, serializer: str) -> WampUser:
    """A WAMP client of library C{lib} on C{node}'s /wamp, its session open."""
    user = WampUser(lib, wamp_url(node), serializer)
    opened.append(user)
    user.opened()
    return user


def telnet_on(opened, node, nick: str) -> LineClient:
    user = LineClient(node.lines_port).login(nick, "#lobby")
    opened.append(user)
    return user


def refused_with(answer: dict, uri: str) -> None:
    assert (answer["event"], answer.get("error")) == ("error", uri), answer


def room_texts(user: WampUser, text: str) -> list:
    """Every room event on #lobby with C{text} that C{user} has taken so far."""
    return [e for e in user.seen if e["event"] == "event" and e["topic"] == LOBBY and e["kwargs"].get("text") == text]


def test_a_procedure_registered_on_one_node_is_called_from_another(make_cluster, opened):
    """
    py on n1 registers bot.weather, js on n2 calls it; js on n2 registers
    bot.forecast, py on n1 calls it: arguments and keyword arguments go
    through both ways.  Each name has one callee in the whole cluster.
    """
    n1, n2 = make_cluster(2).nodes
    py = wamp_on(opened, n1, "py", "msgpack")
    js = wamp_on(opened, n2, "js", "json")

    assert py.register("bot.weather")["event"] == "registered"
    got = js.call("bot.weather", "sunny", "warm", city="Oslo", days=3)
    assert got == {"event": "result", "id": got["id"], "args": ["SUNNY", "WARM"],
                   "kwargs": {"by": LIBRARY["py"], "got": {"city": "Oslo", "days": 3}}}
    invoked = py.expect(lambda e: e["event"] == "invoked")
    assert (invoked["procedure"], invoked["args"], invoked["kwargs"]) == (
        "bot.weather", ["sunny", "warm"], {"city": "Oslo", "days": 3})

    assert js.register("bot.forecast")["event"] == "registered"
    got = py.call("bot.forecast", "rain", 7, unit="mm", hourly=True)
    assert got == {"event": "result", "id": got["id"], "args": ["RAIN", 7],
                   "kwargs": {"by": LIBRARY["js"], "got": {"unit": "mm", "hourly": True}}}
    invoked = js.expect(lambda e: e["event"] == "invoked")
    assert (invoked["procedure"], invoked["args"], invoked["kwargs"]) == (
        "bot.forecast", ["rain", 7], {"unit": "mm", "hourly": True})

    refused_with(js.register("bot.weather"), "wamp.error.procedure_already_exists")
    refused_with(py.register("bot.forecast"), "wamp.error.procedure_already_exists")
    # The refused registrations took nothing over: each name still reaches its first callee.
    assert js.call("bot.weather", "still py?")["kwargs"]["by"] == LIBRARY["py"]
    assert py.call("bot.forecast", "still js?")["kwargs"]["by"] == LIBRARY["js"]


def test_wamp_and_telnet_users_on_two_nodes_share_a_room(make_cluster, opened):
    """
    py on n1 and js on n2 subscribe to chatd.room.lobby and join #lobby,
    with a telnet user on each node: what each WAMP client says (and what
    py publishes) reaches every other user once; a caller hears its own
    say once, a publisher does not hear its own publication.
    """
    n1, n2 = make_cluster(2).nodes
    tel1, tel2 = telnet_on(opened, n1, "tel1"), telnet_on(opened, n2, "tel2")
    py = wamp_on(opened, n1, "py", "json")
    js = wamp_on(opened, n2, "js", "msgpack")
    assert set(py.enter("pyotr")["members"]) == {"tel1", "tel2", "pyotr"}
    assert set(js.enter("jess")["members"]) == {"tel1", "tel2", "pyotr", "jess"}
    for tel in (tel1, tel2):
        tel.shows("[#lobby] -!- jess has joined")

    said = {py: py.result("chatd.say", "#lobby", "hello from n1", cid="py-1"),
            js: js.result("chatd.say", "#lobby", "hello from n2", cid="js-1")}
    for sayer, nick, text in ((py, "pyotr", "hello from n1"), (js, "jess", "hello from n2")):
        for user in (py, js):
            event = user.said(text)
            assert (event["type"], event["from"], event["id"]) == ("message", nick, said[sayer]["id"]), event
            if user is sayer:
                assert event["cid"] == said[sayer]["cid"], "the caller knows its own say by its cid"
        for tel in (tel1, tel2):
            tel.shows(f"[#lobby] <{nick}> {text}")

    published = py.publish(LOBBY, "published on n1")
    assert published["event"] == "published", published
    assert js.said("published on n1")["id"] == published["publication"]
    for tel in (tel1, tel2):
        tel.shows("[#lobby] <pyotr> published on n1")

    # Anything sent twice would come before the last word: every user reads up to it.
    js.result("chatd.say", "#lobby", "the last word")
    for user in (py, js):
        user.said("the last word")
    for tel in (tel1, tel2):
        tel.shows("[#lobby] <jess> the last word")

    for user in (py, js):
        for text in ("hello from n1", "hello from n2", "the last word"):
            assert len(room_texts(user, text)) == 1, (user.lib, text, room_texts(user, text))
    assert len(room_texts(js, "published on n1")) == 1
    assert room_texts(py, "published on n1") == [], "exclude_me: the publisher does not hear its own"
    for tel in (tel1, tel2):
        for nick, text in (("pyotr", "hello from n1"), ("jess", "hello from n2"), ("pyotr", "published on n1")):
            line = f"[#lobby] <{nick}> {text}"
            assert tel.seen.count(line) == 1, (line, tel.seen)


def test_a_dead_callees_procedure_fails_at_once_and_is_freed_after_node_timeout(make_cluster, opened):
    """
    py on n1 serves bot.weather to js on n2; n1 is killed with kill -9.
    js's next call fails with wamp.error.no_such_procedure at once, not
    after the call timeout; once [cluster] node_timeout has passed since
    n1's last heartbeat, another client on n2 registers bot.weather, and
    js on n2 and py on n3 call it.
    """
    cluster = make_cluster(3)
    n1, n2, n3 = cluster.nodes
    callee = wamp_on(opened, n1, "py", "json")
    js = wamp_on(opened, n2, "js", "json")
    assert callee.register("bot.weather")["event"] == "registered"
    assert js.call("bot.weather", "before")["args"] == ["BEFORE"]

    n1.kill()
    died = time.monotonic()
    op = js.send("call", procedure="bot.weather", args=["after"], kwargs={})
    gone = js.expect(lambda e: e.get("id") == op, timeout=PROMPTLY)
    refused_with(gone, "wamp.error.no_such_procedure")
    assert time.monotonic() - died < PROMPTLY
    assert gone["args"] == ["No one has registered bot.weather."], gone

    heir = wamp_on(opened, n2, "py", "msgpack")

    def taken_over() -> bool:
        answer = heir.register("bot.weather")
        if answer["event"] == "registered":
            return True
        refused_with(answer, "wamp.error.procedure_already_exists")
        return False

    eventually(taken_over, FREED_WITHIN, "a client on n2 registering the dead node's bot.weather", step=0.2)
    assert time.monotonic() - died <= FREED_WITHIN
    got = js.call("bot.weather", "after", when="now")
    assert (got["event"], got["args"], got["kwargs"]) == (
        "result", ["AFTER"], {"by": LIBRARY["py"], "got": {"when": "now"}}), got
    far = wamp_on(opened, n3, "py", "json")
    assert far.call("bot.weather", "from n3")["args"] == ["FROM N3"]
    for args in (["after"], ["from n3"]):
        assert heir.expect(lambda e: e["event"] == "invoked")["args"] == args
