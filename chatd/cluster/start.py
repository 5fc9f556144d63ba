# -*- test-case-name: tests.test_service -*-
"""
Making a hub a node of a cluster ([cluster] in tap.cfg, docs/cluster.md):
connect to Redis, refuse one that would lose acknowledged messages, and
put the shared store, bus, presence and directives in the hub's hands
before any listener accepts a client.
"""

import os
import re
import socket
from typing import Optional

from twisted.internet.defer import Deferred, DeferredList, inlineCallbacks
from twisted.logger import Logger

from chatd.cluster.node import ClusterNode

log = Logger(namespace="chatd.cluster")


def node_name(config) -> str:
    """C{[cluster] node}, or the host name and the first listener's port."""
    if config.cluster.node:
        return config.cluster.node
    host = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname()) or "chatd"
    first = (config.lines_listeners() + config.web_listeners())[0]
    port = re.search(r"(?:^(?:tcp|ssl|tls):|port=)(\d+)", first)
    return f"{host}-{port.group(1) if port else os.getpid()}"


def state_dir(config) -> Optional[str]:
    """Where the node keeps the cluster's epoch: beside [history] db."""
    if config.db == ":memory:":
        return None
    return os.path.dirname(os.path.abspath(config.db))


class ClusterMember:
    """
    The cluster side of one daemon: made with the service, started before
    the store opens, stopped after the last session has gone.

    @ivar node: the L{ClusterNode} the front ends are given.
    """

    def __init__(self, config, hub, reactor, listeners=()) -> None:
        self.config = config
        self.hub = hub
        self.reactor = reactor
        self.listeners = listeners
        from chatd.cluster.link import Link

        cluster = config.cluster
        link = Link(None, cluster.redis, password=cluster.password or None, username=cluster.username or None,
                    db=cluster.db, reactor=reactor)
        self.node = ClusterNode(node_name(config), link, cluster.node_timeout)
        self.conn = None
        self.liveness = None

    def start(self) -> Deferred:
        """Join the cluster; fires once the hub may serve, or fails saying why not (the connection is closed)."""
        return self._join().addErrback(self._refused)

    def _refused(self, failure):
        if self.conn is not None:
            self.conn.disconnect()
            self.conn = None
        return failure

    @inlineCallbacks
    def _join(self):
        from chatd.cluster.bus import RedisBus
        from chatd.cluster.liveness import Liveness
        from chatd.cluster.nodes import RedisNodes
        from chatd.cluster.presence import RedisPresence
        from chatd.store.redis import RedisStore
        from chatd.store.redis_connect import check_persistence, connect

        cluster, hub = self.config.cluster, self.hub
        where = cluster.redis
        self.conn = conn = yield connect(where, password=cluster.password or None,
                                         username=cluster.username or None, db=cluster.db, reactor=self.reactor)
        if cluster.require_aof:
            yield check_persistence(conn, where)
        else:
            log.warn("[cluster] require_aof = no: if Redis at {where} restarts without an append-only file, "
                     "acknowledged messages are lost and clients are told their history was truncated",
                     where=where)
        link = self.node.link
        link.attach(conn)
        yield link.start()
        name = self.node.name
        keep = max(self.config.retention_messages, self.config.rules.history_max)
        hub.store = RedisStore(conn, keep=keep, state_dir=state_dir(self.config), where=where, clock=self.reactor)
        hub.bus = RedisBus(link)
        nodes = hub.nodes = RedisNodes(name, link)
        hub.node = name
        hub.presence = RedisPresence(hub, conn, cluster.node_timeout)
        yield nodes.listen(hub.obey)
        link.on_reconnect(lambda: hub.stats.update(redis_reconnects=1) or hub.resync())
        self.liveness = Liveness(hub, hub.presence, conn, cluster.node_timeout, self.reactor, self.listeners)
        yield self.liveness.start()
        log.info("This is node {node} of the cluster on Redis at {where}", node=name, where=where)

    def stop(self) -> Deferred:
        """The last session has gone: say this node stopped, and close the connections."""
        done = []
        if self.liveness is not None:
            done.append(self.liveness.stop())
        d = DeferredList(done)

        def close(_):
            self.node.link.stop()
            if self.conn is not None:
                return self.conn.disconnect()

        return d.addCallback(close)
