# -*- test-case-name: tests.frontends.test_longpoll -*-
"""
The HTTP long-poll front end: the JSON protocol under C{/api/}
(docs/protocol.md, "Long-poll API"; the paths are in L{_ROUTES}).

A L{PollSession} is the core session's L{ISink}: it encodes each event
once (shared with every other JSON member) and queues it in a
L{PollQueue}, which numbers it and holds it until a poll acknowledges it.
No chat rule lives here; commands go through L{jsonapi.execute}.

HTTP status codes are for HTTP-level problems only (400 malformed body,
404, 405, 413, 429, 500); a well-formed command the core refuses is a
200 carrying the C{error} object, exactly what a WebSocket client gets.

Bodies: twisted.web spools a request body before it renders anything, so
the size limit must act earlier, while the body arrives.  The Site
serving this resource should use its C{requestFactory}
(L{chatd.frontends.httpbounds.LimitedRequest}); the resource
checks the size again in case it does not.
"""

import secrets
from typing import Dict, List, Optional

from twisted.internet.defer import CancelledError, Deferred
from twisted.logger import Logger
from twisted.web import server
from twisted.web.resource import Resource
from zope.interface import implementer

from chatd.core import commands as cmd
from chatd.core.errors import ChatError, RateLimited
from chatd.core.interfaces import ISink
from chatd.frontends import jsonapi
from chatd.frontends import peers
from chatd.frontends.httpbounds import client_ip as _client_ip
from chatd.frontends.httpbounds import limited_request_factory
from chatd.frontends.pollqueue import PollQueue, encode_batch
from chatd.wire import jsonproto

log = Logger(namespace="chatd.longpoll")

TRANSPORT = "longpoll"
#: Seconds a disconnected session keeps its token so its last poll can
#: collect the reason.
LINGER = 5.0
#: Live long-poll sessions allowed per client address.
SESSIONS_PER_IP = 32
_JSON = b"application/json"
_TOKEN = object()

#: Path shapes under /api/ and the method each one answers.
_ROUTES = {
    (b"sessions",): (b"POST", "_create"),
    (b"sessions", _TOKEN): (b"DELETE", "_delete"),
    (b"sessions", _TOKEN, b"commands"): (b"POST", "_command"),
    (b"sessions", _TOKEN, b"events"): (b"GET", "_events"),
}


