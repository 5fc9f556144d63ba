# -*- test-case-name: tests.core.test_reactions -*-
"""
Replies and reactions: what a member says about one message of a room.

A reply is a message that names the message it answers; the core looks
the original up when the reply is sent and stores who wrote it and an
excerpt with the reply, so every reader (history, a resume, another node)
shows the quote without a second read.

A reaction is stored and numbered in the room's stream like a message
(C{react} and C{unreact} events), so it reaches every member exactly
once and in order, and a resume with C{since} replays the reactions to
older messages too.  A C{history} page folds them into each message's
C{reactions}.
"""

import dataclasses
from typing import Dict, Iterable, List, Optional, Tuple

from twisted.internet.defer import Deferred, succeed

from chatd.core import events as ev
from chatd.core.errors import BadCommand, NoSuchMessage
from chatd.core.text import check_reaction, excerpt


def _message_id(id, what: str = "id") -> int:
    if isinstance(id, bool) or not isinstance(id, int) or id < 1:
        raise BadCommand(f'"{what}" must be the id of a message (a whole number from 1).')
    return id


def fold(changes: Iterable[ev.Event]) -> Dict[int, Tuple[Tuple[str, Tuple[str, ...]], ...]]:
    """
    Fold C{react}/C{unreact} events (oldest first) into each message's
    reactions: C{{id: ((reaction, (nick, ...)), ...)}}, each reaction in the
    order it was first added and each nick once.  Taking back a reaction
    one never gave changes nothing.
    """
    by_message: Dict[int, Dict[str, List[str]]] = {}
    for change in changes:
        reactions = by_message.setdefault(change.message, {})
        nicks = reactions.get(change.reaction)
        if change.type == ev.REACT:
            if nicks is None:
                reactions[change.reaction] = [change.nick]
            elif change.nick not in nicks:
                nicks.append(change.nick)
        elif nicks is not None and change.nick in nicks:
            nicks.remove(change.nick)
            if not nicks:
                del reactions[change.reaction]
    return {
        id: tuple((reaction, tuple(nicks)) for reaction, nicks in reactions.items())
        for id, reactions in by_message.items() if reactions
    }


#: Further reads a history page makes to fill up what reaction rows took.
_MORE_READS = 4


def _cut(rows: List[ev.Event], limit: int, forward: bool, more: bool):
    """The newest (paging back) or oldest (forward) C{limit} messages of C{rows}, with their reaction rows."""
    count, cut = 0, len(rows) if forward else 0
    order = range(len(rows)) if forward else range(len(rows) - 1, -1, -1)
    for i in order:
        if rows[i].type not in (ev.REACT, ev.UNREACT):
            count += 1
            if count > limit:
                cut = i
                more = True
                break
    return (rows[:cut], more) if forward else (rows[cut + 1:] if count > limit else rows, more)


class Reactions:
    """The rules, as methods of L{chatd.core.session.Session}."""

    __slots__ = ()

    def _original(self, room, id: int, what: str) -> Deferred:
        """The stored message C{id} of C{room}, or a C{no-such-message} error naming C{what} was refused."""
        id = _message_id(id, "reply_to" if what == "reply" else "id")

        def found(message):
            if message is None or message.type not in (ev.MESSAGE, ev.ACTION):
                raise NoSuchMessage(
                    f"There is no message {id} in {room.name} to {what} (it was never sent, or was deleted or "
                    f"is too old)."
                )
            return message

        return self.hub.store.message(room.name, id).addCallback(found)

    def _reply_extra(self, room, reply_to: Optional[int]) -> Deferred:
        """What a reply stores about the message it answers (C{None}: not a reply)."""
        if reply_to is None:
            return succeed(None)
        return self._original(room, reply_to, "reply").addCallback(
            lambda m: {"reply_to": m.id, "reply_nick": m.nick, "reply_text": excerpt(m.text)}
        )

    def react(self, name: Optional[str], id: int, reaction: str) -> Deferred:
        """React to message C{id} of a room we are in with C{reaction}; a C{react} event to the room."""
        return self._reaction(ev.React, name, id, reaction)

    def unreact(self, name: Optional[str], id: int, reaction: str) -> Deferred:
        """Take back our C{reaction} to message C{id}; an C{unreact} event to the room."""
        return self._reaction(ev.Unreact, name, id, reaction)

    def _reaction(self, kind, name: Optional[str], id: int, reaction: str) -> Deferred:
        nick = self._need_nick()
        room = self._joined(name)
        self.may_speak(room)
        reaction = check_reaction(reaction)
        hub = self.hub
        account = self.user.account_name

        def append(message):
            return hub.store.append(room.name, kind.type, nick, reaction, hub.now(), f"{self.key} {room.key}", None,
                                    via=self.serial, account=account, extra={"message": message.id})

        def stored(result) -> ev.Event:
            new_id, ts, _ = result
            event = kind(room=room.name, nick=nick, message=id, reaction=reaction, id=new_id, ts=ts,
                         via=self.serial, account=account)
            hub.bus.publish(room.key, event)
            return event

        return self._original(room, id, "react to").addCallback(append).addCallback(stored)

    def _page(self, display: str, limit: int, window, forward: bool) -> Deferred:
        """
        C{(rows, more)}: up to C{limit} messages of a history page within
        C{window} (the ids it lies between), reading on past reaction
        rows (which a page folds away) a few times, so that reactions do
        not make a page short of messages.
        """
        store = self.hub.store
        kept: List[ev.Event] = []

        def read(before, after, reads: int) -> Deferred:
            if forward:
                d = store.recent(display, limit, before=before, after=after, oldest=True)
            else:
                d = store.recent(display, limit, before=before)
            return d.addCallback(got, before, after, reads)

        def got(page, before, after, reads: int):
            rows, more = page
            if forward:
                kept.extend(rows)
            else:
                kept[:0] = rows
            count = sum(1 for r in kept if r.type not in (ev.REACT, ev.UNREACT))
            # A page the store did not fill holds all there is: its "more" says something was pruned.
            if count >= limit or not more or len(rows) < limit or reads >= _MORE_READS:
                return _cut(kept, limit, forward, more)
            if forward:
                return read(before, rows[-1].id, reads + 1)
            return read(rows[0].id, after, reads + 1)

        return read(window[0], window[1], 0)

    def _with_reactions(self, display: str, messages: Tuple[ev.Event, ...],
                        upto: Optional[int] = None) -> Deferred:
        """
        A history page: its messages, each with its reactions (from the whole
        stream, not only the page, up to id C{upto} if given), and without
        the reaction rows themselves.
        """
        shown = tuple(m for m in messages if m.type not in (ev.REACT, ev.UNREACT))
        if not shown:
            return succeed(shown)

        def folded(changes) -> Tuple[ev.Event, ...]:
            if upto is not None:
                changes = [c for c in changes if c.id is not None and c.id <= upto]
            reactions = fold(changes)
            if not reactions:
                return shown
            return tuple(
                dataclasses.replace(m, reactions=reactions[m.id]) if m.id in reactions else m for m in shown
            )

        return self.hub.store.reactions(display, [m.id for m in shown]).addCallback(folded)
