# -*- test-case-name: tests.test_service -*-
"""
Build the service tree from a L{chatd.config.Config}.

C{ChatService} owns the listeners: it binds every endpoint in
C{privilegedStartService} (so a port in use stops the daemon at once with
one clear line), keeps them from accepting until the store is open, then
accepts.  On stop it closes the listeners, tells every client, waits (at
most C{shutdown_grace} seconds) for their connections to close, and
flushes the store.
"""

import signal
from dataclasses import fields
from typing import Callable, List, Optional, Tuple

from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import serverFromString
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from chatd import logsetup, notify
from chatd.admin.bans import Bans
from chatd.admin.protocol import AdminFactory
from chatd.config import Config, ConfigError
from chatd.core.hub import Hub
from chatd.endpoints import listen_failure
from chatd.frontends import peers
from chatd.frontends.gate import OPERATOR_CONNECTIONS, OPERATOR_IDLE, Gate, GatedFactory, OperatorGate, http_refusal
from chatd.frontends.httpbounds import set_deadlines
from chatd.frontends.lines import LineFactory
from chatd.frontends.outbox import Turn
from chatd.frontends.longpoll import LongPollResource
from chatd.frontends.web import makeSite
from chatd.metrics import makeMetricsSite
from chatd.tls import listener as tls_listener

log = Logger(namespace="chatd.service")

SHUTDOWN_REASON = "The server is shutting down; please reconnect in a moment."

#: Settings that only a restart applies (listeners and the store).
RESTART_ONLY = ("lines", "db", "durability", "name", "metrics", "admin")

#: Seconds between retention passes over the history store.
PRUNE_EVERY = 3600


def make_store(config: Config, reactor):
    if config.db == ":memory:":
        from chatd.store.memory import MemoryStore

        return MemoryStore(keep=max(config.retention_messages, config.rules.history_max))
    from chatd.store.sqlite import SQLiteStore

    return SQLiteStore(config.db, reactor, durability=config.durability)


