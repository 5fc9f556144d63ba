# -*- test-case-name: tests.frontends.test_irc_read_marker -*-
"""
IRCv3 C{draft/read-marker}: chatd's read markers as C{MARKREAD}.

chatd keeps a marker as a message id; the IRC extension speaks of the
C{time} of the last message read.  A room's marker is the id of the
newest message shown at or before the client's time (the time as the
C{time} tag showed it, to the millisecond), and a marker goes back out as
that message's time.  A private conversation's messages are not in any
room's history, so a connection maps the times of the private messages it
was given (the last L{PRIVATES_KEPT}); a marker it cannot date is C{*}.

Every connection of the account hears a marker move (the core tells them
all); one that negotiated the capability also gets the room's marker
after each C{JOIN}, before the end of the names.
"""

import math
from collections import deque
from typing import Optional

from twisted.internet.defer import Deferred, maybeDeferred, succeed

from chatd.core.text import fold
from chatd.frontends.irc.render import parse_timestamp, timestamp
from chatd.wire import irc

CAP = "draft/read-marker"

#: Private messages (with their ids) a connection remembers the times of.
PRIVATES_KEPT = 256

#: Messages read to find the newest one before a time (reaction rows are
#: left out of a history page, so a page of one could come back empty).
_LOOKUP = 20


def _ask(conn, target: str, rule: str, **args) -> Deferred:
    """
    Ask the core for what a marker needs (a history page, the marker
    itself): not a command of the client's, so not charged against its
    flood budget (MARKREAD itself was).  Fires with None after a
    refusal, told in IRC's words.
    """
    d = maybeDeferred(getattr(conn.session, rule), **args)
    return d.addErrback(conn._refused, "MARKREAD", target, None)


def _fail(conn, code: str, *params: str) -> str:
    return irc.line("FAIL", "MARKREAD", code, *params, source=conn.settings.server)


def _line(conn, target: str, when: Optional[str]) -> str:
    return irc.line("MARKREAD", target, f"timestamp={when}" if when else "*", source=conn.settings.server)


# -- a marker's time, and a time's marker ---------------------------------------------------------------


def _time_of(conn, target: str, id: int) -> Deferred:
    """The C{time} tag value of marker C{id} of C{target}, or None (no marker, or none this client can date)."""
    if id <= 0:
        return succeed(None)
    if not target.startswith("#"):
        kept = _privates(conn, target)
        older = [ts for number, ts in kept if number <= id]
        return succeed(timestamp(max(older)) if older else None)

    def found(page):
        if page is None or not page.messages:
            return None
        return timestamp(page.messages[-1].ts)

    return _ask(conn, target, "history", name=target, before=id + 1, limit=_LOOKUP).addCallback(found)


def _id_at(conn, target: str, seconds: float) -> Deferred:
    """The id of the newest message of C{target} shown at or before C{seconds}, or 0 (none)."""
    shown = math.floor(seconds * 1000 + 1e-6)
    if not target.startswith("#"):
        older = [number for number, ts in _privates(conn, target) if int(ts * 1000) <= shown]
        return succeed(max(older) if older else 0)

    def found(page):
        if page is None or not page.messages:
            return 0
        return page.messages[-1].id or 0

    upto = (shown + 1) / 1000 - 1e-9
    return _ask(conn, target, "history", name=target, before_ts=upto, limit=_LOOKUP).addCallback(found)


def _target(target: str) -> dict:
    return {"name": target, "to": None} if target.startswith("#") else {"name": None, "to": target}


# -- what the client sends ----------------------------------------------------------------------------------


def markread(conn, message) -> None:
    """C{MARKREAD target} asks where the marker is; C{MARKREAD target timestamp=T} moves it."""
    params = message.params
    if not params or not params[0]:
        conn.reply(message, [_fail(conn, "NEED_MORE_PARAMS", "Missing parameters")])
        return
    target = params[0]
    if "," in target:
        conn.reply(message, [_fail(conn, "INVALID_PARAMS", target, "MARKREAD takes one target")])
        return
    if len(params) == 1:
        _get(conn, message, target)
        return
    kind, _, value = params[1].partition("=")
    seconds = parse_timestamp(value) if kind == "timestamp" else None
    if seconds is None:
        conn.reply(message, [_fail(conn, "INVALID_PARAMS", params[1],
                                   "Give the time of the last message read: timestamp=2026-11-30T12:00:00.000Z")])
        return
    if conn.session.user.account is None:
        conn.reply(message, [_fail(conn, "NOT_LOGGED_IN", target,
                                   "Read markers are kept for accounts: log in (SASL) to keep one")])
        return
    _id_at(conn, target, seconds).addCallback(_set, conn, message, target)


def _get(conn, message, target: str) -> None:
    if conn.session.user.account is None:
        conn.reply(message, [_line(conn, target, None)])  # a guest has read nothing anyone keeps
        return
    d = _ask(conn, target, "read", **_target(target))
    d.addCallback(lambda event: event and _answer(conn, message, target, event.message))


def _set(id, conn, message, target: str) -> None:
    if id is None:
        return  # refused, and told
    if not id:
        _get(conn, message, target)  # nothing said by then: the marker stays where it is
        return

    def moved(event):
        if event is None:
            return None
        if event.message == id and CAP in conn.caps and conn.label_of(message) is None:
            # It moved: every connection of the account (this one too)
            # hears it from the core, and that MARKREAD is the answer.
            return None
        return _answer(conn, message, target, event.message)

    _ask(conn, target, "read", id=id, **_target(target)).addCallback(moved)


def _answer(conn, message, target: str, id: int) -> Deferred:
    return _time_of(conn, target, id).addCallback(lambda when: conn.reply(message, [_line(conn, target, when)]))


# -- what the server tells ----------------------------------------------------------------------------------


def moved(conn, event) -> None:
    """The account's marker moved (on this connection or another): C{MARKREAD} to a client that asked for them."""
    if CAP not in conn.caps:
        return
    target = event.room or event.to
    _time_of(conn, target, event.message).addCallback(lambda when: conn.lines([_line(conn, target, when)]))


def for_join(conn, room: str) -> Deferred:
    """The C{MARKREAD} line that follows a C{JOIN} of C{room} (None if it could not be read: told already)."""
    if conn.session.user.account is None:
        return succeed(_line(conn, room, None))

    def read(event):
        if event is None:
            return None
        return _time_of(conn, room, event.message).addCallback(lambda when: _line(conn, room, when))

    return _ask(conn, room, "read", name=room, to=None).addCallback(read)


# -- private conversations ----------------------------------------------------------------------------------


def remember(conn, event) -> None:
    """Keep the time of a private message with an id, so its conversation's marker can be dated."""
    if event.id is None or CAP not in conn.caps:
        return
    kept = conn.privates_seen
    if kept is None:
        kept = conn.privates_seen = deque(maxlen=PRIVATES_KEPT)
    me = fold(conn.session.nick or "")
    peer = event.to if fold(event.nick) == me else event.nick
    kept.append((fold(peer), event.id, event.ts))


def _privates(conn, nick: str):
    key = fold(nick)
    return [(id, ts) for peer, id, ts in conn.privates_seen or () if peer == key]
