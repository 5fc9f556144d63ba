# -*- test-case-name: tests.cluster.test_cluster_presence -*-
"""
This node, as the rest of the cluster knows it: its name, its Redis link,
and whether other nodes are alive.  Front ends that keep state in Redis
(long-poll sessions) take it from L{chatd.frontends.registry.Shared.cluster}.
"""

from twisted.internet.defer import Deferred

#: A node is alive while this key exists (C{PX node_timeout}, refreshed by its heartbeat).
ALIVE = "chatd:alive:"
#: Hash: node name -> JSON (pid, host, started, listeners), for chatctl status and the janitor.
NODES = "chatd:nodes"


class ClusterNode:
    """
    @ivar name: this node's name ([cluster] node).
    @ivar link: its L{chatd.cluster.link.Link} (C{conn} for commands,
        C{subscribe}, C{unsubscribe}, C{publish}).
    @ivar node_timeout: seconds a silent node takes to be declared dead.
    """

    def __init__(self, name: str, link, node_timeout: float) -> None:
        self.name = name
        self.link = link
        self.node_timeout = node_timeout

    def alive(self, node: str) -> Deferred:
        """Deferred firing with whether C{node} is alive (its heartbeat key exists)."""
        return self.link.conn.execute_command("EXISTS", ALIVE + node).addCallback(lambda n: int(n) > 0)
