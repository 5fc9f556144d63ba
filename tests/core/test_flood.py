"""
Flood control in the core (fakelag): input past the flood rate is held and
run late, in order, never refused; held input past recvq disconnects.
"""

from chatd.core import commands as cmd
from chatd.core.rules import Rules
from chatd.core.flood import HELD_OVERHEAD

from chatcore_helpers import World


def world(**rules):
    """A world with the real default flood limits unless told otherwise."""
    defaults = {f: getattr(Rules(), f) for f in ("flood_rate", "flood_burst", "recvq")}
    return World(**{**defaults, **rules})


def say(session, room, text):
    """Send a say the way every front end does (Session.handle); True if it ran at once."""
    d = session.handle(cmd.Say(room=room, text=text), len(text))
    return d.called


def register(w, nick):
    """Connect and choose a nick through flood control, as a client does (it costs 3)."""
    session, sink = w.connect()
    assert session.handle(cmd.Nick(nick=nick), len(nick)).called
    return session, sink


def texts(sink):
    return [e.text for e in sink.events if e.type == "message"]


def test_a_fast_typist_is_never_delayed():
    """A person typing a line every half second, with a paste of 4 lines now and then, runs at once, every time."""
    w = world()
    _, watcher = w.member("watcher", "#lobby")
    alice, _ = w.member("alice", "#lobby")
    w.clock.advance(10)  # the join and nick costs are long paid back
    sent = 0
    for minute in range(3):
        for _ in range(4):
            assert say(alice, "#lobby", f"line {sent}")
            sent += 1
        for _ in range(100):
            w.clock.advance(0.5)
            assert say(alice, "#lobby", f"line {sent}")
            sent += 1
    assert texts(watcher) == [f"line {n}" for n in range(sent)]


def test_a_pasted_page_arrives_complete_in_order_and_late():
    """40 lines at once: the burst goes at once, the rest at the flood rate, nothing refused."""
    w = world()  # 3 per second, burst 12
    _, watcher = w.member("watcher", "#lobby")
    alice, alice_sink = w.member("alice", "#lobby")
    w.clock.advance(10)
    for n in range(40):
        say(alice, "#lobby", f"pasted {n}")
    assert texts(watcher) == [f"pasted {n}" for n in range(12)]
    assert alice.held == 28
    w.clock.advance(1)
    assert len(texts(watcher)) == 15
    w.clock.pump([1] * 9)
    assert texts(watcher) == [f"pasted {n}" for n in range(40)]
    assert not alice.closed and alice_sink.disconnects == []
    assert w.hub.stats["rate_limited"] == 28


def test_held_commands_keep_their_order_and_see_what_came_before():
    """A held join runs before the say typed after it, so the say lands in the room."""
    w = world(flood_burst=3)
    _, watcher = w.member("watcher", "#new")
    alice, alice_sink = register(w, "alice")  # the nick took all 3 tokens
    assert not alice.handle(cmd.Join(room="#new"), 10).called
    assert not say(alice, "#new", "first words")
    assert watcher.events == []
    w.clock.advance(1)  # 3 tokens: the join (2), then the say (1)
    assert [(e.type, getattr(e, "text", None)) for e in watcher.events] == [("join", None), ("message", "first words")]
    assert alice_sink.of_type("error") == []


def test_joins_nicks_and_private_messages_cost_more():
    """Joins (2), nick changes (3) and private messages (2) drain the bucket faster than says."""
    w = world(flood_burst=10)
    w.connect("target")
    bot, _ = register(w, "bot")  # 3 spent: 7 left
    ran = []
    sent = [bot.handle(command, 5) for command in (
        cmd.Msg(to="target", text="hi"),  # 5 left
        cmd.Join(room="#a"),  # 3 left
        cmd.Nick(nick="bot2"),  # 0 left
        cmd.Who(room="#a"),
    )]
    assert [d.called for d in sent] == [True, True, True, False]
    w.clock.advance(1 / 3)
    assert sent[-1].called


