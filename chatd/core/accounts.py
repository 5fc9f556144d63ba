# -*- test-case-name: tests.core.test_accounts -*-
"""
Nicks and accounts: taking a nick, registering it, logging in and out,
and who owns what (docs/accounts.md).

A registered nick is its account's: a connection that takes it without
logging in is renamed to a guest nick after C{[accounts] nick_grace}
seconds, and a nick that only looks like an account's name is refused.
Connections logged in to one account are one user (L{chatd.core.users}).
Passwords are checked by the hub's L{IPasswordHasher}, off the reactor
thread; failures are throttled per account and per address.
"""

import hashlib
import secrets
from typing import NamedTuple, Optional

from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.logger import Logger

from chatd.core import directives as dv
from chatd.core import events as ev
from chatd.core.errors import (
    AlreadyLoggedIn, BadPassword, Banned, Insecure, NickRegistered, NoSuchAccount, NoSuchNick, NotLoggedIn,
    NotOperator, WeakPassword,
)
from chatd.core.text import check_account, check_nick, clean_text, skeleton
from chatd.core.users import account_uid

log = Logger(namespace="chatd.accounts")

PASSWORD_MIN, PASSWORD_MAX = 8, 512


class LoggedIn(NamedTuple):
    """What a login or registration answers: the account, the nick, and a new login token."""

    account: str
    nick: Optional[str]
    token: str


