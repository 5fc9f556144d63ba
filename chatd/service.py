# -*- test-case-name: tests.test_service -*-
"""
Build the service tree from a L{chatd.config.Config} and the registry of
front ends (L{chatd.frontends.registry}).

L{ChatService} is a C{MultiService} of one L{Listener} per endpoint of
each front end.  The listeners bind in C{privilegedStartService} (a port
in use stops the daemon at once with one clear line) and accept nothing
until the store is open.  On stop the service closes the listeners, tells
every client, waits (at most C{shutdown_grace} seconds) for their
connections to close, and flushes the store.
"""

import os
import signal
from typing import Callable, Dict, List, Optional

from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from chatd import logsetup, notify
from chatd.admin.bans import Bans
from chatd.config import Config, ConfigError
from chatd.core.hub import Hub
from chatd.frontends.gate import Gate
from chatd.frontends.outbox import Turn
from chatd.frontends.registry import Built, Shared, front_ends
from chatd.listener import Listener, ListenFailed
from chatd.tls import listener as tls_listener

log = Logger(namespace="chatd.service")

SHUTDOWN_REASON = "The server is shutting down; please reconnect in a moment."

#: Settings besides the listeners that only a restart applies, as tap.cfg names them.
RESTART_ONLY = {"db": "[history] db", "durability": "[history] durability", "name": "[server] name",
                "cluster": "[cluster]"}

#: Seconds between retention passes over the history store.
PRUNE_EVERY = 3600


def make_hasher(config: Config, reactor):
    """Passwords are hashed in a small pool of threads, never on the reactor thread."""
    from chatd.passwords import DEFAULT_PROFILE, TEST_PROFILE, ThreadedHasher

    profile = TEST_PROFILE if config.password_hashing == "test-cheapest" else DEFAULT_PROFILE
    return ThreadedHasher(reactor, profile)


def make_store(config: Config, reactor):
    if config.db == ":memory:":
        from chatd.store.memory import MemoryStore

        return MemoryStore(keep=max(config.retention_messages, config.rules.history_max))
    from chatd.store.sqlite import SQLiteStore

    return SQLiteStore(config.db, reactor, durability=config.durability)


