# -*- test-case-name: tests.core.test_hub -*-
"""
Typed chat errors with stable machine codes.

Every front end maps a L{ChatError} to its own wire format using C{code}
(stable, for programs) and C{message} (for people).  A code never changes
meaning once released; docs/protocol.md lists them all.
"""


class ChatError(Exception):
    """A command was refused.  Subclasses fix the machine code."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.code}: {self.message}>"


class NickInUse(ChatError):
    """Another session holds that nick (compared after case folding)."""

    code = "nick-in-use"


class InvalidNick(ChatError):
    """The nick breaks the nick rules."""

    code = "invalid-nick"


class InvalidRoom(ChatError):
    """The room name breaks the room name rules."""

    code = "invalid-room"


class InvalidText(ChatError):
    """Text holds characters that may not be relayed."""

    code = "invalid-text"


class NotInRoom(ChatError):
    """The session is not a member of that room."""

    code = "not-in-room"


class NoSuchRoom(ChatError):
    """No room by that name exists right now."""

    code = "no-such-room"


class NoSuchNick(ChatError):
    """No session holds that nick."""

    code = "no-such-nick"


class TooLong(ChatError):
    """Text is over the configured maximum length."""

    code = "too-long"


class NoNick(ChatError):
    """The session must choose a nick first."""

    code = "no-nick"


class EmptyText(ChatError):
    """There is nothing to send."""

    code = "empty"


class TooManyRooms(ChatError):
    """A per-session or server-wide room limit was hit."""

    code = "too-many-rooms"


class RateLimited(ChatError):
    """The session sends commands faster than allowed."""

    code = "rate-limited"


class BadCommand(ChatError):
    """A command was malformed (wire formats raise this)."""

    code = "bad-command"


class Unavailable(ChatError):
    """The server could not do it right now; the client may retry."""

    code = "unavailable"


ALL_CODES = tuple(cls.code for cls in ChatError.__subclasses__())