def digest(token: str) -> str:
    """What the store keeps of a login token (256 random bits need no slow hash)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class Accounts:
    """Nicks and accounts, as methods of L{chatd.core.session.Session}."""

    __slots__ = ()

    @property
    def is_operator(self) -> bool:
        """Whether this session's account is a server operator (tap.cfg [server] operators)."""
        return self.user.account is not None and self.user.account in self.hub.rules.operators

    # -- nicks --------------------------------------------------------------------------

    def set_nick(self, nick: str, take: bool = False) -> Deferred:
        """
        Take C{nick}; everyone who shares a room with the user is told.

        @return: Deferred firing with the C{nick} event, or None for a
            user's first nick (nobody can see it yet) and for its own nick
            again; or failing with L{NickInUse} (another user holds the nick,
            or one like it) or L{NickRegistered} (it looks like an account's
            name).  With C{take} (the nick's account logged in), it is taken
            from whoever holds it.
        """
        self._need_open()
        key = check_nick(nick)
        look = skeleton(nick)
        user = self.user
        if user.nick == nick:
            return succeed(None)
        d = self.hub.store.find_account(key, look)
        d.addCallback(self._may_take, nick, key)
        d.addCallback(lambda record: self.hub.presence.claim(user, nick, key, look, take).addCallback(
            lambda _: record))
        return d.addCallback(self._renamed, nick, key, look)

    def _may_take(self, record, nick: str, key: str):
        if record is not None and record.key != key and record.key != self.user.account:
            raise NickRegistered(f"The nick {nick} looks like the account {record.name}; choose another.")
        return record

    def _renamed(self, record, nick: str, key: str, look: str) -> Optional[ev.Nick]:
        user = self.user
        old = user.nick
        user.rename(nick, key, look)
        if record is not None and record.key != user.account:
            self.hub.protect(user, record.name)
        else:
            user.stop_grace()
        if old is None:
            return None
        event = ev.Nick(nick=nick, old=old, ts=self.hub.now())
        self.hub.tell_about(user, event)
        return event

    # -- accounts ------------------------------------------------------------------------

    def register(self, password: str, email: Optional[str] = None) -> Deferred:
        """Register the current nick as an account (PRECIS-checked), and log in to it."""
        nick = self._need_nick()
        if self.user.account is not None:
            raise AlreadyLoggedIn(f"You are logged in as {self.user.account_name}; log out to register another account.")
        self._need_secure("password")
        key = check_account(nick)
        look = skeleton(nick)
        _check_new_password(password)
        email = clean_text(email or "", "email", 254).strip()
        hub = self.hub

        def refuse_if_taken(record):
            if record is not None:
                raise NickRegistered(f"The nick {nick} is registered (or looks like {record.name}); choose another.")
            return hub.hasher.hash(password)

        def create(password_hash):
            from chatd.store.records import AccountRecord

            record = AccountRecord(name=nick, key=key, look=look, password_hash=password_hash, email=email,
                                   created=hub.now())
            return hub.store.create_account(record).addCallback(lambda _: record)

        d = hub.store.find_account(key, look).addCallback(refuse_if_taken).addCallback(create)
        d.addCallback(self._log_in, None)
        d.addCallback(lambda result: log.info("Account {account} registered by {frontend} {peer}",
                                              account=nick, frontend=self.frontend, peer=self.peer) or result)
        return d

    def login(self, account: Optional[str] = None, password: Optional[str] = None, token: Optional[str] = None,
              since: Optional[int] = None) -> Deferred:
        """
        Log in with a password (the account defaults to the current nick)
        or with a login token.  The answer carries a new token; the stored
        private messages follow in a C{privates} event (after C{since}).
        """
        self._need_open()
        hub = self.hub
        if token is not None:
            self._need_secure("login token")
            hub.address_attempts.check(self.host or self.peer)
            d = hub.store.token_account(digest(token), hub.now())
            d.addCallback(self._token_account)
            return d.addCallback(self._log_in, since, token)
        else:
            if password is None:
                raise BadPassword("Give a password (or a login token).")
            self._need_secure("password")
            name = account if account is not None else self._need_nick()
            key = check_nick(name)
            d = hub.store.account(key).addCallback(self._check_password, name, password)
        return d.addCallback(self._log_in, since)

    def _token_account(self, key):
        if key is None:
            self.hub.address_attempts.failed(self.host or self.peer)
            raise BadPassword("That login token is unknown or has expired; log in with your password.")
        return self.hub.store.account(key).addCallback(self._dropped_or, "That account was dropped.")

    @staticmethod
    def _dropped_or(record, why: str):
        if record is None:
            raise NoSuchAccount(why)
        return record

    def _check_password(self, record, name: str, password: str) -> Deferred:
        """Check C{password} against C{record}, throttling failures by account and by address."""
        hub = self.hub
        address = self.host or self.peer
        hub.address_attempts.check(address)
        if record is None:
            hub.address_attempts.failed(address)
            raise NoSuchAccount(f"No account is called {name}.")
        hub.account_attempts.check(record.key)

        def checked(ok: bool):
            if not ok:
                hub.account_attempts.failed(record.key)
                hub.address_attempts.failed(address)
                log.info("Failed login to {account} from {frontend} {peer}", account=record.name,
                         frontend=self.frontend, peer=self.peer)
                raise BadPassword(f"That is not the password of {record.name}.")
            hub.account_attempts.succeeded(record.key)
            if hub.hasher.needs_rehash(record.password_hash):
                hub.hasher.hash(password).addCallback(lambda h: hub.store.set_password(record.key, h))
            return record

        return hub.hasher.verify(record.password_hash, password).addCallback(checked)

    def _log_in(self, record, since: Optional[int], token: Optional[str] = None) -> Deferred:
        """
        The password or token was right: become the account's user.  A
        password login gets a new token; a token login keeps its token
        (every tab of a browser shares it, and one logout ends it for all).
        """
        self._need_open()
        user = self.user
        if user.account is not None and user.account != record.key:
            raise AlreadyLoggedIn(f"You are logged in as {user.account_name}; log out first.")
        if self.hub.server_banned(self, record.key):
            raise Banned("Your account is banned from this server.")
        hub = self.hub
        if user.account == record.key:
            d = succeed(None)
        elif hub.nodes.shared and record.key not in hub.accounts:
            d = hub.presence.person(account_uid(record.key)).addCallback(self._become, record)
        else:
            d = maybeDeferred(self._become, None, record)
        if token is None:
            token = secrets.token_urlsafe(32)
            expires = self.hub.now() + self.hub.rules.token_days * 86400.0
            d.addCallback(lambda _: self.hub.store.add_token(digest(token), record.key, expires))
        d.addCallback(lambda _: self._remember_token(token))
        d.addCallback(lambda _: self.load_preferences())
        d.addCallback(lambda _: self.replay_privates(since))
        return d.addCallback(lambda _: LoggedIn(record.name, self.nick, token))

    def _remember_token(self, token: str) -> None:
        self.token = digest(token)

    def replay_privates(self, since: Optional[int]) -> Deferred:
        """The stored private messages of the account (after C{since}), in a C{privates} event to this session."""
        rules = self.hub.rules
        if since is not None:
            d = self.hub.store.privates(self.user.account, rules.replay_max, after=since)
        else:
            d = self.hub.store.privates(self.user.account, rules.scrollback)
        return d.addCallback(lambda rows: self.sink.deliver(
            ev.Privates(messages=tuple(rows[0]), truncated=rows[1], ts=self.hub.now())))

    def logout(self) -> Deferred:
        """
        Log out; this session's token stops working.  Other connections of
        the user (here or on other nodes) go on without this one, which
        becomes a guest.
        """
        user = self.user
        if user.account is None:
            raise NotLoggedIn("You are not logged in.")
        if self.token is not None:
            self.hub.store.remove_token(self.token)
            self.token = None
        if len(user.sessions) > 1:
            self.leave_user("Logged out")
            return succeed(None)
        if not self.hub.nodes.shared:
            return self._log_out(None)
        return self.hub.presence.person(user.uid).addCallback(self._log_out)

    def passwd(self, old: str, new: str) -> Deferred:
        """Change the account's password (the old one first)."""
        key = self._need_account()
        self._need_secure("password")
        _check_new_password(new)
        hub = self.hub
        d = hub.store.account(key).addCallback(self._check_password, self.user.account_name, old)
        d.addCallback(lambda _: hub.hasher.hash(new))
        return d.addCallback(lambda h: hub.store.set_password(key, h))

    def drop(self, password: str) -> Deferred:
        """Delete the account, after its password; every connection of the user is logged out."""
        key = self._need_account()
        self._need_secure("password")
        hub, user = self.hub, self.user
        d = hub.store.account(key).addCallback(self._check_password, user.account_name, password)

        def dropped(_):
            hub.spread(user, dv.Disconnect(uid=user.uid, reason=f"The account {user.account_name} was dropped "
                                                                 "from another connection."))
            hub.accounts.pop(key, None)
            hub.rekeyed(user, user.log_out(self.own_uid)).addCallback(lambda _: hub.tell_account(user))
            for session in user.sessions:
                session.token = None
            log.info("Account {account} dropped by its owner", account=key)

        return d.addCallback(lambda _: hub.store.drop_account(key)).addCallback(dropped)

    def ghost(self, nick: str) -> Deferred:
        """
        Free your account's nick: a connection holding it without being
        logged in to your account is disconnected; so are your own other
        connections, if C{nick} is yours.
        """
        key = self._need_account()
        target_key = check_nick(nick)

        def found(target):
            if target is None:
                raise NoSuchNick(f"Nobody is called {nick} right now.")
            if target.uid == self.user.uid:
                mine = "Ghosted by another connection of yours."
                for session in [s for s in self.user.sessions if s is not self]:
                    self.hub.disconnect(session, mine)
                self.hub.reach(target, dv.Disconnect(uid=target.uid, reason=mine), here=False)
                return None
            if target.key != key and target.look != skeleton(self.user.account_name):
                raise NotOperator(f"{nick} is not your account's nick; you may only ghost your own.")
            self.hub.reach(target, dv.Disconnect(
                uid=target.uid, reason=f"Ghosted: {self.user.account_name} logged in to this nick's account."))
            return None

        return self.hub.presence.find(target_key).addCallback(found)

    def whois(self, nick: str) -> Deferred:
        """Who C{nick} is: account, rooms and away message, and, for server operators, where it connects from."""
        key = check_nick(nick)

        def found(target) -> ev.WhoIs:
            if target is None:
                raise NoSuchNick(f"Nobody is called {nick} right now.")
            address = ", ".join(target.hosts) if self.is_operator else None
            return ev.WhoIs(nick=target.nick, account=target.account_name, rooms=target.rooms, address=address,
                            operator=target.account is not None and target.account in self.hub.rules.operators,
                            away=target.away, ts=self.hub.now())

        return self.hub.presence.find(key).addCallback(found)

    # -- checks --------------------------------------------------------------------------

    def _need_account(self) -> str:
        if self.user.account is None:
            raise NotLoggedIn("Log in first (/login ACCOUNT PASSWORD).")
        return self.user.account

    def _need_secure(self, what: str) -> None:
        if not self.secure and not self.hub.rules.allow_cleartext:
            raise Insecure(
                f"Your {what} would travel in clear text: connect with TLS (or from this machine) to log in."
                " The server does not accept it otherwise ([accounts] allow_cleartext).")


def _check_new_password(password: str) -> None:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise WeakPassword(f"A password has {PASSWORD_MIN} to {PASSWORD_MAX} characters; that one has {len(password)}.")


__all__ = ["Accounts", "LoggedIn", "digest"]
