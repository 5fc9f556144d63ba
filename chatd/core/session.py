# -*- test-case-name: tests.core.test_hub -*-
"""
A session: one connected client, whatever its wire format.

L{Session.handle} is the one entry point for what a client asks: it takes
a L{chatd.core.commands} value, charges flood control, runs the rule and
answers with a Deferred that fires with the rule's result (an event, or
None) or fails with a L{chatd.core.errors.ChatError}, never anything else.
The rules themselves are methods the session takes from the rule
modules (L{chatd.core.membership}, L{chatd.core.talk}, L{chatd.core.away},
L{chatd.core.accounts}, L{chatd.core.multiclient}, L{chatd.core.moderation},
L{chatd.core.roomops}, L{chatd.core.operators}), also callable directly
(by the hub, by tests) without flood control.
"""

import itertools
import secrets
from typing import Dict, Optional

from twisted.internet.defer import Deferred, fail, maybeDeferred
from twisted.logger import Logger

from chatd.core import commands as cmd
from chatd.core.errors import ChatError, Internal, NoNick, Unavailable
from chatd.core.accounts import Accounts
from chatd.core.away import Away
from chatd.core.flood import Throttle
from chatd.core.markers import Markers
from chatd.core.membership import Membership
from chatd.core.moderation import Moderation
from chatd.core.multiclient import Multiclient
from chatd.core.operators import ServerOps
from chatd.core.reactions import Reactions
from chatd.core.room import Deliver, Room
from chatd.core.roomops import RoomOps
from chatd.core.talk import Talk
from chatd.core.typists import Typists
from chatd.core.users import User

log = Logger(namespace="chatd.session")

#: Serials start at a random high part, so that two nodes of a cluster
#: practically never give one out twice (L{ev.Message.via} crosses nodes).
_serials = itertools.count((secrets.randbits(31) << 32) | 1)


