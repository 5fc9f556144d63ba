"""
Tests for the long-poll API on a cluster (L{chatd.frontends.longpoll_cluster},
L{chatd.cluster.polls}): three nodes, each a L{ClusterLongPollResource} on
its own hub, sharing one real redis-server.  A session made on n1 is
polled and commanded through n2 and n3.

HTTP goes over L{StringTransport} into each node's Site; poll timeouts and
idleness run on a fake clock, while Redis runs on the real reactor: the
tests wait (bounded) for Redis round trips, never for time to pass.
"""

import json
from dataclasses import replace
from typing import List

import pytest
import pytest_twisted
from rawwire import Response, parse_responses
from redisserver import RedisServer
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.web.resource import Resource
from twisted.web.server import Site

from chatd.cluster.link import Link
from chatd.cluster.node import ALIVE, ClusterNode
from chatd.config import Config
from chatd.core.hub import Hub
from chatd.frontends.httpbounds import limited_request_factory
from chatd.frontends.longpoll import LongPollResource, api_resource
from chatd.frontends.longpoll_cluster import ClusterLongPollResource
from chatd.frontends.longpoll_forward import TIMEOUT, Forwarder
from chatd.frontends.pollqueue import PollQueue, encode_batch
from chatd.store.memory import MemoryStore
from chatd.store.redis_connect import connect

#: Seconds any one wait for Redis may take before the test fails.
WAIT = 5.0


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"), aof=False)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def reactor():
    from twisted.internet import reactor as _reactor

    return _reactor


