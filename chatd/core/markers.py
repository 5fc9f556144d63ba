# -*- test-case-name: tests.core.test_markers -*-
"""
What an account keeps for all its devices: read markers (the last message
read in each room and private conversation) and the preferences of its
front ends (a terminal's timestamps).

A marker only moves forward, and every connection of the account hears
when it moves, so reading on a phone clears the unread line on a laptop.
"""

from typing import Optional

from twisted.internet.defer import Deferred, succeed

from chatd.core import events as ev
from chatd.core.errors import BadCommand, NoSuchNick
from chatd.core.text import check_nick, check_room, clean_text

#: Preferences a client may set, with the values each takes.
PREFERENCES = {"timestamps": ("on", "off")}


def _marker_id(id) -> int:
    if isinstance(id, bool) or not isinstance(id, int) or id < 0 or id > 2 ** 53:
        raise BadCommand('"id" must be the id of the last message read (a whole number from 0).')
    return id


class Markers:
    """The rules, as methods of L{chatd.core.session.Session}."""

    __slots__ = ()

    def read(self, name: Optional[str], to: Optional[str], id: Optional[int] = None) -> Deferred:
        """
        Move our account's read marker of a room (C{name}) or of the private
        conversation with C{to} forward to C{id}, telling every connection
        of the account; without C{id}, answer where it is.
        """
        self._need_nick()
        account = self._need_account()
        if (name is None) == (to is None):
            raise BadCommand('Name either a "room" or a nick ("to") whose conversation you read, not both.')
        if name is not None:
            target, room, peer = check_room(name), name, None
            live = self.hub.room(name)
            if live is not None:
                room = live.name
        else:
            target, room, peer = "@" + check_nick(to), None, to
        store = self.hub.store
        if id is None:
            return store.reads(account).addCallback(
                lambda marks: ev.ReadMarker(message=marks.get(target, 0), room=room, to=peer, ts=self.hub.now()))
        id = _marker_id(id)

        def moved(now: int) -> ev.ReadMarker:
            event = ev.ReadMarker(message=now, room=room, to=peer, ts=self.hub.now())
            if now == id:
                self.hub.deliver_to_user(self.user, event)
            return event

        # Markers are kept for rooms one is in and for people who exist,
        # so an account cannot fill the store with made-up names.
        if name is not None:
            self._joined(name)
            return store.set_read(account, target, id).addCallback(moved)
        return self._someone(target[1:], to).addCallback(lambda _: store.set_read(account, target, id)).addCallback(
            moved)

    def _someone(self, key: str, to: str) -> Deferred:
        """Fires if C{key} is someone online or an account; else fails with C{no-such-nick}."""

        def online(person):
            if person is not None:
                return person
            return self.hub.store.account(key).addCallback(registered)

        def registered(record):
            if record is None:
                raise NoSuchNick(f"Nobody is called {to} right now, and no account has that name.")
            return record

        return self.hub.presence.find(key).addCallback(online)

    def set_preference(self, option: str, value: str) -> Deferred:
        """Set a front-end preference: kept with the account, or for this connection's user while a guest."""
        allowed = PREFERENCES.get(option)
        if allowed is None:
            raise BadCommand(f"There is no setting \"{clean_text(option[:40], 'setting', 40)}\"; "
                             f"the settings are: {', '.join(PREFERENCES)}.")
        if value not in allowed:
            raise BadCommand(f"{option} is {' or '.join(allowed)}, not \"{clean_text(value[:40], 'value', 40)}\".")
        user = self.user
        user.prefs = dict(user.prefs or {}, **{option: value})
        if user.account is None:
            return succeed(None)
        return self.hub.store.set_preference(user.account, option, value)

    def preference(self, option: str) -> Optional[str]:
        """This user's preference C{option} (its account's, once logged in), or None if unset."""
        prefs = self.user.prefs
        return prefs.get(option) if prefs else None

    def load_preferences(self) -> Deferred:
        """Read the account's preferences (at login), for L{preference}."""
        user = self.user

        def loaded(prefs) -> None:
            user.prefs = dict(prefs) if prefs else None

        return self.hub.store.preferences(user.account).addCallback(loaded)
