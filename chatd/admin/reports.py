# -*- test-case-name: tests.test_admin -*-
"""
The admin commands that only report: C{status}, C{rooms}, C{sessions},
C{bans} and C{help}.  They change nothing, so they log nothing.
"""

import resource
import sys
from collections import Counter
from typing import Callable, Dict, Tuple

from chatd import __version__
from chatd.admin.bans import DEFAULT_BAN_MINUTES
from chatd.admin.wire import Reply, ok

HELP = (
    "status                      uptime, sessions per front end, rooms, members, memory, cluster nodes",
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


class Reports:
    """
    What the daemon holds now, read from the hub and the bans.

    @param factory: the L{chatd.admin.protocol.AdminFactory}.
    """

    def __init__(self, factory) -> None:
        self.factory = factory

    def commands(self) -> Dict[str, Callable[[str, str], Reply]]:
        return {"status": self.status, "rooms": self.rooms, "sessions": self.sessions,
                "bans": self.bans, "help": self.help}

    def help(self, args: str, operator: str) -> Reply:
        return ok("commands", HELP)

    def status(self, args: str, operator: str) -> Reply:
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
        if not hub.nodes.shared:
            return ok("status", body)

        def nodes(found) -> Reply:
            lines = [f"cluster_node {hub.node}"]
            for name, alive, info in found:
                listening = " ".join(info.get("listeners", ()))
                lines.append(f"node {name} {'alive' if alive else 'dead'} pid={info.get('pid')} "
                             f"host={info.get('host')} {listening}".rstrip())
            return ok("status", body + lines)

        return hub.nodes.everyone().addCallback(nodes)

    def rooms(self, args: str, operator: str) -> Reply:
        rooms = sorted(self.factory.hub.rooms.values(), key=lambda r: r.key)
        body = []
        for room in rooms:
            body.append(f"{room.name} members={len(room.members)} topic={room.topic}".rstrip())
            for s in sorted(room.members, key=lambda s: s.key or ""):
                body.append(f"  {s.nick or '-'} {s.frontend} {s.peer or '-'}")
        return ok(f"{len(rooms)} rooms", body)

    def sessions(self, args: str, operator: str) -> Reply:
        sessions = sorted(self.factory.hub.sessions, key=lambda s: (s.key or "\uffff", s.peer))
        body = [
            f"{s.nick or '-'} {s.frontend} {s.peer or '-'} rooms={','.join(r.name for r in s.rooms.values()) or '-'}"
            for s in sessions
        ]
        return ok(f"{len(sessions)} sessions", body)

    def bans(self, args: str, operator: str) -> Reply:
        now = self.factory.clock.seconds()
        active = self.factory.bans.active()
        body = [f"{net} remaining_seconds={int(until - now)}" for net, until in active]
        return ok(f"{len(active)} bans", body)