class HTTPError(Exception):
    """An HTTP-level refusal: answered as C{status} with a JSON error object."""

    def __init__(self, status: int, code: str, message: str, ref=None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.ref = status, code, message, ref


# -- sessions ---------------------------------------------------------------


@implementer(ISink)
class PollSession:
    """One long-poll client: the sink of its core session, feeding its queue."""

    def __init__(self, sessions: "PollSessions", token: str, ip: str) -> None:
        self.token = token
        self.ip = ip
        self.closed = False
        self.queue: PollQueue = None  # type: ignore[assignment]
        self.core = None
        self._sessions = sessions

    def __repr__(self) -> str:
        return f"<PollSession {self.core!r}>"

    def deliver(self, event) -> None:
        try:
            self.queue.append(event.encoded(jsonproto.encode_event))
        except Exception:
            log.failure("Could not queue a {type} event for {who} (long-poll {peer})",
                        type=event.type, who=self.core.logname, peer=self.ip)

    def disconnect(self, reason: str) -> None:
        """
        The server ends us: leave the rooms now, but keep the token for
        L{LINGER} seconds so that a client without a poll held at this
        instant (it was just answered) still collects the C{shutdown} event.
        """
        if self.closed:
            return
        self.queue.append(jsonproto.encode({"type": "shutdown", "reason": reason}))
        self.core.close(reason)
        self._sessions.clock.callLater(LINGER, self.close, reason)

    def close(self, reason: str) -> None:
        """Forget the token, answer a held poll, and quit every room."""
        if self.closed:
            return
        self.closed = True
        self._sessions.forget(self)
        self.queue.close()
        self.core.close(reason)


class PollSessions:
    """The live long-poll sessions, by token, with per-address and total caps."""

    def __init__(self, hub, clock, web, max_bytes: int, per_ip: int = SESSIONS_PER_IP) -> None:
        self.hub = hub
        self.clock = clock
        self.web = web
        self.max_bytes = max_bytes
        self.per_ip = per_ip
        self._by_token: Dict[str, PollSession] = {}
        self._per_ip: Dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._by_token)

    def get(self, token: str) -> Optional[PollSession]:
        return self._by_token.get(token)

    def open(self, ip: str) -> PollSession:
        """
        Start a session for a client at C{ip}.

        @raise RateLimited: C{ip} has C{per_ip} sessions, or the server C{max_connections}.
        """
        if self._per_ip.get(ip, 0) >= self.per_ip:
            raise RateLimited(
                f"Your address already has {self.per_ip} long-poll sessions; end one (DELETE) first."
            )
        if len(self._by_token) >= self.web.max_connections:
            raise RateLimited("The server has as many long-poll sessions as it allows; try again later.")
        token = secrets.token_urlsafe(24)
        session = PollSession(self, token, ip)
        session.queue = self.make_queue(session)
        session.core = self.hub.connect(session, peer=ip, frontend=TRANSPORT, host=None if ip == "local" else ip)
        self._by_token[token] = session
        self._per_ip[ip] = self._per_ip.get(ip, 0) + 1
        return session

    def make_queue(self, session: PollSession) -> PollQueue:
        """The queue of a new session (in this process's memory)."""
        return PollQueue(
            self.clock,
            backlog=self.web.backlog,
            max_bytes=self.max_bytes,
            idle=self.web.session_idle,
            on_idle=lambda: self._expire(session),
        )

    def _expire(self, session: PollSession) -> None:
        log.info("Long-poll session of {who} ({peer}) expired after {idle} s without a poll",
                 who=session.core.logname, peer=session.ip, idle=self.web.session_idle)
        session.close("Session expired")

    def forget(self, session: PollSession) -> None:
        if self._by_token.pop(session.token, None) is None:
            return
        left = self._per_ip[session.ip] - 1
        if left:
            self._per_ip[session.ip] = left
        else:
            del self._per_ip[session.ip]


# -- the resource -----------------------------------------------------------


def _route(postpath):
    """The (method, handler name) for a path under /api/, and its token."""
    segments = list(postpath)
    if segments and segments[-1] == b"":
        segments.pop()
    token = segments[1] if len(segments) > 1 else None
    shape = tuple(_TOKEN if i == 1 else s for i, s in enumerate(segments))
    return _ROUTES.get(shape), token


def _number(request, name: bytes, default: float, kind=int) -> float:
    """A query argument of digits (and, for floats, one dot): no signs, no nan."""
    values = request.args.get(name)
    if not values:
        return default
    raw = values[-1]
    try:
        if not raw.replace(b".", b"", 1 if kind is float else 0).isdigit():
            raise ValueError(raw)
        return kind(raw)
    except ValueError:
        raise HTTPError(400, "bad-request", f"{name.decode()} must be a number of 0 or more.")