class ChatService(MultiService):
    """The whole daemon: store, hub and listeners."""

    def __init__(
        self, config: Config, reactor, hub: Hub, listeners: List[Tuple[str, str, str, object]],
        loader: Optional[Callable[[], Config]] = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.loader = loader
        #: Callables (old, new config) -> report lines, run by L{reload}.
        self.reloaders: List[Callable[[Config, Config], List[str]]] = []
        self.reactor = reactor
        self.hub = hub
        self.listeners = listeners
        self.ports: List[Tuple[str, str, object]] = []
        self.ready: Deferred = Deferred()
        self._pruner: Optional[LoopingCall] = None

    def privilegedStartService(self) -> None:
        for kind, description, endpoint, factory in self.listeners:
            result: list = []
            serverFromString(self.reactor, endpoint).listen(factory).addBoth(result.append)
            if not result or isinstance(result[0], Failure):
                why = listen_failure(result[0].value) if result else "listening did not complete"
                self._close_ports()
                raise SystemExit(f"chatd: cannot listen for {kind} on {description}: {why}")
            port = result[0]
            port.stopReading()  # accept nothing until the store is open
            self.ports.append((kind, description, port))
        super().privilegedStartService()

    def _close_ports(self) -> None:
        for _, _, port in self.ports:
            port.stopListening()
        self.ports = []

    def startService(self) -> None:
        if not self.ports and self.listeners:
            self.privilegedStartService()
        super().startService()
        if self.loader is not None:
            signal.signal(signal.SIGHUP, lambda *_: self.reactor.callFromThread(self.reload))
        d = self.hub.store.open()
        d.addCallback(self._accept)
        d.addErrback(self._store_failed)

    def _accept(self, _) -> None:
        for kind, description, port in self.ports:
            port.startReading()
            log.info(
                "chatd {kind} listener ready on {address} ({description})",
                kind=kind,
                address=peers.describe(port.getHost()),
                description=description,
            )
        log.info("chatd is ready; history store: {store}", store=self.hub.store.name)
        notify.ready(f"serving {len(self.ports)} listeners")
        self._pruner = LoopingCall(self._prune)
        self._pruner.clock = self.reactor
        self._pruner.start(PRUNE_EVERY, now=True)
        self.ready.callback(self)

    def _prune(self) -> Deferred:
        """Retention pass; the loop waits for it before scheduling the next."""
        config = self.config
        d = self.hub.store.prune(config.retention_messages, config.retention_days * 86400.0, self.hub.now())
        d.addCallback(lambda n: n and log.info("Retention: pruned {n} old messages", n=n))
        d.addErrback(lambda f: log.failure("Retention pruning failed; it will be retried in an hour", f))
        return d

    def _store_failed(self, failure: Failure) -> None:
        log.failure(
            "chatd cannot open its history store {store}; check the [history] db path and its permissions. Stopping.",
            failure,
            store=self.hub.store.name,
        )
        self.reactor.stop()

    def reload(self) -> List[str]:
        """
        SIGHUP: read the configuration again and apply what can change
        live (motd, limits, timeouts, origins, certificates); report what
        needs a restart.  A broken file changes nothing.
        """
        log.info("Reloading the configuration")
        notify.reloading()
        try:
            return self._reload()
        finally:
            notify.ready()

    def _reload(self) -> List[str]:
        try:
            new = self.loader() if self.loader is not None else self.config
        except ConfigError as e:
            log.error("Reload refused, the running configuration stays: {error}", error=str(e))
            return [f"error: {e}"]
        old, self.config = self.config, new
        report: List[str] = []
        for reloader in self.reloaders:
            report.extend(reloader(old, new))
        restart = [
            f.name for f in fields(Config)
            if f.name in RESTART_ONLY and getattr(old, f.name) != getattr(new, f.name)
        ]
        if old.web.listen != new.web.listen:
            restart.append("web.listen")
        if restart:
            report.append("needs a restart to take effect: " + ", ".join(restart))
        for line in report or ["no changes"]:
            log.info("Reload: {line}", line=line)
        return report

    def stopService(self) -> Deferred:
        notify.stopping()
        super().stopService()
        for _, _, port in self.ports:
            port.stopListening()
        self.hub.shutdown(SHUTDOWN_REASON)
        if self._pruner is not None and self._pruner.running:
            self._pruner.stop()
        d = self._drained(self.config.shutdown_grace)
        d.addCallback(lambda _: self.hub.store.close())
        d.addErrback(lambda f: log.failure("Error while flushing the history store at shutdown", f))
        return d

    def _drained(self, grace: float) -> Deferred:
        """Fire when every session has gone, or after C{grace} seconds."""
        if not self.hub.sessions:
            return succeed(None)
        deadline = self.reactor.seconds() + grace
        done: Deferred = Deferred()

        def check() -> None:
            if not self.hub.sessions or self.reactor.seconds() >= deadline:
                if self.hub.sessions:
                    log.warn("{n} sessions still open after {grace}s; closing anyway", n=len(self.hub.sessions), grace=grace)
                loop.stop()

        loop = LoopingCall(check)
        loop.clock = self.reactor
        loop.start(0.05, now=False).addCallback(lambda _: done.callback(None))
        return done


def makeService(config: Config, reactor, store=None, loader: Optional[Callable[[], Config]] = None) -> ChatService:
    """
    Wire a hub to its store and front ends, one listener per endpoint.

    @param loader: reads the configuration again, for SIGHUP reloads.
    """
    if config.log_level:
        logsetup.set_level(config.log_level)
    store = store if store is not None else make_store(config, reactor)
    hub = Hub(reactor, store, config.rules, name=config.name)
    bans = Bans(reactor)
    gate = Gate(config.connections_per_ip, config.max_connections, banned=bans.is_banned, stats=hub.stats)
    turn = Turn(reactor)  # one flush per reactor turn for every connection
    lines = LineFactory(
        hub, max_line=config.max_line, sendq=config.sendq, motd=config.motd,
        registration_timeout=config.registration_timeout, idle_timeout=config.idle_timeout, turn=turn,
    )
    listeners: List[Tuple[str, str, str, object]] = []
    certificates = []
    lines.gate = gate  # line connections count against the gate themselves
    api = LongPollResource(hub, config, reactor)
    site = makeSite(hub, config, reactor, api_resource=api, turn=turn)
    site.requestFactory = api.requestFactory  # refuses bodies over the limit before reading them
    kinds = [
        ("lines", config.lines_listeners(), lines),
        ("web", config.web_listeners(), GatedFactory(gate, site, http_refusal, "web")),
    ]
    for kind, descriptions, factory in kinds:
        for description in descriptions:
            endpoint, wrapped, tls = tls_listener(description, factory)
            listeners.append((kind, description, endpoint, wrapped))
            if tls is not None:
                certificates.append(tls)
    service = ChatService(config, reactor, hub, listeners, loader)
    # Metrics: an HTTP listener like the web one (the gate, the deadlines).
    if config.metrics:
        metrics = makeMetricsSite(hub, reactor)
        set_deadlines(metrics, config.web)
        service.reloaders.append(lambda old, new: set_deadlines(metrics, new.web) or [])
        listeners.append(("metrics", config.metrics, config.metrics, GatedFactory(gate, metrics, http_refusal, "metrics")))
    # Admin: operators only, with its own cap, so a full gate never locks them out.
    if config.admin:
        admin = AdminFactory(hub, bans, reload=service.reload, clock=reactor, started=reactor.seconds())
        gated = OperatorGate(admin, OPERATOR_CONNECTIONS, OPERATOR_IDLE, reactor)
        listeners.append(("admin", config.admin, config.admin, gated))
    service.bans = bans
    service.gate = gate
    service.lines = lines
    service.certificates = certificates
    service.reloaders.append(lambda old, new: _reload_core(hub, gate, lines, old, new))
    service.reloaders.append(lambda old, new: _reload_web(site, api, old, new))
    service.reloaders.append(lambda old, new: _reload_certificates(certificates))
    service.reloaders.append(_reload_log_level)
    return service


def _reload_core(hub: Hub, gate: Gate, lines: LineFactory, old: Config, new: Config) -> List[str]:
    """Apply limits, motd and timeouts; existing sessions get the new limits."""
    report = []
    if new.rules != old.rules:
        hub.rules = new.rules  # sessions read it at each use: flood limits apply at once
        report.append("limits updated")
    if new.motd != old.motd:
        lines.motd = new.motd
        report.append("motd updated")
    lines.registration_timeout = new.registration_timeout
    lines.idle_timeout = new.idle_timeout
    lines.max_line = new.max_line
    lines.sendq = new.sendq
    gate.per_address = new.connections_per_ip
    gate.total = new.max_connections
    for session in hub.sessions:
        outbox = getattr(session.sink, "outbox", None)
        if outbox is not None:
            outbox.bound = new.sendq
    return report


def _reload_web(site, api, old: Config, new: Config) -> List[str]:
    """New WebSocket connections get the new sendq and origins; HTTP the new deadlines and CORS list."""
    members = site.websocket
    members.sendq = new.sendq
    set_deadlines(site, new.web)
    report = []
    if new.web.cors_origins != old.web.cors_origins:
        api.cors_origins = frozenset(new.web.cors_origins)
        report.append("CORS origins updated")
    if new.web.allowed_origins == old.web.allowed_origins:
        return report
    try:
        members.allowed_origins = frozenset(members.origin_keys(new.web.allowed_origins))
    except ValueError as e:
        return report + [f"error: [web] allowed_origins not changed: {e}"]
    return report + ["allowed origins updated"]


def _reload_log_level(old: Config, new: Config) -> List[str]:
    if new.log_level == old.log_level:
        return []
    logsetup.set_level(new.log_level or "info")
    return [f"log level {new.log_level or 'info'}"]


def _reload_certificates(certificates) -> List[str]:
    report = []
    for tls in certificates:
        ok = tls.reload()
        report.append(f"certificate {tls.cert_path} " + ("reloaded" if ok else "NOT reloaded; the old one stays"))
    return report
