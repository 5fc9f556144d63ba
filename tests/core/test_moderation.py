"""
Registered rooms, roles, modes and moderation in the core
(docs/accounts.md): who may do what, and what every member sees.
"""

import pytest

from chatd.core import events as ev
from chatd.core.errors import (
    BadKey, Banned, InvalidMask, InviteOnly, Muted, NoSuchMessage, NotInRoom, NotLoggedIn, NotOperator,
    NotRegisteredRoom, RoomFull, RoomRegistered,
)

from chatcore_helpers import World, fails, raises, result

PASSWORD = "correct horse"


@pytest.fixture
def world():
    return World(operators=("root",))


def account(world, nick, *rooms):
    return world.account(nick, *rooms, password=PASSWORD)


def den(world):
    """#den registered by alice (founder), bob logged in, carol a guest: all in it."""
    alice, a = account(world, "alice", "#den")
    result(alice.room_command("#den", "register"))
    bob, b = account(world, "bob", "#den")
    carol, c = world.member("carol", "#den")
    world.settle()
    return (alice, a), (bob, b), (carol, c)


# -- registration --------------------------------------------------------------------------------


def test_the_creator_registers_a_room_and_everyone_sees_it(world):
    alice, a = account(world, "alice", "#den")
    _, watcher = world.member("watcher", "#den")
    event = result(alice.room_command(None, "register"))
    assert (event.type, event.action, event.founder, event.by) == ("room", "registered", "alice", "alice")
    assert watcher.of_type(ev.ROOM)[0].action == "registered"
    record = result(world.store.room("#den"))
    assert record.settings["registered"] and record.settings["founder"] == "alice"
    assert result(world.store.roles("#den")) == {"alice": "founder"}


def test_who_may_register(world):
    _, _ = world.member("first", "#den")
    late, _ = account(world, "late", "#den")
    assert raises(RoomRegistered, late.room_command, "#den", "register").code == "room-registered"
    guest, _ = world.member("guest", "#solo")
    assert raises(NotLoggedIn, guest.room_command, "#solo", "register").code == "not-logged-in"
    root, _ = account(world, "root", "#den")
    assert result(root.room_command("#den", "register")).founder == "root"
    assert raises(RoomRegistered, late.room_command, "#den", "register").code == "room-registered"


def test_an_unregistered_room_gives_nobody_rights(world):
    first, _ = account(world, "first", "#open")
    world.member("second", "#open")
    refused = raises(NotRegisteredRoom, first.kick, "#open", "second")
    assert refused.code == "not-registered-room"


def test_a_registered_room_keeps_its_settings_while_empty(world):
    (alice, _), (bob, _), (carol, _) = den(world)
    result(alice.mode("#den", "+t"))
    for session in (alice, bob, carol):
        session.close()
    back, _ = account(world, "back", "#den")
    modes = result(back.mode("#den"))
    assert (modes.modes, modes.founder) == ("+t", "alice")


# -- roles -------------------------------------------------------------------------------------------


def test_roles_are_given_by_the_right_people_and_shown(world):
    (alice, a), (bob, b), (carol, c) = den(world)
    assert raises(NotOperator, bob.give_role, "voice", "#den", "alice").code == "not-operator"
    result(alice.give_role("op", "#den", "bob"))
    [role] = c.of_type(ev.ROLE)
    assert (role.nick, role.role, role.by) == ("bob", "operator", "alice")
    assert raises(NotLoggedIn, bob.give_role, "voice", "#den", "carol").code == "not-logged-in"
    members = result(carol.who("#den"))
    assert dict(members.roles) == {"alice": "founder", "bob": "operator"}
    assert raises(NotOperator, bob.give_role, "op", "#den", "bob").code == "not-operator", "only the founder ops"


def test_a_role_comes_back_with_the_account(world):
    (alice, _), (bob, _), _ = den(world)
    result(alice.give_role("voice", "#den", "bob"))
    bob.close()
    again, _ = world.connect()
    result(again.login("bob", PASSWORD))
    result(again.join("#den"))
    assert again.role_in(again.rooms["#den"]) == "voice"


# -- kick, ban, mute -------------------------------------------------------------------------------


