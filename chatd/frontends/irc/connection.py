# -*- test-case-name: tests.frontends.test_irc_protocol -*-
"""
One IRC client, whatever carries its lines: registration, capabilities,
SASL, keep-alive, and the core session's sink.

L{IrcConnection} is a mixin for a Twisted protocol (TCP, TLS, the line port
after it recognised an IRC opening) or an Autobahn one (C{/irc}); the
protocol gives it lines as text and provides L{IrcConnection.send} (lines,
CRLF-terminated, to write) and L{IrcConnection.send_event}.  The IRC
commands themselves are in L{chatd.frontends.irc.commands}; every chat rule
is the core's.
"""

from typing import Dict, List, Optional, Tuple

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from chatd.core import commands as cmd
from chatd.core.errors import ChatError, Internal, Unavailable
from chatd.core.events import ACTION, MESSAGE
from chatd.frontends.irc import caps as capabilities
from chatd.frontends.irc.commands import HANDLERS, LOCAL
from chatd.frontends.irc.events import show
from chatd.frontends.irc.registration import REGISTRATION, UNCHARGED
from chatd.frontends.irc.render import Profile, renderer, source
from chatd.frontends.irc.replies import (ERR_NOTREGISTERED, ERR_SASLFAIL, ERR_UNKNOWNCOMMAND, RPL_LOGGEDIN, RPL_SASLSUCCESS,
                                         Replies, replies_of)
from chatd.frontends.irc.welcome import welcome
from chatd.wire import irc

log = Logger(namespace="chatd.irc")

#: Events held for a client that has not finished registering.
HELD_MAX = 2000

#: Lines kept while registration finishes (a script's NICK, USER, JOIN in one write).
EARLY_MAX = 32

#: Over-long lines in a row before the connection is closed (as on the line port).
OVERLONG_MAX = 5

#: The capabilities of a client that asked for none (shared: a set each was 216 bytes).
_NO_CAPS = frozenset()

#: Commands a client may send before it is registered.
BEFORE_REGISTRATION = frozenset({"CAP", "NICK", "USER", "PASS", "AUTHENTICATE", "PING", "PONG", "QUIT"})


