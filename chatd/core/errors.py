# -*- test-case-name: tests.core.test_errors -*-
"""
The one registry of error codes: every refusal chatd can send, with its
stable machine code, whichever layer refuses it (the core's rules, a
codec, a front end, the connection gate).

Every front end maps a L{ChatError} to its own wire format using C{code}
(stable, for programs) and C{message} (for people).  A code never changes
meaning once released; docs/protocol.md lists exactly these codes (a test
compares the two).
"""

from typing import Dict, Type


class ChatError(Exception):
    """A command was refused.  Subclasses fix the machine code."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.code}: {self.message}>"

    # Errors are values: the same refusal compares equal wherever it was made.
    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.message == self.message

    def __hash__(self) -> int:
        return hash((type(self), self.message))


# -- the chat rules (chatd.core) -------------------------------------------------


class NoNick(ChatError):
    """The session must choose a nick first."""

    code = "no-nick"


class InvalidNick(ChatError):
    """The nick breaks the nick rules."""

    code = "invalid-nick"


class NickInUse(ChatError):
    """Another session holds that nick, or one that looks like it."""

    code = "nick-in-use"


class InvalidRoom(ChatError):
    """The room name breaks the room name rules."""

    code = "invalid-room"


class NotInRoom(ChatError):
    """The session is not a member of that room."""

    code = "not-in-room"


class NoSuchRoom(ChatError):
    """No room by that name exists right now."""

    code = "no-such-room"


class NoSuchNick(ChatError):
    """No session holds that nick."""

    code = "no-such-nick"


class InvalidText(ChatError):
    """Text holds characters that may not be relayed."""

    code = "invalid-text"


class TooLong(ChatError):
    """Text is over the configured maximum length."""

    code = "too-long"


class EmptyText(ChatError):
    """There is nothing to send."""

    code = "empty"


class TooManyRooms(ChatError):
    """A per-session or server-wide room limit was hit."""

    code = "too-many-rooms"


class Unavailable(ChatError):
    """The server could not do it right now; the client may retry."""

    code = "unavailable"


class Internal(ChatError):
    """The server failed; the cause is logged, the client gets this."""

    code = "internal"


# -- accounts (chatd.core.accounts) ---------------------------------------------------


class NotLoggedIn(ChatError):
    """The command needs the session to be logged in to an account."""

    code = "not-logged-in"


class AlreadyLoggedIn(ChatError):
    """The session is logged in already (log out first)."""

    code = "already-logged-in"


class BadPassword(ChatError):
    """The password (or login token) is wrong, or the token expired."""

    code = "bad-password"


class WeakPassword(ChatError):
    """The new password is too short or too long."""

    code = "weak-password"


class Insecure(ChatError):
    """A password was sent in clear over a network connection that is not TLS."""

    code = "insecure"


class TooManyAttempts(ChatError):
    """Too many failed logins for that account or from that address; wait."""

    code = "too-many-attempts"


class NickRegistered(ChatError):
    """The nick belongs to an account this session is not logged in to."""

    code = "nick-registered"


class AccountExists(ChatError):
    """An account with that name, or one that looks like it, exists."""

    code = "account-exists"


class NoSuchAccount(ChatError):
    """No account has that name."""

    code = "no-such-account"


class InvalidAccount(ChatError):
    """The name cannot be an account name (PRECIS UsernameCaseMapped)."""

    code = "invalid-account"


# -- moderation (chatd.core.moderation) -------------------------------------------------


class NotOperator(ChatError):
    """The command needs a role in the room (or server operator) that the session lacks."""

    code = "not-operator"


class Muted(ChatError):
    """The session may read the room but not speak in it."""

    code = "muted"


class InviteOnly(ChatError):
    """The room is invite-only (C{+i}) and the session was not invited."""

    code = "invite-only"


class BadKey(ChatError):
    """The room has a key (C{+k}) and the join did not give it."""

    code = "bad-key"


class RoomFull(ChatError):
    """The room is at its member limit (C{+l})."""

    code = "room-full"


class NotRegisteredRoom(ChatError):
    """The command needs a registered room."""

    code = "not-registered-room"


class RoomRegistered(ChatError):
    """The room is registered already."""

    code = "room-registered"


class InvalidMask(ChatError):
    """A ban mask is none of C{~a:ACCOUNT}, a nick pattern or an address."""

    code = "invalid-mask"


class NoSuchMessage(ChatError):
    """No message with that id is kept in that room."""

    code = "no-such-message"


# -- wire formats (chatd.wire) ----------------------------------------------------


class BadJSON(ChatError):
    """(JSON) not a JSON object, not UTF-8, or nested too deeply."""

    code = "bad-json"


class UnknownType(ChatError):
    """(JSON) the command's C{type} is missing or unknown."""

    code = "unknown-type"


