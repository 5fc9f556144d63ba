"""
IRC moderation in a registered room, in memory: MODE, KICK, INVITE and bans
mapped onto chatd's roles and rules, with terminal users in the same room.
"""

from ircworld import PASSWORD, SERVER, changes, commands, den, only, world  # noqa: F401


# -- moderation in a registered room ----------------------------------------------------------------------


def test_the_founder_shows_as_op(den):
    alice, bob, carol, dave = den
    dave.send("NAMES #den")
    assert set(dave.read()[0].params[-1].split()) == {"@alice", "bob", "carol", "dave"}


def test_mode_changes_map_to_chatd_roles_and_bans(den):
    alice, bob, carol, dave = den
    alice.send("MODE #den +o bob")
    expected = [(f"alice!~alice@user/alice", "MODE", ["#den", "+o", "bob"])]
    assert [(line.source, line.command, line.params) for line in dave.read()] == expected
    assert any("bob" in line and "operator" in line for line in carol.output())
    alice.send("MODE #den +v carol")
    assert ("+v", "carol") in changes(only(dave.read(), "MODE"))
    bob.send("MODE #den +b spam*!*@*")
    assert [line.params for line in only(dave.read(), "MODE")] == [["#den", "+b", "spam*!*@*"]]
    carol.output()
    carol.type("/bans")
    assert any("spam*" in line for line in carol.output())
    dave.send("MODE #den b")
    seen = dave.read()
    assert commands(seen) == ["367", "368"]
    assert seen[0].params[:4] == ["dave", "#den", "spam*!*@*", "bob"]
    dave.send("NAMES #den")
    assert set(dave.read()[0].params[-1].split()) == {"@alice", "@bob", "+carol", "dave"}
    alice.send("MODE #den -o bob")
    assert ("-o", "bob") in changes(only(dave.read(), "MODE"))
    dave.send("NAMES #den")
    assert set(dave.read()[0].params[-1].split()) == {"@alice", "bob", "+carol", "dave"}
    alice.send("MODE #den +m")
    assert [line.params for line in only(dave.read(), "MODE")] == [["#den", "+m"]]
    dave.send("PRIVMSG #den :can I talk?")
    assert commands(dave.read()) == ["404"]
    alice.send("MODE #den")
    assert set(only(alice.read(), "324")[0].params[2]) == set("+mn")


def test_a_non_operator_gets_482(den):
    alice, bob, carol, dave = den
    alice.send("MODE #den +t")
    alice.read()
    dave.read()
    for change in ("MODE #den +m", "MODE #den +b x!*@*", "MODE #den +k sesame", "TOPIC #den :mine now"):
        dave.send(change)
        seen = dave.read()
        assert [(line.command, line.params[:2]) for line in seen] == [("482", ["dave", "#den"])], change
    for change in ("MODE #den +o dave", "KICK #den bob"):
        dave.send(change)
        assert commands(dave.read()) == ["482"], change
    assert only(alice.read(), "MODE") == [] and bob.connected


def test_kick(den):
    alice, bob, carol, dave = den
    alice.send("KICK #den dave :behave")
    expected = [(f"alice!~alice@user/alice", "KICK", ["#den", "dave", "behave"])]
    assert [(line.source, line.command, line.params) for line in dave.read()] == expected
    assert [(line.source, line.command, line.params) for line in bob.read()] == expected
    assert any("dave" in line and "kick" in line for line in carol.output())
    dave.send("PRIVMSG #den :still here?")
    assert [(line.command, line.params[:2]) for line in dave.read()] == [("404", ["dave", "#den"])]


def test_invite(den):
    alice, bob, carol, dave = den
    dave.send("PART #den")
    alice.send("MODE #den +i")
    assert [line.params for line in only(alice.read(), "MODE")] == [["#den", "+i"]]
    dave.send("JOIN #den")
    assert commands(dave.read())[-1] == "473"
    alice.send("INVITE dave #den")
    assert [(line.command, line.params) for line in alice.read()] == [("341", ["alice", "dave", "#den"])]
    assert [(line.source, line.command, line.params) for line in dave.read()] == [
        (f"alice!~alice@user/alice", "INVITE", ["dave", "#den"])]
    dave.send("JOIN #den")
    assert commands(dave.read())[0] == "JOIN"


