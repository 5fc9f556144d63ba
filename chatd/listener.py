# -*- test-case-name: tests.test_service -*-
"""
One listening endpoint as a child service of the daemon.

It binds in C{privilegedStartService} (so a privileged port is bound
before twistd drops root, and a port in use stops the daemon at once with
one clear line), then accepts nothing until the daemon says it is ready
(the history store is open): a client that connects early waits in the
kernel's backlog instead of meeting a server that cannot yet chat.
"""

from typing import Optional

from twisted.application.service import Service
from twisted.internet.endpoints import serverFromString
from twisted.logger import Logger
from twisted.python.failure import Failure

from chatd.endpoints import listen_failure
from chatd.frontends import peers

log = Logger(namespace="chatd.service")


class ListenFailed(Exception):
    """A listener could not bind; the message says where and why, in words."""


class Listener(Service):
    """
    @param kind: the front end's name, for logs (C{lines}, C{web}, ...).
    @param description: the endpoint string as the operator wrote it.
    @param endpoint: the endpoint string to listen on (TLS listeners are
        rewritten to wrap a reloadable context).
    @param factory: the protocol factory to serve.
    """

    def __init__(self, reactor, kind: str, description: str, endpoint: str, factory) -> None:
        self.reactor = reactor
        self.kind = kind
        self.description = description
        self.endpoint = endpoint
        self.factory = factory
        self.port = None
        self.setName(f"{kind} {description}")

    def privilegedStartService(self) -> None:
        """Bind now, synchronously, and hold off accepting until L{accept}."""
        if self.port is not None:
            return
        result: list = []
        serverFromString(self.reactor, self.endpoint).listen(self.factory).addBoth(result.append)
        if not result or isinstance(result[0], Failure):
            why = listen_failure(result[0].value) if result else "listening did not complete"
            raise ListenFailed(f"chatd: cannot listen for {self.kind} on {self.description}: {why}")
        self.port = result[0]
        self.port.stopReading()
        super().privilegedStartService()

    def accept(self) -> None:
        """The daemon is ready: take connections."""
        self.port.startReading()
        log.info("chatd {kind} listener ready on {address} ({description})", kind=self.kind,
                 address=self.address, description=self.description)

    @property
    def address(self) -> Optional[str]:
        """Where it listens, as an operator writes it, once bound."""
        return peers.describe(self.port.getHost()) if self.port is not None else None

    def stopService(self):
        super().stopService()
        port, self.port = self.port, None
        if port is not None:
            return port.stopListening()
        return None
