"""
draft/read-marker, in memory: MARKREAD sets and reads an account's read
marker by the time of the last message read, every connection of the
account hears it move, and a JOIN is followed by the room's marker before
the end of its names.
"""

import pytest

from ircworld import World, commands, only

MARKERS = ("message-tags", "server-time", "batch", "standard-replies", "draft/read-marker")


def markreads(lines) -> list:
    return [m.params for m in only(lines, "MARKREAD")]


@pytest.fixture
def talk():
    """alice logged in on two connections (one without the capability); bob said three things a second apart."""
    world = World()
    world.account("alice")
    laptop = world.irc_user("alice", "#lobby", caps=MARKERS, login=True)
    phone = world.irc_user("alice", caps=MARKERS, login=True)
    old = world.irc_user("alice", caps=("message-tags",), login=True)
    bob = world.irc_user("bob", "#lobby")
    times = []
    for n in range(3):
        world.clock.advance(1)
        bob.send(f"PRIVMSG #lobby :message {n}")
        times.append([m.tags["time"] for m in only(laptop.read(), "PRIVMSG")][0])
    for c in (phone, old):
        c.read()
    return world, laptop, phone, old, times


def test_the_capability_is_offered():
    c = World().client()
    c.send("CAP LS 302")
    assert "draft/read-marker" in " ".join(m.params[-1] for m in c.read()).split()


def test_a_join_is_followed_by_the_marker_before_the_end_of_names():
    world = World()
    world.account("alice")
    alice = world.irc_user("alice", caps=MARKERS, login=True)
    alice.read()
    alice.send("JOIN #lobby")
    got = alice.read()
    order = commands(got)
    assert markreads(got) == [["#lobby", "*"]]
    assert order.index("JOIN") < order.index("MARKREAD") < order.index("366")


def test_marking_read_tells_every_connection_of_the_account_that_asked(talk):
    world, laptop, phone, old, times = talk
    laptop.send(f"MARKREAD #lobby timestamp={times[1]}")
    assert markreads(laptop.read()) == [["#lobby", f"timestamp={times[1]}"]]
    assert markreads(phone.read()) == [["#lobby", f"timestamp={times[1]}"]]
    assert old.read() == []  # no draft/read-marker: not told


def test_a_time_between_messages_marks_the_message_before_it(talk):
    """The marker is a message: a time after message 1 but before message 2 marks message 1, and says its time."""
    world, laptop, _, _, times = talk
    between = times[1][:-4] + "500Z"  # half a second after message 1
    laptop.send(f"MARKREAD #lobby timestamp={between}")
    assert markreads(laptop.read()) == [["#lobby", f"timestamp={times[1]}"]]


def test_the_marker_never_moves_back(talk):
    world, laptop, phone, _, times = talk
    laptop.send(f"MARKREAD #lobby timestamp={times[2]}")
    laptop.read()
    phone.read()
    laptop.send(f"MARKREAD #lobby timestamp={times[0]}")
    assert markreads(laptop.read()) == [["#lobby", f"timestamp={times[2]}"]]
    assert phone.read() == []  # nothing moved


def test_asking_for_the_marker(talk):
    world, laptop, phone, old, times = talk
    phone.send("MARKREAD #lobby")
    assert markreads(phone.read()) == [["#lobby", "*"]]
    laptop.send(f"MARKREAD #lobby timestamp={times[0]}")
    old.send("MARKREAD #lobby")  # the command works without the capability
    assert markreads(old.read()) == [["#lobby", f"timestamp={times[0]}"]]


def test_the_marker_follows_a_later_join(talk):
    """Joining again (on any connection of the account: all of them join) brings the marker back."""
    world, laptop, phone, _, times = talk
    laptop.send(f"MARKREAD #lobby timestamp={times[2]}")
    phone.send("PART #lobby")
    phone.read()
    laptop.read()
    phone.send("JOIN #lobby")
    for client in (phone, laptop):
        got = client.read()
        assert markreads(got) == [["#lobby", f"timestamp={times[2]}"]]
        assert commands(got).index("JOIN") < commands(got).index("MARKREAD") < commands(got).index("366")


def test_a_labelled_markread_is_answered_with_its_label():
    world = World()
    world.account("alice")
    alice = world.irc_user("alice", "#lobby", caps=MARKERS + ("labeled-response",), login=True)
    alice.read()
    alice.send("@label=m1 MARKREAD #lobby")
    got = alice.read()
    assert [(m.command, m.tags["label"], m.params) for m in got] == [("MARKREAD", "m1", ["#lobby", "*"])]


def test_a_labelled_markread_that_moves_the_marker_is_answered_with_its_label(talk):
    world, laptop, phone, _, times = talk
    laptop.send("CAP REQ labeled-response")
    laptop.read()
    laptop.send(f"@label=m2 MARKREAD #lobby timestamp={times[0]}")
    answers = [(m.tags.get("label") if m.tags else None, m.params) for m in only(laptop.read(), "MARKREAD")]
    assert ("m2", ["#lobby", f"timestamp={times[0]}"]) in answers
    assert markreads(phone.read()) == [["#lobby", f"timestamp={times[0]}"]]


def test_a_guest_has_no_marker_and_cannot_set_one():
    world = World()
    guest = world.irc_user("guest", "#lobby", caps=MARKERS)
    guest.read()
    guest.send("MARKREAD #lobby")
    assert markreads(guest.read()) == [["#lobby", "*"]]
    guest.send("MARKREAD #lobby timestamp=2023-11-14T22:13:20.000Z")
    assert [m.params[:3] for m in only(guest.read(), "FAIL")] == [["MARKREAD", "NOT_LOGGED_IN", "#lobby"]]


def test_malformed_markreads_are_refused(talk):
    world, laptop, _, _, _ = talk
    laptop.send("MARKREAD")
    assert [m.params[:2] for m in only(laptop.read(), "FAIL")] == [["MARKREAD", "NEED_MORE_PARAMS"]]
    laptop.send("MARKREAD #lobby yesterday", "MARKREAD #lobby *", "MARKREAD #lobby timestamp=noon")
    assert [m.params[:2] for m in only(laptop.read(), "FAIL")] == [["MARKREAD", "INVALID_PARAMS"]] * 3


def test_a_private_conversations_marker_is_kept_by_the_time_of_its_messages():
    """Between two accounts: alice marks bob's private message read; her other connection hears it."""
    world = World()
    world.account("alice")
    world.account("bob")
    laptop = world.irc_user("alice", caps=MARKERS, login=True)
    phone = world.irc_user("alice", caps=MARKERS, login=True)
    bob = world.irc_user("bob", login=True)
    world.clock.advance(1)
    bob.send("PRIVMSG alice :are you there?")
    when = [m.tags["time"] for m in only(laptop.read(), "PRIVMSG")][0]
    phone.read()
    laptop.send(f"MARKREAD bob timestamp={when}")
    assert markreads(laptop.read()) == [["bob", f"timestamp={when}"]]
    assert markreads(phone.read()) == [["bob", f"timestamp={when}"]]
    phone.send("MARKREAD bob")
    assert markreads(phone.read()) == [["bob", f"timestamp={when}"]]
