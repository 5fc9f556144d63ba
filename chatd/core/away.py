# -*- test-case-name: tests.core.test_away -*-
"""
Away: a user says it is not at the keyboard, with a message.

Away belongs to the user, not to one connection: every connection of an
account's user is away (a new one too, L{chatd.core.multiclient}), on
every node, until it comes back or its last connection closes.  Presence
keeps the message for the whole cluster (C{who}, C{whois} and a private
message to the user read it there); a change is told like a nick change,
to everyone who shares a room with the user and to its own connections.
"""

from typing import Optional

from twisted.internet.defer import Deferred

from chatd.core import events as ev
from chatd.core.text import clean_text

#: Longest away message, in characters (longer ones are cut, as IRC's AWAYLEN says).
AWAY_MAX = 200


def clean_away(text: Optional[str]) -> Optional[str]:
    """
    An away message cleaned like a reason and cut to L{AWAY_MAX}; None
    (back) for no text or only spaces.  Text a message could not hold (a
    control character) is refused with C{invalid-text}.
    """
    if not text:
        return None
    return clean_text(text[:AWAY_MAX], "away message", AWAY_MAX).strip() or None


class Away:
    """The away rule, as a method of L{chatd.core.session.Session}."""

    __slots__ = ()

    def set_away(self, text: Optional[str]) -> Deferred:
        """
        Mark this session's user away with C{text}, or back (no text).

        @return: Deferred firing with an C{away} event for the user's new
            state (the answer, sent whether or not it changed); the rooms
            and the user's connections hear it only if it changed.
        """
        self._need_nick()
        away = clean_away(text)
        user, hub = self.user, self.hub

        def recorded(old: Optional[str]) -> ev.AwayChanged:
            user.away = away
            event = ev.AwayChanged(nick=user.nick, away=away, ts=hub.now())
            if old != away:
                hub.tell_about(user, event)
            return event

        return hub.presence.set_away(user, away).addCallback(recorded)


__all__ = ["AWAY_MAX", "Away", "clean_away"]
