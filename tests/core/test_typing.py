"""
Typing notices and read markers in the core (issue 18): typing is told
live, rate-limited and never stored; a read marker is kept per account,
only moves forward, and reaches every connection of the account.
"""

from chatd.core import commands as cmd
from chatd.core import events as ev
from chatd.core.errors import BadCommand, NotInRoom, NotLoggedIn, NoSuchNick

from chatcore_helpers import fails, result

PASSWORD = "correct horse"


def typing(session, **fields):
    return result(session.handle(cmd.Typing(**fields)))


def test_typing_in_a_room_reaches_its_members_and_is_never_stored(world):
    alice, a = world.member("alice", "#den")
    _, b = world.member("bob", "#den")
    answer = typing(alice, room="#den")
    assert (answer.type, answer.nick, answer.state, answer.room) == ("typing", "alice", "active", "#den")
    assert [(e.type, e.nick, e.state) for e in b.events] == [("typing", "alice", "active")]
    assert result(world.store.last_id("#den")) == 0
    page = result(alice.handle(cmd.History(room="#den")))
    assert page.messages == ()


def test_repeated_active_is_passed_on_once_per_three_seconds_and_changes_always(world):
    alice, _ = world.member("alice", "#den")
    _, b = world.member("bob", "#den")
    for _ in range(5):
        typing(alice, room="#den")  # answered ok each time
        world.clock.advance(0.5)
    assert [e.state for e in b.of_type(ev.TYPING)] == ["active"]
    world.clock.advance(1)
    typing(alice, room="#den")
    typing(alice, room="#den", state="paused")
    typing(alice, room="#den", state="paused")
    typing(alice, room="#den", state="done")
    typing(alice, room="#den", state="active")
    assert [e.state for e in b.of_type(ev.TYPING)] == ["active", "active", "paused", "done", "active"]


def test_typing_to_one_user_reaches_only_that_user(world):
    alice, a = world.member("alice", "#den")
    _, b = world.member("bob", "#den")
    _, c = world.member("carol", "#den")
    typing(alice, to="carol")
    assert [(e.nick, e.to) for e in c.of_type(ev.TYPING)] == [("alice", "carol")]
    assert b.of_type(ev.TYPING) == [] and a.of_type(ev.TYPING) == []
    fails(alice.handle(cmd.Typing(to="nobody")), NoSuchNick)


def test_bad_typing_notices_are_refused_with_the_reason(world):
    alice, _ = world.member("alice", "#den")
    assert "state" in fails(alice.handle(cmd.Typing(room="#den", state="typing")), BadCommand).message
    fails(alice.handle(cmd.Typing()), BadCommand)
    fails(alice.handle(cmd.Typing(room="#den", to="bob")), BadCommand)
    fails(alice.handle(cmd.Typing(room="#elsewhere")), NotInRoom)


# -- read markers --------------------------------------------------------------------------


def logged_in(world, nick, *rooms):
    return world.account(nick, *rooms, password=PASSWORD)


def second_device(world, account):
    session, sink = world.connect()
    result(session.login(account, PASSWORD))
    sink.clear()
    return session, sink


def test_a_read_marker_reaches_every_connection_of_the_account_and_only_moves_forward(world):
    alice, a = logged_in(world, "alice", "#den")
    phone, p = second_device(world, "alice")
    _, b = world.member("bob", "#den")
    answer = result(alice.handle(cmd.Read(room="#den", id=5)))
    assert (answer.type, answer.room, answer.message) == ("read", "#den", 5)
    for sink in (a, p):
        assert [(e.room, e.message) for e in sink.of_type(ev.READ)] == [("#den", 5)]
    assert b.of_type(ev.READ) == []
    # Going back changes nothing and tells nobody.
    assert result(phone.handle(cmd.Read(room="#den", id=3))).message == 5
    assert len(a.of_type(ev.READ)) == 1
    # Asking where it is.
    assert result(phone.handle(cmd.Read(room="#DEN"))).message == 5
    assert result(phone.handle(cmd.Read(room="#other"))).message == 0


def test_a_marker_is_kept_for_the_next_login(world):
    alice, _ = logged_in(world, "alice", "#den")
    world.member("bob")
    result(alice.handle(cmd.Read(to="bob", id=12)))
    alice.close()
    later, _ = second_device(world, "alice")
    marker = result(later.handle(cmd.Read(to="Bob")))
    assert (marker.to, marker.message) == ("Bob", 12)


def test_guests_have_no_read_markers(world):
    guest, _ = world.member("guest", "#den")
    fails(guest.handle(cmd.Read(room="#den", id=1)), NotLoggedIn)
    alice, _ = logged_in(world, "alice")
    fails(alice.handle(cmd.Read(room="#den", to="bob", id=1)), BadCommand)
    fails(alice.handle(cmd.Read(room="#den", id=-1)), BadCommand)


def test_markers_are_kept_only_for_rooms_one_is_in_and_people_who_exist(world):
    alice, _ = logged_in(world, "alice", "#den")
    fails(alice.handle(cmd.Read(room="#elsewhere", id=3)), NotInRoom)
    fails(alice.handle(cmd.Read(to="nobody", id=3)), NoSuchNick)
    logged_in(world, "bob")[0].close()  # an account, offline
    assert result(alice.handle(cmd.Read(to="bob", id=3))).message == 3
    assert result(alice.handle(cmd.Read(room="#elsewhere"))).message == 0  # asking is always fine


def test_a_preference_is_kept_with_the_account(world):
    alice, _ = logged_in(world, "alice")
    assert alice.preference("timestamps") is None
    result(alice.handle(cmd.Set(option="timestamps", value="on")))
    assert alice.preference("timestamps") == "on"
    alice.close()
    later, _ = second_device(world, "alice")
    assert later.preference("timestamps") == "on"
    guest, _ = world.member("guest")
    result(guest.handle(cmd.Set(option="timestamps", value="on")))
    assert guest.preference("timestamps") == "on"
    assert "settings" in fails(guest.handle(cmd.Set(option="colour", value="on")), BadCommand).message
    assert "on or off" in fails(guest.handle(cmd.Set(option="timestamps", value="yes")), BadCommand).message
