# -*- test-case-name: tests.frontends.test_longpoll_cluster -*-
"""
The long-poll API on a cluster of nodes with no sticky sessions
(C{[cluster]}; docs/protocol.md, "Long-poll API").

A session is owned by the node that created it: that node holds the core
session (rooms, flood control) and appends what the core delivers to the
session's queue in Redis (L{chatd.cluster.polls}).  Any node answers a
poll from Redis, so the same C{after} gets the same answer everywhere.
A command or DELETE landing on another node is forwarded to the owner
(L{chatd.frontends.longpoll_forward}), which runs it exactly as a local
one, and its answer is sent back unchanged.

When the owner is dead (its alive key is gone), the session is lost:
every node answers 404 C{session-lost} and its keys are deleted; the
client makes a new session and resumes its rooms with C{since}.
"""

from typing import Optional

from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.logger import Logger
from txredisapi import ConnectionError as RedisConnectionError

from chatd.cluster.polls import LOST, PollStore, SessionGone, SharedQueue
from chatd.cluster.polls_wait import SharedPolls
from chatd.frontends import peers
from chatd.frontends.longpoll import (SESSIONS_PER_IP, HTTPError, LongPollResource, PollSession, PollSessions,
                                      _number)
from chatd.frontends.longpoll_forward import Forwarder, Unanswered
from chatd.frontends.outbox import Turn
from chatd.frontends.pollqueue import encode_batch
from chatd.store.redis_connect import RedisUnavailable
from chatd.wire import jsonproto

log = Logger(namespace="chatd.longpoll")

_LOST = ("The server node holding this session stopped; create a new session and join your rooms again "
         "with since.")
_NONE = "No such session: it ended or expired. Create a new one."


def _gone(e: SessionGone) -> HTTPError:
    return HTTPError(404, e.code, _LOST if e.code == LOST else _NONE)


class SharedPollSessions(PollSessions):
    """
    The sessions this node owns, their queues in Redis.  The per-address
    and total caps count this node's sessions only.

    @param ttl: seconds a session's keys outlive the owner's last renewal.
    """

    def __init__(self, hub, clock, web, max_bytes: int, per_ip: int, store: PollStore, turn: Turn,
                 ttl: float) -> None:
        super().__init__(hub, clock, web, max_bytes, per_ip)
        self.store, self.turn, self.ttl = store, turn, ttl

    def make_queue(self, session: PollSession) -> SharedQueue:
        return SharedQueue(self.store, session.token, session.ip, self.clock, self.turn, backlog=self.web.backlog,
                           max_bytes=self.max_bytes, idle=self.web.session_idle, ttl=self.ttl,
                           on_idle=lambda: self._expire(session), on_gone=lambda: session.close("Session lost"))


