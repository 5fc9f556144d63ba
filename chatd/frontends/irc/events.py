# -*- test-case-name: tests.frontends.test_irc_protocol -*-
"""
Showing core events to one IRC connection.

Room events are written as the shared rendering of the connection's
capability profile (L{chatd.frontends.irc.render}); what only this
connection sees (its private messages, scrollback, the names list after a
join) is rendered here.  A join's scrollback and the room's live messages
are held until the client has the room's names, so the client sees JOIN,
topic, names, then the history batch, then what was said since, in room
order.
"""

from collections import deque
from typing import List, Optional

from twisted.logger import Logger

from chatd.core import events as ev
from chatd.core.text import fold
from chatd.frontends.irc import markers
from chatd.wire import irc

log = Logger(namespace="chatd.irc")


def show(conn, event) -> None:
    t = event.type
    session = conn.session
    if t == ev.MESSAGE or t == ev.ACTION or t == ev.REACT or t == ev.UNREACT:
        if event.via == session.serial:
            if "echo-message" not in conn.caps:
                return
            label = conn.echo_labels.pop(echo_key(event), None) if conn.echo_labels else None
            if label is not None:
                render = conn.renderer.message_lines if t == ev.MESSAGE or t == ev.ACTION else \
                    conn.renderer.reaction_lines
                conn.lines(render(event, extra={"label": label}))
                return
        held = conn.joining.get(fold(event.room)) if conn.joining else None
        if held is not None:
            held.append(event)
            return
        conn.send_event(event)
    elif t == ev.TYPING:
        if fold(event.nick) != fold(session.nick or ""):  # one's own typing is news to nobody
            conn.send_event(event)
    elif t == ev.READ:
        markers.moved(conn, event)
    elif t == ev.JOIN:
        if event.nick == session.nick:
            _own_join(conn, event)
        else:
            conn.send_event(event)
    elif t == ev.HISTORY:
        held = conn.joining.get(fold(event.room))
        if held is not None:
            held.append(event)
        else:
            conn.lines(history_lines(conn, event.room, event.messages))
            if event.truncated:
                # Older messages exist, or (a node that could not replay a
                # gap) some are missing: always said, never silent.
                conn.lines([irc.line("NOTICE", event.room, f"Older messages of {event.room} are not shown here; "
                                     "CHATHISTORY BEFORE (or /history in a terminal) gets them.",
                                     source=conn.settings.server)])
    elif t == ev.PRIVATE:
        _private(conn, event)
    elif t == ev.PRIVATES:
        out: List[str] = []
        for message in event.messages:
            markers.remember(conn, message)
            out += _private_lines(conn, message)
        conn.lines(out)
    elif t == ev.QUIT:
        key = (event.nick, event.reason, event.ts)
        if key != conn.last_quit:  # the core tells each shared room; IRC says it once
            conn.last_quit = key
            conn.send_event(event)
    elif t == ev.MEMBERS:
        key = fold(event.room)
        if key in conn.joining:
            joined(conn, key, event)
            return
        conn.lines(conn.replies.names(session.nick, event, "multi-prefix" in conn.caps,
                                      "userhost-in-names" in conn.caps))
    elif t == ev.INVITE:
        if event.to == session.nick or "invite-notify" in conn.caps:
            conn.lines([irc.line("INVITE", event.to, event.room, source=conn.renderer.source(event.nick))])
    elif t == ev.NOTICE:
        conn.lines([irc.line("NOTICE", session.nick, event.text, source=conn.renderer.by(event.nick))])
    elif t == ev.AWAY:
        if "away-notify" in conn.caps and fold(event.nick) != fold(session.nick or ""):
            params = (event.away,) if event.away else ()
            conn.lines([irc.line("AWAY", *params, source=conn.renderer.source(event.nick))])
    elif t == "account":
        if "account-notify" in conn.caps:
            conn.lines([irc.line("ACCOUNT", event.account or "*", source=conn.renderer.source(event.nick))])
    elif t == ev.NICK:
        if event.old is not None:  # a first nick is told by 001
            conn.send_event(event)
    else:
        conn.send_event(event)


