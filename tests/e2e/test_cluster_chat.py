"""
Three chatd nodes on one Redis serve one set of rooms (issue 14): telnet,
WebSocket and long-poll users on different nodes talk at the same time and
each sees every message once, in the room's order; who, rooms, private
messages and chatctl see the whole cluster.

Every log is held against the room's history by the oracle (oracle.py).
"""

import re

from chatclients import LineClient, PollClient, WSUser, bare, of
from cluster_scenes import finish, histories, together
from cluster_users import LineChatter, PollChatter, WSChatter
from oracle import check


def three_of_each(cluster):
    """On every node a telnet, a WebSocket and a long-poll user in #lobby."""
    users = []
    for node in cluster:
        users += [LineChatter(f"tel-{node.name}").connect(node), WSChatter(f"ws-{node.name}").connect(node),
                  PollChatter(f"lp-{node.name}").connect(node)]
    return users


def test_concurrent_writers_on_three_nodes(cluster):
    """Nine writers on three nodes at once: every log a gap-free, in-order slice; every ok in the history once."""
    users = three_of_each(cluster)
    together(*[lambda u=u: u.stream(20) for u in users])
    closer = finish(users, cluster["n2"])
    history = histories(cluster["n3"], ["#lobby"])
    check([u.log for u in users + [closer]], history)
    assert len(history["#lobby"]) == 9 * 20 + 1
    assert not [e for u in users for e in u.errors], [e for u in users for e in u.errors]


def test_ids_are_one_sequence_whichever_node_stores(cluster):
    """Messages said through n1, n2, n3 in turn get increasing ids, and each node's history is the same."""
    users = [WSChatter(f"w{node.name}").connect(node) for node in cluster]
    ids = []
    for round in range(3):
        for user in users:
            cid = user.say("#lobby", f"{user.name} round {round}")
            user.settle()
            ids.append(next(a.id for a in user.log.acks if a.cid == cid))
    assert ids == sorted(ids) and len(set(ids)) == len(ids), ids
    seen = [histories(node, ["#lobby"])["#lobby"] for node in cluster]
    assert seen[0] == seen[1] == seen[2]
    assert [m["id"] for m in seen[0]] == ids


def test_who_and_rooms_see_every_node(cluster):
    """Members on three nodes: who and rooms list them all, from any node and any front end."""
    n1, n2, n3 = cluster.nodes
    tel = LineClient(n1.lines_port).login("tel", "#lobby")
    ws = WSUser(n2.ws_url, "wes", "#lobby")
    lp = PollClient(n3.web_url, "polly", "#lobby")
    other = WSUser(n3.ws_url, "other", "#den")
    for asker in (ws, lp):
        members = asker.ask(type="who", room="#lobby")
        assert sorted(members["nicks"]) == ["polly", "tel", "wes"], members
        rooms = {r["name"]: r["members"] for r in asker.ask(type="rooms")["rooms"]}
        assert rooms == {"#lobby": 3, "#den": 1}, rooms
    tel.send("/who")
    tel.shows("[#lobby] -!- 3 members: polly, tel, wes")
    assert other.ask(type="who", room="#den")["nicks"] == ["other"]


def test_joins_and_parts_reach_other_nodes(cluster):
    n1, n2, n3 = cluster.nodes
    watcher = WSUser(n1.ws_url, "watcher", "#lobby")
    tel = LineClient(n3.lines_port).login("tel", "#lobby")
    lp = PollClient(n2.web_url, "polly", "#lobby")
    assert bare(watcher.wait(of("join", nick="tel"))) == {"type": "join", "room": "#lobby", "nick": "tel"}
    watcher.wait(of("join", nick="polly"))
    tel.shows("[#lobby] -!- polly has joined")
    assert lp.command(type="part", room="#lobby", reason="lunch")["type"] == "ok"
    assert bare(watcher.wait(of("part", nick="polly"))) == {"type": "part", "room": "#lobby", "nick": "polly",
                                                             "reason": "lunch"}
    tel.shows("[#lobby] -!- polly has left (lunch)")
    assert lp.command(type="nick", nick="pauline")["type"] == "ok"
    tel.send("/nick telly")
    assert bare(watcher.wait(of("nick", old="tel"))) == {"type": "nick", "old": "tel", "new": "telly"}


def test_private_messages_cross_nodes(cluster):
    """alice (telnet, n1), bob (WebSocket, n2), carol (long-poll, n3) write to each other."""
    n1, n2, n3 = cluster.nodes
    alice = LineClient(n1.lines_port).login("alice")
    bob = WSUser(n2.ws_url, "bob")
    carol = PollClient(n3.web_url, "carol")
    alice.send("/msg bob psst from n1")
    alice.shows("-> *bob* psst from n1")
    assert bare(bob.wait(of("private", text="psst from n1"))) == {
        "type": "private", "from": "alice", "to": "bob", "text": "psst from n1"}
    assert bob.command(type="msg", to="carol", text="hi carol")["type"] == "ok"
    assert bare(carol.wait(of("private", text="hi carol"))) == {
        "type": "private", "from": "bob", "to": "carol", "text": "hi carol"}
    assert carol.command(type="msg", to="alice", text="hello alice")["type"] == "ok"
    alice.shows("*carol* hello alice")
    nobody = bob.command(type="msg", to="nobody", text="?")
    assert (nobody["type"], nobody["code"]) == ("error", "no-such-nick")


def test_chatctl_status_names_every_node(cluster):
    """chatctl on any node shows the cluster's nodes."""
    for node in cluster:
        status = node.chatctl("status")
        assert status.returncode == 0, status.stderr
        for name in ("n1", "n2", "n3"):
            assert re.search(rf"\b{name}\b", status.stdout), (node.name, status.stdout)