def test_kick_is_seen_by_everyone_and_only_operators_kick(world):
    (alice, a), (bob, b), (carol, c) = den(world)
    assert raises(NotOperator, carol.kick, "#den", "bob").code == "not-operator"
    alice.kick("#den", "carol", "rude")
    for sink in (a, b, c):
        [kick] = sink.of_type(ev.KICK)
        assert (kick.nick, kick.by, kick.reason) == ("carol", "alice", "rude")
    assert "#den" not in carol.rooms and not carol.closed


@pytest.mark.parametrize("mask", ["carol", "c*l", "~a:bob", "127.0.0.1", "127.0.0.0/8"])
def test_a_ban_puts_out_who_it_matches_and_keeps_them_out(world, mask):
    (alice, a), (bob, b), (carol, c) = den(world)
    event = result(alice.ban("#den", mask, reason="spam"))
    assert event.type == "ban" and event.reason == "spam"
    kicked = {e.nick for e in a.of_type(ev.KICK)}
    expected = {"~a:bob": {"bob"}, "127.0.0.1": {"bob", "carol"}, "127.0.0.0/8": {"bob", "carol"}}.get(mask, {"carol"})
    assert kicked == expected, "the banner is never put out by their own ban"
    victim = next(iter(expected))
    session = bob if victim == "bob" else carol
    assert fails(session.join("#den"), Banned).code == "banned"


def test_bans_expire_can_be_lifted_and_listed(world):
    (alice, _), (bob, _), (carol, _) = den(world)
    result(alice.ban("#den", "carol", duration=60))
    assert [b.mask for b in result(alice.list_bans("#den")).bans] == ["carol"]
    fails(carol.join("#den"), Banned)
    world.clock.advance(61)
    result(carol.join("#den"))
    result(alice.ban("#den", "~a:bob"))
    result(alice.unban("#den", "~a:bob"))
    assert fails(alice.unban("#den", "~a:bob"), InvalidMask).code == "invalid-mask"
    assert raises(InvalidMask, alice.ban, "#den", "two words").code == "invalid-mask"


def test_mute_and_moderated(world):
    (alice, a), (bob, b), (carol, c) = den(world)
    alice.mute("#den", "carol", duration=30)
    assert raises(Muted, carol.say, "#den", "hello").code == "muted"
    world.clock.advance(31)
    result(carol.say("#den", "back"))
    result(alice.mode("#den", "+m"))
    assert raises(Muted, carol.say, "#den", "again").code == "muted"
    result(alice.give_role("voice", "#den", "bob"))
    result(bob.say("#den", "I have voice"))


# -- modes ------------------------------------------------------------------------------------------


def test_topic_lock(world):
    (alice, _), (bob, _), _ = den(world)
    result(bob.set_topic("#den", "anyone may"))
    result(alice.mode("#den", "+t"))
    assert raises(NotOperator, bob.set_topic, "#den", "not now").code == "not-operator"
    result(alice.set_topic("#den", "the founder may"))


def test_invite_only_key_and_limit(world):
    (alice, a), (bob, _), (carol, _) = den(world)
    carol.part("#den")
    result(alice.mode("#den", "+i"))
    assert fails(carol.join("#den"), InviteOnly).code == "invite-only"
    result(alice.invite("#den", "carol"))
    result(carol.join("#den"))
    carol.part("#den")
    assert fails(carol.join("#den"), InviteOnly).code == "invite-only", "an invitation is used once"
    result(alice.mode("#den", "-i+k", "sesame"))
    assert fails(carol.join("#den"), BadKey).code == "bad-key"
    result(carol.join("#den", key="sesame"))
    carol.part("#den")
    result(alice.mode("#den", "-k+l", "2"))
    assert fails(carol.join("#den"), RoomFull).code == "room-full"
    assert result(alice.mode("#den")).limit == 2


# -- deleting -------------------------------------------------------------------------------------------


def test_authors_and_operators_delete(world):
    (alice, a), (bob, b), (carol, c) = den(world)
    mine = result(carol.say("#den", "oops"))
    bobs = result(bob.say("#den", "bob's"))
    assert fails(carol.delete("#den", bobs.id), NotOperator).code == "not-operator"
    result(carol.delete("#den", mine.id))
    result(alice.delete("#den", bobs.id))
    assert [(e.message, e.by) for e in b.of_type(ev.DELETE)] == [(mine.id, "carol"), (bobs.id, "alice")]
    assert result(world.store.recent("#den", 10))[0] == []
    assert fails(alice.delete("#den", 999), NoSuchMessage).code == "no-such-message"


