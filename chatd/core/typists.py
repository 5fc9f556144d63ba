# -*- test-case-name: tests.core.test_typing -*-
"""
Typing notices: who is typing in a room or to whom, told live and never
stored.

A client sends C{active} every few seconds while its user types; the
core passes on one per target every L{REPEAT} seconds and every change
of state, so a chatty client costs its room little.  Receivers forget a
notice by themselves (C{active} after 6 seconds, C{paused} after 30), so
a client that vanishes mid-sentence leaves nothing behind.
"""

from typing import Optional

from twisted.internet.defer import Deferred, succeed

from chatd.core import events as ev
from chatd.core.errors import BadCommand, NoSuchNick
from chatd.core.text import check_nick

#: The states a notice may carry.
STATES = ("active", "paused", "done")

#: Seconds within which a repeated C{active} to the same target is dropped.
REPEAT = 3.0

#: Targets one session remembers notices for (oldest forgotten first).
_REMEMBERED = 16


class Typists:
    """The rule, as a method of L{chatd.core.session.Session}."""

    __slots__ = ()

    def typing(self, name: Optional[str], to: Optional[str], state: str = "active") -> Deferred:
        """
        Tell a room we are in (C{name}) or one user (C{to}) that we are
        typing; answers with the C{typing} event, also when it was a repeat
        and not passed on.
        """
        nick = self._need_nick()
        if state not in STATES:
            raise BadCommand(f'"state" must be one of {", ".join(STATES)}.')
        if (name is None) == (to is None):
            raise BadCommand('Name either a "room" or a nick ("to") you are typing to, not both.')
        hub = self.hub
        if name is not None:
            room = self._joined(name)
            self.may_speak(room)
            event = ev.Typing(nick=nick, state=state, room=room.name, ts=hub.now())
            if self._first_notice(room.key, state):
                hub.bus.publish(room.key, event)
            return succeed(event)
        key = check_nick(to)

        def found(target):
            if target is None:
                raise NoSuchNick(f"Nobody is called {to} right now.")
            event = ev.Typing(nick=nick, state=state, to=target.nick, ts=hub.now())
            if target.uid != self.user.uid and self._first_notice("@" + key, state):
                hub.send_to(target, event)
            return event

        return hub.presence.find(key).addCallback(found)

    def _first_notice(self, target: str, state: str) -> bool:
        """Whether this notice is news: a new state for C{target}, or an C{active} not repeated within L{REPEAT}."""
        now = self.hub.now()
        told = self.typed
        if told is None:
            told = self.typed = {}
        last = told.get(target)
        if last is not None and last[0] == state and (state != "active" or now - last[1] < REPEAT):
            return False
        told.pop(target, None)
        if len(told) >= _REMEMBERED:
            del told[next(iter(told))]
        told[target] = (state, now)
        return True
