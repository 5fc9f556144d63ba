# -*- test-case-name: tests.test_admin -*-
"""
Every call the kick and ban commands make into the core: finding a
session by nick or address, and putting it out with L{Hub.kick}, so its
rooms see a C{kick} event on every front end.
"""

from typing import List, Optional

from chatd.admin.bans import Address, Network, parse_ip
from chatd.core.errors import ChatError
from chatd.core.text import check_nick


class Refused(Exception):
    """A command's argument names nothing usable; the text says why."""


def find_session(hub, nick: str):
    """
    The session called C{nick} (in any case).

    @raise Refused: C{nick} is not a valid nick, or nobody has it.
    """
    try:
        key = check_nick(nick)
    except ChatError as e:
        raise Refused(e.message)
    session = hub.find(nick) if key else None
    if session is None:
        raise Refused(f"nobody is called {nick}")
    return session


def session_ip(session) -> Optional[Address]:
    """A session's client address, or C{None} (unix sockets)."""
    return parse_ip(session.host) if session.host else None


def sessions_from(hub, network: Network) -> List:
    """Every session whose client address is in C{network}."""
    return [s for s in tuple(hub.sessions) if (ip := session_ip(s)) is not None and ip in network]


def kick(hub, session, reason: str, farewell: Optional[str] = None) -> None:
    """
    Put C{session} out for an operator: its rooms see a C{kick} event with
    C{reason}, and it is disconnected with C{farewell} (by default, "Kicked
    by an operator: reason").
    """
    hub.kick(session, reason, by="an operator", farewell=farewell)
