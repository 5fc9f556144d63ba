# -*- test-case-name: tests.test_admin -*-
"""
The operator socket: a line protocol on a C{unix:} endpoint (mode 0600;
a loopback C{tcp:} one works too), for C{chatctl} and for scripts.

One command per line; each reply starts with C{ok} or C{error}.  An
C{error} reply is always one line.  A successful L{MULTILINE} command
answers with its C{ok} line, then body lines, then a line holding only
C{.}; a body line that starts with C{.} gets another C{.} in front
(as in SMTP), so no body line can end the reply early.

Operator actions are logged (namespace C{chatd.admin}) with the
operator's uid and pid, read from the socket (C{SO_PEERCRED}), or with
the operator's address on a C{tcp:} admin listener.

L{Bans} refuse addresses for a while: the connection gate consults
L{Bans.is_banned} for every new connection.  Bans live in memory; a
restart forgets them.
"""

import ipaddress
import resource
import socket
import struct
import sys
from collections import Counter
from typing import Callable, Dict, List, Optional, Tuple, Union

from twisted.internet.defer import maybeDeferred, succeed
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.protocols.basic import LineOnlyReceiver

from chatd import __version__
from chatd.core.errors import ChatError
from chatd.core.text import check_nick, clean_text

log = Logger(namespace="chatd.admin")

#: Commands whose C{ok} reply has a body ended by a C{.} line.
MULTILINE = frozenset({"status", "rooms", "sessions", "bans", "help", "reload"})

DEFAULT_BAN_MINUTES = 60
MAX_BAN_MINUTES = 366 * 24 * 60

HELP = (
    "status                      uptime, sessions per front end, rooms, members, memory",
    "rooms                       every room, its members and their addresses",
    "sessions                    every session: nick, front end, address, rooms",
    "kick NICK [reason]          disconnect NICK; the rooms see a quit with the reason",
    f"ban ADDRESS|NICK [minutes]  kick and refuse an address or network (default {DEFAULT_BAN_MINUTES} minutes)",
    "unban ADDRESS               lift a ban",
    "bans                        the bans in force and when they end",
    "broadcast TEXT              a server notice to every session",
    "reload                      read the configuration again (like SIGHUP)",
    "help                        this list",
    "quit                        close this connection",
)

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


def parse_ip(host: str) -> Optional[Union[ipaddress.IPv4Address, ipaddress.IPv6Address]]:
    """
    The address in C{host} (C{[::1]}, C{fe80::1%eth0}), IPv4-mapped IPv6
    as IPv4 (what an C{INET6} systemd socket reports); C{None} if none.
    """
    host = host.strip().strip("[]").split("%", 1)[0]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def session_ip(session):
    """A session's client address, or C{None} (unix sockets)."""
    transport = getattr(session.sink, "transport", None)
    if transport is not None:
        host = getattr(transport.getPeer(), "host", None)
        return parse_ip(host) if host else None
    peer = session.peer or ""
    if session.frontend == "longpoll":  # long-poll peers carry no port
        return parse_ip(peer)
    return parse_ip(peer.rpartition(":")[0]) if ":" in peer else parse_ip(peer)


class Bans:
    """
    Addresses and networks refused until a deadline.

    @param clock: C{IReactorTime} (a Clock in tests).
    """

    def __init__(self, clock) -> None:
        self.clock = clock
        self._until: Dict[Network, float] = {}

    @staticmethod
    def network(target: str) -> Network:
        """
        Parse an address or CIDR network to ban.

        @raise ValueError: not an address, everything, or loopback (which,
            behind a local reverse proxy, is every web user).
        """
        try:
            net = ipaddress.ip_network(target.strip().strip("[]"), strict=False)
        except ValueError:
            raise ValueError(f"{target!r} is not an IP address or network")
        if net.version == 6 and net.prefixlen >= 96 and net.network_address.ipv4_mapped is not None:
            net = ipaddress.ip_network(f"{net.network_address.ipv4_mapped}/{net.prefixlen - 96}")
        if net.prefixlen == 0:
            raise ValueError(f"{net} is every address")
        if net.is_loopback:
            raise ValueError(f"{net} is loopback: a local reverse proxy connects from there, so this "
                             "would ban everyone behind it; kick the session instead")
        return net

    def add(self, target: Union[str, Network], seconds: float) -> Network:
        net = self.network(target) if isinstance(target, str) else target
        self._until[net] = self.clock.seconds() + seconds
        return net

    def remove(self, target: str) -> bool:
        return self._until.pop(self.network(target), None) is not None

    def is_banned(self, host: str) -> bool:
        """Whether a connection from C{host} (an address string) is refused now."""
        if not self._until:
            return False
        ip = parse_ip(host)
        if ip is None:
            return False
        now = self.clock.seconds()
        for net, until in tuple(self._until.items()):
            if until <= now:
                del self._until[net]
            elif ip in net:
                return True
        return False

    def active(self) -> List[Tuple[Network, float]]:
        """The bans in force, with the time each ends, soonest first."""
        now = self.clock.seconds()
        for net in [n for n, until in self._until.items() if until <= now]:
            del self._until[net]
        return sorted(self._until.items(), key=lambda item: item[1])


