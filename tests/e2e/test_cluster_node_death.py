"""
A node dies with kill -9 (issue 14): its users reconnect to other nodes,
resume each room with C{since} and resend what was not acknowledged,
losing nothing and seeing nothing twice; the users still on other nodes
see its users quit, and their nicks are free again, within node_timeout
plus a few seconds.  A node restarted on the same directory rejoins.
"""

import time

from chatclients import LineClient, PollClient, WSUser, bare, of
from cluster import NODE_TIMEOUT, eventually
from cluster_scenes import finish, histories, together
from cluster_users import LineChatter, PollChatter, WSChatter
from oracle import check

#: A dead node's users are gone (quits sent, nicks freed) within this long of its death.
DEAD_WITHIN = NODE_TIMEOUT + 5


def test_kill_9_of_a_node_mid_stream_loses_nothing(cluster):
    """
    Nine writers on three nodes; n2 is killed while they write.  Its
    WebSocket and long-poll users move to n1 and n3 and resume; its telnet
    user connects again to n3.  Every acknowledged message is stored once,
    and every log is a gap-free slice of the history.
    """
    n1, n2, n3 = cluster.nodes
    users = {}
    for node in cluster:
        users[node.name] = [LineChatter(f"tel-{node.name}").connect(node), WSChatter(f"ws-{node.name}").connect(node),
                            PollChatter(f"lp-{node.name}").connect(node)]
    everyone = [u for group in users.values() for u in group]
    tel2, ws2, lp2 = users["n2"]

    def kill_mid_stream():
        eventually(lambda: len(ws2.log.acks) >= 5 and len(lp2.log.acks) >= 5, 10, "n2's users writing")
        n2.kill()

    together(*[lambda u=u: u.stream(40, pause=0.02) for u in everyone], kill_mid_stream)
    assert len(ws2.log.acks) < 40 or len(lp2.log.acks) < 40, "n2 died after its users had finished"

    ws2.move_to(n1)
    lp2.move_to(n3)
    tel2b = tel2.again(n3)
    for mover in (ws2, lp2):
        mover.stream(5)
    tel2b.stream(5)
    survivors = users["n1"] + users["n3"] + [ws2, lp2, tel2b]
    closer = finish(survivors, n1)
    check([u.log for u in everyone + [tel2b, closer]], histories(n3, ["#lobby"]))


def test_a_dead_nodes_users_quit_and_their_nicks_are_freed(cluster):
    """alice (telnet), bob (WebSocket), carol (long-poll) on n2; n2 is killed; n1 and n3 see them quit."""
    n1, n2, n3 = cluster.nodes
    watcher = WSUser(n1.ws_url, "watcher", "#lobby")
    telwatch = LineClient(n3.lines_port).login("telwatch", "#lobby")
    doomed = [LineClient(n2.lines_port).login("alice", "#lobby"), WSUser(n2.ws_url, "bob", "#lobby"),
              PollClient(n2.web_url, "carol", "#lobby")]
    for nick in ("alice", "bob", "carol"):
        watcher.wait(of("join", nick=nick))
        telwatch.shows(f"[#lobby] -!- {nick} has joined")

    died = time.monotonic()
    n2.kill()
    # The janitor publishes the three quits at once, in no particular order.
    quitters, shown = set(), set()
    for _ in range(3):
        quit = watcher.wait(lambda e: e.get("type") == "quit" and e.get("nick") not in quitters, timeout=DEAD_WITHIN)
        assert set(bare(quit)) <= {"type", "room", "nick", "reason"} and quit["room"] == "#lobby", quit
        quitters.add(quit["nick"])
        line = telwatch.expect(r"^\[#lobby\] -!- (alice|bob|carol) has quit", timeout=DEAD_WITHIN)
        shown.add(line.split()[2])
    assert quitters == shown == {"alice", "bob", "carol"}
    assert time.monotonic() - died <= DEAD_WITHIN
    assert doomed[0].wait_closed(), "alice's node is dead, and her connection with it"
    assert sorted(watcher.ask(type="who", room="#lobby")["nicks"]) == ["telwatch", "watcher"]

    for nick in ("alice", "bob", "carol"):
        taker = WSUser(n3.ws_url)
        eventually(lambda: taker.command(type="nick", nick=nick)["type"] == "ok",
                   max(0.1, died + DEAD_WITHIN - time.monotonic()), f"the nick {nick} free again")

def test_a_dead_node_is_not_mourned_twice_and_can_come_back(cluster):
    """
    Exactly one quit per user reaches each room (one janitor), and n2,
    restarted on its directory, serves again: its new users see the room's
    history and talk to the others.
    """
    n1, n2, n3 = cluster.nodes
    on_n1 = WSUser(n1.ws_url, "one", "#lobby")
    on_n3 = PollClient(n3.web_url, "three", "#lobby")
    doomed = WSUser(n2.ws_url, "doomed", "#lobby")
    on_n1.wait(of("join", nick="doomed"))
    assert on_n1.command(type="say", room="#lobby", text="before", cid="b-1")["type"] == "ok"
    n2.kill()
    doomed.close()
    on_n1.wait(of("quit", nick="doomed"), timeout=DEAD_WITHIN)
    on_n3.wait(of("quit", nick="doomed"), timeout=DEAD_WITHIN)
    n2.start()
    back = WSUser(n2.ws_url, "doomed", "#lobby")
    scrollback = first_history(back)
    assert [m["text"] for m in scrollback["messages"]] == ["before"]
    assert back.command(type="say", room="#lobby", text="I am back", cid="b-2")["type"] == "ok"
    on_n1.wait(of("message", text="I am back"))
    on_n3.wait(of("message", text="I am back"))
    quits = [e for e in on_n1.seen + on_n3.seen if e["type"] == "quit" and e["nick"] == "doomed"]
    assert len(quits) == 2, quits


def first_history(client):
    for event in client.seen:
        if event["type"] == "history" and "ref" not in event:
            return event
    return client.wait(lambda e: e["type"] == "history" and "ref" not in e)