class Session(Membership, Talk, Reactions, Typists, Markers, Away, Accounts, Multiclient, Moderation, RoomOps,
              ServerOps):
    """
    The core's view of one client connection.

    @ivar user: the L{User} it is a connection of (alone, or with the other
        connections logged in to the same account).
    @ivar nick: the user's nick as typed, or C{None} before one is set
        (a copy, kept by the user, read by the fan-out).
    @ivar key: the folded nick (the registry key), or C{None}.
    @ivar look: the nick's look-alike key (L{skeleton}), or C{None}.
    @ivar secure: the connection is TLS, or from this machine: a password
        may travel over it.
    @ivar token: the digest of the login token it logged in with, or None.
    @ivar rooms: the rooms this session is in, by folded name.
    @ivar current: the room a line without a room goes to: the last one
        joined that the session is still in.
    """

    __slots__ = ("hub", "sink", "peer", "host", "frontend", "secure", "serial", "user", "nick", "key", "look", "token",
                 "rooms", "current", "closed", "throttle", "typed")

    def __init__(self, hub, sink, peer: str, frontend: str, host: Optional[str] = None,
                 secure: bool = False) -> None:
        self.hub = hub
        self.sink = sink
        self.peer = peer
        #: The client's IP address, or None (a unix socket), for bans.
        self.host = host
        self.frontend = frontend
        self.secure = secure
        #: A number no other connection has (L{ev.Message.via}).
        self.serial = next(_serials)
        self.user = User(self, self.own_uid)
        self.token: Optional[str] = None
        self.nick: Optional[str] = None
        self.key: Optional[str] = None
        self.look: Optional[str] = None
        self.rooms: Dict[str, Room] = {}
        self.current: Optional[Room] = None
        self.closed = False
        self.throttle = Throttle(self)
        #: Typing notices told, by target: L{chatd.core.typists}.
        self.typed = None

    def __repr__(self) -> str:
        return f"<Session {self.logname} {self.frontend} {self.peer}>"

    @property
    def own_uid(self) -> str:
        """The uid of this connection's user while it is not logged in."""
        return f"{self.hub.node}/{self.serial}"

    @property
    def logname(self) -> str:
        """The session's nick for logs, or what it is before it has one."""
        return self.nick if self.nick is not None else "a client without a nick"

    # -- the entry point -------------------------------------------------------

    def handle(self, command: cmd.Command, size: int = 0) -> Deferred:
        """
        Run C{command} under flood control: now, or held and run later, in
        the order commands came (L{chatd.core.flood}).

        @param size: the command's size in bytes as received, for
            C{[limits] recvq}.
        @return: a Deferred firing with the rule's result, or failing with
            a L{ChatError} (a command that never runs, because the session
            ended first, fails with C{unavailable}).
        """
        if self.closed:
            return fail(Unavailable("This session has ended; connect again."))
        if self.throttle.take(command.cost):
            return self._settle(command)
        result = Deferred()
        self._hold(
            command.cost, size, lambda: self._settle(command).chainDeferred(result),
            lambda reason: result.errback(Unavailable(reason)),
        )
        return result

    def _settle(self, command: cmd.Command) -> Deferred:
        """Run C{command}; if it changes who or where the session is, what follows waits for it."""
        if not command.blocking(self):
            return self._run(command)
        throttle = self.throttle
        throttle.pause()
        d = self._run(command)
        d.addBoth(lambda result: throttle.resume() or result)
        return d

    def _run(self, command: cmd.Command) -> Deferred:
        rule = _RULES[type(command)]
        if command.needs_nick and self.nick is None:
            return fail(NoNick("Choose a nick first."))
        d = maybeDeferred(rule, self, command)
        d.addErrback(self._failed, command)
        return d

    def _failed(self, failure, command):
        if not failure.check(ChatError):
            log.failure("Running a {command} command for {who} ({frontend} {peer}) failed; the client got "
                        "an 'internal' error", failure, command=command.name, who=self.logname,
                        frontend=self.frontend, peer=self.peer)
            failure = Internal("The server failed to run that command; it has been logged.")
        else:
            failure = failure.value
        self.hub.count_error(failure.code)
        raise failure

    def submit(self, cost: int, size: int, run, drop=None) -> bool:
        """
        Run C{run} under flood control, now or later; C{drop(reason)} is
        called instead if the session ends first.

        @return: whether it ran now.
        """
        if self.closed:
            if drop is not None:
                drop("This session has ended; connect again.")
            return False
        if self.throttle.take(cost):
            run()
            return True
        self._hold(cost, size, run, drop)
        return False

    def _hold(self, cost: int, size: int, run, drop) -> None:
        self.hub.stats["rate_limited"] += 1
        if not self.throttle.held:  # once per streak, not once per command
            log.info(
                "Slowing down {who} ({frontend} {peer}): over {rate} commands per second; "
                "its input is held and run late",
                who=self.logname, frontend=self.frontend, peer=self.peer, rate=self.hub.rules.flood_rate,
            )
        self.throttle.hold(cost, size, run, drop)

    @property
    def held(self) -> int:
        """How many commands are waiting for flood control to let them run."""
        return len(self.throttle)

    def flooding(self, held_bytes: int) -> None:
        """Held input passed C{[limits] recvq}: disconnect this session for flooding."""
        rules = self.hub.rules
        self.hub.stats["flood_disconnects"] += 1
        log.warn(
            "Disconnecting {who} ({frontend} {peer}) for flooding: {held} bytes of commands waiting, "
            "over [limits] recvq = {recvq} at {rate} commands per second",
            who=self.logname, frontend=self.frontend, peer=self.peer, held=held_bytes,
            recvq=rules.recvq, rate=rules.flood_rate,
        )
        reason = (
            f"Disconnected for flooding: you sent more than {rules.recvq} bytes of commands "
            f"faster than {rules.flood_rate} per second."
        )
        self.sink.disconnect(reason)
        self.close(reason)  # in case the sink did not

    # -- leaving -----------------------------------------------------------------

    def close(self, reason: Optional[str] = None) -> None:
        """
        End the session (the client quit or its connection closed): every
        room it was in gets a C{quit} event, and its nick is free again.
        Safe to call more than once.
        """
        if self.closed:
            return
        self.closed = True
        log.info(
            "Session ended: {who} ({frontend} {peer}): {reason}",
            who=self.logname, frontend=self.frontend, peer=self.peer, reason=reason or "no reason",
        )
        self.throttle.clear(reason or "The session ended.")
        self.leave_all(reason)
        self.hub.forget(self)


