# -*- test-case-name: tests.frontends.test_lines -*-
"""
The line front end: telnet and nc users.

Bytes go through L{chatd.wire.telnet.LineDecoder} and L{chatd.wire.lines.parse}
into core commands for L{chatd.core.session.Session.handle}; core events
come back through L{LineMember.deliver} and are rendered once per event for
every line member (L{Event.encoded}).  No chat rule lives here; the only
state kept is presentation: the name of the current room, for the notices
that name it, the codec its user reads (with times, or without), and a
message being typed over several lines (L{Continuation}).
"""

from typing import List, Optional

from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from twisted.protocols.policies import ProtocolWrapper
from zope.interface import implementer

from chatd.core import commands as cmd
from chatd.core import events as ev
from chatd.core.errors import ChatError, Unavailable
from chatd.core.interfaces import ISink
from chatd.frontends import peers
from chatd.frontends.handshake import is_secure
from chatd.frontends.lineanswers import ANSWERS
from chatd.frontends.gate import Refusal, let_go, lines_refusal
from chatd.frontends.outbox import Outbox, SendLimit, SendLimited
from chatd.frontends.registry import Built, FrontEnd
from chatd.wire import lines as wire
from chatd.wire.telnet import Continuation, LineDecoder, line_end

log = Logger(namespace="chatd.lines")

#: Over-long lines in a row before the connection is closed.
MAX_OVERLONG = 5


_MESSAGE, _ACTION, _TYPING, _READ = ev.MESSAGE, ev.ACTION, ev.TYPING, ev.READ
_render_event, _render_stamped = wire.render_event, wire.render_stamped


