"""
IRC behaviour clients rely on at the edges: away, WHOIS and USERHOST, the
numerics that name a room, WHOX accounts, key removal, server notices, and
a connection that sends only over-long lines.
"""

import gc

import pytest
from twisted.logger import globalLogPublisher

from ircworld import SERVER, T0, World, commands, make_den, only


@pytest.fixture
def world():
    return World()


@pytest.fixture
def den(world):
    return make_den(world)


@pytest.fixture
def failures():
    """Failures logged while the test runs (an unhandled error in a Deferred is logged when collected)."""
    seen = []

    def observe(event):
        if event.get("log_failure") is not None or event.get("isError"):
            seen.append(event)

    globalLogPublisher.addObserver(observe)
    yield seen
    globalLogPublisher.removeObserver(observe)


# -- away, WHOIS, USERHOST (the away table holds sessions) --


def test_whois(world):
    world.account("alice")
    alice = world.irc_user("alice", "#lobby", login=True)
    bob = world.irc_user("bob", "#lobby")
    bob.send("WHOIS alice")
    seen = bob.read()
    assert commands(seen)[0] == "311" and commands(seen)[-1] == "318"
    assert seen[0].params == ["bob", "alice", "~alice", "user/alice", "*", "alice"]
    assert only(seen, "319")[0].params[-1].split() == ["#lobby"]
    assert only(seen, "330")[0].params[:3] == ["bob", "alice", "alice"]
    alice.send("WHOIS bob")
    assert "330" not in commands(alice.read())


def test_away(world):
    alice = world.irc_user("alice")
    bob = world.irc_user("bob")
    alice.send("AWAY :out for lunch")
    assert [(line.command, line.params) for line in alice.read()] == [
        ("306", ["alice", "You have been marked as being away"])]
    bob.send("PRIVMSG alice :you there?")
    assert [(line.command, line.params) for line in bob.read()] == [("301", ["bob", "alice", "out for lunch"])]
    alice.read()
    alice.send("AWAY")
    assert commands(alice.read()) == ["305"]
    bob.send("PRIVMSG alice :back?")
    assert bob.read() == []


def test_userhost(world):
    world.irc_user("bob")
    alice = world.irc_user("alice")
    alice.send("USERHOST bob")
    assert [(line.command, line.params) for line in alice.read()] == [("302", ["alice", f"bob=+~bob@user/bob"])]


def test_a_private_message_logs_no_error(world, failures):
    alice = world.irc_user("alice")
    bob = world.irc_user("bob")
    alice.send("PRIVMSG bob :psst")
    assert bob.read()[0].params == ["bob", "psst"]
    gc.collect()
    assert failures == []


# -- 482 and 442 name the room for MODE +o/+v and KICK --


def test_482_and_442_name_the_room(den):
    alice, bob, carol, dave = den
    for change in ("MODE #den +o dave", "MODE #den +v dave", "KICK #den bob"):
        dave.send(change)
        assert [(line.command, line.params[:2]) for line in dave.read()] == [("482", ["dave", "#den"])], change
    dave.send("KICK #lobby bob")
    assert [(line.command, line.params[:2]) for line in dave.read()] == [("442", ["dave", "#lobby"])]


# -- WHOX gives a logged-in member's account --


def test_whox_gives_the_account_of_a_logged_in_member(world):
    world.account("alice")
    alice = world.irc_user("alice", "#lobby", login=True)
    alice.send("WHO #lobby %tna,1")
    assert [line.params for line in only(alice.read(), "354")] == [["alice", "1", "alice", "alice"]]


# -- removing a key, server notices, over-long lines --


def test_removing_the_key_names_a_parameter(den):
    """CHANMODES puts k in the always-with-a-parameter group, so -k is sent with one."""
    alice, bob, carol, dave = den
    alice.send("MODE #den +k sesame")
    dave.read()
    alice.send("MODE #den -k sesame")
    assert [len(line.params) for line in only(dave.read(), "MODE")] == [3]


def test_server_notices_come_from_the_server(world):
    world.account("alice")
    c = world.irc_user("alice")
    world.clock.advance(31)
    notices = only(c.read(), "NOTICE")
    assert notices and all(line.source == SERVER for line in notices)


def test_a_connection_sending_only_over_long_lines_is_closed(world):
    """As on the line port (MAX_OVERLONG): an abusive connection is closed, not answered forever."""
    alice = world.irc_user("alice")
    for _ in range(50):
        alice.proto.dataReceived(b"PRIVMSG #lobby :" + b"y" * 700 + b"\r\n")
    assert not alice.connected
    bob = world.irc_user("bob")
    for _ in range(200):
        bob.proto.dataReceived(b"z" * 1024)  # a line that never ends
    assert not bob.connected


# -- history of a closed room --


def test_chathistory_of_an_invite_only_room_is_refused_to_outsiders(den):
    """An outsider's CHATHISTORY of a +i room shows none of it, and says why (442)."""
    alice, bob, carol, dave = den
    dave.send("PART #den")
    alice.send("MODE #den +i", "PRIVMSG #den :private plans")
    dave.read()
    dave.send("CHATHISTORY LATEST #den * 10")
    seen = dave.read()
    assert not any("private plans" in line.params[-1] for line in seen)
    assert [line.command for line in seen] == ["442"]


# -- small answers --


def test_user_modes_are_echoed_as_one_change(world):
    """MODE nick +iB is echoed +iB (one sign per run of flags), and a later -i+w as -i+w."""
    alice = world.irc_user("alice")
    alice.send("MODE alice +iB")
    assert [(line.command, line.params) for line in alice.read()] == [("MODE", ["alice", "+iB"])]
    alice.send("MODE alice -i+w")
    assert [(line.command, line.params) for line in alice.read()] == [("MODE", ["alice", "-i+w"])]
    alice.send("MODE alice")
    assert [(line.command, line.params[1:]) for line in alice.read()] == [("221", ["+Bw"])]


def test_a_labelled_ping_gets_a_labelled_pong(world):
    alice = world.irc_user("alice", caps=("message-tags", "labeled-response", "batch"))
    alice.send("@label=p1 PING :now")
    (pong,) = alice.read()
    assert pong.command == "PONG" and pong.tags == {"label": "p1"} and pong.params[-1] == "now"


def test_chathistory_around_holds_the_message_referred_to(world):
    alice = world.irc_user("alice", "#lobby", caps=("message-tags", "server-time", "batch", "draft/chathistory"))
    bob = world.terminal("bob", "#lobby")
    for n in range(1, 10):
        bob.type(f"m{n}")
    seen = only(alice.read(), "PRIVMSG")
    alice.send(f"CHATHISTORY AROUND #lobby msgid={seen[4].tags['msgid']} 5")
    around = [line.params[1] for line in only(alice.read(), "PRIVMSG")]
    assert around == ["m3", "m4", "m5", "m6", "m7"]


def test_an_unknown_chathistory_subcommand_is_named(world):
    alice = world.irc_user("alice", "#lobby", caps=("standard-replies",))
    alice.send("CHATHISTORY SIDEWAYS #lobby msgid=1.00000000 10")
    (fail,) = alice.read()
    assert fail.command == "FAIL" and fail.params[:2] == ["CHATHISTORY", "INVALID_PARAMS"]
    assert "SIDEWAYS is not a CHATHISTORY subcommand" in fail.params[-1]
