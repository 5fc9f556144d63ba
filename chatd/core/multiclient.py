# -*- test-case-name: tests.core.test_accounts -*-
"""
One user, several connections (Ergo's multiclient): connections logged in
to one account are one user, with one nick and the same rooms, on this
node and on every other node of a cluster (L{chatd.core.users}).

Logging in makes a connection the account's user, or one more connection
of it: the user already online here, or adopted from other nodes with its
nick and rooms.  Logging out, or logging in to another account, makes it
leave that user.
"""

from typing import Optional

from twisted.internet.defer import Deferred, succeed

from chatd.core import directives as dv
from chatd.core import events as ev
from chatd.core.text import check_nick
from chatd.core.users import User


class Multiclient:
    """Becoming and leaving an account's user, as methods of L{chatd.core.session.Session}."""

    __slots__ = ()

    def _become(self, elsewhere, record) -> Optional[Deferred]:
        """
        Become account C{record}'s user: join the user already online here,
        or adopt the one online on other nodes (C{elsewhere}, a L{Person}),
        or be it, taking its nick if this connection has none yet.
        """
        self._need_open()
        hub, user = self.hub, self.user
        reason = f"Logged in as {record.name}"
        online = hub.accounts.get(record.key)
        if online is not None and online is not user:
            self.join_user(online, reason)
            return None
        if elsewhere is not None and online is None:
            return self._adopt(elsewhere, record, reason)
        old = user.log_in(record.key, record.name)
        hub.accounts[record.key] = user
        d = hub.rekeyed(user, old)
        d.addCallback(lambda _: hub.tell_account(user))
        if user.nick is None or user.key == record.key:
            d.addCallback(lambda _: self._take_account_nick(record))
        return d

    def _adopt(self, person, record, reason: str) -> Deferred:
        """The account's user is online on other nodes: become its connection here, with its nick and rooms."""
        hub = self.hub
        user = User(self, person.uid)
        user.account, user.account_name = record.key, record.name
        user.nick, user.key, user.look = person.nick, person.key, person.look
        user.away = person.away  # away there: away here too
        self.leave_user(reason, replace=user)
        hub.accounts[record.key] = user

        def claimed(_) -> None:
            for name in person.rooms:
                self.follow(name)

        return hub.presence.claim(user, person.nick, person.key, person.look).addCallback(claimed)

    def _take_account_nick(self, record) -> Deferred:
        """A logged-in user with no nick (or the account's own) gets the account's name; a squatter is renamed."""
        user = self.user
        user.stop_grace()
        if user.key == record.key:
            return succeed(None)

        def found(squatter) -> Deferred:
            if squatter is not None and squatter.uid != user.uid:
                self.hub.reach(squatter, dv.ToGuest(uid=squatter.uid, why=f"{record.name} logged in to their account"))
            return self.set_nick(record.name, take=True)

        return self.hub.presence.find(record.key).addCallback(found)

    def _log_out(self, person) -> Optional[Deferred]:
        user, hub = self.user, self.hub
        if person is not None and len(person.nodes) > 1:
            self.leave_user("Logged out")  # the account goes on, on other nodes
            return None
        hub.accounts.pop(user.account, None)
        name = user.account_name
        d = hub.rekeyed(user, user.log_out(self.own_uid))
        d.addCallback(lambda _: hub.tell_account(user))
        if user.key is not None and user.key == check_nick(name):
            hub.protect(user, name)
        return d

    def join_user(self, user: User, reason: str) -> None:
        """This connection becomes one of C{user}'s: it leaves its own rooms and takes the user's."""
        self.leave_user(reason, replace=user)
        for room in tuple(user.sessions[0].rooms.values()):
            self._enter(room, ev.Join(room=room.name, nick=user.nick, account=user.account_name, ts=self.hub.now()),
                        None)

    def leave_user(self, reason: str, replace: Optional[User] = None) -> None:
        """
        Stop being one of this user's connections: leave its rooms (this
        connection is told it left each one); become C{replace}'s, or a new
        user with a guest nick (this connection sees its nick change).
        """
        old = self.user
        was = self.nick
        now = self.hub.now()
        for room in tuple(self.rooms.values()):
            self.sink.deliver(ev.Part(room=room.name, nick=was, reason=reason, ts=now))
        self.leave_all(reason)
        old.sessions.remove(self)
        if not old.sessions:
            self.hub.forget_user(old)
        user = replace if replace is not None else User(self, self.own_uid)
        if self not in user.sessions:
            user.sessions.append(self)
        self.hub.users[user.uid] = user
        self.user = user
        self.nick, self.key, self.look = user.nick, user.key, user.look
        if replace is None:
            self.hub.to_guest(user, reason, was=was)


__all__ = ["Multiclient"]