def rss_bytes() -> Tuple[str, int]:
    """Resident memory now (C{/proc}), or the peak where there is no C{/proc}."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return "rss_bytes", int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return "max_rss_bytes", peak if sys.platform == "darwin" else peak * 1024


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

    delimiter = b"\n"
    MAX_LENGTH = 8192
    operator = "unknown"

    def connectionMade(self) -> None:
        self.operator = peer_credentials(self.transport)
        # Every command is chained here, so replies keep the order of the
        # commands even while a reload is still running.
        self._queue = succeed(None)

    def lineLengthExceeded(self, line: bytes) -> None:
        self.sendLine(b"error line too long")
        self.transport.loseConnection()

    def lineReceived(self, raw: bytes) -> None:
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            line = "\ufffd"
        if not line:
            return
        verb, _, args = line.partition(" ")
        verb = verb.lower()
        handler = getattr(self, "cmd_" + verb, None) if verb.isascii() and verb.isalpha() else None
        if handler is None:
            handler, args = self._unknown, verb
        d = self._queue
        d.addCallback(lambda _: maybeDeferred(handler, args.strip()))
        d.addErrback(self._failed, verb)
        d.addCallback(self._send, verb)
        d.addErrback(lambda f: log.failure("Could not send an admin reply", f))

    def _unknown(self, verb: str) -> List[str]:
        return [f"error unknown command {verb[:40]!r}; try help"]

    def _failed(self, failure, verb: str) -> List[str]:
        log.failure("Admin command {command} failed", failure, command=verb, operator=self.operator)
        return [f"error {verb} failed: {failure.getErrorMessage()}"]

    def _send(self, lines: List[str], verb: str) -> None:
        first, *body = [" ".join(line.splitlines()) for line in lines]
        self.sendLine(first.encode("utf-8"))
        if first.startswith("ok") and verb in MULTILINE:
            for line in body:
                self.sendLine(("." + line if line.startswith(".") else line).encode("utf-8"))
            self.sendLine(b".")
        if verb == "quit":
            self.transport.loseConnection()

    # -- commands -----------------------------------------------------------

    def cmd_help(self, args: str) -> List[str]:
        return ["ok commands", *list(HELP)]

    def cmd_quit(self, args: str) -> List[str]:
        return ["ok bye"]

    def cmd_status(self, args: str) -> List[str]:
        factory, hub = self.factory, self.factory.hub
        frontends = Counter(s.frontend or "unknown" for s in hub.sessions)
        body = [
            f"version {__version__}",
            f"uptime_seconds {int(factory.clock.seconds() - factory.started)}",
            f"sessions {len(hub.sessions)}",
        ]
        body += [f"sessions_{name} {n}" for name, n in sorted(frontends.items())]
        body += [
            f"rooms {len(hub.rooms)}",
            f"members {sum(len(r.members) for r in hub.rooms.values())}",
            f"bans {len(factory.bans.active())}",
            "%s %d" % rss_bytes(),
        ]
        return ["ok status", *body]

    def cmd_rooms(self, args: str) -> List[str]:
        rooms = sorted(self.factory.hub.rooms.values(), key=lambda r: r.key)
        body = []
        for room in rooms:
            body.append(f"{room.name} members={len(room.members)} topic={room.topic}".rstrip())
            for s in sorted(room.members, key=lambda s: s.key or ""):
                body.append(f"  {s.nick or '-'} {s.frontend} {s.peer or '-'}")
        return [f"ok {len(rooms)} rooms", *body]

    def cmd_sessions(self, args: str) -> List[str]:
        sessions = sorted(self.factory.hub.sessions, key=lambda s: (s.key or "\uffff", s.peer))
        body = [
            f"{s.nick or '-'} {s.frontend} {s.peer or '-'} rooms={','.join(r.name for r in s.rooms.values()) or '-'}"
            for s in sessions
        ]
        return [f"ok {len(sessions)} sessions", *body]

    def _session(self, nick: str):
        try:
            key = check_nick(nick)
        except ChatError as e:
            raise _Refused(e.message)
        session = self.factory.hub.nicks.get(key)
        if session is None:
            raise _Refused(f"nobody is called {nick}")
        return session

    def cmd_kick(self, args: str) -> List[str]:
        nick, _, why = args.partition(" ")
        if not nick:
            return ["error usage: kick NICK [reason]"]
        try:
            session = self._session(nick)
            why = clean_text(why, "reason", self.factory.hub.rules.max_reason).strip()
        except _Refused as e:
            return [f"error {e}"]
        except ChatError as e:
            return [f"error {e.message}"]
        reason = "Kicked by an operator" + (f": {why}" if why else ".")
        log.info("Operator {operator} kicked {nick} ({frontend} {peer}): {reason}", operator=self.operator,
                 nick=session.nick, frontend=session.frontend, peer=session.peer, reason=reason)
        session.sink.disconnect(reason)
        return [f"ok kicked {session.nick} ({session.frontend} {session.peer})"]

    def cmd_ban(self, args: str) -> List[str]:
        words = args.split()
        if not 1 <= len(words) <= 2:
            return ["error usage: ban ADDRESS|NICK [minutes]"]
        minutes = DEFAULT_BAN_MINUTES
        if len(words) == 2:
            if not words[1].isdigit() or not 1 <= int(words[1]) <= MAX_BAN_MINUTES:
                return [f"error minutes must be a whole number from 1 to {MAX_BAN_MINUTES}"]
            minutes = int(words[1])
        target = words[0]
        try:
            if _looks_like_address(target):
                net = Bans.network(target)
            else:
                session = self._session(target)
                ip = session_ip(session)
                if ip is None:
                    return [f"error {session.nick} has no IP address ({session.peer}); use kick"]
                net = Bans.network(str(ip))
        except (ValueError, _Refused) as e:
            return [f"error {e}"]
        bans = self.factory.bans
        bans.add(net, minutes * 60.0)
        reason = f"Banned by an operator for {minutes} minutes."
        kicked = [s for s in tuple(self.factory.hub.sessions) if (ip := session_ip(s)) is not None and ip in net]
        log.info("Operator {operator} banned {network} for {minutes} minutes (asked: {target}); kicking {count} sessions",
                 operator=self.operator, network=str(net), minutes=minutes, target=target, count=len(kicked))
        for s in kicked:
            log.info("Disconnecting banned {nick} ({frontend} {peer})", nick=s.nick or "a client without a nick",
                     frontend=s.frontend, peer=s.peer)
            s.sink.disconnect(reason)
        return [f"ok banned {net} for {minutes} minutes; kicked {len(kicked)} sessions"]

    def cmd_unban(self, args: str) -> List[str]:
        try:
            removed = self.factory.bans.remove(args)
        except ValueError as e:
            return [f"error {e}"]
        if not removed:
            return [f"error {args} is not banned"]
        log.info("Operator {operator} lifted the ban on {network}", operator=self.operator, network=args)
        return [f"ok unbanned {args}"]

    def cmd_bans(self, args: str) -> List[str]:
        now = self.factory.clock.seconds()
        active = self.factory.bans.active()
        body = [f"{net} remaining_seconds={int(until - now)}" for net, until in active]
        return [f"ok {len(active)} bans", *body]

    def cmd_broadcast(self, args: str) -> List[str]:
        try:
            text = clean_text(args, "notice", self.factory.hub.rules.max_message).strip()
        except ChatError as e:
            return [f"error {e.message}"]
        if not text:
            return ["error usage: broadcast TEXT"]
        hub = self.factory.hub
        log.info("Operator {operator} broadcast a notice to {count} sessions: {text}",
                 operator=self.operator, count=len(hub.sessions), text=text)
        hub.notice(text)
        return [f"ok sent to {len(hub.sessions)} sessions"]

    def cmd_reload(self, args: str):
        reload = self.factory.reload
        if reload is None:
            return ["error reload is not available here"]
        log.info("Operator {operator} asked for a reload", operator=self.operator)
        d = maybeDeferred(reload)

        def done(report) -> List[str]:
            lines = [str(line) for line in (report or [])]
            if lines and lines[0].lower().startswith("error"):
                return ["error reload refused, the running configuration stays: "
                        + lines[0].split(":", 1)[-1].strip()]
            return ["ok reloaded", *(lines or ["no changes"])]

        return d.addCallback(done)


def _looks_like_address(target: str) -> bool:
    """A ban target with C{:} or C{/}, or digits and dots, is an address, not a nick."""
    return ":" in target or "/" in target or target.replace(".", "").isdigit()


class _Refused(Exception):
    """A command's argument names nothing usable; the text says why."""


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


if __name__ == "__main__":  # python -m chatd.admin status
    from chatd.chatctl import main

    sys.exit(main())
