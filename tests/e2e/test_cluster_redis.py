"""
Redis under the cluster (issue 14): killed with kill -9 and restarted on
the same directory, its AOF keeps every acknowledged message and ids
continue; paused with SIGSTOP for two seconds, nothing is lost and no
node is declared dead; a Redis without AOF is refused at start unless
the operator says C{[cluster] require_aof = no}.
"""

import time

from chatclients import WSUser, of
from cluster import NODE_TIMEOUT
from cluster_scenes import finish, histories, together
from cluster_users import LineChatter, PollChatter, WSChatter
from oracle import check


def users_on(cluster):
    """A WebSocket user on n1, a long-poll user on n2, a telnet user on n3, all in #lobby."""
    n1, n2, n3 = cluster.nodes
    return WSChatter("wes").connect(n1), PollChatter("polly").connect(n2), LineChatter("tel").connect(n3)


def test_kill_9_of_redis_and_restart_keeps_every_acknowledged_message(cluster):
    """
    Redis dies under three nodes and comes back on its AOF: what was
    acknowledged before is all there, a message said during the outage is
    acknowledged once Redis is back (resent with its cid), ids go on from
    where they were, and the nodes carry on with their users connected.
    """
    wes, polly, tel = users = users_on(cluster)
    together(*[lambda u=u: u.stream(15) for u in users])
    for u in (wes, polly):
        u.settle()
    before = max(a.id for u in (wes, polly) for a in u.log.acks)

    cluster.redis.kill()
    during = wes.say("#lobby", "said while Redis was down")
    time.sleep(0.5)
    cluster.redis.start()
    wes.settle(timeout=NODE_TIMEOUT + 10)
    after = next(a.id for a in wes.log.acks if a.cid == during)
    assert after > before, f"ids went back: {after} after {before}"

    together(*[lambda u=u: u.stream(5) for u in users])
    assert all(u.alive for u in cluster), "a node died with Redis"
    closer = finish(users, cluster["n2"])
    history = histories(cluster["n1"], ["#lobby"])
    check([u.log for u in (*users, closer)], history)
    ids = [m["id"] for m in history["#lobby"]]
    assert ids[0] == 1 and ids == sorted(ids)
    assert len(ids) == 3 * 20 + 2


def test_redis_paused_two_seconds_loses_nothing(make_cluster):
    """
    SIGSTOP for two seconds (well under node_timeout, 6 s here) while
    users write: their messages are acknowledged late, not lost; nobody is
    declared gone.
    """
    cluster = make_cluster(3, node_timeout=6)
    wes, polly, tel = users_on(cluster)
    writers = (wes, polly)

    def pause():
        time.sleep(0.2)
        cluster.redis.pause()
        time.sleep(2)
        cluster.redis.resume()

    together(*[lambda u=u: u.stream(30, pause=0.05) for u in writers], pause)
    for u in writers:
        u.settle(timeout=10)
    closer = finish([wes, polly, tel], cluster["n3"])
    check([u.log for u in (wes, polly, tel, closer)], histories(cluster["n1"], ["#lobby"]))
    quits = [e for e in wes.ws.seen if e["type"] == "quit"]
    assert not quits, f"users were declared gone during a 2-second pause: {quits}"
    assert all(u.alive for u in cluster)


def test_redis_without_aof_is_refused_at_start(make_cluster):
    """
    A node exits non-zero, naming appendonly and [cluster] require_aof;
    with require_aof = no it starts (the operator chose to risk the history).
    """
    c = make_cluster(1, aof=False, start=False)
    c.redis.start()
    node = c["n1"]
    status, log = node.exits()
    assert status not in (0, None), log
    assert "appendonly" in log and "[cluster] require_aof" in log, log
    assert "Traceback" not in log, log

    node.settings[("cluster", "require_aof")] = "no"
    node.start()
    user = WSUser(node.ws_url, "alice", "#lobby")
    assert user.command(type="say", room="#lobby", text="no AOF, my choice")["type"] == "ok"
    user.wait(of("message", text="no AOF, my choice"))


def test_redis_with_aof_explicitly_required_starts(make_cluster):
    c = make_cluster(1, settings={("cluster", "require_aof"): "yes"})
    assert WSUser(c["n1"].ws_url, "alice", "#lobby").command(type="say", room="#lobby", text="hi")["type"] == "ok"
