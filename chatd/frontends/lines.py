# -*- test-case-name: tests.frontends.test_lines -*-
"""
The line front end: telnet and nc users.

Bytes go through L{chatd.wire.lines.LineDecoder} into commands on a core
session; core events come back through L{LineMember.deliver} and are
rendered once per event for every line member (L{Event.encoded}).  The only
state kept here is presentation: the user's current room.
"""

from typing import Optional

from twisted.internet.defer import maybeDeferred
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from zope.interface import implementer

from chatd.core import events as ev
from chatd.core.errors import ChatError, NotInRoom
from chatd.core.text import check_room
from chatd.core.interfaces import ISink
from chatd.frontends.gate import Refusal, lines_refusal
from chatd.frontends.outbox import Outbox
from chatd.wire import lines as wire
from chatd.wire.lines import Problem

log = Logger(namespace="chatd.lines")

#: Over-long lines in a row before the connection is closed.
MAX_OVERLONG = 5


def peer_of(transport) -> str:
    addr = transport.getPeer()
    host = getattr(addr, "host", None)
    if host is None:
        return str(getattr(addr, "name", "") or "unix")
    return f"{host}:{addr.port}"


@implementer(ISink)
class LineMember(Protocol):
    """One telnet or nc connection: a core session's sink."""

    session = None
    current: Optional[str] = None
    outbox: Optional[Outbox] = None
    _timer = None
    gate_host: Optional[str] = None

    def connectionMade(self) -> None:
        factory = self.factory
        self.decoder = wire.LineDecoder(factory.max_line)
        self.outbox = Outbox(
            self.transport, factory.sendq, self._too_slow, factory.turn, factory.hub.stats, "bytes_out:lines"
        )
        self.peer = peer_of(self.transport)
        self.session = factory.hub.connect(self, peer=self.peer, frontend="lines")
        log.info("lines connection from {peer}", peer=self.peer)
        self.write(wire.render_info(f"{factory.hub.name}: {factory.motd}"))
        self.write(wire.render_info("Choose a nick: type it and press Enter. /help lists commands."))
        self._timer = factory.clock.callLater(factory.registration_timeout, self._timed_out, "choose a nick")

    def _timed_out(self, what: str) -> None:
        self._timer = None
        limit = self.factory.registration_timeout if what == "choose a nick" else self.factory.idle_timeout
        log.info("Closing lines connection from {peer}: it did not {what} within {limit}s", peer=self.peer, what=what, limit=limit)
        self.disconnect(f"Closing: you did not {what} within {limit} seconds.")

    def _activity(self) -> None:
        """Input arrived: restart the idle timer (registered users only)."""
        timer = self._timer
        if self.session.nick is None:
            return
        if timer is not None and timer.active():
            timer.reset(self.factory.idle_timeout)

    def write(self, data: bytes) -> None:
        if self.outbox is not None:
            self.outbox.write(data)

    def error(self, code: str, message: str) -> None:
        self.factory.hub.count_error(code)
        self.write(wire.render_error(code, message))

    def refused(self, code: str, message: str, size: int = 0) -> None:
        """Input refused here, before the core: it still goes through flood control."""
        self.session.submit("invalid", size, lambda: self.error(code, message))

    def _too_slow(self, queued: int) -> None:
        self.factory.hub.stats["slow_dropped"] += 1
        log.warn(
            "Disconnecting {nick} ({peer}): over {bound} bytes waiting to be sent; it reads too slowly",
            nick=self.session.logname if self.session else "a client",
            peer=getattr(self, "peer", "?"),
            bound=self.factory.sendq,
        )

    # -- input ------------------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        if self._timer is not None and self.factory.idle_timeout:
            self._activity()
        items = self.decoder.feed(data)
        if self.decoder.replies:
            self.write(bytes(self.decoder.replies))
            self.decoder.replies.clear()
        for item in items:
            if self.session is None or self.session.closed:
                return
            try:
                if isinstance(item, Problem):
                    self.refused(item.code, item.message)
                else:
                    self.lineReceived(item)
            except Exception:
                log.failure("Failed to handle a line from {peer}; the user got an 'internal' error", peer=self.peer)
                self.error("internal", "The server failed to handle that line; it has been logged.")
        if self.decoder.overlong >= MAX_OVERLONG or self.decoder.discarded > 64 * self.decoder.max_line:
            self.disconnect("You keep sending lines over the length limit.")

    def lineReceived(self, line: str) -> None:
        """
        Parse one line and hand it to flood control, which runs it now or,
        for a client going faster than the flood rate, later: every line
        runs in the order it was typed, each seeing what the lines before
        it did.
        """
        try:
            command = wire.parse(line)
        except wire.UsageError as e:
            self.refused("usage", f"Usage: {e}", len(line))
            return
        if command is None:
            return
        name = command[0]
        if self.session.nick is None and name == "say":
            name = "nick"  # the first plain line is the nick
        self.session.submit(name, len(line), lambda: self._run(command))

    def _run(self, command) -> None:
        if self.session.nick is None and command[0] == "say":
            command = ("nick", command[1].strip())
        maybeDeferred(getattr(self, "do_" + command[0]), *command[1:]).addErrback(self._failed)

    def _failed(self, failure) -> None:
        if failure.check(ChatError):
            self.error(failure.value.code, failure.value.message)
            return
        log.failure("Command failed for {peer}; the user got an 'internal' error", failure, peer=self.peer)
        self.error("internal", "The server failed to run that command; it has been logged.")

    def _room(self, room: Optional[str]) -> str:
        room = room or self.current
        if room is None:
            raise NotInRoom("You are not in a room; /join #room first.")
        return room

    # -- commands ----------------------------------------------------------

    def do_nick(self, nick: str):
        first = self.session.nick is None
        self.session.set_nick(nick)
        if first:
            self._registered()
            self.write(wire.render_info(f"You are now {nick}. /join #lobby to start chatting; /help lists commands."))
        else:
            self.write(wire.render_info(f"You are now known as {nick}"))

    def do_join(self, room: str):
        d = self.session.join(room)
        # Joined now (the scrollback may still be on its way): the next
        # line is said there.
        joined_room = self.session.rooms.get(check_room(room))
        if joined_room is not None:
            self.current = joined_room.name

        def joined(members):
            self.write(wire.render_info(f"Your current room is {members.room}; plain lines are said there."))

        return d.addCallback(joined)

    def do_part(self, room: Optional[str], reason: Optional[str]):
        event = self.session.part(self._room(room), reason)
        if self.current is not None and event.room == self.current:
            rooms = [r.name for r in self.session.rooms.values()]
            self.current = rooms[-1] if rooms else None
            if self.current:
                self.write(wire.render_info(f"Your current room is now {self.current}"))

    def do_say(self, text: str):
        if self.current is None:
            raise NotInRoom("You are not in a room yet; /join #lobby first.")
        return self.session.say(self.current, text)

    def do_me(self, text: str):
        return self.session.act(self._room(None), text)

    def do_msg(self, to: str, text: str):
        self.session.private(to, text)

    def do_topic(self, room: Optional[str], text: Optional[str]):
        room = self._room(room)
        if text is None:
            self.write(wire.render_topic(self.session.topic(room)))
            return None
        return self.session.set_topic(room, text)

    def do_who(self, room: Optional[str]):
        self.write(wire.render_members(self.session.who(self._room(room))))

    def do_rooms(self):
        self.write(wire.render_rooms(self.session.list_rooms()))

    def do_history(self, count: Optional[int]):
        d = self.session.history(self._room(None), count)
        return d.addCallback(lambda e: self.write(wire.render_history(e)))

    def do_help(self):
        self.write(b"".join(wire.line(text) for text in wire.HELP))

    def do_quit(self, reason: Optional[str]):
        self.session.close(reason or "Quit")
        self.write(wire.render_info("Bye."))
        self.outbox.loseConnection()

    def do_unknown(self, word: str):
        self.error("unknown-command", f"There is no /{word[:32]} command; /help lists them.")

    def _registered(self) -> None:
        """The nick is set: swap the registration timer for the idle timer."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if self.factory.idle_timeout:
            self._timer = self.factory.clock.callLater(self.factory.idle_timeout, self._timed_out, "send anything")

    # -- ISink -------------------------------------------------------------

    def deliver(self, event) -> None:
        t = event.type
        mine = event.nick == self.session.nick
        if mine and (t == ev.MESSAGE or t == ev.ACTION):
            return  # the user's terminal already shows what they typed
        if t == ev.JOIN and mine:
            data = wire.render_own_join(event)
        elif t == ev.PRIVATE and mine and event.to != self.session.nick:
            data = wire.render_sent_private(event)
        elif t == ev.HISTORY:
            data = wire.render_history(event, announce_empty=False)
        else:
            data = event.encoded(wire.render_event)
        self.write(data)

    def disconnect(self, reason: str) -> None:
        self.write(wire.render_info(reason))
        if self.session is not None:
            self.session.close(reason)
        self.outbox.loseConnection()

    def connectionLost(self, reason) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if self.gate_host is not None and self.factory.gate is not None:
            self.factory.gate.release(self.gate_host)
            self.gate_host = None
        if self.session is not None:
            why = "Connection closed"
            if self.outbox is not None and self.outbox.overflowed:
                why = "Too slow to receive messages"
            self.session.close(why)
        log.info("lines connection from {peer} closed", peer=getattr(self, "peer", "?"))


class LineFactory(Factory):
    """
    Builds L{LineMember}s sharing one hub.

    With a C{gate}, connections count against it here rather than through a
    wrapping factory: a line connection is the cheapest thing chatd holds,
    and a wrapper object per connection would be a quarter of it.
    """

    gate = None

    protocol = LineMember
    noisy = False

    def __init__(
        self, hub, max_line: int = 16384, sendq: int = 262144, motd: str = "",
        registration_timeout: float = 60, idle_timeout: float = 0, turn=None,
    ) -> None:
        self.hub = hub
        self.clock = hub.clock
        self.max_line = max_line
        self.sendq = sendq
        self.motd = motd
        self.registration_timeout = registration_timeout
        self.idle_timeout = idle_timeout
        #: A L{chatd.frontends.outbox.Turn} to coalesce writes per reactor
        #: turn (the service gives one); None writes at once.
        self.turn = turn

    def buildProtocol(self, addr):
        host = getattr(addr, "host", None)
        if self.gate is not None and host is not None:
            reason = self.gate.admit(host)
            if reason is not None:
                log.info("Refused a lines connection from {peer}: {reason}", peer=host, reason=reason)
                return Refusal(lines_refusal(reason))
        member = super().buildProtocol(addr)
        member.gate_host = host
        return member