def test_a_terminal_operators_mute_is_enforced_on_irc(den):
    """chatd's mute has no IRC mode, but an IRC member muted from a terminal gets 404 when it speaks."""
    alice, bob, carol, dave = den
    alice.send("MODE #den +o carol")
    carol.output()
    carol.type("/mute dave")
    dave.read()
    dave.send("PRIVMSG #den :hello?")
    refused = dave.read()
    assert [(line.command, line.params[:2]) for line in refused] == [("404", ["dave", "#den"])]
    assert not any("hello?" in line for line in carol.output())
    carol.type("/unmute dave")
    dave.send("PRIVMSG #den :thanks")
    assert "[#den] <dave> thanks" in carol.output()


def test_a_ban_puts_an_irc_member_out_and_keeps_it_out(den):
    alice, bob, carol, dave = den
    alice.send("MODE #den +b dave!*@*")
    seen = dave.read()
    assert [(line.command, line.params[:3]) for line in seen] == [
        ("MODE", ["#den", "+b", "dave!*@*"]), ("KICK", ["#den", "dave", seen[-1].params[2]])]
    dave.send("JOIN #den")
    assert [(line.command, line.params[:2]) for line in dave.read()] == [("474", ["dave", "#den"])]
    alice.send("MODE #den -b dave!*@*", "MODE #den +k sesame")
    dave.send("JOIN #den")
    assert [(line.command, line.params[:2]) for line in dave.read()] == [("475", ["dave", "#den"])]
    dave.send("JOIN #den sesame")
    assert commands(dave.read())[:3] == ["JOIN", "353", "366"]


def test_the_ban_masks_clients_build_by_default_ban_the_nick(den):
    """
    WeeChat's default ban (*!*@host), irssi's (*!*user@*) and a plain
    nick!*@* each ban dave, and only dave; a mask naming nobody is refused.
    """
    alice, bob, carol, dave = den
    for mask in ("*!*@user/dave", "*!*dave@*", "*!~dave@*", "dave!*@*"):
        alice.send(f"MODE #den +b {mask}")
        alice.read()
        carol.output()
        carol.type("/bans")
        listed = [line for line in carol.output() if "dave" in line]
        assert listed and not any("*dave" in line for line in listed), (mask, listed)
        alice.send(f"MODE #den -b {mask}")
        alice.read()
    alice.send("MODE #den +b *!*@*")
    (fail,) = [line for line in alice.read() if line.command in ("FAIL", "NOTICE")]
    assert "would ban everyone" in fail.params[-1]


def test_room_registration_is_told_in_words(world):
    """The founder registering a room from a terminal: IRC members see who did it and who the founder is."""
    world.account("alice")
    alice = world.terminal("alice")
    alice.type(f"/identify {PASSWORD}", "/join #new")
    watcher = world.irc_user("watcher", "#new")
    alice.type("/room register")
    (notice,) = only(watcher.read(), "NOTICE")
    assert notice.source == SERVER and notice.params == ["#new", "alice registered #new; its founder is alice"]


def test_kicking_someone_not_in_the_room_is_441_and_kicking_from_outside_442(den):
    """The founder kicking a nick that is not in #den hears 441; kicking from a room it is not in, 442."""
    alice, bob, carol, dave = den
    alice.send("KICK #den nobody :bye")
    (refusal,) = alice.read()
    assert (refusal.command, refusal.params[1:3]) == ("441", ["nobody", "#den"])
    alice.send("KICK #elsewhere dave :bye")
    (refusal,) = alice.read()
    assert (refusal.command, refusal.params[1]) == ("442", "#elsewhere")