class ChatService(MultiService):
    """The whole daemon: the hub and its store, and a listener per endpoint."""

    def __init__(self, config: Config, reactor, hub: Hub, loader: Optional[Callable[[], Config]] = None) -> None:
        super().__init__()
        self.config = config
        self.loader = loader
        #: Callables (old, new config) -> report lines, run by L{reload}.
        self.reloaders: List[Callable[[Config, Config], List[str]]] = []
        self.reactor = reactor
        self.hub = hub
        #: Each front end as built, by name.
        self.frontends: Dict[str, Built] = {}
        self.ready: Deferred = Deferred()
        self._pruner: Optional[LoopingCall] = None
        #: The L{chatd.cluster.start.ClusterMember} when [cluster] is configured.
        self.cluster = None

    @property
    def listeners(self) -> List[Listener]:
        return [child for child in self if isinstance(child, Listener)]

    def privilegedStartService(self) -> None:
        try:
            super().privilegedStartService()
        except ListenFailed as e:
            for listener in self.listeners:
                listener.stopService()
            raise SystemExit(str(e))

    def startService(self) -> None:
        if any(listener.port is None for listener in self.listeners):
            self.privilegedStartService()
        super().startService()
        if self.loader is not None:
            signal.signal(signal.SIGHUP, lambda *_: self.reactor.callFromThread(self.reload))
        d = self.cluster.start() if self.cluster is not None else succeed(None)
        d.addCallbacks(lambda _: self.hub.store.open(), self._cluster_failed)
        d.addCallback(lambda _: self.hub.load())
        d.addCallback(self._accept)
        d.addErrback(self._store_failed)

    def _accept(self, _) -> None:
        listeners = self.listeners
        for listener in listeners:
            listener.accept()
        log.info("chatd is ready; history store: {store}", store=self.hub.store.name)
        notify.ready(f"serving {len(listeners)} listeners")
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

    def _cluster_failed(self, failure: Failure) -> Failure:
        log.error("chatd cannot join its cluster: {why} Stopping.", why=failure.getErrorMessage())
        failure.joined = False
        return failure

    def _store_failed(self, failure: Failure) -> None:
        if getattr(failure, "joined", True):
            log.failure(
                "chatd cannot open its history store {store}; check the [history] db path and its permissions. "
                "Stopping.", failure, store=self.hub.store.name,
            )
        self._fail()

    def _fail(self) -> None:
        """Stop, and exit with status 1 (systemd's Restart=on-failure tries again)."""
        self.reactor.addSystemEventTrigger("after", "shutdown", os._exit, 1)
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
        restart = [f"[{fe.name}] listen" for fe in front_ends() if fe.endpoints(old) != fe.endpoints(new)]
        restart += [key for name, key in RESTART_ONLY.items() if getattr(old, name) != getattr(new, name)]
        if restart:
            report.append("needs a restart to take effect: " + ", ".join(restart))
        for line in report or ["no changes"]:
            log.info("Reload: {line}", line=line)
        return report

    def stopService(self) -> Deferred:
        notify.stopping()
        super().stopService()  # the listeners stop listening
        self.hub.shutdown(SHUTDOWN_REASON)
        if self._pruner is not None and self._pruner.running:
            self._pruner.stop()
        d = self._drained(self.config.shutdown_grace)
        if self.hub.store is not None:  # a cluster node that never joined has none
            d.addCallback(lambda _: self.hub.store.close())
        if self.cluster is not None:
            d.addCallback(lambda _: self.cluster.stop())
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
    Wire a hub to its store, and each front end of the registry to one
    listener per endpoint the configuration names.

    @param loader: reads the configuration again, for SIGHUP reloads.
    """
    if config.log_level:
        logsetup.set_level(config.log_level)
    clustered = bool(config.cluster.redis)
    if store is None and not clustered:
        store = make_store(config, reactor)
    hub = Hub(reactor, store, config.rules, name=config.name, hasher=make_hasher(config, reactor))
    service = ChatService(config, reactor, hub, loader)
    if clustered:
        from chatd.cluster.start import ClusterMember

        listening = [d for fe in front_ends() for d in fe.endpoints(config)]
        service.cluster = ClusterMember(config, hub, reactor, listening)
    bans = Bans(reactor)
    gate = Gate(config.connections_per_ip, config.max_connections, stats=hub.stats,
                banned=lambda host: bans.is_banned(host) or hub.address_banned(host),
                proxies=config.web.trusted_proxies)
    turn = Turn(reactor)
    if hasattr(store, "after_batch"):
        # What a store batch delivers goes out in the same reactor iteration.
        store.after_batch(turn.settle)
    shared = Shared(hub=hub, reactor=reactor, gate=gate, turn=turn, bans=bans, reload=service.reload,
                    cluster=service.cluster.node if clustered else None)
    certificates = []
    for front_end in front_ends():
        descriptions = front_end.endpoints(config)
        if not descriptions:
            continue
        built = service.frontends[front_end.name] = front_end.build(config, shared)
        service.reloaders.append(built.reload)
        for description in descriptions:
            endpoint, factory, tls = tls_listener(description, built.factory)
            if built.outer is not None:
                factory = built.outer(factory)
            Listener(reactor, front_end.name, description, endpoint, factory).setServiceParent(service)
            if tls is not None:
                certificates.append(tls)
    service.bans = bans
    service.gate = gate
    service.certificates = certificates
    service.reloaders.append(lambda old, new: _reload_core(hub, gate, old, new))
    service.reloaders.append(lambda old, new: _reload_certificates(certificates))
    service.reloaders.append(_reload_log_level)
    return service


def _reload_core(hub: Hub, gate: Gate, old: Config, new: Config) -> List[str]:
    """The chat rules (sessions read them at each use: flood limits apply at once) and the gate's limits."""
    gate.per_address = new.connections_per_ip
    gate.total = new.max_connections
    report = []
    if new.web.trusted_proxies != old.web.trusted_proxies:
        gate.proxies.set(new.web.trusted_proxies)
        report.append("trusted proxies updated")
    if new.rules != old.rules:
        hub.rules = new.rules
        report.append("limits updated")
    return report


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
