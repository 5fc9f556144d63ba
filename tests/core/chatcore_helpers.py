"""
Helpers for the core tests: a real Hub over a real MemoryStore, driven by a
Twisted Clock, with sessions whose sinks record what their client would see.
"""

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from zope.interface import implementer

from chatd.core.hub import Hub
from chatd.core.interfaces import ISink
from chatd.core.rules import Rules
from chatd.passwords import SyncHasher
from chatd.core.text import fold
from chatd.store.memory import MemoryStore

#: The clock starts here: 2023-11-14T22:13:20Z.
T0 = 1_700_000_000.0


@implementer(ISink)
class RecordingSink:
    """A front end that remembers every event and disconnect it is handed."""

    def __init__(self) -> None:
        self.events = []
        self.disconnects = []
        self.session = None

    def deliver(self, event) -> None:
        self.events.append(event)

    def disconnect(self, reason) -> None:
        self.disconnects.append(reason)

    def types(self):
        return [e.type for e in self.events]

    def of_type(self, type):
        return [e for e in self.events if e.type == type]

    def clear(self) -> None:
        del self.events[:]


def make_rules(**overrides) -> Rules:
    """Default rules, but with flood control loose enough never to get in the way."""
    return Rules(**{"flood_rate": 100000, "flood_burst": 100000, **overrides})


class World:
    """A hub plus helpers to connect named clients to it."""

    def __init__(self, store=None, **rules) -> None:
        self.clock = Clock()
        self.clock.advance(T0)
        self.store = store if store is not None else MemoryStore()
        self.hub = Hub(self.clock, self.store, make_rules(**rules), hasher=SyncHasher())
        self.sinks = []

    def connect(self, nick=None, sink=None, host="127.0.0.1", secure=True):
        """Connect a client (from C{host}; C{secure}: TLS or local), give it C{nick}; return (session, sink)."""
        sink = sink if sink is not None else RecordingSink()
        self.sinks.append(sink)
        session = self.hub.connect(sink, peer=f"{host}:1", frontend="test", host=host, secure=secure)
        sink.session = session
        if nick is not None:
            result(session.set_nick(nick))
        return session, sink

    def holder(self, nick):
        """The (first) session of the user holding C{nick} right now, or None (as presence says)."""
        person = result(self.hub.presence.find(fold(nick)))
        user = self.hub.users.get(person.uid) if person is not None else None
        return user.sessions[0] if user is not None else None

    def members(self, room):
        """The nicks in C{room}, as presence says (None: nobody is in it)."""
        members = result(self.hub.presence.members(fold(room)))
        return None if members is None else tuple(m.nick for m in members)

    def settle(self) -> None:
        """Forget everything delivered so far, to every client."""
        for sink in self.sinks:
            if hasattr(sink, "clear"):
                sink.clear()

    def account(self, nick, *rooms, password="correct horse"):
        """Connect C{nick}, register it as an account (logged in), join C{rooms}, forget that traffic."""
        session, sink = self.connect(nick)
        result(session.register(password))
        for room in rooms:
            result(session.join(room))
        sink.clear()
        return session, sink

    def member(self, nick, *rooms):
        """Connect C{nick}, join C{rooms}, forget the join traffic."""
        session, sink = self.connect(nick)
        for room in rooms:
            result(session.join(room))
        sink.clear()
        return session, sink


def result(d):
    """The result a Deferred has already fired with (raising its failure)."""
    if not isinstance(d, Deferred):
        return d
    box = []
    d.addBoth(box.append)
    assert box, "the Deferred has not fired"
    value = box[0]
    if isinstance(value, Failure):
        value.raiseException()
    return value


def fails(d, error):
    """Assert a Deferred (or a call's direct raise) failed with C{error}."""
    box = []
    d.addBoth(box.append)
    assert box, "the Deferred has not fired"
    assert isinstance(box[0], Failure), f"expected {error.__name__}, got {box[0]!r}"
    assert box[0].check(error), f"expected {error.__name__}, got {box[0].value!r}"
    return box[0].value


def raises(error, call, *args):
    """Run a command that may return a Deferred; assert it is refused with C{error}."""
    try:
        d = call(*args)
    except error as e:
        return e
    assert isinstance(d, Deferred), f"{call.__name__} returned {d!r} instead of refusing"
    return fails(d, error)
