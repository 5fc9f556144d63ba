# -*- test-case-name: tests.frontends.test_longpoll_cluster -*-
"""
Commands and DELETEs for a long-poll session held by another node go to
that node over Redis pub/sub, and come back with exactly its answer.

Each node listens on C{chatd:poll-ask:<node>} for requests and on
C{chatd:poll-answer:<node>} for the answers to its own.  A request is a
MessagePack map C{id} (random, this node's), C{from} (this node),
C{token}, C{kind} (C{command} or C{delete}), C{body} (the request body as
received: the owner decodes it, so that chat rules and flood control stay
in its core), C{secure} (whether a password may travel: the receiving
node judged the connection).  An answer is C{id}, C{status}, C{body}.

A request nobody hears (the owner is not listening) or that gets no
answer within L{TIMEOUT} seconds fails with L{Unanswered}: the resource
then asks whether the owner is alive.
"""

import secrets
from typing import Callable, Dict, Tuple

import msgpack
from twisted.internet.defer import Deferred, gatherResults
from twisted.logger import Logger
from twisted.python.failure import Failure

log = Logger(namespace="chatd.longpoll")

ASK = "chatd:poll-ask:"
ANSWER = "chatd:poll-answer:"
#: Seconds to wait for the owner's answer: a command may wait its turn
#: under the owner's flood control for several seconds.
TIMEOUT = 30.0

Answer = Tuple[int, bytes]
Serve = Callable[[str, str, bytes, bool], Deferred]


class Unanswered(Exception):
    """The owner did not hear the request, or did not answer in time."""

    def __init__(self, owner: str, heard: bool) -> None:
        super().__init__(owner)
        self.owner, self.heard = owner, heard


class Forwarder:
    """
    @param cluster: the node's L{chatd.cluster.node.ClusterNode}.
    @param clock: for the answer timeout.
    @param serve: C{serve(token, kind, body, secure)} runs a request another
        node forwarded to this one; Deferred firing with (status, body).
    """

    def __init__(self, cluster, clock, serve: Serve, timeout: float = TIMEOUT) -> None:
        self.link = cluster.link
        self.node = cluster.name
        self.clock = clock
        self.serve = serve
        self.timeout = timeout
        self._waiting: Dict[str, Tuple[Deferred, object]] = {}
        #: Fires once both channels are subscribed.
        self.ready = gatherResults([self.link.subscribe(ASK + self.node, self._asked),
                                    self.link.subscribe(ANSWER + self.node, self._answered)])

    def stop(self) -> None:
        self.link.unsubscribe(ASK + self.node)
        self.link.unsubscribe(ANSWER + self.node)

    # -- asking ---------------------------------------------------------------------------

    def ask(self, owner: str, token: str, kind: str, body: bytes, secure: bool) -> Deferred:
        """Deferred firing with the owner's (status, body), or failing with L{Unanswered}."""
        rid = secrets.token_hex(8)
        d: Deferred = Deferred()
        timer = self.clock.callLater(self.timeout, self._unanswered, rid, owner, True)
        self._waiting[rid] = (d, timer)
        request = msgpack.packb({"id": rid, "from": self.node, "token": token, "kind": kind, "body": body,
                                 "secure": secure}, use_bin_type=True)
        sent = self.link.publish(ASK + owner, request)
        sent.addCallback(lambda heard: None if int(heard) else self._unanswered(rid, owner, False))
        sent.addErrback(self._not_sent, rid)
        return d

    def _settle(self, rid: str):
        waiting = self._waiting.pop(rid, None)
        if waiting is None:
            return None
        d, timer = waiting
        if timer.active():
            timer.cancel()
        return d

    def _unanswered(self, rid: str, owner: str, heard: bool) -> None:
        d = self._settle(rid)
        if d is not None:
            d.errback(Unanswered(owner, heard))

    def _not_sent(self, failure: Failure, rid: str) -> None:
        d = self._settle(rid)
        if d is not None:
            d.errback(failure)

    def _answered(self, data: bytes) -> None:
        try:
            answer = msgpack.unpackb(data, raw=False)
            rid, status, body = answer["id"], int(answer["status"]), answer["body"]
        except Exception as e:
            log.warn("Dropped a long-poll answer that is not chatd's on {channel}: {why}",
                     channel=ANSWER + self.node, why=str(e))
            return
        d = self._settle(rid)
        if d is not None:
            d.callback((status, body))

    # -- answering ------------------------------------------------------------------------

    def _asked(self, data: bytes) -> None:
        try:
            request = msgpack.unpackb(data, raw=False)
            rid, source, token, kind = request["id"], request["from"], request["token"], request["kind"]
            body, secure = bytes(request["body"]), bool(request["secure"])
        except Exception as e:
            log.warn("Dropped a long-poll request that is not chatd's on {channel}: {why}",
                     channel=ASK + self.node, why=str(e))
            return
        d = self.serve(token, kind, body, secure)
        d.addCallback(self._reply, rid, source)
        d.addErrback(lambda f: log.failure("Answering a long-poll {kind} forwarded by node {node} failed", f,
                                           kind=kind, node=source))

    def _reply(self, answer: Answer, rid: str, source: str) -> Deferred:
        status, body = answer
        data = msgpack.packb({"id": rid, "status": status, "body": body}, use_bin_type=True)
        return self.link.publish(ANSWER + source, data)


__all__ = ["ANSWER", "ASK", "Forwarder", "TIMEOUT", "Unanswered"]
