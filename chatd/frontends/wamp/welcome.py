# -*- test-case-name: tests.frontends.test_wamp_session -*-
"""
A WAMP session's opening: HELLO, then WELCOME or ABORT.

Realm C{chatd} only.  Anonymous sessions are welcome and pick a nick with
C{chatd.nick}.  Ticket authentication (C{authmethods: ["ticket"]}) logs
the connection into a chatd account: the authid is the account, the
ticket its password or a login token (a ticket shaped like a token, 43
URL-safe characters, is tried as one first).  The opening must be done
within C{hello_timeout} seconds.
"""

import re
from typing import Optional

from autobahn.wamp import message

from chatd.core import commands as cmd
from chatd.core.errors import ChatError
from chatd.core.text import fold
from chatd.frontends.wamp.router import REALM

#: What L{secrets.token_urlsafe}(32) gives: a chatd login token.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")

AUTHENTICATION_FAILED = "wamp.error.authentication_failed"


class Opening:
    """The part of L{chatd.frontends.wamp.peer.WampPeer} that runs until WELCOME."""

    _authid: Optional[str] = None
    #: The client's callee role understands INTERRUPT (it announced call_canceling).
    cancels = False
    _state = "hello"  # then "challenged", "checking"
    _timer = None

    def opening_started(self) -> None:
        self._timer = self.router.clock.callLater(self.router.limits.hello_timeout, self._too_slow)

    def opening_ended(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _too_slow(self) -> None:
        self._timer = None
        self.abort("wamp.error.timeout",
                   f"No WAMP session was opened within {self.router.limits.hello_timeout:g} seconds of connecting.")

    def opening_received(self, msg) -> None:
        if isinstance(msg, message.Hello) and self._state == "hello":
            return self._hello(msg)
        if isinstance(msg, message.Authenticate) and self._state == "challenged":
            return self._authenticate(msg)
        if isinstance(msg, (message.Abort, message.Goodbye)):
            return self.end("Left before the session opened")
        self.abort("wamp.error.protocol_violation",
                   f"{type(msg).__name__.upper()} is not expected before the session is open; send HELLO first.")

    def _hello(self, msg: message.Hello) -> None:
        if msg.realm != REALM:
            return self.abort("wamp.error.no_such_realm",
                              f"This router has one realm, {REALM!r}; {str(msg.realm)[:80]!r} does not exist.")
        callee = (msg.roles or {}).get("callee")
        self.cancels = bool(getattr(callee, "call_canceling", False))
        methods = msg.authmethods or ["anonymous"]
        if "ticket" in methods and msg.authid:
            self._authid = msg.authid
            self._state = "challenged"
            self.send(message.Challenge("ticket", {}))
        elif "anonymous" in methods:
            self._open(None, "anonymous", "anonymous", None)
        elif "ticket" in methods:
            self.abort(AUTHENTICATION_FAILED, "Ticket authentication needs the account name as authid.")
        else:
            self.abort("wamp.error.no_auth_method",
                       "chatd offers the authmethods 'ticket' (a chatd account) and 'anonymous'.")

    def _authenticate(self, msg: message.Authenticate) -> None:
        self._state = "checking"
        ticket = msg.signature
        if not isinstance(ticket, str) or not ticket:
            return self.abort(AUTHENTICATION_FAILED, "The ticket must be the account's password or a login token.")
        if _TOKEN.match(ticket):
            d = self.session.handle(cmd.Login(token=ticket))
            d.addErrback(lambda _: self.session.handle(cmd.Login(account=self._authid, password=ticket)))
        else:
            d = self.session.handle(cmd.Login(account=self._authid, password=ticket))

        def refused(failure) -> None:
            if failure.check(ChatError):
                self.abort(AUTHENTICATION_FAILED, failure.value.message)
            else:
                self.abort(AUTHENTICATION_FAILED, "The server failed to check the ticket; it has been logged.")

        def logged_in(result) -> None:
            if fold(result.account) != fold(self._authid):
                # A token names its own account: it must be the one asked for.
                return self.abort(AUTHENTICATION_FAILED,
                                  f"That login token is not {self._authid[:40]!r}'s; use that account's own.")
            extra = {"token": result.token}
            if result.nick is not None:
                extra["nick"] = result.nick
            self._open(result.account, "user", "ticket", extra)

        d.addCallbacks(logged_in, refused)

    def _open(self, authid: Optional[str], authrole: str, authmethod: str, extra) -> None:
        if self.closed:
            return
        self.opening_ended()
        self.welcomed(self.router.new_session_id(), authid, authrole, authmethod, extra)