@implementer(ISink)
class LineMember(Protocol):
    """One telnet or nc connection: a core session's sink."""

    session = None
    #: The name of the current room, for the notices that name it.
    current: Optional[str] = None
    #: Whether the user has been told their first nick.
    named = False
    outbox: Optional[Outbox] = None
    _timer = None
    gate_host: Optional[str] = None
    #: How this user's events are rendered: with times (C{/set timestamps on}) or not.
    codec = staticmethod(_render_event)
    #: A message being typed over several lines, or None.
    joining: Optional[Continuation] = None

    def connectionMade(self) -> None:
        # Every attribute a connection ever has, set now: CPython shares
        # one key table among a class's instances only for the names its
        # first few instances set, and a name first set once dozens of
        # connections exist (the nick arrives later) gives every instance
        # a dictionary of its own, 300 bytes more per connection.
        self.named = False
        self.current = None
        self._opening = b""
        self.codec = _render_event
        self.joining = None
        self._timer = None
        factory = self.factory
        self.decoder = LineDecoder(factory.max_line)
        self.outbox = Outbox(
            self.transport, factory.send_limit, self._too_slow, factory.turn, factory.hub.stats, "bytes_out:lines"
        )
        address = self.transport.getPeer()
        self.peer = peers.describe(address)
        secure = peers.is_local(address) or is_secure(self.transport)
        self.session = factory.hub.connect(self, peer=self.peer, frontend="lines", host=peers.host_of(address),
                                           secure=secure)
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
        """Show what the server says now (answers, notices): with the time first when the user wants times."""
        if self.outbox is not None:
            if self.codec is _render_stamped:
                data = wire.stamp(data, self.factory.clock.seconds())
            self.outbox.write(data)

    def _show(self, data: bytes) -> None:
        """Show an event rendered already (with its own time, if any)."""
        if self.outbox is not None:
            self.outbox.write(data)

    def _refresh(self, result=None):
        """
        Read the user's C{timestamps} preference again (it may change with
        any command: C{/set}, a login) and pick the codec it asks for; an
        event's rendering then costs a lookup, not a question to the core.
        """
        session = self.session
        if session is not None and not session.closed:
            self.codec = _render_stamped if session.preference("timestamps") == "on" else _render_event
        return result

    def error(self, code: str, message: str) -> None:
        self.write(wire.render_error(code, message))

    def _too_slow(self, queued: int) -> None:
        self.factory.hub.stats["slow_dropped"] += 1
        log.warn(
            "Disconnecting {nick} ({peer}): over {bound} bytes waiting to be sent; it reads too slowly",
            nick=self.session.logname if self.session else "a client",
            peer=getattr(self, "peer", "?"),
            bound=self.factory.sendq,
        )

    # -- input ------------------------------------------------------------

    #: The first bytes, held until the first line shows whether this is an IRC client.
    _opening: Optional[bytes] = b""

    def dataReceived(self, data: bytes) -> None:
        if self._opening is not None:
            data = self._opening + data
            end = data.find(b"\n")
            if end < 0 and len(data) < 1024 and not data.startswith(b"\xff"):
                self._opening = data  # telnet's negotiation (IAC) is answered at once; an IRC client never sends it
                return
            self._opening = None
            if self.factory.irc is not None and _irc_opening(data[:end if end >= 0 else len(data)]):
                self._become_irc(data)
                return
        if self._timer is not None and self.factory.idle_timeout:
            self._activity()
        decoder = self.decoder
        items = decoder.feed(data)
        replies = decoder.take_replies()
        if replies:
            self.write(replies)
        for item in items:
            if self.session is None or self.session.closed:
                return
            if isinstance(item, ChatError):
                if self.joining is not None:
                    self.joining = None
                    self.write(wire.render_info("The message you were continuing was discarded with that line."))
                self.handle(cmd.Refused(error=item), 0)
                continue
            if self.joining is not None or (self.named and wire.says(item)):
                item = self._continued(item)
                if item is None:
                    continue
                if isinstance(item, ChatError):
                    self.handle(cmd.Refused(error=item), 0)
                    continue
            command = wire.parse(item)
            if command is not None:
                self.handle(command, len(item))
        if decoder.overlong >= MAX_OVERLONG or decoder.discarded > 64 * decoder.max_line:
            self.disconnect("You keep sending lines over the length limit.")

    def _continued(self, line: str):
        """
        A line of a message that may go on over several lines: the whole
        message once its last line (one not ending in a backslash) has
        come, None while it goes on, or the error that refuses it (too
        many lines, or bytes: C{[limits] max_lines} and C{[lines] max_line}).
        """
        text, more = line_end(line)
        joining = self.joining
        if joining is None:
            if not more:
                return text
            joining = self.joining = Continuation(self.factory.hub.rules.max_lines, self.factory.max_line)
        error = joining.add(text)
        if not more:
            self.joining = None
            if error is None and not joining.refused:
                return joining.text()
        return error

    def _become_irc(self, data: bytes) -> None:
        """
        The client opened as IRC clients do (C{CAP LS}, C{NICK} and
        C{USER}, C{PASS}): serve this connection as IRC from now on, with
        the bytes it sent so far.
        """
        log.info("lines connection from {peer} is an IRC client; serving it as IRC", peer=self.peer)
        transport = self.transport
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        session, self.session = self.session, None
        session.close("An IRC client: served as IRC")
        self.outbox.flush()
        transport.unregisterProducer()
        self.outbox = None
        member = self.factory.irc.buildProtocol(transport.getPeer(), gated=False)
        member.gate_host, self.gate_host = self.gate_host, None
        if isinstance(transport, ProtocolWrapper):  # TLS, or a PROXY protocol reader: they relay to wrappedProtocol
            transport.wrappedProtocol = member
        else:
            transport.protocol = member
        member.makeConnection(transport)
        member.dataReceived(data)

    def handle(self, command, size: int) -> None:
        """
        Hand one command to the core (which runs every command in the
        order it was typed, late if the user goes faster than the flood
        rate) and show its answer.
        """
        d = self.session.handle(command, size)
        d.addBoth(self._refresh)
        answer = ANSWERS.get(type(command))
        if answer is not None and not (self.named and type(command) is cmd.Line):  # a line said: nothing to show
            d.addCallback(lambda result: answer(self, result, command))
        d.addErrback(self._failed)

    def _failed(self, failure) -> None:
        if self.session.closed and failure.check(Unavailable):
            return  # held commands of a closed session: the reason was told already
        if failure.check(ChatError):
            self.error(failure.value.code, failure.value.message)
            return
        log.failure("Showing an answer to {peer} failed; the user got an 'internal' error", failure, peer=self.peer)
        self.error("internal", "The server failed to run that command; it has been logged.")

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
        session = self.session
        if t == _MESSAGE or t == _ACTION:
            # The fan-out's common case, first: someone else's line, in the
            # room's shared rendering.
            if event.via != session.serial:  # the terminal already shows what was typed on it
                outbox = self.outbox
                if outbox is not None:
                    outbox.write(event.encoded(self.codec))
            return
        if t == _TYPING or t == _READ:
            return  # a terminal shows neither who is typing nor where its user read up to
        self._refresh()
        stamped = self.codec is _render_stamped
        mine = event.nick == session.nick
        if t == ev.JOIN and mine:
            self.current = event.room
            data = wire.render_own_join(event)
        elif t == ev.PART and mine:
            data = wire.render_own_part(event)
        elif t == ev.PRIVATE and mine and event.to != session.nick:
            data = wire.render_sent_private(event)
        elif t == ev.HISTORY:
            self._show(wire.render_history(event, announce_empty=False, stamped=stamped))
            return
        elif t == ev.PRIVATES:
            self._show(wire.render_privates(event, session.nick, stamped=stamped))
            return
        elif t == ev.INVITE and event.to == session.nick:
            data = wire.render_invitation(event)
        else:
            self._show(event.encoded(self.codec))
            return
        self._show(wire.stamp(data, event.ts) if stamped else data)

    def disconnect(self, reason: str) -> None:
        self.write(wire.render_info(reason))
        if self.session is not None:
            self.session.close(reason)
        self.outbox.loseConnection()

    def connectionLost(self, reason) -> None:
        if self.session is None and self.outbox is None:
            return  # handed over to the IRC front end
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        let_go(self)
        log.info("lines connection from {peer} closed", peer=getattr(self, "peer", "?"))


