# -*- test-case-name: tests.core.test_hub -*-
"""
Talking: saying and acting in rooms, private messages, topics, and
reading rooms (who, the room list, history).  With the other rule modules
(L{chatd.core.membership}, L{chatd.core.accounts},
L{chatd.core.moderation}, L{chatd.core.roomops},
L{chatd.core.operators}) and L{chatd.core.text}, every chat rule lives
in the core, once, for every front end; L{chatd.core.session.Session.handle}
runs them.

Room events reach members only through the room bus (L{chatd.core.bus}):
a rule publishes, the room's feed delivers.  A rule's own result (the
event it returns) is its answer to the client who asked.
"""

import dataclasses
import math
from typing import Optional

from twisted.internet.defer import Deferred, DeferredList, succeed

from chatd.core import events as ev
from chatd.core import timeline
from chatd.core.errors import BadCommand, ChatError, EmptyText, NoNick, NoSuchNick, NoSuchRoom, NotInRoom, Unavailable
from chatd.core.moderation import roles_shown
from chatd.core.presence import away_of
from chatd.core.room import Room
from chatd.core.text import check_nick, check_room, clean_message, clean_text


#: The reply fields of a message that answers none.
_NO_REPLY: dict = {}


def _told_away(event: ev.Private, target) -> ev.Private:
    """The sender's copy of a private message tells it the recipient (a L{Person}) is away."""
    return dataclasses.replace(event, away=target.away) if target.away else event


def _seconds(field: str, when) -> Optional[float]:
    """A time bound of C{history}, as a float; a clear error for anything else."""
    if when is None:
        return None
    try:
        if not isinstance(when, bool) and isinstance(when, (int, float)) and math.isfinite(when):
            return float(when)
    except OverflowError:
        pass
    raise BadCommand(f'"{field}" must be a time in seconds since 1970 (a finite number).')


