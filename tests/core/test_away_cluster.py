"""
Away across the nodes of a cluster (in memory, through the cluster's wire
format): every node knows who is away, and an account's user is away on
every node where it has connections.
"""

from chatd.core import commands as cmd
from chatd.core import events as ev

from chatcore_helpers import result
from fakecluster import Cluster

PASSWORD = "correct horse"


def told(sink):
    return [(e.nick, e.away) for e in sink.of_type(ev.AWAY)]


def test_members_on_another_node_hear_it_and_see_it_in_who_whois_and_msg():
    cluster = Cluster()
    n1, n2 = cluster.node("n1"), cluster.node("n2")
    alice, _ = n1.member("alice", "#r", "#s")
    bob, b = n2.member("bob", "#r", "#s")
    cluster.pump()
    b.clear()
    result(alice.handle(cmd.Away(text="lunch")))
    cluster.pump()
    assert told(b) == [("alice", "lunch")]
    assert result(bob.handle(cmd.Who(room="#r"))).away == ("alice",)
    assert result(bob.handle(cmd.Whois(nick="alice"))).away == "lunch"
    assert result(bob.handle(cmd.Msg(to="alice", text="hi"))).away == "lunch"
    result(alice.handle(cmd.Away()))
    cluster.pump()
    assert told(b) == [("alice", "lunch"), ("alice", None)]
    assert result(bob.handle(cmd.Whois(nick="alice"))).away is None


def test_an_accounts_user_is_away_on_every_node():
    """Away set on n1 is known to the account's connections on n2; back from n2 is told once, everywhere."""
    cluster = Cluster()
    n1, n2 = cluster.node("n1"), cluster.node("n2")
    alice, a = n1.member("alice", "#r")
    result(alice.register(PASSWORD))
    cluster.pump()
    result(alice.handle(cmd.Away(text="lunch")))
    cluster.pump()
    phone, p = n2.connect()
    result(phone.login("alice", PASSWORD))  # adopts the user from n1, away
    cluster.pump()
    carol, c = n2.member("carol", "#r")
    assert result(carol.handle(cmd.Whois(nick="alice"))).away == "lunch"
    assert result(phone.handle(cmd.Away(text="lunch"))).away == "lunch"
    cluster.pump()
    assert told(c) == [] and told(a)[-1] == ("alice", "lunch")  # no change: nobody is told
    result(phone.handle(cmd.Away()))
    cluster.pump()
    assert told(c) == [("alice", None)]
    assert told(a)[-1] == told(p)[-1] == ("alice", None)
    result(alice.handle(cmd.Away(text="meeting")))
    cluster.pump()
    assert told(p)[-1] == ("alice", "meeting")
    assert result(carol.handle(cmd.Who(room="#r"))).away == ("alice",)


def test_a_user_gone_from_every_node_is_no_longer_away():
    cluster = Cluster()
    n1, n2 = cluster.node("n1"), cluster.node("n2")
    alice, _ = n1.member("alice", "#r")
    bob, _ = n2.member("bob", "#r")
    result(alice.handle(cmd.Away(text="lunch")))
    cluster.pump()
    alice.close("bye")
    cluster.pump()
    n1.member("alice", "#r")
    assert result(bob.handle(cmd.Whois(nick="alice"))).away is None
    assert result(bob.handle(cmd.Who(room="#r"))).away == ()
