# -*- test-case-name: tests.cluster.test_cluster_bus -*-
"""
Directives between nodes on Redis: each node listens on its own channel,
C{chatd:node:<name>}, and on C{chatd:nodes}, which every node hears.
A message is the sender's name, a newline, and the directive
(L{chatd.wire.cluster}); a node ignores what it sent to everyone itself.
"""

import json
from typing import Optional

from twisted.internet.defer import Deferred, DeferredList
from twisted.logger import Logger
from zope.interface import implementer

from chatd.cluster.node import ALIVE, NODES
from chatd.core.nodes import INodes
from chatd.wire.cluster import ClusterWireError, decode, encode

log = Logger(namespace="chatd.cluster")

#: One node's channel, and everyone's.
NODE = "chatd:node:"
EVERYONE = "chatd:nodes"


@implementer(INodes)
class RedisNodes:
    """
    @param name: this node's name ([cluster] node).
    @param link: its L{chatd.cluster.link.Link}.
    """

    shared = True

    def __init__(self, name: str, link) -> None:
        self.name = name
        self.link = link
        self._me = name.encode()
        self.obey = None

    def listen(self, obey) -> Deferred:
        """Hand every directive for this node to C{obey(directive)}; fires once listening."""
        self.obey = obey
        return DeferredList([self.link.subscribe(NODE + self.name, self._heard),
                             self.link.subscribe(EVERYONE, self._heard)], fireOnOneErrback=True)

    def tell(self, node: Optional[str], directive) -> None:
        channel = EVERYONE if node is None else NODE + node
        self.link.publish(channel, self._me + b"\n" + encode(directive)).addErrback(
            lambda f: log.warn("Could not send a {kind} directive to {node} (Redis: {why})", kind=directive.kind,
                               node=node or "every node", why=f.getErrorMessage()))

    def everyone(self) -> Deferred:
        """
        Deferred firing with every registered node: (name, alive, info),
        info being what it registered (pid, host, started, listeners).
        """
        conn = self.link.conn

        def listed(flat):
            names = [flat[i].decode() for i in range(0, len(flat or ()), 2)]
            infos = [json.loads(flat[i + 1]) for i in range(0, len(flat or ()), 2)]
            checks = [conn.execute_command("EXISTS", ALIVE + name) for name in names]
            return DeferredList(checks, fireOnOneErrback=True, consumeErrors=True).addCallback(
                lambda found: sorted((n, int(alive) > 0, info) for n, info, (_, alive) in zip(names, infos, found)))

        return conn.execute_command("HGETALL", NODES).addCallback(listed)

    def _heard(self, data: bytes) -> None:
        sender, _, body = data.partition(b"\n")
        if sender == self._me:
            return
        try:
            directive = decode(body)
        except ClusterWireError as e:
            log.warn("Dropped a directive from {node} that could not be read: {why}",
                     node=sender.decode("utf-8", "replace"), why=str(e))
            return
        if self.obey is not None:
            self.obey(directive)