class Talk:
    """The rules, as methods of L{chatd.core.session.Session}."""

    __slots__ = ()

    # -- checks ------------------------------------------------------------------

    def _need_open(self) -> None:
        """A closed session must not act: it would leave a ghost behind."""
        if self.closed:
            raise Unavailable("This session has ended; connect again.")

    def _need_nick(self) -> str:
        self._need_open()
        if self.nick is None:
            raise NoNick("Choose a nick first.")
        return self.nick

    def _joined(self, name: Optional[str]) -> Room:
        """The room called C{name} that we are in; no name: the current room."""
        if name is None:
            if self.current is None:
                raise NotInRoom("You are not in a room yet; /join #lobby first.")
            return self.current
        room = self.rooms.get(check_room(name))
        if room is None:
            raise NotInRoom(f"You are not in {name}; join it first.")
        return room

    def _named(self, name: Optional[str]) -> str:
        """A room name to look at (joined or not); no name: the current room's."""
        if name is None:
            return self._joined(None).name
        check_room(name)
        return name

    def _reason(self, reason: Optional[str], refuse: bool = False) -> Optional[str]:
        """
        Part and quit reasons are cleaned like text and cut to length, not
        refused for it.  Text a message could not hold is refused when the
        command can be (C{refuse}: a part); a quit happens anyway, without
        the reason.
        """
        if not reason:
            return None
        limit = self.hub.rules.max_reason
        try:
            return clean_text(reason[:limit], "reason", limit).strip() or None
        except ChatError:
            if refuse:
                raise
            return None

    def line(self, text: str):
        """A plain terminal line: the nick while there is none, else said in the current room."""
        if self.nick is None:
            return self.set_nick(text.strip())
        return self.say(None, text)

    # -- talking ----------------------------------------------------------------------

    def say(self, name: Optional[str], text: str, cid: Optional[str] = None,
            reply_to: Optional[int] = None) -> Deferred:
        """
        Say C{text} in a room we are in (no name: the current one).

        The message is stored (and committed) before anyone, the sender
        included, receives it, so an acknowledged message is never lost.

        @param cid: the client's own id for this message; a retry with the
            same C{cid} is answered with the first copy and not stored or
            delivered again.
        @param reply_to: the id of the message of the room this one answers.
        @return: Deferred firing with the stored C{message} event.
        """
        return self._post(ev.Message, name, text, cid, reply_to)

    def act(self, name: Optional[str], text: str, cid: Optional[str] = None,
            reply_to: Optional[int] = None) -> Deferred:
        """Like L{say}, for an action (C{/me waves})."""
        return self._post(ev.Action, name, text, cid, reply_to)

    def _post(self, kind, name: Optional[str], text: str, cid: Optional[str], reply_to: Optional[int]) -> Deferred:
        nick = self._need_nick()
        room = self._joined(name)
        self.may_speak(room)
        rules = self.hub.rules
        text = clean_message(text, rules.max_message, rules.max_lines)
        if not text.strip():
            raise EmptyText("The message is empty.")
        if cid is not None:
            cid = clean_text(cid, "cid", 64)
        if reply_to is None:
            return self._append(kind, room, nick, text, cid, None)
        return self._reply_extra(room, reply_to).addCallback(
            lambda extra: self._append(kind, room, nick, text, cid, extra))

    def _append(self, kind, room: Room, nick: str, text: str, cid: Optional[str], extra: Optional[dict]) -> Deferred:
        hub = self.hub
        account = self.user.account_name
        # A cid is unique per sender and room: the same cid in another room
        # is another message.
        d = hub.store.append(room.name, kind.type, nick, text, hub.now(), f"{self.key} {room.key}", cid,
                             via=self.serial, account=account, extra=extra)

        def stored(result) -> ev.Event:
            id, ts, new = result
            event = kind(room=room.name, nick=nick, text=text, id=id, ts=ts, cid=cid, via=self.serial,
                         account=account, **(extra or _NO_REPLY))
            if new:
                hub.stats["messages_received"] += 1
                hub.bus.publish(room.key, event)
            return event

        return d.addCallback(stored)

    def private(self, to: str, text: str) -> Deferred:
        """
        Send C{text} to one nick; both users (every connection of each) get
        the C{private} event.  Between two accounts the message is stored
        for each first (and numbered in each one's stream), so it is
        replayed on their next login; an account that is offline gets it
        then.
        """
        nick = self._need_nick()
        key = check_nick(to)
        text = clean_message(text, self.hub.rules.max_message, self.hub.rules.max_lines)
        if not text.strip():
            raise EmptyText("The message is empty.")
        me = self.user

        hub = self.hub

        def found(target):
            if target is not None and not (me.account and target.account):
                event = ev.Private(nick=nick, to=target.nick, text=text, ts=hub.now())
                hub.send_to(target, event)
                if target.uid != me.uid:
                    event = _told_away(event, target)
                    hub.deliver_to_user(me, event)
                return event
            if target is not None:
                return self._store_private(nick, target.account, target.nick, text, target)
            if me.account is None:
                raise NoSuchNick(f"Nobody is called {to} right now.")
            return self.hub.store.account(key).addCallback(offline)

        def offline(record):
            if record is None:
                raise NoSuchNick(f"Nobody is called {to} right now, and no account has that name.")
            return self._store_private(nick, record.key, record.name, text, None)

        return self.hub.presence.find(key).addCallback(found)

    def _store_private(self, nick: str, account: str, to: str, text: str, target) -> Deferred:
        """
        Store a private message for both accounts, then deliver each its
        numbered copy (C{target}: the recipient's L{Person}, None if offline).
        """
        store, ts, me = self.hub.store, self.hub.now(), self.user
        mine = store.append_private(me.account, nick, to, text, ts)
        theirs = store.append_private(account, nick, to, text, ts) if account != me.account else mine

        def stored(ids):
            (_, my_id), (_, their_id) = ids
            event = ev.Private(nick=nick, to=to, text=text, ts=ts, id=my_id)
            if target is not None and target.uid != me.uid:
                self.hub.send_to(target, ev.Private(nick=nick, to=to, text=text, ts=ts, id=their_id))
                event = _told_away(event, target)
            self.hub.deliver_to_user(me, event)
            return event

        return DeferredList([mine, theirs], fireOnOneErrback=True, consumeErrors=True).addCallback(stored)

    def topic(self, name: Optional[str]) -> Deferred:
        """Read a room's topic (a live room, joined or not, or a stored one)."""
        name = self._named(name)
        room = self.hub.room(name)
        if room is not None:
            return succeed(ev.Topic(room=room.name, topic=room.topic, nick=room.topic_by or None, ts=self.hub.now()))

        def stored(record) -> ev.Topic:
            if record is None or not record.topic:
                raise NoSuchRoom(f"There is no room {name} right now.")
            return ev.Topic(room=name, topic=record.topic, nick=record.topic_by or None, ts=self.hub.now())

        return self.hub.store.room(name).addCallback(stored)

    def set_topic(self, name: Optional[str], topic: str) -> Deferred:
        """Set the topic of a room we are in; an empty topic clears it."""
        nick = self._need_nick()
        room = self._joined(name)
        self.may_set_topic(room)
        topic = clean_text(topic, "topic", self.hub.rules.max_topic).strip()
        d = self.hub.store.set_topic(room.name, topic, nick)

        def stored(_) -> ev.Topic:
            room.topic, room.topic_by = topic, nick
            event = ev.Topic(room=room.name, nick=nick, topic=topic, ts=self.hub.now())
            self.hub.bus.publish(room.key, event)
            return event

        return d.addCallback(stored)

    def who(self, name: Optional[str]) -> Deferred:
        """The C{members} event of a room with members (joined or not)."""
        name = self._named(name)
        key = check_room(name)

        def listed(members) -> ev.Members:
            if not members:
                raise NoSuchRoom(f"There is no room {name} right now; nobody is in it.")
            nicks = tuple(m.nick for m in members)
            room = self.hub.rooms.get(key)
            if room is None:
                return ev.Members(room=name, nicks=nicks, away=away_of(members), ts=self.hub.now())
            return ev.Members(room=room.name, nicks=nicks, topic=room.topic, nick=room.topic_by or None,
                              roles=roles_shown(room, members), away=away_of(members), ts=self.hub.now())

        return self.hub.presence.members(key).addCallback(listed)

    def list_rooms(self) -> Deferred:
        """The C{rooms} event: every room that has members."""
        return self.hub.presence.rooms().addCallback(lambda rows: ev.Rooms(rooms=rows, ts=self.hub.now()))

    def _may_read(self, name: str, room: Optional[Room]) -> Deferred:
        """
        Anyone may read a room's history without joining it, except an
        invite-only room's or a keyed room's: those are for their members.
        """
        if check_room(name) in self.rooms:
            return succeed(None)

        def check(settings) -> None:
            if settings and (settings.get("i") or settings.get("k")):
                closed = "invite-only" if settings.get("i") else "protected by a key"
                raise NotInRoom(f"{name} is {closed}: only its members may read its history; join it first.")

        if room is not None:
            return succeed(room.settings).addCallback(check)
        return self.hub.store.room(name).addCallback(lambda record: check(record.settings if record else None))

    def history(self, name: Optional[str], limit: Optional[int] = None, before: Optional[int] = None,
                after: Optional[int] = None, after_ts: Optional[float] = None,
                before_ts: Optional[float] = None) -> Deferred:
        """
        Read a room's stored messages (joined or not, except an invite-only
        or keyed room's; no name: the current room), oldest first.

        Without C{after}, the newest C{limit} of the window (paging back);
        with C{after} (or C{after_ts}), the oldest C{limit} (paging
        forward).  C{truncated} says that more of the window was left out
        (or, with C{after}, that some of it was already pruned).

        @param limit: how many; clamped to C{rules.history_max}.
        @param before: only messages with a smaller id.
        @param after: only messages with a larger id.
        @param after_ts: only messages later than this time (POSIX seconds).
        @param before_ts: only messages earlier than this time.
        @return: Deferred firing with a C{history} event.
        """
        name = self._named(name)
        rules = self.hub.rules
        if limit is None:
            limit = rules.scrollback
        limit = max(0, min(int(limit), rules.history_max))
        after_ts, before_ts = _seconds("after_ts", after_ts), _seconds("before_ts", before_ts)
        room = self.hub.room(name)
        display = room.name if room is not None else name
        store = self.hub.store

        forward = after is not None or after_ts is not None
        d = self._may_read(name, room)
        d.addCallback(lambda _: timeline.window(store, display, before, after, before_ts, after_ts))
        d.addCallback(lambda window: self._page(display, limit, window, forward))
        d.addCallback(lambda r: self._with_reactions(display, tuple(r[0])).addCallback(lambda shown: (shown, r[1])))
        return d.addCallback(
            lambda r: ev.History(room=display, messages=r[0], truncated=r[1], ts=self.hub.now())
        )
