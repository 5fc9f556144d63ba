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

from typing import List, Optional, Tuple

from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import serverFromString
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from chatd.config import Config
from chatd.core.hub import Hub
from chatd.frontends.lines import LineFactory

log = Logger(namespace="chatd.service")

SHUTDOWN_REASON = "The server is shutting down; please reconnect in a moment."

#: Seconds between retention passes over the history store.
PRUNE_EVERY = 3600


def make_store(config: Config, reactor):
    if config.db == ":memory:":
        from chatd.store.memory import MemoryStore

        return MemoryStore(keep=max(config.retention_messages, config.rules.history_max))
    from chatd.store.sqlite import SQLiteStore

    return SQLiteStore(config.db, reactor, durability=config.durability)


def describe_address(address) -> str:
    host = getattr(address, "host", None)
    if host is not None:
        return f"{host}:{address.port}"
    return str(getattr(address, "name", address))


class ChatService(MultiService):
    """The whole daemon: store, hub and listeners."""

    def __init__(self, config: Config, reactor, hub: Hub, listeners: List[Tuple[str, str, object]]) -> None:
        super().__init__()
        self.config = config
        self.reactor = reactor
        self.hub = hub
        self.listeners = listeners
        self.ports: List[Tuple[str, str, object]] = []
        self.ready: Deferred = Deferred()
        self._pruner: Optional[LoopingCall] = None

    def privilegedStartService(self) -> None:
        for kind, description, factory in self.listeners:
            result: list = []
            serverFromString(self.reactor, description).listen(factory).addBoth(result.append)
            if not result or isinstance(result[0], Failure):
                why = result[0].getErrorMessage() if result else "listening did not complete"
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
        d = self.hub.store.open()
        d.addCallback(self._accept)
        d.addErrback(self._store_failed)

    def _accept(self, _) -> None:
        for kind, description, port in self.ports:
            port.startReading()
            log.info(
                "chatd {kind} listener ready on {address} ({description})",
                kind=kind,
                address=describe_address(port.getHost()),
                description=description,
            )
        log.info("chatd is ready; history store: {store}", store=self.hub.store.name)
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

    def stopService(self) -> Deferred:
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


def makeService(config: Config, reactor, store=None) -> ChatService:
    """Wire a hub to its store and front ends, one listener per endpoint."""
    store = store if store is not None else make_store(config, reactor)
    hub = Hub(reactor, store, config.rules, name=config.name)
    listeners: List[Tuple[str, str, object]] = []
    lines = LineFactory(hub, max_line=config.max_line, sendq=config.sendq, motd=config.motd)
    for description in config.lines_listeners():
        listeners.append(("lines", description, lines))
    web_site = _web_site(config, reactor, hub)
    if web_site is not None:
        for description in config.web_listeners():
            listeners.append(("web", description, web_site))
    return ChatService(config, reactor, hub, listeners)


def _web_site(config: Config, reactor, hub) -> Optional[object]:
    """The web listener's Site, once the web front end is installed."""
    try:
        from chatd.frontends.web import makeSite
    except ImportError:
        return None
    return makeSite(hub, config, reactor)