class BadCommand(ChatError):
    """(JSON) a field is missing or has the wrong type."""

    code = "bad-command"


class Usage(ChatError):
    """(lines) a command was typed wrong; the message shows the right form."""

    code = "usage"


class UnknownCommand(ChatError):
    """(lines) there is no such C{/command}."""

    code = "unknown-command"


class LineTooLong(ChatError):
    """(lines) the line is over C{[lines] max_line} bytes and was discarded."""

    code = "line-too-long"


class InvalidUTF8(ChatError):
    """(lines) the line is not valid UTF-8."""

    code = "invalid-utf8"


# -- front ends (chatd.frontends) ----------------------------------------------------


class Binary(ChatError):
    """(WebSocket) binary frames are not part of the protocol."""

    code = "binary"


class Overflow(ChatError):
    """(long-poll) the session fell too far behind; events were dropped."""

    code = "overflow"


class RateLimited(ChatError):
    """(long-poll) the address has as many sessions as allowed, or the server is full."""

    code = "rate-limited"


class NoSuchSession(ChatError):
    """(long-poll) the session token is unknown: it ended or expired."""

    code = "no-such-session"


class SessionLost(ChatError):
    """(long-poll, cluster) the node holding the session stopped: make a new session and resume with since."""

    code = "session-lost"


class NotFound(ChatError):
    """(long-poll) there is nothing at that path."""

    code = "not-found"


class MethodNotAllowed(ChatError):
    """(long-poll) the path does not answer that HTTP method."""

    code = "method-not-allowed"


class BadRequest(ChatError):
    """(long-poll) a query argument is malformed."""

    code = "bad-request"


class TooLarge(ChatError):
    """(long-poll) the request body is over C{[web] max_body}."""

    code = "too-large"


# -- the WAMP front end (chatd.frontends.wamp) -------------------------------------------


class TooManySubscriptions(ChatError):
    """(WAMP) the session has as many subscriptions as one may have."""

    code = "too-many-subscriptions"


class TooManyCalls(ChatError):
    """(WAMP) the session has C{[wamp] pending_calls} calls running."""

    code = "too-many-calls"


class TooManyRegistrations(ChatError):
    """(WAMP) the session has registered as many procedures as one may."""

    code = "too-many-registrations"


# -- the connection gate ---------------------------------------------------------------


class TooManyConnections(ChatError):
    """The address has C{connections_per_ip} connections already."""

    code = "too-many-connections"


class ServerFull(ChatError):
    """The server has C{max_connections} connections already."""

    code = "server-full"


class Banned(ChatError):
    """The address, account or nick is banned (from the server, or from the room)."""

    code = "banned"


def _registry() -> Dict[str, Type[ChatError]]:
    found: Dict[str, Type[ChatError]] = {}
    pending = list(ChatError.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.code in found and found[cls.code] is not cls:
            raise AssertionError(f"error code {cls.code!r} is defined twice")
        found[cls.code] = cls
    return found


#: Every code chatd sends, and the class that carries it.
REGISTRY: Dict[str, Type[ChatError]] = _registry()
ALL_CODES = tuple(sorted(REGISTRY))


def error(code: str, message: str) -> ChatError:
    """The registered error for C{code}; an unknown code is a bug."""
    return REGISTRY[code](message)