def _own_join(conn, event) -> None:
    """
    This user joined a room (a JOIN this connection sent, one from another
    of its connections, or a resync): its live messages wait until the
    room's C{members} event has given the client the topic and names.
    """
    conn.send_event(event)
    conn.joining.setdefault(fold(event.room), [])


class _Marking(list):
    """The events held for a room being joined while its read marker is looked up."""


def joined(conn, key: str, members) -> None:
    """
    The room's members are known (C{members}; None if the join was
    refused): send the topic and names (with C{draft/read-marker}, the
    room's C{MARKREAD} before their end, once it is known), then what was
    held.
    """
    held = conn.joining.get(key)
    if type(held) is _Marking:
        return  # its read marker is being looked up: that finishes the join
    if members is None or markers.CAP not in conn.caps:
        _names(conn, key, members, None)
        return
    conn.joining[key] = _Marking(held or ())
    d = markers.for_join(conn, members.room)
    d.addErrback(_marker_failed, conn, members.room)
    d.addCallback(lambda line: _names(conn, key, members, line))


def _marker_failed(failure, conn, room: str) -> None:
    log.failure("Reading the read marker of {room} for {peer} failed; it joined without one", failure,
                room=room, peer=conn.peer)
    return None


def _names(conn, key: str, members, marker: Optional[str]) -> None:
    held = conn.joining.pop(key, None)
    if members is not None:
        nick = conn.session.nick
        if members.topic:
            conn.lines([conn.replies.numeric(nick, "332", members.room, members.topic)] + (
                [conn.replies.numeric(nick, "333", members.room, members.nick, str(int(members.ts)))]
                if members.nick else []))
        conn.lines(([marker] if marker else []) + conn.replies.names(
            nick, members, "multi-prefix" in conn.caps, "userhost-in-names" in conn.caps))
    for event in held or ():
        show(conn, event)


def history_lines(conn, room: str, messages, label: Optional[str] = None) -> List[str]:
    """Stored messages as a C{chathistory} batch (plain PRIVMSGs, time-tagged if asked, without batch)."""
    server = conn.settings.server
    out: List[str] = []
    batch = "batch" in conn.caps
    extra = None
    if batch:
        ref = conn.batch_id()
        tags = {"label": label} if label else None
        out.append(irc.line("BATCH", "+" + ref, "chathistory", room, source=server, tags=tags))
        extra = {"batch": ref}
    render = conn.renderer
    for message in messages:
        if message.type in (ev.MESSAGE, ev.ACTION):
            out += render.message_lines(message, extra=extra)
            for reaction, nicks in message.reactions:
                # A page folds the reactions into their message: each is
                # told as the TAGMSG its reactor would have sent.
                for nick in nicks:
                    out += render.reaction_lines(ev.React(room=message.room, nick=nick, message=message.id,
                                                          reaction=reaction, ts=message.ts), extra)
        elif message.type in (ev.REACT, ev.UNREACT):
            out += render.reaction_lines(message, extra)
    if batch:
        out.append(irc.line("BATCH", "-" + ref, source=server))
    return out


def _private(conn, event) -> None:
    markers.remember(conn, event)
    if event.nick == conn.session.nick and event.to != conn.session.nick:
        sent = conn.sent_privates
        if sent and sent[0] == (fold(event.to), event.text):
            sent.popleft()  # sent from this connection: shown only as an echo
            if "echo-message" not in conn.caps:
                return
    conn.lines(_private_lines(conn, event))


def _private_lines(conn, event) -> List[str]:
    me = conn.session.nick
    target = event.to if event.nick == me else me
    return conn.renderer.message_lines(event, target=target)


def echo_key(event) -> str:
    """
    What a labelled message or reaction is known by when its echo comes
    back: its cid, or for a reaction (which has none) what it is.
    """
    if event.type == ev.REACT or event.type == ev.UNREACT:
        return f"{event.type} {fold(event.room)} {event.message} {event.reaction}"
    return event.cid or ""


def new_sent() -> deque:
    """What this connection sent privately, not yet seen coming back (bounded)."""
    return deque(maxlen=256)