def test_a_script_flooding_without_pause_is_disconnected_at_recvq():
    """Held input past recvq ends the session: the room sees a quit, the nick is free, nothing held runs."""
    w = world(recvq=4096)
    _, victim = w.member("victim", "#lobby")
    bot, bot_sink = w.member("bot", "#lobby")
    w.clock.advance(10)
    n = 0
    while not bot.closed:
        say(bot, "#lobby", f"spam {n}")
        n += 1
        assert n < 1000, "never disconnected"
    held_at_most = 4096 // (len("spam 99") + HELD_OVERHEAD) + 1
    assert n <= 12 + held_at_most
    assert bot_sink.disconnects and "Disconnected for flooding" in bot_sink.disconnects[0]
    assert "4096 bytes" in bot_sink.disconnects[0]
    assert victim.types()[-1] == "quit"
    spam = texts(victim)
    assert spam == [f"spam {i}" for i in range(12)]
    w.clock.advance(60)
    assert texts(victim) == spam, "held commands of a closed session must never run"
    assert w.holder("bot") is None
    assert w.hub.stats["flood_disconnects"] == 1


def test_held_commands_that_never_run_are_answered():
    """A front end that owes an answer (long-poll) is told when a held command will never run."""
    w = world(flood_burst=1)
    alice, _ = w.connect("alice")
    dropped = []
    alice.submit(1, 5, lambda: None, dropped.append)  # runs: the one token
    alice.submit(1, 5, lambda: None, dropped.append)
    alice.submit(1, 5, lambda: None, dropped.append)
    alice.close("Quit: bye")
    assert dropped == ["Quit: bye", "Quit: bye"]
    late = []
    alice.submit(1, 5, lambda: late.append("ran"), dropped.append)
    assert late == [] and len(dropped) == 3 and "ended" in dropped[2]


def test_sessions_are_limited_independently():
    """One flooder's held input never delays anyone else."""
    w = world()
    _, watcher = w.member("watcher", "#x")
    bot, _ = w.member("bot", "#x")
    alice, _ = w.member("alice", "#x")
    for n in range(30):
        say(bot, "#x", f"spam {n}")
    assert bot.held > 0
    assert say(alice, "#x", "I am fine")
    assert texts(watcher)[-1] == "I am fine"


def test_a_reload_applies_new_limits_to_held_input_at_once():
    """Raising flood_rate on reload speeds up what is already held (from its next turn)."""
    w = world(flood_rate=1, flood_burst=1)
    alice, _ = w.connect("alice")
    ran = []
    for n in range(10):
        alice.submit(1, 5, lambda n=n: ran.append(n))
    assert ran == [0]
    w.clock.advance(1)
    assert ran == [0, 1]
    w.hub.rules = Rules(flood_rate=100, flood_burst=100, recvq=w.hub.rules.recvq)
    w.clock.pump([0.1] * 11)  # at the old rate this would take 8 more seconds
    assert ran == list(range(10))


def test_a_held_command_that_fails_does_not_stop_the_rest():
    """One held command raising is logged; the commands behind it still run."""
    w = world(flood_burst=1)
    alice, _ = w.connect("alice")
    w.clock.advance(1)
    ran = []
    alice.submit(1, 5, lambda: ran.append("first"))

    def broken():
        raise RuntimeError("boom")

    alice.submit(1, 5, broken)
    alice.submit(1, 5, lambda: ran.append("third"))
    w.clock.pump([1, 1, 1])
    assert ran == ["first", "third"]


def test_operator_log_lines_name_clients_in_words():
    """Logs of a session without a nick, slowed down and disconnected, never say None or a Python repr."""
    from twisted.logger import formatEvent, globalLogPublisher

    seen = []
    globalLogPublisher.addObserver(seen.append)
    try:
        w = world(flood_burst=1, recvq=300)
        anonymous, _ = w.connect()
        for _ in range(5):
            anonymous.submit(1, 50, lambda: None)
    finally:
        globalLogPublisher.removeObserver(seen.append)
    lines = [formatEvent(e) for e in seen if e.get("log_namespace") == "chatd.session"]
    assert any(line.startswith("Slowing down a client without a nick (test 127.0.0.1:1)") for line in lines), lines
    assert any("Disconnecting a client without a nick (test 127.0.0.1:1) for flooding" in line for line in lines), lines
    assert any(line.startswith("Session ended: a client without a nick (test 127.0.0.1:1): Disconnected for flooding")
               for line in lines), lines
    assert not [line for line in lines if "None" in line or "<" in line], lines
