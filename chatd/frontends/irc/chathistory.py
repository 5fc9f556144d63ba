# -*- test-case-name: tests.frontends.test_irc_protocol -*-
"""
IRCv3 C{draft/chathistory}: IRC's form of chatd's resume.

A msgid names a chatd message id (L{chatd.frontends.irc.render.msgid}), so
C{AFTER #room msgid=X} is exactly chatd's "after X", and a client that
reconnects asks for what it missed without loss or duplicate.  A
C{timestamp=} reference selects by message time.  Every answer is one
C{chathistory} batch, oldest message first.
"""

import math
from typing import Optional, Tuple

from chatd.core import commands as cmd
from chatd.frontends.irc.events import history_lines
from chatd.frontends.irc.render import parse_msgid, parse_timestamp
from chatd.wire import irc


class BadReference(Exception):
    """A reference or limit the client got wrong: C{FAIL CHATHISTORY INVALID_PARAMS}."""


def _timestamp(text: str) -> float:
    seconds = parse_timestamp(text)
    if seconds is None:
        raise BadReference(f"{text} is not a timestamp like 2026-11-30T12:00:00.000Z")
    return seconds


def _reference(text: str, room: str) -> Tuple[str, float]:
    """A C{msgid=} or C{timestamp=} reference as ("id", number) or ("ts", seconds)."""
    kind, eq, value = text.partition("=")
    if kind == "msgid" and eq:
        number = parse_msgid(value, room)
        if number is None:
            raise BadReference(f"{value} is not a msgid of {room}")
        return "id", number
    if kind == "timestamp" and eq:
        return "ts", _timestamp(value)
    raise BadReference(f"{text} is not a reference: use msgid=... or timestamp=...")


def _query(sub: str, room: str, params, limit: int) -> Tuple[list, Optional[Tuple[str, float]]]:
    """
    The core history commands a subcommand needs, and a bound to filter
    the answer with (LATEST after a reference, BETWEEN backwards).
    """
    if sub not in ("LATEST", "BEFORE", "AFTER", "AROUND", "BETWEEN"):
        raise BadReference(f"{sub} is not a CHATHISTORY subcommand: use LATEST, BEFORE, AFTER, AROUND, BETWEEN "
                           "or TARGETS")

    def window(ref, side: str, **more) -> dict:
        kind, value = ref
        if kind == "id":
            return {side: value, **more}
        if side == "after":
            # Times are shown truncated to the millisecond: "after T" is
            # from the next millisecond on, so the message shown at T is
            # not sent again.
            value = (math.floor(value * 1000 + 1e-6) + 1) / 1000 - 1e-9
        return {side + "_ts": value, **more}

    if sub == "LATEST":
        if params[0] == "*":
            return [dict(limit=limit)], None
        return [dict(limit=limit)], _reference(params[0], room)
    ref = _reference(params[0], room)
    if sub == "BEFORE":
        return [dict(limit=limit, **window(ref, "before"))], None
    if sub == "AFTER":
        return [dict(limit=limit, **window(ref, "after"))], None
    if sub == "AROUND":
        # The referenced message itself and up to half the limit before
        # it, then the rest after it.
        half = max(1, (limit + 1) // 2)
        kind, value = ref
        upto = (kind, value + 1) if kind == "id" else (kind, value + 0.001)
        return [dict(limit=half, **window(upto, "before")), dict(limit=limit - half, **window(ref, "after"))], None
    if sub == "BETWEEN":
        other = _reference(params[1], room)
        if other[1] < ref[1]:  # backwards: the newest before the first reference
            return [dict(limit=limit, **window(ref, "before"))], other
        return [dict(limit=limit, **window(ref, "after"), **window(other, "before"))], None
    raise BadReference(f"{sub} is not a CHATHISTORY subcommand: use LATEST, BEFORE, AFTER, AROUND, BETWEEN or "
                       "TARGETS")


def chathistory(conn, message) -> None:
    params = message.params
    if len(params) < 3 or params[0].upper() == "TARGETS":
        if params and params[0].upper() == "TARGETS":
            ref = conn.batch_id()
            conn.reply(message, [irc.line("BATCH", "+" + ref, "draft/chathistory-targets", source=conn.settings.server),
                                 irc.line("BATCH", "-" + ref, source=conn.settings.server)])
            return
        conn.lines([_fail(conn, "NEED_MORE_PARAMS", "*", "CHATHISTORY needs a subcommand, a target and a limit")])
        return
    sub, room = params[0].upper(), params[1]
    if not room.startswith("#"):
        conn.lines([_fail(conn, "INVALID_TARGET", sub, room, "chatd keeps history for rooms only here")])
        return
    try:
        limit = int(params[-1])
        if limit < 1:
            raise ValueError
        queries, bound = _query(sub, room, params[2:-1] if sub == "BETWEEN" else params[2:3], limit)
    except ValueError:
        conn.lines([_fail(conn, "INVALID_PARAMS", sub, f"{params[-1]} is not a positive number of messages")])
        return
    except BadReference as e:
        conn.lines([_fail(conn, "INVALID_PARAMS", sub, str(e))])
        return
    except IndexError:
        conn.lines([_fail(conn, "NEED_MORE_PARAMS", sub, "Not enough parameters")])
        return
    pages = []

    def got(event, rest):
        if event is None:
            return None
        pages.append(event)
        if rest:
            return conn.core(cmd.History(room=room, **rest[0]), "CHATHISTORY", room).addCallback(got, rest[1:])
        messages = [m for page in pages for m in page.messages]
        messages.sort(key=lambda m: m.id or 0)
        if bound is not None:
            kind, value = bound
            if kind == "id":
                messages = [m for m in messages if m.id > value]
            else:
                shown = math.floor(value * 1000 + 1e-6)
                messages = [m for m in messages if int(m.ts * 1000) > shown]
        conn.lines(history_lines(conn, pages[0].room, messages, label=conn.label_of(message)))
        return None

    conn.core(cmd.History(room=room, **queries[0]), "CHATHISTORY", room).addCallback(got, queries[1:])


def _fail(conn, code: str, command: str, *rest: str) -> str:
    return irc.line("FAIL", "CHATHISTORY", code, command, *rest, source=conn.settings.server)


