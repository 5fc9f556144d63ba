"""
Accounts in the core (docs/accounts.md): registering, logging in by
password and by token, nick protection, one user on several connections,
stored private messages, and every refusal's code.
"""

import pytest

from chatd.core import commands as cmd
from chatd.core import events as ev
from chatd.core.errors import (
    AlreadyLoggedIn, BadPassword, Insecure, InvalidAccount, NickInUse, NickRegistered,
    NoSuchAccount, NotLoggedIn, TooManyAttempts, WeakPassword,
)

from chatcore_helpers import World, fails, result

PASSWORD = "correct horse"


@pytest.fixture
def world():
    return World(nick_grace=30)


def registered(world, nick, *rooms, password=PASSWORD):
    """A user who registered C{nick} (and is logged in to it), in C{rooms}."""
    session, sink = world.member(nick, *rooms)
    result(session.register(password))
    sink.clear()
    return session, sink


def notices(sink):
    return [e.text for e in sink.of_type(ev.NOTICE)]


# -- registering and logging in -------------------------------------------------------------


def test_register_logs_in_and_gives_a_token(world):
    alice, _ = world.connect("alice")
    answer = result(alice.register(PASSWORD, "alice@example.org"))
    assert (answer.account, answer.nick) == ("alice", "alice") and len(answer.token) >= 40
    assert alice.user.account == "alice"
    record = result(world.store.account("alice"))
    assert record.name == "alice" and record.email == "alice@example.org"
    assert PASSWORD not in record.password_hash and record.password_hash.startswith("$argon2")


def register(session, password=PASSWORD):
    """Register through the one entry point, as a client does."""
    return session.handle(cmd.Register(password=password))


def test_register_refusals(world):
    bob, _ = world.connect("bob")
    assert fails(register(bob, "short"), WeakPassword).code == "weak-password"
    dodgy, _ = world.connect("d\u00e9j\u00e0\u2122x")  # ™ is not a PRECIS username character
    assert fails(register(dodgy), InvalidAccount).code == "invalid-account"
    nameless, _ = world.connect()
    assert fails(register(nameless), Exception).code == "no-nick"
    alice2, _ = world.connect("Alice2")
    result(register(alice2))
    assert fails(register(alice2), AlreadyLoggedIn).code == "already-logged-in"


def test_an_account_name_is_registered_once_and_its_look_alikes_are_taken(world):
    alice, _ = registered(world, "alice")
    alice.close()
    squatter, _ = world.connect("alice")
    assert fails(register(squatter), NickRegistered).code == "nick-registered"
    assert fails(squatter.set_nick("A1ice"), NickRegistered).code == "nick-registered"


def test_login_by_password_then_by_token(world):
    alice, _ = registered(world, "alice")
    token = result(alice.login(password=PASSWORD)).token
    alice.close()
    tab, tab_sink = world.connect()
    answer = result(tab.login(token=token))
    assert answer.account == "alice" and tab.nick == "alice" and answer.token == token
    assert result(tab.handle(cmd.Logout())) is None
    other, _ = world.connect()
    assert fails(other.login(token=token), BadPassword).code == "bad-password", "logout revokes the token"


def test_a_token_expires(world):
    alice, _ = registered(world, "alice")
    token = result(alice.login(password=PASSWORD)).token
    alice.close()
    world.clock.advance(31 * 86400)
    later, _ = world.connect()
    assert fails(later.login(token=token), BadPassword).code == "bad-password"


def test_wrong_passwords_are_throttled_per_account(world):
    alice, _ = registered(world, "alice")
    alice.close()
    for n in range(3):
        guesser, _ = world.connect(f"guess{n}", host=f"192.0.2.{n}")
        assert fails(guesser.login("alice", "wrong password"), BadPassword).code == "bad-password"
    guesser, _ = world.connect("guess9", host="192.0.2.9")
    refused = fails(guesser.login("alice", PASSWORD), TooManyAttempts)
    assert refused.code == "too-many-attempts" and "account" in refused.message
    world.clock.advance(61)
    assert result(guesser.login("alice", PASSWORD)).account == "alice"


def test_wrong_passwords_are_throttled_per_address(world):
    for n in range(5):
        registered(world, f"user{n}")[0].close()
    guesser, _ = world.connect("guesser", host="198.51.100.7")
    for n in range(10):
        fails(guesser.login(f"user{n % 5}", "wrong password"), BadPassword)
    refused = fails(guesser.login("user0", PASSWORD), TooManyAttempts)
    assert refused.code == "too-many-attempts" and "address" in refused.message