#: Each command's rule: a function of (session, command).
_RULES = {
    cmd.Nick: lambda s, c: s.set_nick(c.nick),
    cmd.Join: lambda s, c: s.join(c.room, c.since, c.key),
    cmd.Part: lambda s, c: s.part(c.room, c.reason),
    cmd.Say: lambda s, c: s.say(c.room, c.text, c.cid, c.reply_to),
    cmd.Action: lambda s, c: s.act(c.room, c.text, c.cid, c.reply_to),
    cmd.React: lambda s, c: s.react(c.room, c.id, c.reaction),
    cmd.Unreact: lambda s, c: s.unreact(c.room, c.id, c.reaction),
    cmd.Typing: lambda s, c: s.typing(c.room, c.to, c.state),
    cmd.Read: lambda s, c: s.read(c.room, c.to, c.id),
    cmd.Set: lambda s, c: s.set_preference(c.option, c.value),
    cmd.Msg: lambda s, c: s.private(c.to, c.text),
    cmd.Away: lambda s, c: s.set_away(c.text),
    cmd.Topic: lambda s, c: s.topic(c.room) if c.topic is None else s.set_topic(c.room, c.topic),
    cmd.Who: lambda s, c: s.who(c.room),
    cmd.Rooms: lambda s, c: s.list_rooms(),
    cmd.History: lambda s, c: s.history(c.room, c.limit, c.before, c.after, c.after_ts, c.before_ts),
    cmd.Line: lambda s, c: s.line(c.text),
    cmd.Help: lambda s, c: None,
    cmd.Quit: lambda s, c: s.close(c.reason or "Quit"),
    cmd.Refused: lambda s, c: fail(c.error),
    cmd.Register: lambda s, c: s.register(c.password, c.email),
    cmd.Login: lambda s, c: s.login(c.account, c.password, c.token, c.since),
    cmd.Logout: lambda s, c: s.logout(),
    cmd.Passwd: lambda s, c: s.passwd(c.old, c.new),
    cmd.Ghost: lambda s, c: s.ghost(c.nick),
    cmd.Drop: lambda s, c: s.drop(c.password),
    cmd.Whois: lambda s, c: s.whois(c.nick),
    cmd.Room: lambda s, c: s.room_command(c.room, c.action, c.account),
    cmd.Op: lambda s, c: s.give_role("op", c.room, c.nick),
    cmd.Deop: lambda s, c: s.give_role("deop", c.room, c.nick),
    cmd.Voice: lambda s, c: s.give_role("voice", c.room, c.nick),
    cmd.Devoice: lambda s, c: s.give_role("devoice", c.room, c.nick),
    cmd.Kick: lambda s, c: s.kick(c.room, c.nick, c.reason),
    cmd.Ban: lambda s, c: s.ban(c.room, c.mask, c.duration, c.reason),
    cmd.Unban: lambda s, c: s.unban(c.room, c.mask),
    cmd.Bans: lambda s, c: s.list_bans(c.room),
    cmd.Mute: lambda s, c: s.mute(c.room, c.nick, c.duration),
    cmd.Unmute: lambda s, c: s.unmute(c.room, c.nick),
    cmd.Invite: lambda s, c: s.invite(c.room, c.nick),
    cmd.Mode: lambda s, c: s.mode(c.room, c.modes, c.arg),
    cmd.Delete: lambda s, c: s.delete(c.room, c.id),
    cmd.Kill: lambda s, c: s.kill(c.nick, c.reason),
    cmd.Announce: lambda s, c: s.announce(c.text),
    cmd.ServerBan: lambda s, c: s.server_ban(c.mask, c.duration, c.reason),
    cmd.ServerUnban: lambda s, c: s.server_unban(c.mask),
    cmd.ServerBans: lambda s, c: s.server_bans(),
}

__all__ = ["Session", "Deliver"]