class IrcConnection:
    """
    The IRC side of one client.  Subclasses set C{settings} (an
    L{chatd.frontends.irc.IrcSettings}) and C{session} and call
    L{start}, L{line_received}, L{input_failed} and L{stopped}.
    """

    session = None
    settings = None
    registered = False
    nick_wanted: Optional[str] = None
    user_given = False
    negotiating = False
    password: Optional[str] = None
    sasl = None
    logging_in: Optional[Deferred] = None
    _ping_timer = None
    _registration_timer = None
    _awaiting_pong = False
    size = 0
    overlong = 0
    account: Optional[str] = None
    #: A draft/multiline batch the client is sending (L{chatd.frontends.irc.multiline.Incoming}).
    multiline = None
    #: (peer, id, time) of private messages seen, with draft/read-marker (L{chatd.frontends.irc.markers}).
    privates_seen = None

    def start(self) -> None:
        # Every attribute an idle client ever has, set now and no more than
        # 29 of them: CPython shares one key table among a class's
        # instances for the names its first instances set, up to 30; a
        # name first set once dozens of connections exist (registration,
        # the first line, the first ping) gives every connection its own
        # dictionary, 1.6 KB.
        self.nick_wanted = None
        self.user_given = self.registered = self.negotiating = self._awaiting_pong = False
        self.size = self.overlong = 0
        self.cap_version = 0
        #: Until registration is done: the events held for the client, and
        #: the lines it sent after NICK and USER (then None).
        self.waiting: Optional[Tuple[List, List]] = ([], [])
        #: Rooms being joined by this connection: the scrollback held until NAMES was sent.
        self.joining: Dict[str, List] = {}
        self.last_quit = None
        #: Labels of PRIVMSGs waiting for their echo, by the cid chatd carries back.
        self.echo_labels: Dict[str, str] = {}
        #: Privates sent, not yet seen coming back: made at the first one.
        self.sent_privates = None
        #: User modes (i, w, B) as a string of flags: empty for most, shared.
        self.umodes = ""
        self._batches = 0
        self.set_caps(_NO_CAPS)
        clock = self.settings.clock
        self._registration_timer = clock.callLater(self.settings.registration_timeout, self._registration_over)
        self._ping_timer = clock.callLater(self.settings.ping_interval, self._ping)

    # -- what the protocol provides ---------------------------------------------------

    def send(self, data: bytes) -> None:
        raise NotImplementedError

    def send_event(self, event) -> None:
        """Write a fanned-out event, rendered once for every connection of this profile."""
        raise NotImplementedError

    def close_connection(self) -> None:
        raise NotImplementedError

    # -- writing -------------------------------------------------------------------------

    def lines(self, lines: List[str]) -> None:
        if lines:
            self.send(("\r\n".join(lines) + "\r\n").encode("utf-8"))

    def numeric(self, number: str, *params: str) -> None:
        self.lines([self.replies.numeric(self.session.nick if self.registered else self.nick_wanted, number,
                                         *params)])

    def fail(self, command: str, error: ChatError, target: Optional[str] = None, nick: Optional[str] = None) -> None:
        """Tell the client a command failed, in IRC's words for chatd's error."""
        if command == "NOTICE":
            return  # RFC 2812 3.3.2: a NOTICE is never answered, not even with an error
        me = self.session.nick if self.registered else None
        self.lines(self.replies.error(me, command, error.code, error.message, target,
                                      "standard-replies" in self.caps, nick))

    def label_of(self, message) -> Optional[str]:
        """The client's label on C{message}, if it negotiated labeled-response."""
        if "labeled-response" not in self.caps:
            return None
        return message.tags.get("label") or None

    def reply(self, message, lines: List[str]) -> None:
        """
        Answer C{message}: as they are, or, when the client labelled it,
        with its label (one line), in a C{labeled-response} batch (several),
        or as C{ACK} (none).
        """
        label = self.label_of(message)
        if label is None:
            self.lines(lines)
            return
        server = self.settings.server
        if not lines:
            self.lines([irc.line("ACK", source=server, tags={"label": label})])
        elif len(lines) == 1:
            self.lines([_tagged(lines[0], {"label": label})])
        else:
            ref = self.batch_id()
            self.lines([irc.line("BATCH", "+" + ref, "labeled-response", source=server, tags={"label": label})]
                       + [_tagged(line, {"batch": ref}) for line in lines]
                       + [irc.line("BATCH", "-" + ref, source=server)])

    def echo_label(self, label: str, key: Optional[str] = None) -> str:
        """A cid for a labelled PRIVMSG (or a reaction's C{key}), so its echo carries the label back."""
        if key is None:
            self._batches += 1
            key = f"irc-{self._batches}"
        if len(self.echo_labels) < 256:
            self.echo_labels[key] = label
        return key

    def batch_id(self) -> str:
        self._batches += 1
        return f"b{self._batches}"

    @property
    def replies(self) -> Replies:
        """The server's lines to this client (one builder per server name, shared)."""
        return replies_of(self.settings.server)

    @property
    def me(self) -> str:
        return self.session.nick or self.nick_wanted or "*"

    # -- input -----------------------------------------------------------------------------

    def line_received(self, text: str, size: int) -> None:
        self.overlong = 0
        self._awaiting_pong = False
        self._restart_ping()
        try:
            message = irc.parse(text)
        except irc.IrcSyntaxError:
            return  # an empty or tag-only line: nothing to do
        verb = message.command

        if not self.registered and verb not in BEFORE_REGISTRATION:
            early = self.waiting[1]
            if self.nick_wanted is not None and self.user_given and len(early) < EARLY_MAX:
                # NICK and USER are in and registration waits for the store
                # (the nick, a login): what follows them runs after 001.
                early.append((text, size))
            elif verb in HANDLERS:
                self.numeric(ERR_NOTREGISTERED, "You have not registered")
            return
        handler = REGISTRATION.get(verb) or HANDLERS.get(verb)
        self.size = size
        if handler is None:
            self._charge(size, lambda: self.numeric(ERR_UNKNOWNCOMMAND, verb[:32], "Unknown command"))
        elif verb in UNCHARGED:
            handler(self, message)
        elif verb in LOCAL or verb in REGISTRATION:
            # Answered here: charged one flood token, and run in order with
            # what the client sent before (held input runs first).
            self._charge(size, lambda: self._run(handler, message))
        else:
            # Made into core commands, each charged its own cost by the core.
            self._run(handler, message)

    def _charge(self, size: int, run) -> None:
        """Run C{run} under the core's flood control, in order with the commands before it (fakelag)."""
        self.session.submit(1, size, run)

    def _run(self, handler, message) -> None:
        try:
            result = handler(self, message)
        except ChatError as e:
            self.fail(message.command, e)
            return
        except Exception:
            log.failure("Handling {command} from {peer} failed; the client got FAIL INTERNAL",
                        command=message.command, peer=self.peer)
            self.fail(message.command, _internal())
            return
        if isinstance(result, Deferred):
            result.addErrback(self._failed, message.command)

    def core(self, command: cmd.Command, irc_command: str, target: Optional[str] = None,
             nick: Optional[str] = None) -> Deferred:
        """
        Hand a core command to the session (which charges its flood cost
        and runs it in order) and report a refusal in IRC's words.  The
        Deferred fires with the rule's result, or None after a refusal was
        told.
        """
        d = self.session.handle(command, self.size)
        return d.addErrback(self._refused, irc_command, target, nick)

    def _refused(self, failure, irc_command: str, target: Optional[str], nick: Optional[str]):
        if failure.check(Unavailable) and self.session.closed:
            return None
        if failure.check(ChatError):
            self.fail(irc_command, failure.value, target, nick)
            return None
        return failure

    def _failed(self, failure, command: str) -> None:
        if failure.check(ChatError):
            self.fail(command, failure.value)
            return
        log.failure("Answering {command} to {peer} failed; the client got FAIL INTERNAL", failure,
                    command=command, peer=self.peer)
        self.fail(command, _internal())

    def input_failed(self, error) -> None:
        """
        A line the decoder refused: not UTF-8, or too long.  It costs a
        flood token like any line; L{OVERLONG_MAX} over-long lines in a
        row close the connection.
        """
        if error.code == "invalid-utf8":
            self._charge(0, lambda: self.lines([irc.line("FAIL", "*", "INVALID_UTF8", str(error),
                                                         source=self.settings.server)]))
            return
        self.overlong += 1
        if self.overlong >= OVERLONG_MAX:
            self.disconnect("You keep sending lines over the length limit (512 bytes, and 8191 of tags).")
            return
        self._charge(0, lambda: self.numeric("417", "Input line was too long"))

    # -- keep-alive ----------------------------------------------------------------------------

    def _restart_ping(self) -> None:
        timer = self._ping_timer
        if timer is not None and timer.active():
            timer.reset(self.settings.ping_interval)

    def _ping(self) -> None:
        if self._awaiting_pong:
            self.disconnect(f"Ping timeout: {self.settings.ping_timeout} seconds")
            return
        self._awaiting_pong = True
        self.lines([irc.line("PING", self.settings.server)])
        self._ping_timer = self.settings.clock.callLater(self.settings.ping_timeout, self._ping)

    def _registration_over(self) -> None:
        self._registration_timer = None
        if not self.registered:
            self.disconnect(f"Registration timeout: register within {self.settings.registration_timeout} seconds")

    # -- registration ------------------------------------------------------------------------------

    def try_register(self) -> None:
        """NICK and USER are in and capability negotiation is over: take the nick and say welcome."""
        if self.registered or self.negotiating or not self.user_given or self.nick_wanted is None:
            return
        if self.logging_in is not None:
            return  # SASL or PASS still checking: registration follows it
        if self.password is not None:
            password, self.password = self.password, None
            account, colon, secret = password.partition(":")
            if not colon:
                account, secret = self.nick_wanted, password
            self.logging_in = self.core(cmd.Login(account=account, password=secret), "PASS")
            self.logging_in.addCallback(self._logged_in, False).addBoth(self._login_done)
            return
        if self.session.nick is not None:  # a login made this connection a user that has a nick
            self._welcome()
            return
        d = self.core(cmd.Nick(nick=self.nick_wanted), "NICK", self.nick_wanted)
        d.addCallback(lambda result: self._welcome() if self.session.nick is not None else None)

    def _login_done(self, _) -> None:
        self.logging_in = None
        self.try_register()

    def _logged_in(self, result, sasl: bool) -> None:
        if result is None:
            if sasl:
                self.numeric(ERR_SASLFAIL, "SASL authentication failed")
            return
        self.account = result.account
        mask = source(self.me)
        self.numeric(RPL_LOGGEDIN, mask, result.account, f"You are now logged in as {result.account}")
        if sasl:
            self.numeric(RPL_SASLSUCCESS, "SASL authentication successful")

    def _welcome(self) -> None:
        self.registered = True
        if self._registration_timer is not None and self._registration_timer.active():
            self._registration_timer.cancel()
        self._registration_timer = None
        self.lines(welcome(self))
        waiting, self.waiting = self.waiting, None
        held, early = waiting or ((), ())
        for event in held:
            self.deliver(event)
        for text, size in early:
            self.line_received(text, size)

    # -- ISink -------------------------------------------------------------------------------------

    def deliver(self, event) -> None:
        """
        The fan-out's path: a room message for a member that is joining
        nothing and did not send it is the profile's shared rendering,
        decided here once per member without a further call; anything
        else is L{show}n.
        """
        if not self.registered:
            waiting = self.waiting
            if waiting is not None and len(waiting[0]) < HELD_MAX:
                waiting[0].append(event)
            return
        t = event.type
        if (t == MESSAGE or t == ACTION) and not self.joining and event.via != self.session.serial:
            self.send_event(event)
            return
        show(self, event)

    def disconnect(self, reason: str) -> None:
        self.lines([irc.line("ERROR", f"Closing link: {reason}")])
        if self.session is not None:
            self.session.close(reason)
        self.close_connection()

    def stopped(self) -> None:
        """The connection is gone: stop the timers and end the session."""
        for timer in (self._ping_timer, self._registration_timer):
            if timer is not None and timer.active():
                timer.cancel()
        self._ping_timer = self._registration_timer = None

    def set_caps(self, caps: set) -> None:
        self.caps = caps
        flags = [name in caps for name in capabilities.RENDERING]
        flags[-1] = flags[-1] and "batch" in caps  # draft/multiline needs batch
        self.renderer = renderer(self.settings.server, Profile(*flags))


def _tagged(line: str, tags: Dict[str, str]) -> str:
    """C{line} with C{tags} added to its own."""
    message = irc.parse(line)
    merged = dict(message.tags)
    merged.update(tags)
    return irc.line(message.command, *message.params, source=message.source, tags=merged)


def _internal() -> ChatError:
    return Internal("The server failed to run that command; it has been logged.")
