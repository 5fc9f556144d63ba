# -*- test-case-name: tests.test_admin -*-
"""
The admin commands that act on users: C{kick}, C{ban} and C{unban}.

They check the operator's arguments, log the action with the operator
who asked (namespace C{chatd.admin}), and leave the hub to
L{chatd.admin.hubcalls}.
"""

from typing import Callable, Dict

from twisted.logger import Logger

from chatd.admin import hubcalls
from chatd.admin.bans import DEFAULT_BAN_MINUTES, MAX_BAN_MINUTES, Bans, looks_like_address
from chatd.admin.hubcalls import Refused
from chatd.admin.wire import Reply, error, ok
from chatd.core.errors import ChatError
from chatd.core.text import clean_text

log = Logger(namespace="chatd.admin")


class Moderation:
    """
    Kicks and bans for operators.

    @param factory: the L{chatd.admin.protocol.AdminFactory}.
    """

    def __init__(self, factory) -> None:
        self.factory = factory

    def commands(self) -> Dict[str, Callable[[str, str], Reply]]:
        return {"kick": self.kick, "ban": self.ban, "unban": self.unban}

    def kick(self, args: str, operator: str) -> Reply:
        hub = self.factory.hub
        nick, _, why = args.partition(" ")
        if not nick:
            return error("usage: kick NICK [reason]")
        try:
            session = hubcalls.find_session(hub, nick)
            why = clean_text(why, "reason", hub.rules.max_reason).strip()
        except Refused as e:
            return error(str(e))
        except ChatError as e:
            return error(e.message)
        log.info("Operator {operator} kicked {nick} ({frontend} {peer}): {reason}", operator=operator,
                 nick=session.nick, frontend=session.frontend, peer=session.peer, reason=why or "no reason given")
        hubcalls.kick(hub, session, why)
        return ok(f"kicked {session.nick} ({session.frontend} {session.peer})")

    def ban(self, args: str, operator: str) -> Reply:
        hub = self.factory.hub
        words = args.split()
        if not 1 <= len(words) <= 2:
            return error("usage: ban ADDRESS|NICK [minutes]")
        minutes = DEFAULT_BAN_MINUTES
        if len(words) == 2:
            if not words[1].isdigit() or not 1 <= int(words[1]) <= MAX_BAN_MINUTES:
                return error(f"minutes must be a whole number from 1 to {MAX_BAN_MINUTES}")
            minutes = int(words[1])
        target = words[0]
        try:
            if looks_like_address(target):
                net = Bans.network(target)
            else:
                session = hubcalls.find_session(hub, target)
                ip = hubcalls.session_ip(session)
                if ip is None:
                    return error(f"{session.nick} has no IP address ({session.peer}); use kick")
                net = Bans.network(str(ip))
        except (ValueError, Refused) as e:
            return error(str(e))
        self.factory.bans.add(net, minutes * 60.0)
        kicked = hubcalls.sessions_from(hub, net)
        log.info("Operator {operator} banned {network} for {minutes} minutes (asked: {target}); kicking {count} sessions",
                 operator=operator, network=str(net), minutes=minutes, target=target, count=len(kicked))
        for s in kicked:
            log.info("Disconnecting banned {nick} ({frontend} {peer})", nick=s.nick or "a client without a nick",
                     frontend=s.frontend, peer=s.peer)
            hubcalls.kick(hub, s, f"banned for {minutes} minutes",
                          farewell=f"Banned by an operator for {minutes} minutes.")
        return ok(f"banned {net} for {minutes} minutes; kicked {len(kicked)} sessions")

    def unban(self, args: str, operator: str) -> Reply:
        try:
            removed = self.factory.bans.remove(args)
        except ValueError as e:
            return error(str(e))
        if not removed:
            return error(f"{args} is not banned")
        log.info("Operator {operator} lifted the ban on {network}", operator=operator, network=args)
        return ok(f"unbanned {args}")