class LongPollResource(Resource):
    """
    The C{/api} resource.  It routes everything below itself, so that every
    answer, errors included, is JSON.

    @param hub: the L{chatd.core.hub.Hub}.
    @param config: the whole L{chatd.config.Config}.
    @param clock: an C{IReactorTime} for poll timeouts and session expiry.
    """

    isLeaf = True
    #: Its sessions are in this process: polls may take the lean path (L{chatd.frontends.fastpoll}).
    lean = True

    def __init__(self, hub, config, clock, sessions_per_ip: int = SESSIONS_PER_IP) -> None:
        super().__init__()
        self.hub = hub
        self.web = config.web
        # About 1 MiB at the default sendq: a whole scrollback always fits.
        self.sessions = PollSessions(hub, clock, config.web, max_bytes=4 * config.sendq, per_ip=sessions_per_ip)
        self.requestFactory = limited_request_factory(config.web.max_body)
        self.cors_origins = frozenset(config.web.cors_origins)

    def reload(self, old, new) -> List[str]:
        """A reload: the CORS allow-list applies to the next request."""
        if new.web.cors_origins == old.web.cors_origins:
            return []
        self.cors_origins = frozenset(new.web.cors_origins)
        return ["CORS origins updated"]

    def render(self, request):
        request.setHeader(b"Cache-Control", b"no-store")
        try:
            self._cors_headers(request)
            self._dispatch(request)
        except HTTPError as e:
            self._refuse(request, e)
        except Exception:
            self._failed(None, request)
        return server.NOT_DONE_YET

    def _dispatch(self, request) -> None:
        found, token = _route(request.postpath)
        if found is None:
            raise HTTPError(404, "not-found", "There is nothing here; see the Long-poll API in docs/protocol.md.")
        method, handler = found
        allowed = [method, b"OPTIONS"] if self.cors_origins else [method]
        if request.method == b"OPTIONS" and self.cors_origins:
            return self._preflight(request, allowed)
        if request.method != method:
            request.setHeader(b"Allow", b", ".join(allowed))
            raise HTTPError(405, "method-not-allowed", f"Use {method.decode()} here.")
        session = None if token is None else self._session(token.decode("ascii", "replace"))
        getattr(self, handler)(request, session)

    def _session(self, token: str):
        """What the handlers of a session's paths get: here, the session held in memory."""
        session = self.sessions.get(token)
        if session is None:
            raise HTTPError(404, "no-such-session", "No such session: it ended or expired. Create a new one.")
        return session

    # -- endpoints ----------------------------------------------------------

    def _create(self, request, _) -> None:
        try:
            session = self.sessions.open(_client_ip(request))
        except RateLimited as e:
            raise HTTPError(429, e.code, e.message)
        log.debug("Long-poll session opened for {peer}", peer=session.ip)
        self._created(request, session)

    def _created(self, request, session: PollSession) -> None:
        web = self.web
        limits = jsonproto.limits(self.hub.rules, body=web.max_body, poll_timeout=web.max_poll_timeout,
                                  idle=web.session_idle, backlog=web.backlog)
        welcome = jsonproto.welcome(self.hub.name, limits, transport=TRANSPORT)
        here = b"/" + b"/".join(request.prepath + [b"sessions", session.token.encode("ascii")])
        request.setHeader(b"Location", here)
        self._send(request, 201, jsonproto.encode({"session": session.token, "welcome": welcome}))

    def _delete(self, request, session: PollSession) -> None:
        session.close("Session ended")
        log.debug("Long-poll session of {who} ({peer}) ended by its client", who=session.core.logname, peer=session.ip)
        self._send(request, 204, b"")

    def _command(self, request, session: PollSession) -> None:
        body = self._body(request)
        # Whether a password may travel is a property of this request (a
        # session's requests need not all come the same way), judged by its
        # connection: a proxy on this machine is local, whoever it names.
        secure = request.isSecure() or peers.is_local(request.channel.getPeer())
        self._answer(request, self.run_command(session, body, secure))

    def run_command(self, session: PollSession, body: bytes, secure: bool) -> Deferred:
        """
        Run one command body on C{session}: Deferred firing with the HTTP
        (status, body) to answer, or failing with L{HTTPError}.
        """
        try:
            command, ref = jsonproto.decode_command(body)
        except ChatError as e:
            # Garbage waits its turn under flood control like any command,
            # then gets its 400 (counted by the core, like every refusal).
            d = session.core.handle(cmd.Refused(error=e), len(body))
            return d.addCallbacks(lambda _, e=e: self._bad_body(None, e), self._bad_body, errbackArgs=(e,))
        session.core.secure = secure
        d = jsonapi.execute(session.core, command, ref, len(body))
        return d.addCallback(self._replied, session)

    def _bad_body(self, failure, error: ChatError):
        if failure is None or failure.value is error:
            return 400, jsonapi.refusal(error.code, error.message, getattr(error, "ref", None))
        # the session ended while the body waited its turn
        raise HTTPError(404, "no-such-session", failure.getErrorMessage())

    def _replied(self, replies, session: PollSession):
        for data in replies[:-1]:  # a reading command's data event
            session.queue.append(data)
        return 200, replies[-1]

    def _answer(self, request, d: Deferred) -> None:
        """Send the (status, body) C{d} fires with, or the refusal it fails with."""
        d.addCallback(lambda answer: self._send(request, *answer))
        d.addErrback(lambda f: self._refuse(request, f.trap(HTTPError) and f.value))
        d.addErrback(self._failed, request)

    def _events(self, request, session: PollSession) -> None:
        after = _number(request, b"after", 0)
        timeout = _number(request, b"timeout", self.web.poll_timeout, float)
        d = session.queue.wait(after, min(timeout, self.web.max_poll_timeout))
        if not d.called:
            request.notifyFinish().addErrback(lambda _: d.cancel())
        d.addCallback(lambda batch: self._send(request, 200, encode_batch(batch)))
        d.addErrback(lambda f: f.trap(CancelledError) and None)  # the client left
        d.addErrback(self._failed, request)

    def _preflight(self, request, allowed) -> None:
        request.setHeader(b"Allow", b", ".join(allowed))
        if request.responseHeaders.hasHeader(b"Access-Control-Allow-Origin"):
            request.setHeader(b"Access-Control-Allow-Methods", b", ".join(allowed))
            request.setHeader(b"Access-Control-Allow-Headers", b"Content-Type")
            request.setHeader(b"Access-Control-Max-Age", b"600")
        self._send(request, 204, b"")

    # -- helpers ------------------------------------------------------------

    def _cors_headers(self, request) -> None:
        """CORS is off unless configured; then only listed origins get it."""
        if not self.cors_origins:
            return
        request.setHeader(b"Vary", b"Origin")
        origin = request.getHeader(b"Origin")
        if origin is not None and ("*" in self.cors_origins or origin.decode("latin-1") in self.cors_origins):
            request.setHeader(b"Access-Control-Allow-Origin", origin)

    def _body(self, request) -> bytes:
        limit = self.web.max_body
        data = request.content.read(limit + 1) if request.content is not None else b""
        if len(data) > limit:
            raise HTTPError(413, "too-large", f"The body is over {limit} bytes.")
        return data

    def _send(self, request, status: int, body: bytes) -> None:
        if request.finished or getattr(request, "channel", None) is None:
            return  # answered already, or the client is gone
        request.setResponseCode(status, b"Too Many Requests" if status == 429 else None)
        if status != 204:
            request.setHeader(b"Content-Type", _JSON)
            request.setHeader(b"Content-Length", b"%d" % (len(body),))
            request.write(body)
        request.finish()

    def _refuse(self, request, e: HTTPError) -> None:
        self.hub.count_error(e.code)
        self._send(request, e.status, jsonproto.encode(jsonproto.error(e.code, e.message, e.ref)))

    def _failed(self, failure, request) -> None:
        """Log anything unexpected and answer 500; never let it escape."""
        log.failure("Long-poll request {method} {uri} failed", failure,
                    method=request.method, uri=request.uri)
        try:
            if not request.startedWriting:
                self._refuse(request, HTTPError(500, "internal",
                                                "The server failed to answer this request; it has been logged."))
        except Exception:
            log.failure("Could not answer a failed long-poll request")


def api_resource(hub, config, clock, cluster=None) -> LongPollResource:
    """
    The C{/api} resource: sessions in this process's memory, or, with
    C{[cluster]} (C{cluster} is the node's L{chatd.cluster.node.ClusterNode}),
    in Redis, where any node of the cluster answers them.
    """
    if cluster is None:
        return LongPollResource(hub, config, clock)
    from chatd.frontends.longpoll_cluster import ClusterLongPollResource

    return ClusterLongPollResource(hub, config, clock, cluster)


__all__ = ["LongPollResource", "PollSession", "PollSessions", "api_resource"]
