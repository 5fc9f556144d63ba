"""
Away on IRC is chatd's away (issue 15: AWAY, 301/305/306, away-notify):
set from IRC or a terminal, seen from both.
"""

from ircworld import only, world  # noqa: F401


def test_away_set_on_irc_is_seen_by_a_terminal_user(world):
    alice = world.irc_user("alice", "#lobby")
    bob = world.terminal("bob", "#lobby")
    alice.read()
    alice.send("AWAY :lunch")
    assert [(line.command, line.params[0]) for line in alice.read()] == [("306", "alice")]
    bob.type("/whois alice")
    assert "-!- alice is away: lunch" in bob.output()
    alice.send("AWAY")
    assert [line.command for line in alice.read()] == ["305"]


def test_a_terminal_users_away_answers_an_irc_privmsg_with_301(world):
    alice = world.irc_user("alice")
    bob = world.terminal("bob")
    bob.type("/away in a meeting")
    alice.send("PRIVMSG bob :are you there?")
    assert [(line.command, line.params) for line in alice.read()] == [("301", ["alice", "bob", "in a meeting"])]
    alice.send("NOTICE bob :no answer to notices")
    assert alice.read() == []


def test_who_and_whois_show_away(world):
    alice = world.irc_user("alice", "#lobby")
    bob = world.terminal("bob", "#lobby")
    bob.type("/away gone fishing")
    alice.read()
    alice.send("WHO #lobby")
    flags = {line.params[5]: line.params[6] for line in only(alice.read(), "352")}
    assert flags == {"alice": "H", "bob": "G"}
    alice.send("WHOIS bob")
    assert [line.params[1:] for line in only(alice.read(), "301")] == [["bob", "gone fishing"]]


def test_away_notify_tells_changes_to_those_who_asked(world):
    """AWAY :text and a bare AWAY from the member, to clients with away-notify only; not to the user itself."""
    notified = world.irc_user("notified", "#lobby", caps=("away-notify",))
    plain = world.irc_user("plain", "#lobby")
    carol = world.irc_user("carol", "#lobby", caps=("away-notify",))
    bob = world.terminal("bob", "#lobby")
    for c in (notified, plain, carol):
        c.read()
    bob.type("/away brb", "/away")
    assert [(line.source.split("!")[0], line.params) for line in only(notified.read(), "AWAY")] == [
        ("bob", ["brb"]), ("bob", [])]
    assert only(plain.read(), "AWAY") == []
    carol.read()
    carol.send("AWAY :out")
    assert [line.command for line in carol.read()] == ["306"]
    assert [line.params for line in only(notified.read(), "AWAY")] == [["out"]]
