"""
Several real hubs in this process, each a node of a cluster on one real
redis-server, wired as L{chatd.cluster.start.ClusterMember} wires a
daemon's: a L{RedisStore}, L{RedisBus}, L{RedisNodes}, L{RedisPresence},
a L{Link} and L{Liveness} each, on their own connections.

    world = RedisWorld(redis, tmp_path, reactor, node_timeout=1.0)
    n1 = await world.node("n1")
    alice, a = await n1.member("alice", "#r")   # a: a RecordingSink
    await wait_for(lambda: "join" in a.types(), "alice sees a join")
    n1.clock.freeze()                            # n1 stops beating (hung, or killed)

Redis answers on the real reactor, so tests wait for its round trips with
L{wait_for} (a condition polled every few milliseconds, with a deadline),
never with a fixed sleep.  Each node's liveness runs on a L{NodeClock}:
the reactor's time until the test freezes it.
"""

from typing import Callable, List, Optional

from twisted.internet.defer import Deferred, DeferredList, maybeDeferred
from twisted.internet.task import Clock, LoopingCall, deferLater

from chatd.cluster.bus import RedisBus
from chatd.cluster.link import Link
from chatd.cluster.liveness import Liveness
from chatd.cluster.nodes import RedisNodes
from chatd.cluster.presence import RedisPresence
from chatd.core.hub import Hub
from chatd.passwords import SyncHasher
from chatd.store.redis import RedisStore
from chatd.store.redis_connect import connect

from chatcore_helpers import RecordingSink, make_rules

#: Seconds any one wait for Redis may take before the test fails.
WAIT = 5.0
PASSWORD = "correct horse"


def _reactor():
    from twisted.internet import reactor

    return reactor


async def wait_for(condition: Callable[[], object], what: str, timeout: float = WAIT, step: float = 0.005):
    """Poll C{condition()} every C{step} seconds until it is true; fail saying C{what} after C{timeout}."""
    reactor = _reactor()
    deadline = reactor.seconds() + timeout
    while True:
        value = condition()
        if value:
            return value
        if reactor.seconds() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}")
        await deferLater(reactor, step, lambda: None)


async def wait_until(ask: Callable[[], Deferred], check: Callable[[object], bool], what: str,
                     timeout: float = WAIT, step: float = 0.01):
    """Ask Redis (C{ask()}, a Deferred) again and again until C{check(answer)}; the last answer."""
    reactor = _reactor()
    deadline = reactor.seconds() + timeout
    while True:
        answer = await ask()
        if check(answer):
            return answer
        if reactor.seconds() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}; the last answer was {answer!r}")
        await deferLater(reactor, step, lambda: None)


class NodeClock(Clock):
    """
    One node's time for its liveness: it follows the reactor (advanced
    every few milliseconds) until L{freeze} (the node hangs or is killed:
    no beat, no janitor), and catches up at once on L{thaw}.
    """

    def __init__(self, reactor) -> None:
        super().__init__()
        self.reactor = reactor
        self.advance(reactor.seconds())
        self.follower = LoopingCall(self.follow)
        self.follower.clock = reactor
        self.thaw()

    def follow(self) -> None:
        self.advance(max(0.0, self.reactor.seconds() - self.seconds()))

    def freeze(self) -> None:
        if self.follower.running:
            self.follower.stop()

    def thaw(self) -> None:
        if not self.follower.running:
            self.follower.start(0.005, now=True)


class RedisNode:
    """One hub, a node of the world's cluster, with helpers to connect clients to it."""

    def __init__(self, world: "RedisWorld", name: str) -> None:
        self.world, self.name = world, name
        self.sinks: List[RecordingSink] = []

    async def start(self) -> "RedisNode":
        world, reactor = self.world, self.world.reactor
        endpoint = world.redis.endpoint
        self.conn = await connect(endpoint, reactor=reactor)
        self.link = Link(self.conn, endpoint, reactor=reactor)
        await self.link.start()
        state = world.tmp_path / f"state-{self.name}"
        state.mkdir(exist_ok=True)
        self.store = RedisStore(self.conn, keep=1000, state_dir=str(state), where=endpoint, clock=reactor)
        self.nodes = RedisNodes(self.name, self.link)
        self.hub = hub = Hub(reactor, self.store, world.rules, name="chatd", bus=RedisBus(self.link),
                             hasher=SyncHasher(), nodes=self.nodes)
        hub.presence = self.presence = RedisPresence(hub, self.conn, world.node_timeout)
        await self.nodes.listen(hub.obey)
        self.link.on_reconnect(hub.resync)
        self.clock = NodeClock(reactor)
        self.liveness = Liveness(hub, self.presence, self.conn, world.node_timeout, self.clock)
        await self.liveness.start()
        await self.store.open()
        await hub.load()
        return self

    async def kill(self) -> None:
        """Die as with kill -9: no more beats, its connections drop, nothing is said or cleared up."""
        self.dead = True
        self.clock.freeze()
        await self.link.stop()
        await self.conn.disconnect()

    async def stop(self) -> None:
        """Close its clients' sessions, say the node stopped, close its connections."""
        if getattr(self, "dead", False):
            return
        self.clock.freeze()
        for session in tuple(self.hub.sessions):
            session.close("the test is over")
        await maybeDeferred(self.liveness.stop)
        await self.link.stop()
        await self.conn.disconnect()

    async def connect(self, nick: Optional[str] = None, host: str = "127.0.0.1"):
        """A client connected here (from C{host}), with C{nick}: (session, sink)."""
        sink = RecordingSink()
        self.sinks.append(sink)
        session = self.hub.connect(sink, peer=f"{host}:1", frontend="test", host=host, secure=True)
        sink.session = session
        if nick is not None:
            await session.set_nick(nick)
        return session, sink

    async def member(self, nick: str, *rooms: str, host: str = "127.0.0.1"):
        """A client with C{nick} in C{rooms} (each joined once its join is done)."""
        session, sink = await self.connect(nick, host)
        for room in rooms:
            await session.join(room)
        return session, sink

    async def account(self, nick: str, *rooms: str, host: str = "127.0.0.1"):
        """A client registered (and logged in) as C{nick}, in C{rooms}."""
        session, sink = await self.connect(nick, host)
        await session.register(PASSWORD)
        for room in rooms:
            await session.join(room)
        return session, sink


class RedisWorld:
    """
    The nodes of one test, on the test's redis-server; L{stop} stops them all.

    @param node_timeout: seconds (C{[cluster] node_timeout}): short for the
        liveness tests, long elsewhere so that nothing expires mid-test.
    """

    def __init__(self, redis, tmp_path, reactor, node_timeout: float = 30.0, **rules) -> None:
        self.redis, self.tmp_path, self.reactor = redis, tmp_path, reactor
        self.node_timeout = node_timeout
        self.rules = make_rules(**rules)
        self.nodes: List[RedisNode] = []

    async def node(self, name: str) -> RedisNode:
        node = RedisNode(self, name)
        self.nodes.append(node)
        return await node.start()

    async def eventually(self, condition, what: str):
        return await wait_for(condition, what)

    async def eventually_answer(self, ask, check, what: str):
        return await wait_until(ask, check, what)

    async def stop(self) -> None:
        await DeferredList([Deferred.fromCoroutine(node.stop()) for node in self.nodes if hasattr(node, "clock")])
