"""
The core on several nodes (docs/cluster.md): two hubs sharing a store,
presence, a bus and directives (tests/core/fakecluster.py), so that every
chat rule is seen to hold whichever node each user is on.
"""

import pytest

from chatd.core import events as ev
from chatd.core.errors import Banned, InviteOnly, Muted, NickInUse, NotInRoom, RoomFull, RoomRegistered

from chatcore_helpers import fails, raises, result
from fakecluster import Cluster

PASSWORD = "correct horse"


@pytest.fixture
def cluster():
    return Cluster(operators=("root",))


def both(cluster):
    return cluster.node("n1"), cluster.node("n2")


def account(node, nick, *rooms):
    session, sink = node.connect(nick)
    result(session.register(PASSWORD))
    for room in rooms:
        result(session.join(room))
    node.cluster.pump()
    sink.clear()
    return session, sink


def said(sink):
    return [(e.id, e.text) for e in sink.events if e.type in (ev.MESSAGE, ev.ACTION)]


def den(cluster):
    """#den registered by alice on n1; bob (logged in) and carol (a guest) on n2."""
    n1, n2 = both(cluster)
    alice, a = account(n1, "alice", "#den")
    result(alice.room_command("#den", "register"))
    bob, b = account(n2, "bob", "#den")
    carol, c = n2.member("carol", "#den")
    cluster.pump()
    for sink in (a, b, c):
        sink.clear()
    return n1, n2, (alice, a), (bob, b), (carol, c)


# -- rooms and messages ----------------------------------------------------------------------


def test_messages_from_both_nodes_reach_everyone_once_in_id_order(cluster):
    n1, n2 = both(cluster)
    alice, a = n1.member("alice", "#r")
    bob, b = n2.member("bob", "#r")
    cluster.pump()
    a.clear(), b.clear()
    result(alice.say("#r", "one"))
    result(bob.say("#r", "two"))
    result(alice.say("#r", "three"))
    assert said(a) == said(b) == []  # nothing is shown before the bus brings it back
    cluster.pump()
    assert said(a) == said(b) == [(1, "one"), (2, "two"), (3, "three")]


def test_a_join_on_one_node_is_seen_on_the_other_and_members_span_both(cluster):
    n1, n2 = both(cluster)
    alice, a = n1.member("alice", "#r")
    bob, b = n2.connect("bob")
    members = result(bob.join("#r"))
    assert members.nicks == ("alice", "bob")
    cluster.pump()
    assert [(e.type, e.nick) for e in a.events] == [("join", "bob")]
    assert b.types().count("join") == 1  # its own join, once, not again from the bus
    assert result(alice.who("#r")).nicks == ("alice", "bob")
    assert result(bob.list_rooms()).rooms == (ev.RoomInfo("#r", 2, ""),)


def test_a_second_connection_joining_late_gets_history_then_live_without_a_repeat(cluster):
    n1, n2 = both(cluster)
    alice, a = n1.member("alice", "#r")
    for n in range(3):
        result(alice.say("#r", f"m{n}"))
    bob, b = n2.connect("bob")
    result(bob.join("#r"))
    result(alice.say("#r", "m3"))
    cluster.pump()
    history = b.of_type(ev.HISTORY)[0]
    seen = [m.id for m in history.messages] + [e.id for e in b.of_type(ev.MESSAGE)]
    assert seen == [1, 2, 3, 4]


def test_a_quit_part_and_topic_cross_nodes(cluster):
    n1, n2 = both(cluster)
    alice, a = n1.member("alice", "#r", "#s")
    bob, b = n2.member("bob", "#r", "#s")
    cluster.pump()
    a.clear()
    result(bob.set_topic("#r", "news"))
    bob.part("#s", "later")
    bob.close("gone home")
    cluster.pump()
    assert [(e.type, e.room) for e in a.events] == [("topic", "#r"), ("part", "#s"), ("quit", "#r")]
    assert result(alice.topic("#r")).topic == "news"


def test_a_nick_change_is_seen_by_members_on_the_other_node(cluster):
    n1, n2 = both(cluster)
    alice, a = n1.member("alice", "#r")
    bob, b = n2.member("bob", "#r")
    cluster.pump()
    a.clear()
    result(bob.set_nick("bea"))
    cluster.pump()
    assert [(e.type, e.nick, e.old) for e in a.events] == [("nick", "bea", "bob")]
    assert result(alice.who("#r")).nicks == ("alice", "bea")


# -- nicks ------------------------------------------------------------------------------------


def test_a_nick_is_unique_across_nodes(cluster):
    n1, n2 = both(cluster)
    n1.connect("alice")
    other, _ = n2.connect()
    assert "alice" in raises(NickInUse, other.set_nick, "ALICE").message
    assert raises(NickInUse, other.set_nick, "a1ice").code == "nick-in-use"