def test_unknown_accounts_and_missing_logins(world):
    alice, _ = world.connect("alice")
    assert fails(alice.login("nobody", PASSWORD), NoSuchAccount).code == "no-such-account"
    assert fails(alice.handle(cmd.Logout()), NotLoggedIn).code == "not-logged-in"


def test_passwords_are_refused_in_clear_over_the_network(world):
    remote, _ = world.connect("remote", host="203.0.113.5", secure=False)
    assert fails(remote.handle(cmd.Register(password=PASSWORD)), Insecure).code == "insecure"
    assert fails(remote.handle(cmd.Login(account="remote", password=PASSWORD)), Insecure).code == "insecure"
    allowed = World(allow_cleartext=True)
    remote, _ = allowed.connect("remote", host="203.0.113.5", secure=False)
    assert result(remote.register(PASSWORD)).account == "remote"


def test_passwd_and_drop(world):
    alice, _ = registered(world, "alice")
    fails(alice.passwd("not it at all", "new password!"), BadPassword)
    result(alice.passwd(PASSWORD, "new password!"))
    other, _ = world.connect()
    fails(other.login("alice", PASSWORD), BadPassword)
    assert result(other.login("alice", "new password!")).account == "alice"
    other.close()
    fails(alice.drop("wrong one!!"), BadPassword)
    result(alice.drop("new password!"))
    assert alice.user.account is None and result(world.store.account("alice")) is None


# -- nick protection -------------------------------------------------------------------------


def test_a_registered_nick_is_renamed_after_the_grace_period(world):
    alice, _ = registered(world, "alice", "#lobby")
    alice.close()
    _, watcher = world.member("watcher", "#lobby")
    squatter, sink = world.connect("alice")
    assert any("belongs to the account alice" in text for text in notices(sink))
    result(squatter.join("#lobby"))
    watcher.clear()
    world.clock.advance(29)
    assert squatter.nick == "alice"
    world.clock.advance(2)
    assert squatter.nick.startswith("Guest-")
    assert any(f"You are now {squatter.nick}" in text for text in notices(sink))
    [renamed] = watcher.of_type(ev.NICK)
    assert (renamed.old, renamed.nick) == ("alice", squatter.nick)


def test_logging_in_in_time_keeps_the_nick(world):
    registered(world, "alice")[0].close()
    mine, _ = world.connect("alice")
    result(mine.login(password=PASSWORD))
    world.clock.advance(60)
    assert mine.nick == "alice" and mine.user.account == "alice"


def test_a_look_alike_of_an_account_is_refused(world):
    registered(world, "alice")[0].close()
    faker, _ = world.connect()
    refused = fails(faker.set_nick("\u0430lice"), NickRegistered)
    assert refused.code == "nick-registered" and "account alice" in refused.message


def test_logging_in_from_a_nickless_session_takes_the_account_nick_from_a_squatter(world):
    registered(world, "alice")[0].close()
    squatter, squatter_sink = world.connect("alice")
    owner, _ = world.connect()
    result(owner.login("alice", PASSWORD))
    assert owner.nick == "alice" and squatter.nick.startswith("Guest-")
    assert any("alice logged in" in text for text in notices(squatter_sink))


def test_ghost_disconnects_a_squatter(world):
    registered(world, "alice")[0].close()
    squatter, squatter_sink = world.connect("alice")
    owner, _ = world.connect("owner")
    result(owner.login("alice", PASSWORD))
    assert owner.nick == "owner"
    result(owner.ghost("alice"))
    assert squatter.closed and squatter_sink.disconnects
    result(owner.set_nick("alice"))
    assert owner.nick == "alice"


# -- one user, several connections --------------------------------------------------------------


def test_two_connections_of_an_account_are_one_user(world):
    phone, phone_sink = registered(world, "alice", "#lobby")
    token = result(phone.login(password=PASSWORD)).token
    bob, bob_sink = world.member("bob", "#lobby")
    laptop, laptop_sink = world.connect()
    result(laptop.login(token=token))
    assert laptop.user is phone.user and laptop.nick == "alice"
    assert "#lobby" in {room.name for room in laptop.rooms.values()}
    assert laptop_sink.types()[:3] == ["join", "members", "history"]
    assert world.members("#lobby") == ("alice", "bob")
    assert [e.type for e in bob_sink.events if e.type == ev.JOIN] == [], "the room saw no second alice"

    result(phone.join("#new"))
    assert "#new" in laptop.rooms, "a room joined on one connection is joined on all"
    phone_sink.clear(), laptop_sink.clear()
    result(phone.say("#lobby", "from my phone"))
    assert [e.text for e in laptop_sink.of_type(ev.MESSAGE)] == ["from my phone"]
    result(bob.private("alice", "psst"))
    assert [e.text for e in phone_sink.of_type(ev.PRIVATE)] == ["psst"]
    assert [e.text for e in laptop_sink.of_type(ev.PRIVATE)] == ["psst"]

    phone.close()
    assert [e for e in bob_sink.events if e.type == ev.QUIT] == [], "alice is still there on her laptop"
    laptop.close()
    assert bob_sink.of_type(ev.QUIT)[-1].nick == "alice"


