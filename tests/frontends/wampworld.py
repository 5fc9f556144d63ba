"""
Helpers for the WAMP front end's tests in memory: WAMP clients and
terminal users on one hub, on a fake clock.

A client here sends and reads Autobahn's message objects, as a WAMP
client library would build and parse them, with no wire format in
between (the WebSocket and the serializers are tested in
test_wamp_websocket and end to end).
"""

import itertools
from typing import List, Optional

from autobahn.wamp import message
from autobahn.wamp.role import RoleCalleeFeatures, RoleCallerFeatures, RolePublisherFeatures, RoleSubscriberFeatures
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from chatd.core.hub import Hub
from chatd.core.rules import Rules
from chatd.frontends.lines import LineFactory
from chatd.frontends.wamp.peer import WampPeer
from chatd.frontends.wamp.router import Router, WampLimits
from chatd.frontends.wamp.uris import session_topic
from chatd.passwords import SyncHasher
from chatd.store.memory import MemoryStore
from test_lines import Terminal

T0 = 1_700_000_000.0
PASSWORD = "correct-horse-staple"

CLIENT_ROLES = {
    "publisher": RolePublisherFeatures(),
    "subscriber": RoleSubscriberFeatures(),
    "caller": RoleCallerFeatures(progressive_call_results=True, call_canceling=True),
    "callee": RoleCalleeFeatures(progressive_call_results=True, call_canceling=True),
}


def _same(msg):
    """The test serializer: the message object itself."""
    return msg


def kinds(msgs) -> List[str]:
    """The WAMP message types of C{msgs}, as the spec writes them: C{["RESULT", "EVENT"]}."""
    return [type(m).__name__.upper() for m in msgs]


class LaterStore(MemoryStore):
    """
    A MemoryStore whose history reads (C{recent}) answer only when the test
    calls L{release}, once L{slow} is set.

    @ivar snapshot: C{"call"} reads the rows when C{recent} is called (a
        store that read them before later messages were written);
        C{"release"} reads them when the answer is released (one that saw
        messages written meanwhile).
    """

    def __init__(self, snapshot: str = "call") -> None:
        super().__init__()
        self.snapshot = snapshot
        self.slow = False
        self.reads: List[tuple] = []

    def recent(self, room, limit, before=None, after=None, oldest=False):
        if not self.slow:
            return MemoryStore.recent(self, room, limit, before=before, after=after, oldest=oldest)
        args = (room, limit, before, after, oldest)
        rows = MemoryStore.recent(self, *args) if self.snapshot == "call" else None
        d = Deferred()
        self.reads.append((d, args, rows))
        return d

    def release(self) -> None:
        reads, self.reads = self.reads, []
        for d, args, rows in reads:
            (rows if rows is not None else MemoryStore.recent(self, *args)).chainDeferred(d)


class World:
    """A hub on a fake clock with the realm chatd and a line front end."""

    def __init__(self, store=None, limits: Optional[WampLimits] = None, **rules) -> None:
        self.clock = Clock()
        self.clock.advance(T0)
        rules = {"flood_rate": 1000, "flood_burst": 1000, **rules}
        self.hub = Hub(self.clock, store or MemoryStore(), Rules(**rules), name="chatd", hasher=SyncHasher())
        self.router = Router(self.hub, self.clock, {"test": _same}, limits or WampLimits())
        self.lines = LineFactory(self.hub, motd="Be nice.")

    def client(self, secure: bool = True) -> "WampClient":
        return WampClient(self, secure)

    def wamp_user(self, nick: str, *rooms: str) -> "WampClient":
        """An anonymous WAMP session with C{nick}, subscribed to and in C{rooms}."""
        c = self.client()
        c.hello()
        c.call("chatd.nick", nick)
        for room in rooms:
            c.subscribe(topic_of(room))
            c.call("chatd.join", room)
        c.read()
        return c

    def terminal(self, nick=None, *rooms) -> Terminal:
        t = Terminal(self.lines)
        if nick:
            t.type(nick)
        for room in rooms:
            t.type(f"/join {room}")
        t.output()
        return t

    def account(self, nick: str, password: str = PASSWORD) -> None:
        """Register the account C{nick} as a terminal user would, and leave."""
        t = self.terminal(nick)
        t.type(f"/register {password}")
        assert not any(line.startswith("! ") for line in t.output())
        t.type("/quit")


def topic_of(room: str) -> str:
    from chatd.frontends.wamp.uris import topic_of as topic

    return topic(room)


