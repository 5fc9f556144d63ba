"""
Away across a real two-node cluster: a terminal user on n1 marks itself
away, and a WebSocket user on n2 hears it, sees it in whois and who, and
is told it when sending a private message; back on n1 is back on n2.
"""

from chatclients import LineClient, WSUser, of


def test_away_on_one_node_shows_on_the_other(make_cluster):
    cluster = make_cluster(2)
    n1, n2 = cluster.nodes
    alice = LineClient(n1.lines_port).login("alice", "#den")
    bob = WSUser(n2.ws_url, "bob", "#den")
    alice.send("/away gone to lunch")
    alice.shows("-!- You are marked away: gone to lunch")
    assert bob.expect(of("away", nick="alice"))["away"] == "gone to lunch"
    assert bob.ask(type="whois", nick="alice")["away"] == "gone to lunch"
    assert bob.ask(type="who", room="#den")["away"] == ["alice"]
    bob.send(type="msg", to="alice", text="there?")
    assert bob.expect(of("private", to="alice"))["away"] == "gone to lunch"
    alice.shows("*bob* there?")

    alice.send("/away")
    alice.shows("-!- You are back")
    assert bob.expect(of("away", nick="alice"))["away"] is None
    assert "away" not in bob.ask(type="whois", nick="alice")
    bob.close()
    alice.close()