def test_private_messages_between_accounts_are_stored_and_replayed(world):
    alice, alice_sink = registered(world, "alice")
    bob, bob_sink = registered(world, "bob")
    sent = result(alice.private("bob", "one"))
    result(alice.private("bob", "two"))
    assert sent.id == 1 and [e.id for e in bob_sink.of_type(ev.PRIVATE)] == [1, 2]
    bob.close()
    result(alice.private("bob", "while you were out"))
    back, back_sink = world.connect()
    result(back.login("bob", PASSWORD, since=2))
    [replay] = back_sink.of_type(ev.PRIVATES)
    assert [(m.id, m.text) for m in replay.messages] == [(3, "while you were out")] and not replay.truncated
    again, again_sink = world.connect()
    result(again.login("bob", PASSWORD))
    assert [m.text for m in again_sink.of_type(ev.PRIVATES)[0].messages] == ["one", "two", "while you were out"]


def test_a_message_to_an_offline_nick_without_an_account_is_refused(world):
    alice, _ = registered(world, "alice")
    assert fails(alice.private("nobody", "hello?"), Exception).code == "no-such-nick"


def test_whois_shows_addresses_to_server_operators_only():
    world = World(operators=("root",))
    registered(world, "root")
    alice, _ = world.member("alice", "#lobby")
    bob, _ = world.connect("bob")
    seen = result(bob.whois("alice"))
    assert seen.rooms == ("#lobby",) and seen.address is None
    root = world.holder("root")
    assert "127.0.0.1" in result(root.whois("alice")).address


def test_nick_in_use_is_still_refused_for_online_users(world):
    world.connect("alice")
    bob, _ = world.connect("bob")
    assert fails(bob.set_nick("ALICE"), NickInUse).code == "nick-in-use"


def test_a_connection_joining_an_account_online_elsewhere_is_told_it_left_its_own_rooms(world):
    phone, _ = registered(world, "alice", "#one")
    token = result(phone.login(password=PASSWORD)).token
    laptop, laptop_sink = world.member("lurker", "#two")
    result(laptop.login(token=token))
    parts = [(e.room, e.nick) for e in laptop_sink.of_type(ev.PART)]
    assert parts == [("#two", "lurker")]
    assert laptop_sink.types().index("part") < laptop_sink.types().index("join")
    assert [(e.room) for e in laptop_sink.of_type(ev.JOIN)] == ["#one"]


def test_logging_out_one_of_several_connections_shows_it_leaving_and_its_new_nick(world):
    phone, _ = registered(world, "alice", "#one")
    token = result(phone.login(password=PASSWORD)).token
    laptop, laptop_sink = world.connect()
    result(laptop.login(token=token))
    laptop_sink.clear()
    result(laptop.logout())
    assert [(e.room, e.nick) for e in laptop_sink.of_type(ev.PART)] == [("#one", "alice")]
    (renamed,) = laptop_sink.of_type(ev.NICK)
    assert renamed.old == "alice" and renamed.nick == laptop.nick and laptop.nick.startswith("Guest-")
    assert phone.nick == "alice" and "#one" in phone.rooms


def test_a_tab_that_resumes_a_room_its_account_kept_gets_what_it_missed(world):
    """
    A tab logging in finds itself in the rooms its account's other
    connection kept; its join with since still replays what it missed,
    then goes live without a gap or a duplicate.
    """
    alice, _ = registered(world, "alice")
    token = result(alice.login(password=PASSWORD)).token
    result(alice.join("#lobby"))
    bob, _ = world.member("bob", "#lobby")
    for text in ("one", "two", "three"):
        result(bob.say("#lobby", text))
    tab, sink = world.connect()
    result(tab.login(token=token))
    sink.events.clear()
    result(tab.join("#lobby", since=1))
    [history] = sink.of_type(ev.HISTORY)
    assert [m.text for m in history.messages] == ["two", "three"] and history.truncated is False
    result(bob.say("#lobby", "four"))
    assert [m.text for m in sink.of_type(ev.MESSAGE)] == ["four"]
