"""
Issue 14, done when: three nodes on one host behind the shipped nginx
example (contrib/nginx/chatd-cluster.conf, no sticky sessions) serve one
room to telnet users (straight to the nodes: nginx does not carry raw
TCP here), WebSocket and long-poll users (through nginx, over TLS); a
node's kill -9 loses no acknowledged message and shows none twice.
"""

import pytest

from cluster import eventually
from cluster_nginx import Nginx
from cluster_scenes import finish, histories, together
from cluster_users import LineChatter, PollChatter, WSChatter
from oracle import check


@pytest.fixture
def front(cluster, tmp_path, monkeypatch):
    """nginx over the cluster's three nodes; requests trusts its certificate."""
    proxy = Nginx(tmp_path / "nginx", [node.web_port for node in cluster])
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(proxy.cert))
    try:
        yield proxy.start()
    finally:
        proxy.stop()


def test_three_nodes_behind_nginx_lose_nothing_when_one_is_killed(cluster, front):
    n1, n2, n3 = cluster.nodes
    telnets = [LineChatter(f"tel-{node.name}").connect(node) for node in cluster]
    webs = [WSChatter(f"ws{i}").connect(front) for i in range(3)] + \
           [PollChatter(f"lp{i}").connect(front) for i in range(3)]
    users = telnets + webs
    # Everyone hears everyone through the proxy before anything is killed.
    together(*[lambda u=u: u.stream(5) for u in users])

    def kill_mid_stream():
        eventually(lambda: sum(len(u.log.acks) for u in webs) >= 6 * 5 + 12, 15, "the web users writing")
        n2.kill()

    together(*[lambda u=u: u.stream(30, pause=0.02) for u in users], kill_mid_stream)
    together(*[lambda u=u: u.pump(0.3) for u in users])  # who lost the connection, even after its last line
    moved = []
    for user in users:
        if not user.broken:
            moved.append(user)
        elif isinstance(user, LineChatter):
            moved.append(user.again(n3))
        else:
            moved.append(user.move_to(front))
    together(*[lambda u=u: u.stream(3) for u in moved])
    closer = finish(moved, n1)
    logs = {u.log.name: u.log for u in users + moved + [closer]}
    check(logs.values(), histories(n3, ["#lobby"]))
    assert telnets[1].broken, "n2's telnet user outlived its node"