# -- server operators --------------------------------------------------------------------------------------


def test_server_operators_moderate_every_room(world):
    (alice, a), _, (carol, c) = den(world)
    root, _ = account(world, "root", "#den")
    root.kick("#den", "alice", "even founders")
    assert a.of_type(ev.KICK)[0].by == "root"
    _, nobody = world.member("nobody", "#unregistered")
    root_unreg = result(root.join("#unregistered"))
    assert root_unreg.type == "members"
    root.kick("#unregistered", "nobody")
    assert nobody.of_type(ev.KICK)


def test_kill_announce_and_server_bans(world):
    den(world)
    root, _ = account(world, "root")
    mallory, m = world.member("mallory", "#den")
    result(root.kill("mallory", "spam"))
    assert mallory.closed and m.disconnects[0] == "Killed by root: spam"
    _, listener = world.connect("listener")
    root.announce("maintenance at noon")
    assert listener.of_type(ev.NOTICE)[-1].text == "maintenance at noon"
    bad, bad_sink = account(world, "bad")
    result(root.server_ban("~a:bad", reason="abuse"))
    assert bad.closed and "Banned from this server" in bad_sink.disconnects[0]
    again, _ = world.connect()
    assert fails(again.login("bad", PASSWORD), Banned).code == "banned"
    assert [b.mask for b in root.server_bans().bans] == ["~a:bad"]
    result(root.server_unban("~a:bad"))
    assert result(again.login("bad", PASSWORD)).account == "bad"
    plain, _ = world.connect("plain")
    assert raises(NotOperator, plain.announce, "hi all").code == "not-operator"


def test_kicking_someone_not_in_the_room(world):
    (alice, _), _, _ = den(world)
    assert raises(NotInRoom, alice.kick, "#den", "ghost").code == "not-in-room"


def test_a_mute_follows_the_user_not_the_nick(world):
    (alice, _), (bob, _), (carol, _) = den(world)
    alice.mute("#den", "carol")
    result(carol.set_nick("caroline"))
    assert raises(Muted, carol.say, "#den", "free?").code == "muted"
    carol.close()
    newcomer, _ = world.member("carol", "#den")
    result(newcomer.say("#den", "I am someone else"))
    alice.mute("#den", "bob")
    bob.close()
    back, _ = world.connect()
    result(back.login("bob", PASSWORD))
    result(back.join("#den"))
    assert raises(Muted, back.say, "#den", "still?").code == "muted", "an account's mute follows it"


def test_a_nick_squatter_cannot_delete_the_accounts_messages(world):
    (alice, _), _, _ = den(world)
    mine = result(alice.say("#den", "my words"))
    alice.close()
    squatter, _ = world.member("alice", "#den")
    assert fails(squatter.delete("#den", mine.id), NotOperator).code == "not-operator"


def test_nobody_bans_the_founder(world):
    (alice, _), (bob, _), _ = den(world)
    result(alice.give_role("op", "#den", "bob"))
    assert raises(NotOperator, bob.ban, "#den", "~a:alice").code == "not-operator"
    result(bob.ban("#den", "127.0.0.0/8"))
    alice.part("#den")
    result(alice.join("#den"))


def test_anyone_reads_a_rooms_bans(world):
    (alice, _), _, _ = den(world)
    result(alice.ban("#den", "spam*", reason="spam"))
    outsider, _ = world.connect("outsider")
    listing = result(outsider.list_bans("#den"))
    assert [(b.mask, b.reason) for b in listing.bans] == [("spam*", "spam")]


def test_registering_and_transferring_a_room_show_the_roles_they_give(world):
    alice, a = account(world, "alice", "#den")
    bob, b = account(world, "bob", "#den")
    result(alice.room_command("#den", "register"))
    assert [(e.nick, e.role) for e in b.of_type(ev.ROLE)] == [("alice", "founder")]
    b.clear()
    result(alice.room_command("#den", "transfer", "bob"))
    assert sorted((e.nick, e.role) for e in b.of_type(ev.ROLE)) == [("alice", "operator"), ("bob", "founder")]
    assert b.types().index("room") < b.types().index("role")
