# -*- test-case-name: tests.test_admin -*-
"""
Every call the kick and ban commands make into the hub's sessions.

Today an operator's kick ends the session through its front end (its
rooms see a plain quit), and a ban finds sessions by their transport's
peer address.  Both reach into sessions here and nowhere else, so that
core kick and ban commands can replace these few functions.
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
    session = hub.nicks.get(key)
    if session is None:
        raise Refused(f"nobody is called {nick}")
    return session


def session_ip(session) -> Optional[Address]:
    """A session's client address, or C{None} (unix sockets)."""
    transport = getattr(session.sink, "transport", None)
    if transport is not None:
        host = getattr(transport.getPeer(), "host", None)
        return parse_ip(host) if host else None
    peer = session.peer or ""
    if session.frontend == "longpoll":  # long-poll peers carry no port
        return parse_ip(peer)
    return parse_ip(peer.rpartition(":")[0]) if ":" in peer else parse_ip(peer)


def sessions_from(hub, network: Network) -> List:
    """Every session whose client address is in C{network}."""
    return [s for s in tuple(hub.sessions) if (ip := session_ip(s)) is not None and ip in network]


def disconnect_session(hub, session, reason: str) -> None:
    """
    End C{session} for an operator: its front end closes the connection
    with C{reason}, and its rooms see a quit with that reason.  (C{hub}
    is where a core kick command will run.)
    """
    session.sink.disconnect(reason)