def raw(method: str, path: str, body=None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: chat.example"]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


class Exchange:
    """One request sent to a node; its response once the node answers."""

    def __init__(self, site, requests: list, data: bytes, ip: str) -> None:
        addr = IPv4Address("TCP", ip, 40000)
        self.proto = site.buildProtocol(addr)
        self.transport = StringTransport(peerAddress=addr)
        self.proto.makeConnection(self.transport)
        self.proto.dataReceived(data)
        self.request = requests[-1]

    @property
    def answered(self) -> bool:
        return bool(parse_responses(self.transport.value()))

    async def response(self) -> Response:
        if not self.request.finished:
            from twisted.internet import reactor

            await self.request.notifyFinish().addTimeout(WAIT, reactor)
        (response,) = parse_responses(self.transport.value())
        return response


class Node:
    """One chatd node: its hub, its Redis link, its long-poll API."""

    def __init__(self, name: str, redis: RedisServer, clock: Clock, config: Config) -> None:
        self.name, self.redis, self.clock, self.config = name, redis, clock, config
        self.requests: List = []

    async def start(self, reactor) -> "Node":
        self.conn = await connect(self.redis.endpoint, reactor=reactor)
        self.link = Link(self.conn, self.redis.endpoint, reactor=reactor)
        await self.link.start()
        self.cluster = ClusterNode(self.name, self.link, node_timeout=15)
        await self.conn.execute_command("SET", ALIVE + self.name, b"1")
        self.hub = Hub(self.clock, MemoryStore())
        self.api = ClusterLongPollResource(self.hub, self.config, self.clock, self.cluster, turn_clock=reactor)
        await self.api.forwarder.ready
        root = Resource()
        root.putChild(b"api", self.api)
        self.site = Site(root, timeout=None, reactor=self.clock)
        factory = limited_request_factory(self.config.web.max_body)

        def recording(*args, **kwargs):
            request = factory(*args, **kwargs)
            self.requests.append(request)
            return request

        self.site.requestFactory = recording
        return self

    async def stop(self) -> None:
        self.api.forwarder.stop()
        await self.link.stop()
        await self.conn.disconnect()

    async def settle(self, rounds: int = 3) -> None:
        """Wait until what this node sent to Redis has been answered (a few round trips)."""
        for _ in range(rounds):
            await self.conn.execute_command("PING")

    def send(self, method: str, path: str, body=None, ip: str = "192.0.2.1") -> Exchange:
        return Exchange(self.site, self.requests, raw(method, path, body), ip)

    async def request(self, method: str, path: str, body=None, ip: str = "192.0.2.1") -> Response:
        return await self.send(method, path, body, ip).response()

    async def session(self, nick=None, room=None) -> str:
        created = await self.request("POST", "/api/sessions")
        assert created.status == 201, created
        token = created.json()["session"]
        if nick:
            assert (await self.command(token, type="nick", nick=nick)).json()["type"] == "ok"
        if room:
            assert (await self.command(token, type="join", room=room)).json()["type"] == "ok"
        return token

    async def command(self, token: str, **command) -> Response:
        return await self.request("POST", f"/api/sessions/{token}/commands", json.dumps(command).encode())

    def start_poll(self, token: str, after: int = 0, timeout: float = 0) -> Exchange:
        return self.send("GET", f"/api/sessions/{token}/events?after={after}&timeout={timeout}")

    async def poll(self, token: str, after: int = 0, timeout: float = 0) -> Response:
        return await self.start_poll(token, after, timeout).response()


def texts(response: Response) -> List[str]:
    return [e["text"] for e in response.json()["events"] if e["type"] == "message"]


class Cluster:
    def __init__(self, redis, reactor, config: Config) -> None:
        self.redis, self.reactor, self.config = redis, reactor, config
        self.clock = Clock()
        self.nodes: List[Node] = []

    async def start(self, count: int = 3) -> List[Node]:
        for i in range(count):
            self.nodes.append(await Node(f"n{i + 1}", self.redis, self.clock, self.config).start(self.reactor))
        return self.nodes

    async def stop(self) -> None:
        for node in self.nodes:
            await node.stop()


@pytest.fixture
def make_cluster(redis_server, reactor):
    """A function starting nodes n1, n2, n3 on a flushed Redis (the config may be given)."""
    made = []

    async def start(config: Config = Config(), count: int = 3) -> Cluster:
        redis_server.cli("FLUSHALL")
        cluster = Cluster(redis_server, reactor, config)
        made.append(cluster)
        await cluster.start(count)
        return cluster

    yield start
    for cluster in made:
        pytest_twisted.blockon(ensureDeferred(cluster.stop()))


def with_web(**web) -> Config:
    config = Config()
    return replace(config, web=replace(config.web, **web))


async def talk(owner: Node, *said: str) -> str:
    """wes, on C{owner}, says each text in #lobby; returns his token."""
    wes = await owner.session("wes", "#lobby")
    for text in said:
        assert (await owner.command(wes, type="say", room="#lobby", text=text)).json()["type"] == "ok"
    await owner.settle()
    return wes


# -- any node answers a poll ---------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_the_same_after_gets_the_same_answer_on_every_node(make_cluster):
    cluster = await make_cluster()
    n1, n2, n3 = cluster.nodes
    polly = await n1.session("polly", "#lobby")
    wes = await talk(n1, "m0", "m1")
    mark = (await n2.poll(polly)).json()["last"]
    for text in ("m2", "m3", "m4"):
        await n1.command(wes, type="say", room="#lobby", text=text)
    await n1.settle()

    answers = [await node.poll(polly, after=mark) for node in (n1, n2, n3, n2)]
    assert [r.status for r in answers] == [200] * 4
    assert answers[0].body == answers[1].body == answers[2].body == answers[3].body
    assert texts(answers[0]) == ["m2", "m3", "m4"]
    assert [e["seq"] for e in answers[0].json()["events"]] == list(range(mark + 1, mark + 4))


@pytest_twisted.ensureDeferred
async def test_an_acknowledgement_on_one_node_holds_on_the_others(make_cluster):
    """Polling with after=N on n2 drops the events up to N for n1 and n3 too."""
    cluster = await make_cluster()
    n1, n2, n3 = cluster.nodes
    polly = await n1.session("polly", "#lobby")
    await talk(n1, "one", "two")
    first = (await n3.poll(polly)).json()
    last = first["last"]
    assert [e["text"] for e in first["events"] if e["type"] == "message"] == ["one", "two"]

    assert (await n2.poll(polly, after=last)).json() == {"events": [], "last": last}
    for node in (n1, n3):
        again = (await node.poll(polly, after=0)).json()
        assert again == {"events": [], "last": 0}, (node.name, again)


@pytest_twisted.ensureDeferred
async def test_a_poll_held_on_another_node_wakes_when_the_owner_appends(make_cluster, redis_server):
    cluster = await make_cluster()
    n1, n2, _ = cluster.nodes
    polly = await n1.session("polly", "#lobby")
    wes = await talk(n1)
    last = (await n2.poll(polly)).json()["last"]
    await n2.poll(polly, after=last)

    held = n2.start_poll(polly, after=last, timeout=30)
    for _ in range(100):  # until n2 listens for the session (Redis round trips only)
        if redis_server.cli("PUBSUB", "NUMSUB", f"chatd:poll-wake:{polly}").split()[-1] == "1":
            break
        await n2.settle(1)
    await n2.settle()
    assert not held.answered, "nothing was queued: the poll must be held"

    await n1.command(wes, type="say", room="#lobby", text="wake up")
    response = await held.response()
    assert response.status == 200 and texts(response) == ["wake up"]
    assert cluster.clock.seconds() == 0, "answered by the append, not by the timeout"


@pytest_twisted.ensureDeferred
async def test_a_held_poll_reads_again_when_its_node_listens_again(make_cluster, redis_server):
    """Redis does not keep what it published while a node's subscriptions were down."""
    cluster = await make_cluster()
    n1, n2, _ = cluster.nodes
    polly = await n1.session("polly", "#lobby")
    wes = await talk(n1)
    last = (await n2.poll(polly)).json()["last"]
    await n2.poll(polly, after=last)
    held = n2.start_poll(polly, after=last, timeout=30)
    await n2.settle()
    redis_server.cli("CLIENT", "KILL", "TYPE", "pubsub")  # every node stops listening for a moment
    await n1.command(wes, type="say", room="#lobby", text="while nobody listened")
    response = await held.response()
    assert texts(response) == ["while nobody listened"]
    assert cluster.clock.seconds() == 0, "answered when n2 listened again, not at the timeout"


@pytest_twisted.ensureDeferred
async def test_a_held_poll_ends_empty_at_its_timeout(make_cluster):
    cluster = await make_cluster()
    n1, n2, _ = cluster.nodes
    polly = await n1.session("polly")
    last = (await n2.poll(polly)).json()["last"]
    held = n2.start_poll(polly, after=last, timeout=10)
    await n2.settle()
    cluster.clock.advance(10)
    assert (await held.response()).json() == {"events": [], "last": last}


@pytest_twisted.ensureDeferred
async def test_a_new_poll_on_another_node_answers_the_held_one(make_cluster):
    """A session holds one poll: the second, on n3, answers the first, held on n2, at once."""
    cluster = await make_cluster()
    n1, n2, n3 = cluster.nodes
    polly = await n1.session("polly")
    last = (await n2.poll(polly)).json()["last"]
    first = n2.start_poll(polly, after=last, timeout=30)
    await n2.settle()
    second = n3.start_poll(polly, after=last, timeout=30)
    assert (await first.response()).json() == {"events": [], "last": last}
    await n3.settle()
    assert not second.answered
    cluster.clock.advance(30)
    assert (await second.response()).status == 200


@pytest_twisted.ensureDeferred
async def test_overflow_is_announced_as_on_one_node(make_cluster):
    """Past the backlog the oldest events go and one overflow entry counts them: the same bytes as one node's queue."""
    cluster = await make_cluster(with_web(backlog=4))
    n1, n2, _ = cluster.nodes
    polly = await n1.session("polly", "#lobby")
    wes = await talk(n1)
    queued = (await n2.poll(polly)).json()["last"]
    await n2.poll(polly, after=queued)
    said = [f"line {i}" for i in range(7)]
    for text in said:
        await n1.command(wes, type="say", room="#lobby", text=text)
    await n1.settle()

    answer = await n2.poll(polly, after=queued)
    events = answer.json()["events"]
    assert [e.get("text") for e in events] == ["line 4", "line 5", "line 6", None]
    assert events[-1]["type"] == "error" and events[-1]["code"] == "overflow" and events[-1]["dropped"] == 4

    # One node's queue, given the same events after as many acknowledged ones, answers the same.
    reference = PollQueue(Clock(), backlog=4)
    for _ in range(queued):
        reference.append(b'{"type":"acknowledged"}')
    reference.take(queued)
    for filler in range(4):
        reference.append(b'{"type":"dropped"}')
    for event in events[:3]:
        event = dict(event)
        del event["seq"]
        reference.append(json.dumps(event).encode())
    assert answer.json() == json.loads(encode_batch(reference.take(queued)))

    # Acknowledging the overflow entry ends it: the next drop counts from 1.
    assert (await n2.poll(polly, after=answer.json()["last"])).json()["events"] == []


@pytest_twisted.ensureDeferred
async def test_the_byte_bound_holds_across_nodes(make_cluster):
    """4 x sendq bytes at most; the newest event is always kept."""
    config = replace(with_web(backlog=1000), sendq=1024)
    cluster = await make_cluster(config)
    n1, n2, _ = cluster.nodes
    polly = await n1.session("polly", "#lobby")
    wes = await talk(n1)
    for i in range(12):
        cluster.clock.advance(1)  # flood control lets wes go on
        await n1.command(wes, type="say", room="#lobby", text=f"{i:02d} " + "x" * 400)
    await n1.settle()
    events = (await n2.poll(polly)).json()["events"]
    assert events[-1]["code"] == "overflow" and events[-1]["dropped"] > 0
    assert sum(len(json.dumps(e)) for e in events) <= 4 * 1024 + 512
    assert events[-2]["text"].startswith("11 "), "the newest event is kept"


# -- commands go to the owner --------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_a_command_on_another_node_runs_on_the_owner(make_cluster):
    cluster = await make_cluster()
    n1, n2, n3 = cluster.nodes
    polly = await n1.session("polly", "#lobby")
    wes = await talk(n1)

    said = (await n2.command(polly, type="say", room="#lobby", text="via n2", ref="s1")).json()
    assert said["type"] == "ok" and said["ref"] == "s1" and said["room"] == "#lobby" and said["id"] > 0
    assert "via n2" in texts(await n1.poll(wes))

    refused = await n3.command(polly, type="join", room="no spaces", ref="j")
    assert refused.status == 200
    assert refused.json()["type"] == "error" and refused.json()["code"] == "invalid-room"
    assert refused.json()["ref"] == "j"

    garbage = await n3.request("POST", f"/api/sessions/{polly}/commands", b"{not json")
    assert garbage.status == 400 and garbage.json()["code"] == "bad-json"

    # A reading command: its data event is queued before its ok comes back.
    who = await n2.command(polly, type="who", room="#lobby", ref="w")
    assert who.json() == {"type": "ok", "ref": "w"}
    events = (await n3.poll(polly)).json()["events"]
    data = [e for e in events if e.get("ref") == "w"]
    assert len(data) == 1 and data[0]["type"] == "members" and sorted(data[0]["nicks"]) == ["polly", "wes"]


@pytest_twisted.ensureDeferred
async def test_a_delete_on_another_node_ends_the_session(make_cluster):
    cluster = await make_cluster()
    n1, n2, n3 = cluster.nodes
    polly = await n1.session("polly", "#lobby")
    wes = await talk(n1)
    last = (await n1.poll(wes)).json()["last"]

    assert (await n3.request("DELETE", f"/api/sessions/{polly}")).status == 204
    quits = [e for e in (await n1.poll(wes, after=last)).json()["events"] if e["type"] == "quit"]
    assert [(q["nick"], q["reason"]) for q in quits] == [("polly", "Session ended")]
    gone = await n2.poll(polly)
    assert gone.status == 404 and gone.json()["code"] == "no-such-session"


@pytest_twisted.ensureDeferred
async def test_an_owner_that_does_not_answer_gets_503_and_the_client_retries(make_cluster):
    cluster = await make_cluster()
    n1, n2, _ = cluster.nodes
    polly = await n1.session("polly", "#lobby")
    n1.api.forwarder.stop()  # alive, but not listening
    await n1.settle()
    answer = await n2.command(polly, type="say", room="#lobby", text="lost?")
    assert answer.status == 503
    assert answer.json()["code"] == "unavailable" and "Retry" in answer.json()["message"]


@pytest_twisted.ensureDeferred
async def test_an_owner_that_does_not_answer_in_time_gets_503(make_cluster):
    cluster = await make_cluster()
    n1, n2, _ = cluster.nodes
    polly = await n1.session("polly", "#lobby")
    asked = []

    def silent(token, kind, body, secure):
        asked.append((token, kind, body))
        return Deferred()  # stuck: never answers

    await Forwarder(n1.cluster, cluster.clock, silent).ready  # n1 now hears requests, and sits on them
    sent = n2.send("POST", f"/api/sessions/{polly}/commands", b'{"type":"say","room":"#lobby","text":"hm"}')
    for _ in range(50):
        if asked:
            break
        await n2.settle(1)
    assert asked == [(polly, "command", b'{"type":"say","room":"#lobby","text":"hm"}')]
    cluster.clock.advance(TIMEOUT)
    answer = await sent.response()
    assert answer.status == 503 and answer.json()["code"] == "unavailable"
    assert "did not answer in time" in answer.json()["message"]


# -- the owner dies ------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_a_dead_owner_loses_the_session(make_cluster, redis_server):
    cluster = await make_cluster()
    n1, n2, n3 = cluster.nodes
    polly = await n1.session("polly", "#lobby")
    sally = await n1.session("sally", "#lobby")
    redis_server.cli("DEL", ALIVE + "n1")

    lost = await n2.poll(polly)
    assert lost.status == 404
    assert lost.json()["code"] == "session-lost"
    assert "create a new session" in lost.json()["message"] and "since" in lost.json()["message"]
    assert redis_server.cli("EXISTS", f"chatd:poll:{polly}", f"chatd:poll-queue:{polly}") == "0"
    assert (await n3.poll(polly)).json()["code"] == "no-such-session"

    told = await n3.command(sally, type="say", room="#lobby", text="anyone?")
    assert told.status == 404 and told.json()["code"] == "session-lost"


@pytest_twisted.ensureDeferred
async def test_a_poll_held_when_the_owner_dies_is_told_the_session_is_lost(make_cluster, redis_server):
    cluster = await make_cluster()
    n1, n2, _ = cluster.nodes
    polly = await n1.session("polly")
    last = (await n2.poll(polly)).json()["last"]
    held = n2.start_poll(polly, after=last, timeout=10)
    await n2.settle()
    redis_server.cli("DEL", ALIVE + "n1")
    cluster.clock.advance(10)
    lost = await held.response()
    assert lost.status == 404 and lost.json()["code"] == "session-lost"


@pytest_twisted.ensureDeferred
async def test_a_restarted_owner_does_not_pretend_to_hold_its_old_sessions(make_cluster, reactor):
    cluster = await make_cluster(count=2)
    n1, n2 = cluster.nodes
    polly = await n1.session("polly")
    await n1.stop()
    cluster.nodes.remove(n1)
    again = await Node("n1", cluster.redis, cluster.clock, cluster.config).start(reactor)
    cluster.nodes.append(again)
    lost = await again.poll(polly)
    assert lost.status == 404 and lost.json()["code"] == "session-lost"
    await again.settle()
    assert cluster.redis.cli("EXISTS", f"chatd:poll:{polly}") == "0"
    assert (await n2.poll(polly)).json()["code"] == "no-such-session"


@pytest_twisted.ensureDeferred
async def test_keys_vanished_under_a_live_owner_end_its_session(make_cluster, redis_server):
    """Another node judged n1 dead and deleted the keys: n1 ends the core session too."""
    cluster = await make_cluster()
    n1, n2, _ = cluster.nodes
    polly = await n1.session("polly", "#lobby")
    wes = await talk(n1)
    last = (await n1.poll(wes)).json()["last"]
    redis_server.cli("DEL", f"chatd:poll:{polly}", f"chatd:poll-queue:{polly}")
    await n1.command(wes, type="say", room="#lobby", text="still there?")
    await n1.settle()
    quits = [e for e in (await n1.poll(wes, after=last)).json()["events"] if e["type"] == "quit"]
    assert [(q["nick"], q["reason"]) for q in quits] == [("polly", "Session lost")]


@pytest_twisted.ensureDeferred
async def test_keys_expire_by_themselves_after_the_owner_stops_renewing(make_cluster, redis_server):
    cluster = await make_cluster(with_web(session_idle=60, max_poll_timeout=60))
    n1, _, _ = cluster.nodes
    polly = await n1.session("polly", "#lobby")
    await talk(n1, "hello")
    for key in (f"chatd:poll:{polly}", f"chatd:poll-queue:{polly}"):
        ttl = int(redis_server.cli("PTTL", key))
        assert 0 < ttl <= (2 * (60 + 60) + 15) * 1000, (key, ttl)


# -- idleness ------------------------------------------------------------------------------


async def until(node: Node, condition, rounds: int = 50) -> None:
    """Redis round trips on C{node} until C{condition()} holds (bounded)."""
    for _ in range(rounds):
        if await condition():
            return
        await node.settle(1)
    raise AssertionError("the condition never held")


@pytest_twisted.ensureDeferred
async def test_idle_expiry_counts_polls_made_on_other_nodes(make_cluster):
    cluster = await make_cluster(with_web(session_idle=10))
    n1, n2, _ = cluster.nodes
    polly = await n1.session("polly", "#lobby")
    wes = await n1.session("wes", "#lobby")
    clock = cluster.clock

    async def step(seconds: float) -> None:
        clock.advance(seconds)
        await n1.settle()  # the owner's idle checks have been answered

    # polly polls only on n2, every 8 s for 32 s: her owner, n1, keeps her.
    last = 0
    for _ in range(4):
        await step(8)
        answer = await n2.poll(polly, after=last)
        assert answer.status == 200, f"expired at {clock.seconds()} s, 8 s after her last poll on n2"
        last = answer.json()["last"]
        await n1.poll(wes)
    await step(6)
    wes_last = (await n1.poll(wes)).json()["last"]

    # Then she stops: 10 s after her last poll she expires.
    await step(4)
    quits = []
    for _ in range(50):
        quits = [e for e in (await n1.poll(wes, after=wes_last)).json()["events"] if e["type"] == "quit"]
        if quits:
            break
        await n1.settle(1)
    assert [(q["nick"], q["reason"]) for q in quits] == [("polly", "Session expired")]
    gone = await n2.poll(polly, after=last)
    assert gone.status == 404 and gone.json()["code"] == "no-such-session"


@pytest_twisted.ensureDeferred
async def test_a_poll_held_on_another_node_counts_as_polling(make_cluster):
    cluster = await make_cluster(with_web(session_idle=10, max_poll_timeout=60))
    n1, n2, _ = cluster.nodes
    polly = await n1.session("polly")
    last = (await n2.poll(polly)).json()["last"]
    held = n2.start_poll(polly, after=last, timeout=50)
    await n2.settle()
    for _ in range(4):  # 48 s with a poll held on n2: the owner keeps the session
        cluster.clock.advance(12)
        await n1.settle()
    assert not held.answered
    cluster.clock.advance(2)
    assert (await held.response()).status == 200
    assert (await n2.poll(polly, after=last)).status == 200


# -- without [cluster] ---------------------------------------------------------------------


def test_without_a_cluster_sessions_stay_in_memory():
    """No [cluster]: the one-node resource, exactly as before."""
    api = api_resource(Hub(Clock(), MemoryStore()), Config(), Clock())
    assert type(api) is LongPollResource
