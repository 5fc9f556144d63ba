# -*- test-case-name: tests.test_admin -*-
"""
The daemon's side of the admin socket: one L{AdminProtocol} per operator
connection, reading requests and writing replies in the format of
L{chatd.admin.wire}; L{AdminFactory} holds what the commands work on.

Operator actions are logged (namespace C{chatd.admin}) with the
operator's uid and pid, read from the socket (C{SO_PEERCRED}), or with
the operator's address on a C{tcp:} admin listener.
"""

import socket
import struct
from typing import Callable, Dict, Optional

from twisted.internet.defer import maybeDeferred, succeed
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.protocols.basic import LineOnlyReceiver

from chatd.admin import wire
from chatd.admin.bans import Bans
from chatd.admin.control import Control
from chatd.admin.moderation import Moderation
from chatd.admin.reports import Reports
from chatd.admin.wire import Reply, error, ok
from chatd.frontends.gate import OPERATOR_CONNECTIONS, OPERATOR_IDLE, OperatorGate
from chatd.frontends.registry import Built, FrontEnd

log = Logger(namespace="chatd.admin")

#: A command: its arguments and the operator who asked, to its reply (or a Deferred of it).
Command = Callable[[str, str], object]


def peer_credentials(transport) -> str:
    """
    C{uid=... pid=...} of the process at the other end of a unix socket;
    the address and port for a C{tcp:} admin listener (where the kernel
    has no credentials to give, and says uid=-1 pid=0).
    """
    sock = getattr(transport, "socket", None)
    option = getattr(socket, "SO_PEERCRED", None)
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        peer = transport.getPeer()
        return f"[{peer.host}]:{peer.port}" if ":" in peer.host else f"{peer.host}:{peer.port}"
    if sock is None or option is None:
        return "unknown"
    try:
        pid, uid, _ = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i")))
    except (OSError, struct.error):
        return "unknown"
    return f"uid={uid} pid={pid}"


class AdminProtocol(LineOnlyReceiver):
    """One operator connection.  Replies keep the order of the commands."""

    delimiter = wire.DELIMITER
    MAX_LENGTH = wire.MAX_REQUEST
    operator = "unknown"

    def connectionMade(self) -> None:
        self.operator = peer_credentials(self.transport)
        # Every command is chained here, so replies keep the order of the
        # commands even while a reload is still running.
        self._queue = succeed(None)

    def lineLengthExceeded(self, line: bytes) -> None:
        self.transport.write(wire.frame(error("line too long"), ""))
        self.transport.loseConnection()

    def lineReceived(self, line: bytes) -> None:
        request = wire.parse_request(line)
        if request is None:
            return
        verb, args = request
        command = self.factory.commands.get(verb)
        if command is None:
            command, args = _unknown, verb
        d = self._queue
        d.addCallback(lambda _: maybeDeferred(command, args, self.operator))
        d.addErrback(self._failed, verb)
        d.addCallback(self._send, verb)
        d.addErrback(lambda f: log.failure("Could not send an admin reply", f))

    def _failed(self, failure, verb: str) -> Reply:
        log.failure("Admin command {command} failed", failure, command=verb, operator=self.operator)
        return error(f"{verb} failed: {failure.getErrorMessage()}")

    def _send(self, reply: Reply, verb: str) -> None:
        self.transport.write(wire.frame(reply, verb))
        if verb == "quit":
            self.transport.loseConnection()


def _unknown(verb: str, operator: str) -> Reply:
    return error(f"unknown command {verb[:40]!r}; try help")


def _quit(args: str, operator: str) -> Reply:
    return ok("bye")


class AdminFactory(Factory):
    """
    @param hub: the L{chatd.core.hub.Hub}.
    @param bans: the L{Bans} the connection gate consults.
    @param reload: no-argument callable returning report lines (or a
        Deferred of them); a first line starting with C{error} means the
        reload was refused.  C{None}: no C{reload} command.
    @param clock: C{IReactorTime}; the hub's clock by default.
    @param started: when the daemon started (for uptime); now by default.
    """

    protocol = AdminProtocol
    noisy = False

    def __init__(self, hub, bans: Bans, reload: Optional[Callable[[], object]] = None, clock=None,
                 started: Optional[float] = None) -> None:
        self.hub = hub
        self.bans = bans
        self.reload = reload
        self.clock = clock if clock is not None else hub.clock
        self.started = started if started is not None else self.clock.seconds()
        self.commands: Dict[str, Command] = {"quit": _quit}
        for group in (Reports(self), Moderation(self), Control(self)):
            self.commands.update(group.commands())


def build(config, shared):
    """
    The admin front end on the C{[admin] listen} endpoint: operators only,
    with its own cap and idle timeout, so a full gate never locks them out.
    """
    reactor = shared.reactor
    admin = AdminFactory(shared.hub, shared.bans, reload=shared.reload, clock=reactor, started=reactor.seconds())
    return Built(OperatorGate(admin, OPERATOR_CONNECTIONS, OPERATOR_IDLE, reactor))


FRONT_END = FrontEnd("admin", lambda config: (config.admin,) if config.admin else (), build)