def test_a_nick_is_free_once_its_holder_left_its_node(cluster):
    n1, n2 = both(cluster)
    alice, _ = n1.connect("alice")
    alice.close("bye")
    other, _ = n2.connect()
    assert result(other.set_nick("alice")) is None


# -- users on the other node -----------------------------------------------------------------


def test_a_private_message_reaches_a_user_on_the_other_node(cluster):
    n1, n2 = both(cluster)
    alice, a = n1.connect("alice")
    bob, b = n2.connect("bob")
    result(alice.private("bob", "psst"))
    cluster.pump()
    assert [(e.nick, e.to, e.text) for e in b.of_type(ev.PRIVATE)] == [("alice", "bob", "psst")]
    assert [(e.nick, e.to) for e in a.of_type(ev.PRIVATE)] == [("alice", "bob")]


def test_whois_of_a_user_on_the_other_node(cluster):
    n1, n2 = both(cluster)
    root, _ = account(n1, "root")
    bob, _ = n2.connect("bob", host="192.0.2.9")
    result(bob.join("#r"))
    cluster.pump()
    whois = result(root.whois("bob"))
    assert (whois.nick, whois.rooms, whois.address) == ("bob", ("#r",), "192.0.2.9")


def test_an_operator_kicks_a_member_on_the_other_node(cluster):
    n1, n2, (alice, a), (bob, b), (carol, c) = den(cluster)
    result(alice.kick("#den", "carol", "enough"))
    cluster.pump()
    assert [(e.type, e.nick, e.by, e.reason) for e in a.of_type(ev.KICK)] == [("kick", "carol", "alice", "enough")]
    assert [(e.type, e.nick) for e in c.of_type(ev.KICK)] == [("kick", "carol")]
    assert "#den" not in {r.name for r in carol.rooms.values()}
    assert result(alice.who("#den")).nicks == ("alice", "bob")
    assert raises(NotInRoom, alice.kick, "#den", "carol").code == "not-in-room"


def test_a_ban_puts_out_members_on_every_node_and_keeps_them_out(cluster):
    n1, n2, (alice, a), (bob, b), (carol, c) = den(cluster)
    result(alice.ban("#den", "~a:bob", reason="spam"))
    cluster.pump()
    assert [(e.nick, e.reason) for e in a.of_type(ev.KICK)] == [("bob", "banned (spam)")]
    assert "#den" not in {r.key for r in bob.rooms.values()}
    assert fails(bob.join("#den"), Banned).code == "banned"


def test_a_mute_set_on_one_node_silences_a_member_on_the_other(cluster):
    n1, n2, (alice, a), (bob, b), (carol, c) = den(cluster)
    result(alice.mute("#den", "carol"))
    cluster.pump()
    assert raises(Muted, carol.say, "#den", "hello?").code == "muted"
    result(alice.unmute("#den", "carol"))
    cluster.pump()
    assert result(carol.say("#den", "thanks")).id


def test_modes_set_on_one_node_hold_on_the_other(cluster):
    n1, n2, (alice, a), (bob, b), (carol, c) = den(cluster)
    result(alice.mode("#den", "+m"))
    cluster.pump()
    assert "moderated" in raises(Muted, carol.say, "#den", "hi").message


def test_an_invitation_on_one_node_lets_a_user_in_on_the_other(cluster):
    n1, n2, (alice, a), (bob, b), (carol, c) = den(cluster)
    result(alice.mode("#den", "+i"))
    dave, d = n2.connect("dave")
    assert fails(dave.join("#den"), InviteOnly).code == "invite-only"
    result(alice.invite("#den", "dave"))
    cluster.pump()
    assert [(e.type, e.to) for e in d.of_type(ev.INVITE)] == [("invite", "dave")]
    assert result(dave.join("#den")).nicks == ("alice", "bob", "carol", "dave")


# -- server operators --------------------------------------------------------------------------


def test_kill_announce_and_server_bans_reach_every_node(cluster):
    n1, n2 = both(cluster)
    root, _ = account(n1, "root")
    bob, b = n2.connect("bob")
    eve, e = n2.connect("eve", host="198.51.100.7")
    result(root.announce("maintenance at noon"))
    cluster.pump()
    assert [x.text for x in b.of_type(ev.NOTICE)] == ["maintenance at noon"]
    result(root.kill("bob", "enough"))
    cluster.pump()
    assert b.disconnects == ["Killed by root: enough"]
    result(root.server_ban("198.51.100.0/24", reason="abuse"))
    cluster.pump()
    assert e.disconnects == ["Banned from this server: abuse"]


# -- one account on both nodes -------------------------------------------------------------------