class WampClient:
    """One WAMP session as its client sees it: what it sent, what the router wrote back."""

    def __init__(self, world: World, secure: bool = True) -> None:
        self.world = world
        self.requests = itertools.count(1)
        self.inbox: List[message.Message] = []
        self.closed: Optional[str] = None
        self.session_id: Optional[int] = None
        self.welcome: Optional[message.Welcome] = None
        self.peer = WampPeer(world.router, self, "test", "127.0.0.1:50000", "127.0.0.1", secure)

    # -- the peer's transport -------------------------------------------------------

    def write(self, msg) -> None:
        assert self.closed is None, f"written after the connection closed: {msg}"
        self.inbox.append(msg)

    def close(self, why: str) -> None:
        self.closed = why

    # -- the client's side -----------------------------------------------------------

    def send(self, msg: message.Message, size: int = 100) -> None:
        self.peer.received(msg, size)

    def read(self) -> List[message.Message]:
        msgs, self.inbox = self.inbox, []
        return msgs

    def drop(self) -> None:
        """The connection is lost (no GOODBYE)."""
        self.closed = "dropped"
        self.peer.lost("Connection closed")

    @property
    def private_topic(self) -> str:
        """This session's own topic, C{chatd.session.<id>}."""
        return session_topic(self.session_id)

    def hello(self, realm: str = "chatd", authmethods=None, authid=None, roles=None):
        self.send(message.Hello(realm, roles or CLIENT_ROLES, authmethods=authmethods, authid=authid))
        msgs = self.read()
        if msgs and isinstance(msgs[-1], message.Welcome):
            self.welcome = msgs[-1]
            self.session_id = msgs[-1].session
        return msgs[-1] if msgs else None

    def login(self, account: str, ticket: str = PASSWORD):
        challenge = self.hello(authmethods=["ticket"], authid=account)
        assert isinstance(challenge, message.Challenge), challenge
        self.send(message.Authenticate(ticket))
        msgs = self.read()
        if msgs and isinstance(msgs[-1], message.Welcome):
            self.welcome = msgs[-1]
            self.session_id = msgs[-1].session
        return msgs[-1]

    def answer_to(self, request: int, kinds=(message.Result, message.Error)):
        """The message answering C{request}, taken out of the inbox (None if there is none yet)."""
        for i, msg in enumerate(self.inbox):
            if isinstance(msg, kinds) and msg.request == request:
                return self.inbox.pop(i)
        return None

    def call(self, procedure: str, *args, **kwargs):
        """CALL and return the RESULT or ERROR (which must already be there)."""
        options = kwargs.pop("_options", {})
        request = next(self.requests)
        self.send(message.Call(request, procedure, args=list(args) or None, kwargs=kwargs or None, **options))
        return self.answer_to(request)

    def call_later(self, procedure: str, *args, **kwargs) -> int:
        """CALL without waiting; the request id."""
        options = kwargs.pop("_options", {})
        request = next(self.requests)
        self.send(message.Call(request, procedure, args=list(args) or None, kwargs=kwargs or None, **options))
        return request

    def subscribe(self, topic: str):
        request = next(self.requests)
        self.send(message.Subscribe(request, topic))
        answer = self.answer_to(request, (message.Subscribed, message.Error))
        return answer.subscription if isinstance(answer, message.Subscribed) else answer

    def publish(self, topic: str, *args, acknowledge=None, exclude_me=None, **kwargs):
        request = next(self.requests)
        self.send(message.Publish(request, topic, args=list(args) or None, kwargs=kwargs or None,
                                  acknowledge=acknowledge, exclude_me=exclude_me))
        return self.answer_to(request, (message.Published, message.Error))

    def register(self, procedure: str):
        request = next(self.requests)
        self.send(message.Register(request, procedure))
        answer = self.answer_to(request, (message.Registered, message.Error))
        return answer.registration if isinstance(answer, message.Registered) else answer

    def unsubscribe(self, subscription: int):
        request = next(self.requests)
        self.send(message.Unsubscribe(request, subscription))
        return self.answer_to(request, (message.Unsubscribed, message.Error))

    def invocations(self) -> List[message.Invocation]:
        """The INVOCATIONs this callee got, taken out of the inbox."""
        found = [m for m in self.inbox if isinstance(m, message.Invocation)]
        self.inbox = [m for m in self.inbox if not isinstance(m, message.Invocation)]
        return found

    def yield_(self, invocation: message.Invocation, *args, progress=None, **kwargs) -> None:
        self.send(message.Yield(invocation.request, args=list(args) or None, kwargs=kwargs or None,
                                progress=progress))

    def fail(self, invocation: message.Invocation, error: str, *args) -> None:
        self.send(message.Error(message.Invocation.MESSAGE_TYPE, invocation.request, error, args=list(args) or None))

    def events(self, subscription: Optional[int] = None) -> List[dict]:
        """The EVENTs' keyword arguments (of one subscription), taken out of the inbox, in order."""
        out, rest = [], []
        for msg in self.inbox:
            if isinstance(msg, message.Event) and (subscription is None or msg.subscription == subscription):
                out.append(msg.kwargs if msg.kwargs is not None else {"args": msg.args})
            else:
                rest.append(msg)
        self.inbox = rest
        return out
