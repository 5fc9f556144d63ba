# -*- test-case-name: tests.cluster.test_cluster_liveness -*-
"""
Which nodes are alive, and clearing up after those that are not.

Each node beats every third of C{[cluster] node_timeout}: its key
C{chatd:alive:<node>} lives one C{node_timeout}, and so do its users'
nick keys (L{chatd.cluster.presence}).  A node that stops beating (killed,
or cut off from Redis) is dead once its key expires.

One node at a time is the janitor (it holds C{chatd:janitor}, a lock that
expires with it): it looks for dead nodes and reaps them.  Their users'
memberships go, each room hears their C{quit}, and their nicks are free,
within C{node_timeout} and a beat.  A janitor that was itself cut off
(a beat failed or took too long: Redis paused, the network slow) waits a
whole C{node_timeout} of good beats before it reaps anyone, so that the
other nodes have had time to beat again.

A node that finds it was reaped all the same (its users' records expired,
or the janitor took it for dead) registers its users again.
"""

import json
import os
import socket
from typing import List, Optional

from twisted.internet.defer import Deferred, DeferredList, succeed
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from chatd.core import events as ev
from chatd.cluster.node import NODES

log = Logger(namespace="chatd.cluster")

JANITOR = "chatd:janitor"
#: Users' keys refreshed per heartbeat script call.
BATCH = 1000


