# -*- test-case-name: tests.core.test_accounts -*-
"""Accounts: registering a nick, logging in and out (by password or token), and looking after it."""

from typing import ClassVar, Optional

from chatd.core.commands.base import Command, command

#: What checking a password costs in flood tokens: hashing is the server's dearest work.
_HASHING = 5


@command
class Register(Command):
    """Register the current nick as an account (C{/register PASSWORD [EMAIL]})."""

    name: ClassVar[str] = "register"
    cost: ClassVar[int] = _HASHING
    blocks: ClassVar[bool] = True
    needs_nick: ClassVar[bool] = True
    password: str
    email: Optional[str] = None


@command
class Login(Command):
    """
    Log in with an account and its password, or with a login token; the
    account defaults to the current nick (C{/identify PASSWORD}).  C{since}
    resumes the stored private messages after that id.
    """

    name: ClassVar[str] = "login"
    cost: ClassVar[int] = _HASHING
    blocks: ClassVar[bool] = True
    account: Optional[str] = None
    password: Optional[str] = None
    token: Optional[str] = None
    since: Optional[int] = None


@command
class Logout(Command):
    """Log out; the token this session logged in with stops working."""

    name: ClassVar[str] = "logout"
    blocks: ClassVar[bool] = True


@command
class Passwd(Command):
    name: ClassVar[str] = "passwd"
    cost: ClassVar[int] = _HASHING
    old: str
    new: str


@command
class Ghost(Command):
    """Disconnect a connection holding your account's nick (a stale one of yours, or a squatter)."""

    name: ClassVar[str] = "ghost"
    cost: ClassVar[int] = 2
    nick: str


@command
class Drop(Command):
    """Delete your account, after its password."""

    name: ClassVar[str] = "drop"
    cost: ClassVar[int] = _HASHING
    blocks: ClassVar[bool] = True
    password: str


@command
class Whois(Command):
    """Who a nick is: its account and rooms (and, for server operators, where it connects from)."""

    name: ClassVar[str] = "whois"
    nick: str