def _irc_opening(line: bytes) -> bool:
    """Whether a first line is an IRC client's: C{CAP ...}, C{PASS ...}, C{NICK name}, C{USER ...}."""
    word, _, rest = line.strip().partition(b" ")
    return word.upper() in (b"CAP", b"PASS", b"NICK", b"USER") and bool(rest.strip())


class LineFactory(SendLimited, Factory):
    """
    Builds L{LineMember}s sharing one hub.

    With a C{gate}, connections count against it here rather than through a
    wrapping factory: a line connection is the cheapest thing chatd holds,
    and a wrapper object per connection would be a quarter of it.
    """

    gate = None
    #: The IRC front end's factory, for IRC clients that connect here.
    irc = None

    protocol = LineMember
    noisy = False

    def __init__(
        self, hub, max_line: int = 16384, sendq: int = 262144, motd: str = "",
        registration_timeout: float = 60, idle_timeout: float = 0, turn=None,
    ) -> None:
        self.hub = hub
        self.clock = hub.clock
        self.max_line = max_line
        #: The send-queue bound, shared by every connection (a reload reaches them all).
        self.send_limit = SendLimit(sendq)
        self.motd = motd
        self.registration_timeout = registration_timeout
        self.idle_timeout = idle_timeout
        #: A L{chatd.frontends.outbox.Turn} to coalesce writes per reactor
        #: turn (the service gives one); None writes at once.
        self.turn = turn

    def reload(self, old, new) -> List[str]:
        """A reload: motd, timeouts, line length and sendq apply at once (sendq to every connection)."""
        self.registration_timeout = new.registration_timeout
        self.idle_timeout = new.idle_timeout
        self.max_line = new.max_line
        self.sendq = new.sendq
        if new.motd == old.motd:
            return []
        self.motd = new.motd
        return ["motd updated"]

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


def build(config, shared) -> Built:
    """
    The line front end: telnet and nc on every C{[lines] listen} endpoint,
    behind a TCP load balancer with C{[lines] proxy_protocol}.
    """
    factory = LineFactory(
        shared.hub, max_line=config.max_line, sendq=config.sendq, motd=config.motd,
        registration_timeout=config.registration_timeout, idle_timeout=config.idle_timeout, turn=shared.turn,
    )
    factory.gate = shared.gate  # line connections count against the gate themselves
    from chatd.frontends.irc import IrcFactory, settings_for

    factory.irc = IrcFactory(settings_for(config, shared))
    factory.irc.gate = shared.gate
    from chatd.frontends.proxyheader import behind_balancer

    return behind_balancer(factory, factory.reload, config.lines_proxy_protocol, "[lines] proxy_protocol", shared,
                           "lines", lines_refusal)


FRONT_END = FrontEnd("lines", lambda config: config.lines_listeners(), build)
