"""Flood control in the core: the same token bucket for every front end."""

from twisted.internet.task import Clock

from chatd.core.errors import RateLimited
from chatd.core.hub import Hub
from chatd.core.rules import Rules
from chatd.store.memory import MemoryStore


class Sink:
    def __init__(self):
        self.events = []
        self.disconnected = None
        self.session = None

    def deliver(self, event):
        self.events.append(event)

    def disconnect(self, reason):
        self.disconnected = reason
        self.session.close(reason)


def connect(hub, nick):
    sink = Sink()
    sink.session = hub.connect(sink, "127.0.0.1:1", "test")
    sink.session.set_nick(nick)
    return sink.session


def make_hub(**rules):
    clock = Clock()
    return clock, Hub(clock, MemoryStore(), Rules(**{"flood_rate": 2, "flood_burst": 6, "flood_strikes": 5, **rules}))


def test_a_fast_typist_is_never_limited():
    """A person typing a line every half second, with a paste of 4 lines now and then, is never refused."""
    clock, hub = make_hub(flood_rate=3, flood_burst=12)
    alice = connect(hub, "alice")
    alice.join("#lobby")
    for minute in range(3):
        for _ in range(4):
            alice.say("#lobby", "pasted line")
        for _ in range(100):
            clock.advance(0.5)
            alice.say("#lobby", "typed line")


def test_a_script_is_refused_with_rate_limited():
    """Commands past the burst get rate-limited, naming the limit and the wait."""
    clock, hub = make_hub()
    bot = connect(hub, "bot")  # the nick cost 3 of 6 tokens
    bot.join("#lobby")  # 2 more
    bot.say("#lobby", "one")
    try:
        bot.say("#lobby", "two")
    except RateLimited as e:
        assert e.code == "rate-limited"
        assert "2 commands per second" in e.message and "wait 0.5s" in e.message
    else:
        raise AssertionError("the burst should be spent")
    clock.advance(0.5)
    bot.say("#lobby", "after waiting")


def test_joins_nicks_and_privates_cost_more():
    """Joins (2), nick changes (3) and private messages (2) drain the bucket faster than messages."""
    clock, hub = make_hub(flood_burst=10)
    connect(hub, "target")
    bot = connect(hub, "bot")  # 3 spent: 7 left
    bot.private("target", "hi")  # 5 left
    bot.join("#a")  # 3 left
    bot.set_nick("bot2")  # 0 left
    try:
        bot.who("#a")
    except RateLimited:
        pass
    else:
        raise AssertionError("bucket should be empty")


def test_sustained_abuse_disconnects():
    """After flood_strikes refusals in a row the session is disconnected with a reason."""
    clock, hub = make_hub()
    victim = connect(hub, "victim")
    victim.join("#lobby")
    bot = connect(hub, "bot")
    bot.join("#lobby")
    refused = 0
    for _ in range(50):
        try:
            bot.say("#lobby", "spam")
        except RateLimited:
            refused += 1
        if bot.closed:
            break
    assert bot.closed and refused == 5
    assert "flooding" in bot.sink.disconnected
    assert [e.type for e in victim.sink.events][-1] == "quit"
    assert "bot" not in hub.nicks


def test_sessions_are_limited_independently():
    """One flooder's empty bucket never limits anyone else."""
    clock, hub = make_hub()
    bot, alice = connect(hub, "bot"), connect(hub, "alice")
    bot.join("#x")
    alice.join("#x")
    for _ in range(3):
        try:
            bot.say("#x", "spam")
        except RateLimited:
            pass
    alice.say("#x", "I am fine")