class ClusterLongPollResource(LongPollResource):
    """
    The C{/api} resource of one node of a cluster.

    @param cluster: the node's L{chatd.cluster.node.ClusterNode}.
    @param turn_clock: what batches appends per reactor turn (the reactor;
        tests with a fake C{clock} give the real one, which runs Redis).
    """

    #: Sessions live in Redis: polls take twisted.web's path.
    lean = False

    def __init__(self, hub, config, clock, cluster, sessions_per_ip: int = SESSIONS_PER_IP,
                 turn_clock=None) -> None:
        super().__init__(hub, config, clock, sessions_per_ip)
        web = config.web
        self.cluster = cluster
        ttl = 2 * (web.session_idle + web.max_poll_timeout) + cluster.node_timeout
        self.sessions = SharedPollSessions(hub, clock, web, max_bytes=4 * config.sendq, per_ip=sessions_per_ip,
                                           store=PollStore(cluster), turn=Turn(turn_clock or clock), ttl=ttl)
        self.polls = SharedPolls(cluster, clock, owns=lambda token: self.sessions.get(token) is not None)
        self.forwarder = Forwarder(cluster, clock, self._forwarded)

    def _session(self, token: str) -> str:
        """Any node answers any session: the handlers get the token."""
        return token

    # -- endpoints ----------------------------------------------------------

    def _created(self, request, session: PollSession) -> None:
        """Answer once the record is in Redis, so that a poll on any node finds it."""
        d = session.queue.ready
        d.addCallback(lambda _: LongPollResource._created(self, request, session))
        d.addErrback(self._not_stored, request, session)

    def _not_stored(self, failure, request, session: PollSession) -> None:
        log.warn("Could not store a new long-poll session for {peer} in Redis: {why}", peer=session.ip,
                 why=failure.getErrorMessage())
        session.close("Session could not be stored")
        self._refuse(request, HTTPError(503, "unavailable",
                                        "The server could not store the session (Redis failed); try again."))

    def _events(self, request, token: str) -> None:
        after = _number(request, b"after", 0)
        timeout = _number(request, b"timeout", self.web.poll_timeout, float)
        d = self.polls.wait(token, after, min(timeout, self.web.max_poll_timeout))
        if not d.called:
            request.notifyFinish().addErrback(lambda _: d.cancel())
        d.addCallback(lambda batch: self._send(request, 200, encode_batch(batch)))
        d.addErrback(lambda f: f.trap(CancelledError) and None)  # the client left
        d.addErrback(lambda f: self._refuse(request, _gone(f.trap(SessionGone) and f.value)))
        d.addErrback(self._failed, request)

    def _failed(self, failure, request) -> None:
        """Redis cannot be reached: the client should retry, nothing is lost; anything else is a 500."""
        if failure is None or not failure.check(RedisConnectionError, RedisUnavailable):
            return super()._failed(failure, request)
        log.warn("A long-poll request got 503: Redis cannot be reached ({why})", why=failure.getErrorMessage())
        self._refuse(request, HTTPError(503, "unavailable", "The server cannot reach its shared store right now; "
                                        "retry shortly."))

    def _command(self, request, token: str) -> None:
        body = self._body(request)
        secure = request.isSecure() or peers.is_local(request.channel.getPeer())  # the connection's, as on one node
        self._answer(request, self._route(token, "command", body, secure))

    def _delete(self, request, token: str) -> None:
        self._answer(request, self._route(token, "delete", b"", False))

    # -- where a session's request runs -------------------------------------

    def _route(self, token: str, kind: str, body: bytes, secure: bool) -> Deferred:
        """Run it here if this node holds the session, else on its owner: Deferred (status, body)."""
        session = self.sessions.get(token)
        if session is not None:
            return self._serve(session, kind, body, secure)
        d = self.polls.owner(token)
        d.addCallback(lambda owner: self.forwarder.ask(owner, token, kind, body, secure))
        d.addErrback(self._unanswered, token)
        d.addErrback(lambda f: self._raise(_gone(f.trap(SessionGone) and f.value)))
        return d

    def _raise(self, e: Exception):
        raise e

    def _unanswered(self, failure, token: str) -> Deferred:
        """The owner did not answer: lost if it is dead, else the client should retry."""
        failure.trap(Unanswered)
        owner = failure.value.owner

        def judged(alive: bool):
            if not alive:
                self.polls.store.remove(token).addErrback(lambda f: None)
                raise SessionGone(LOST, owner)
            said = "did not answer in time" if failure.value.heard else "is not listening right now"
            log.warn("Long-poll node {owner} {said}; a request for one of its sessions got 503", owner=owner,
                     said=said)
            raise HTTPError(503, "unavailable", f"The server node holding this session {said}; the command "
                            "may not have run. Retry (a say with the same cid is never posted twice).")

        return self.cluster.alive(owner).addCallback(judged)

    def _serve(self, session: PollSession, kind: str, body: bytes, secure: bool) -> Deferred:
        if kind == "delete":
            session.close("Session ended")
            log.debug("Long-poll session of {who} ({peer}) ended by its client", who=session.core.logname,
                      peer=session.ip)
            return succeed((204, b""))
        return self.run_command(session, body, secure)

    def run_command(self, session: PollSession, body: bytes, secure: bool) -> Deferred:
        """As on one node, but the answer waits until the events it caused are in Redis."""
        d = super().run_command(session, body, secure)
        return d.addCallback(lambda answer: session.queue.flushed().addCallback(lambda _: answer))

    def _forwarded(self, token: str, kind: str, body: bytes, secure: bool) -> Deferred:
        """A request another node forwarded: Deferred firing with (status, body), never failing."""
        session: Optional[PollSession] = self.sessions.get(token)
        if session is None:
            # A record naming this node for a session it does not hold: it restarted.
            self.polls.store.remove(token).addErrback(lambda f: None)
            d = succeed(None).addCallback(lambda _: self._raise(_gone(SessionGone(LOST))))
        else:
            d = self._serve(session, kind, body, secure)
        d.addErrback(self._as_answer)
        return d

    def _as_answer(self, failure):
        if failure.check(HTTPError):
            e = failure.value
            self.hub.count_error(e.code)
            return e.status, jsonproto.encode(jsonproto.error(e.code, e.message, e.ref))
        log.failure("A forwarded long-poll request failed", failure)
        return 500, jsonproto.encode(jsonproto.error(
            "internal", "The server failed to answer this request; it has been logged."))


__all__ = ["ClusterLongPollResource", "SharedPollSessions"]