class Liveness:
    """
    @param hub: this node's hub.
    @param presence: its L{chatd.cluster.presence.RedisPresence}.
    @param conn: the command connection.
    @param node_timeout: seconds (C{[cluster] node_timeout}).
    @param clock: the reactor (C{seconds}, C{callLater}).
    @param listeners: what this node listens on, for C{chatctl status}.
    """

    def __init__(self, hub, presence, conn, node_timeout: float, clock, listeners=()) -> None:
        self.hub = hub
        self.presence = presence
        self.conn = conn
        self.node_timeout = node_timeout
        self.beat = node_timeout / 3.0
        self.clock = clock
        self.info = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": clock.seconds(),
                                "listeners": list(listeners)})
        #: Since when every beat has been on time (the janitor reaps only after a node_timeout of them).
        self.steady_since = clock.seconds()
        self._loop: Optional[LoopingCall] = None
        self._first = True
        self._beating = False

    def start(self) -> Deferred:
        """
        Clear up after this node's former run if it did not stop cleanly
        (killed and started again before the janitor took it for dead),
        beat once (the node is registered when it fires), then beat every
        third of node_timeout.
        """
        node = self.hub.node

        def cleared(quits) -> Deferred:
            if quits:
                log.warn("This node ({node}) did not stop cleanly last time (killed?): {count} of its former "
                         "users' memberships ended, and their nicks are free", node=node, count=len(quits))
            return self.heartbeat()

        d = self.reap(node, former=True).addCallback(cleared)
        self._loop = LoopingCall(self._tick)
        self._loop.clock = self.clock
        self._loop.start(self.beat, now=False)
        return d

    def stop(self) -> Deferred:
        """
        This node stops: it says so (no janitor needs to reap it), and
        users whose connections outlived the shutdown's grace quit.
        """
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        node = self.hub.node
        return self.reap(node, former=True).addCallback(
            lambda _: self.conn.execute_command("DEL", "chatd:alive:" + node)).addErrback(lambda _: None)

    def _tick(self) -> None:
        if not self._beating:
            self.heartbeat().addErrback(lambda f: None)
        self.janitor().addErrback(lambda f: log.failure("The janitor failed", f))

    # -- beating --------------------------------------------------------------------------------

    def heartbeat(self) -> Deferred:
        self._beating = True
        began = self.clock.seconds()
        uids = [uid for uid, user in self.hub.users.items() if user.nick is not None]  # presence knows these
        batches = [uids[i:i + BATCH] for i in range(0, len(uids), BATCH)] or [[]]
        ttl = int(self.node_timeout * 1000)
        calls = [self.presence.scripts["heartbeat"](self.conn, (), [self.hub.node, ttl, self.info, *batch])
                 for batch in batches]
        d = DeferredList(calls, fireOnOneErrback=True, consumeErrors=True)

        def beaten(results) -> Deferred:
            self._beating = False
            took = self.clock.seconds() - began
            if took > self.beat:
                self.unsteady(f"a heartbeat took {took:.1f} seconds")
            answers = [answer for _, answer in results]
            known = all(int(answer[0]) == 1 for answer in answers[:1])
            expired = [a.decode() if isinstance(a, bytes) else str(a) for answer in answers for a in answer[1:]]
            first, self._first = self._first, False
            if not known and not first:
                log.warn("This node was taken for dead by the cluster's janitor (it was cut off from Redis for "
                         "longer than [cluster] node_timeout = {timeout}); registering its users again",
                         timeout=self.node_timeout)
                return self.hub.register_again(list(self.hub.users))
            if expired:
                log.warn("{count} users' keys on this node expired (Redis was away longer than [cluster] "
                         "node_timeout = {timeout}); registering them again", count=len(expired),
                         timeout=self.node_timeout)
                return self.hub.register_again(expired)
            return succeed(None)

        def failed(failure):
            self._beating = False
            self.unsteady(failure.getErrorMessage())
            return failure

        return d.addCallbacks(beaten, failed)

    def unsteady(self, why: str) -> None:
        """A beat failed or was late: no reaping until a node_timeout of good ones."""
        self.steady_since = self.clock.seconds()
        log.info("Heartbeat trouble ({why}); the janitor waits {timeout} s before taking any node for dead",
                 why=why, timeout=self.node_timeout)

    # -- the janitor ------------------------------------------------------------------------------

    def janitor(self) -> Deferred:
        """If this node holds the janitor's lock (or takes it), reap the dead nodes."""
        node, ttl = self.hub.node, int(self.node_timeout * 1000)
        lock = self.conn.execute_command("SET", JANITOR, node, "PX", ttl, "NX")

        def locked(answer) -> Deferred:
            if answer is not None:
                return self._sweep()
            return self.conn.execute_command("GET", JANITOR).addCallback(mine)

        def mine(holder) -> Optional[Deferred]:
            if holder is not None and holder.decode() == node:
                return self.conn.execute_command("PEXPIRE", JANITOR, ttl).addCallback(lambda _: self._sweep())
            return None

        return lock.addCallback(locked)

    def _sweep(self) -> Deferred:
        if self.clock.seconds() - self.steady_since < self.node_timeout:
            return succeed(None)
        return self.conn.execute_command("HKEYS", NODES).addCallback(self._check)

    def _check(self, names) -> Deferred:
        names = [n.decode() for n in names or ()]
        checks = [self.conn.execute_command("EXISTS", "chatd:alive:" + n) for n in names]
        d = DeferredList(checks, fireOnOneErrback=True, consumeErrors=True)
        return d.addCallback(lambda found: DeferredList(
            [self.reap(n) for n, (_, alive) in zip(names, found) if int(alive) == 0 and n != self.hub.node]))

    def reap(self, node: str, former: bool = False) -> Deferred:
        """
        Clear up after dead C{node}: its users quit their rooms (published
        here), their nicks come free.  C{former}: C{node} is this node
        (starting, or stopping), whose alive key may not have expired yet.
        """

        def reaped(flat) -> List[ev.Quit]:
            now = self.hub.now()
            reason = f"Lost connection: server node {node} stopped"
            quits = []
            for i in range(0, len(flat or ()), 3):
                key, name, nick = (x.decode("utf-8", "surrogateescape") for x in flat[i:i + 3])
                quit = ev.Quit(room=name, nick=nick, reason=reason, ts=now)
                self.hub.bus.publish(key, quit)
                quits.append(quit)
            if former:
                return quits
            self.hub.stats["nodes_reaped"] += 1
            log.warn("Node {node} stopped beating for [cluster] node_timeout = {timeout} s: it is taken for dead; "
                     "{count} of its users' memberships ended, and their nicks are free",
                     node=node, timeout=self.node_timeout, count=len(quits))
            return quits

        return self.presence.scripts["reap"](self.conn, (), [node, "1" if former else "0"]).addCallback(reaped)