def test_one_account_on_two_nodes_is_one_user(cluster):
    n1, n2 = both(cluster)
    phone, p = account(n1, "alice", "#r")
    token = result(phone.login(password=PASSWORD)).token
    bob, b = n2.member("bob", "#r")
    cluster.pump()
    laptop, l = n2.connect()
    result(laptop.login(token=token))
    cluster.pump()
    assert laptop.nick == "alice"
    assert [e.type for e in l.events[:4]] == ["join", "members", "history", "privates"]
    assert result(bob.who("#r")).nicks == ("alice", "bob")
    assert b.of_type(ev.JOIN) == []  # the room saw alice join once, long ago

    p.clear(), l.clear(), b.clear()
    result(laptop.join("#s"))
    cluster.pump()
    assert "#s" in phone.rooms  # joined on the phone too
    result(phone.say("#r", "from the phone"))
    cluster.pump()
    assert said(l) == said(p) == [(1, "from the phone")]

    result(bob.private("alice", "hi both"))
    cluster.pump()
    assert [x.text for x in p.of_type(ev.PRIVATE)] == [x.text for x in l.of_type(ev.PRIVATE)] == ["hi both"]

    b.clear()
    phone.part("#r")
    cluster.pump()
    assert "#r" not in laptop.rooms
    assert [(e.type, e.nick) for e in b.events] == [("part", "alice")]


def test_an_account_logging_in_takes_its_nick_from_a_squatter_on_the_other_node(cluster):
    n1, n2 = both(cluster)
    alice, _ = account(n1, "alice")
    alice.close("bye")
    squatter, s = n2.connect("alice")
    cluster.pump()
    again, _ = n1.connect()
    result(again.login("alice", PASSWORD))
    cluster.pump()
    assert again.nick == "alice"
    assert squatter.nick.startswith("Guest-")


def test_roles_and_limits_count_members_on_every_node(cluster):
    n1, n2, (alice, a), (bob, b), (carol, c) = den(cluster)
    result(alice.give_role("op", "#den", "bob"))
    cluster.pump()
    assert [(e.nick, e.role) for e in c.of_type(ev.ROLE)] == [("bob", "operator")]
    assert result(carol.who("#den")).roles == (("alice", "founder"), ("bob", "operator"))
    result(bob.mode("#den", "+l", "3"))
    cluster.pump()
    late, _ = n1.connect("late")
    assert fails(late.join("#den"), RoomFull).code == "room-full"


def test_only_the_creator_registers_a_room_others_are_in_on_another_node(cluster):
    n1, n2 = both(cluster)
    first, _ = n2.member("first", "#r")
    late, _ = account(n1, "late", "#r")
    assert raises(RoomRegistered, late.room_command, "#r", "register").code == "room-registered"


def test_ghosting_and_dropping_reach_the_accounts_connections_elsewhere(cluster):
    n1, n2 = both(cluster)
    phone, p = account(n1, "alice")
    token = result(phone.login(password=PASSWORD)).token
    laptop, l = n2.connect()
    result(laptop.login(token=token))
    cluster.pump()
    result(phone.ghost("alice"))
    cluster.pump()
    assert l.disconnects == ["Ghosted by another connection of yours."]
    tablet, t = n2.connect()
    result(tablet.login(token=token))
    cluster.pump()
    result(phone.drop(PASSWORD))
    cluster.pump()
    assert t.disconnects == ["The account alice was dropped from another connection."]
    assert phone.user.account is None


def test_logging_out_on_one_node_leaves_the_account_online_on_the_other(cluster):
    n1, n2 = both(cluster)
    phone, p = account(n1, "alice", "#r")
    token = result(phone.login(password=PASSWORD)).token
    laptop, l = n2.connect()
    result(laptop.login(token=token))
    watcher, w = n1.member("watcher", "#r")
    cluster.pump()
    w.clear()
    result(laptop.logout())
    cluster.pump()
    assert laptop.nick.startswith("Guest-") and laptop.user.account is None
    assert phone.nick == "alice" and phone.user.account == "alice"
    assert result(watcher.who("#r")).nicks == ("alice", "watcher")
    assert w.of_type(ev.QUIT) == w.of_type(ev.PART) == []


def test_a_node_shutting_down_says_goodbye_for_its_users_on_a_cluster(cluster):
    n1, n2 = both(cluster)
    alice, a = n1.member("alice", "#r")
    bob, b = n2.member("bob", "#r")
    cluster.pump()
    a.clear()
    n2.hub.shutdown("restarting")
    bob.close("restarting")
    cluster.pump()
    assert [(e.type, e.nick) for e in a.events] == [("quit", "bob")]


def test_after_the_bus_was_cut_off_a_node_catches_up_from_the_store(cluster):
    n1, n2 = both(cluster)
    alice, a = n1.member("alice", "#r")
    bob, b = n2.member("bob", "#r")
    cluster.pump()
    b.clear()
    result(alice.say("#r", "one"))
    result(alice.say("#r", "two"))
    cluster.in_flight.clear()  # lost while n2 was cut off from the bus
    result(n2.hub.resync())
    cluster.pump()
    assert said(b) == [(1, "one"), (2, "two")]
    assert b.of_type(ev.MEMBERS)[0].nicks == ("alice", "bob")
