# -*- test-case-name: tests.core.test_accounts -*-
"""
A user: the person behind a nick.

Most users are one connection.  Connections logged in to the same account
are one user (Ergo calls this multiclient): a browser tab, a phone and a
terminal share one nick and the same rooms, and each sees what the others
say.  Presence (L{chatd.core.presence}) knows users, not connections; rooms
deliver to each connection, so every one of them gets the room's events.

A user is named by its C{uid} across a cluster: C{~a:ACCOUNT} for an
account's user (one user however many nodes its connections are on),
C{NODE/SERIAL} for anyone else (one connection, on one node).

Each session keeps a copy of its user's nick (C{session.nick}), which the
fan-out reads for every delivery; L{User.rename} keeps the copies right.
"""

from typing import List, Optional


class User:
    """
    @ivar uid: its name in presence, the same on every node.
    @ivar nick: the nick as typed, or None before the first one.
    @ivar key: the folded nick (unique), or None.
    @ivar look: the nick's look-alike key (unique), or None.
    @ivar account: the folded name of the account its sessions are logged
        in to, or None.
    @ivar account_name: that account's name as registered, or None.
    @ivar away: its away message while it is away (all its connections
        are), else None.
    @ivar sessions: its connections, oldest first.
    @ivar grace: the timer that renames it to a guest nick when it holds a
        registered nick without being logged in to its account, or None.
    """

    __slots__ = ("uid", "nick", "key", "look", "account", "account_name", "away", "sessions", "grace", "prefs")

    def __init__(self, session, uid: str) -> None:
        self.uid = uid
        self.nick: Optional[str] = None
        self.key: Optional[str] = None
        self.look: Optional[str] = None
        self.account: Optional[str] = None
        self.account_name: Optional[str] = None
        self.away: Optional[str] = None
        self.sessions: List = [session]
        self.grace = None
        #: Front-end preferences (L{chatd.core.markers}), or None.
        self.prefs = None

    def __repr__(self) -> str:
        return f"<User {self.uid} {self.nick or '(no nick)'} account={self.account} sessions={len(self.sessions)}>"

    def rename(self, nick: str, key: str, look: str) -> None:
        """Take a new nick, on every connection."""
        self.nick, self.key, self.look = nick, key, look
        for session in self.sessions:
            session.nick, session.key, session.look = nick, key, look

    def deliver(self, event) -> None:
        """Hand C{event} to every connection of this user."""
        for session in tuple(self.sessions):
            session.sink.deliver(event)

    def log_in(self, key: str, name: str) -> str:
        """Become the user of account C{key} (called C{name}); returns the uid it had."""
        old, self.uid = self.uid, account_uid(key)
        self.account, self.account_name = key, name
        return old

    def log_out(self, uid: str) -> str:
        """No longer an account's user; C{uid} is its new name.  Returns the uid it had."""
        old, self.uid = self.uid, uid
        self.account = self.account_name = None
        return old

    def stop_grace(self) -> None:
        grace, self.grace = self.grace, None
        if grace is not None and grace.active():
            grace.cancel()


def account_uid(key: str) -> str:
    """The uid of account C{key}'s user."""
    return "~a:" + key
