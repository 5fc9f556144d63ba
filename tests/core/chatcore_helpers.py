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
        self.hub = Hub(self.clock, self.store, make_rules(**rules))
        self.sinks = []

    def connect(self, nick=None, sink=None):
        """Connect a client, give it C{nick}; return (session, sink)."""
        sink = sink if sink is not None else RecordingSink()
        self.sinks.append(sink)
        session = self.hub.connect(sink, peer="127.0.0.1:1", frontend="test")
        sink.session = session
        if nick is not None:
            result(session.set_nick(nick))
        return session, sink

    def holder(self, nick):
        """The session holding C{nick} right now, or None (as presence says)."""
        return result(self.hub.presence.find(fold(nick)))

    def members(self, room):
        """The nicks in C{room}, as presence says (None: nobody is in it)."""
        return result(self.hub.presence.members(fold(room)))

    def settle(self) -> None:
        """Forget everything delivered so far, to every client."""
        for sink in self.sinks:
            if hasattr(sink, "clear"):
                sink.clear()

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
