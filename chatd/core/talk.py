# -*- test-case-name: tests.core.test_hub -*-
"""
The chat rules a session follows: taking a nick, joining and leaving
rooms, talking.  Every rule lives here (and in L{chatd.core.text}), once,
for every front end; L{chatd.core.session.Session.handle} runs them.

Room events reach members only through the room bus (L{chatd.core.bus}):
a rule publishes, the room's feed delivers.  A rule's own result (the
event it returns) is its answer to the client who asked.
"""

from typing import List, Optional

from twisted.internet.defer import Deferred, succeed

from chatd.core import events as ev
from chatd.core.errors import (
    ChatError,
    EmptyText,
    NoNick,
    NoSuchNick,
    NoSuchRoom,
    NotInRoom,
    TooManyRooms,
    Unavailable,
)
from chatd.core.room import Room
from chatd.core.text import check_nick, check_room, clean_text, skeleton


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

    # -- nicks ---------------------------------------------------------------------

    def set_nick(self, nick: str) -> Deferred:
        """
        Take C{nick}; everyone who shares a room with us is told.

        @return: Deferred firing with the C{nick} event, or None for a
            session's first nick (nobody can see that session yet) and for
            its own nick again; or failing with
            L{chatd.core.errors.NickInUse}: another session holds the
            folded nick, or a nick that looks like it.
        """
        self._need_open()
        key = check_nick(nick)
        look = skeleton(nick)
        return self.hub.presence.claim(self, nick, key, look).addCallback(self._renamed, nick, key, look)

    def _renamed(self, _, nick: str, key: str, look: str) -> Optional[ev.Nick]:
        old = self.nick
        self.nick, self.key, self.look = nick, key, look
        if old is None or old == nick:
            return None
        event = ev.Nick(nick=nick, old=old, ts=self.hub.now())
        targets = self.hub.members_of_rooms(self)
        targets.setdefault(self, self.sink.deliver)
        for deliver in tuple(targets.values()):
            deliver(event)
        return event

    def line(self, text: str):
        """A plain terminal line: the nick while there is none, else said in the current room."""
        if self.nick is None:
            return self.set_nick(text.strip())
        return self.say(None, text)

    # -- rooms ----------------------------------------------------------------------

    def join(self, name: str, since: Optional[int] = None) -> Deferred:
        """
        Join a room and make it the current room.

        The joiner gets, in this order: its own C{join} event (everyone else
        in the room gets it too), a C{members} event, a C{history} event
        (the last C{rules.scrollback} messages, or everything after
        C{since}), then live traffic, with no gap and no duplicate between
        history and live.  The session is a member from the moment the
        join is accepted: a command after it acts in the room although the
        scrollback may still be on its way.  Joining a room twice is harmless.

        @return: Deferred firing with the C{members} event once the history
            has been delivered.
        """
        nick = self._need_nick()
        key = check_room(name)
        hub = self.hub
        room = self.rooms.get(key)
        if room is not None:
            self.current = room
            return self._members(room)
        if len(self.rooms) >= hub.rules.rooms_per_session:
            raise TooManyRooms(f"You are in {len(self.rooms)} rooms, the most allowed; part one first.")
        if key not in hub.rooms and len(hub.rooms) >= hub.rules.max_rooms:
            raise TooManyRooms("The server has as many rooms as it allows; join an existing room.")
        room = hub.open_room(name, key)
        joined = ev.Join(room=room.name, nick=nick, ts=hub.now())
        hub.bus.publish(key, joined)
        held: List[ev.Event] = []
        room.members[self] = held.append
        room.waiting[self] = held
        self.rooms[key] = room
        self.current = room
        hub.presence.enter(key, self)
        self.sink.deliver(joined)
        done: Deferred = Deferred()
        d = hub.opened(room).addCallback(lambda _: self._members(room))
        d.addCallback(self._scrollback, room, held, since).chainDeferred(done)
        return done

    def _scrollback(self, members: ev.Members, room: Room, held: List, since: Optional[int]) -> Deferred:
        """Deliver the members, then the history; release what arrived meanwhile."""
        self.sink.deliver(members)
        rules = self.hub.rules
        if since is not None:
            d = self.hub.store.recent(room.name, rules.replay_max, after=since)
        else:
            d = self.hub.store.recent(room.name, rules.scrollback)

        def failed(failure):
            # History could not be read: say so, then go live anyway.
            self._release(room, held, since, [], True)
            return failure

        return d.addCallbacks(lambda rows: self._release(room, held, since, *rows) or members, failed)

    def _release(self, room: Room, held: List, since: Optional[int], rows, more: bool) -> None:
        """Deliver the scrollback, then the events held meanwhile, then go live."""
        if room.waiting.get(self) is not held:
            return  # parted or quit while the history was being read
        last = rows[-1].id if rows else (since if since is not None else -1)
        self.sink.deliver(ev.History(room=room.name, messages=tuple(rows), truncated=more, ts=self.hub.now()))
        if room.waiting.pop(self, None) is not held:
            return  # delivering the history closed the session (too slow)
        deliver = self.sink.deliver
        nick = self.nick
        for event in held:
            if event.id is not None:
                if event.id > last:
                    deliver(event)
                    last = event.id
            elif not (event.type == ev.JOIN and event.nick == nick):  # our own join came first
                deliver(event)
        fed = room.feed.last
        room.members[self] = deliver if fed is not None and fed >= last else self._catching_up(room, last)

    def _catching_up(self, room: Room, last: int):
        """
        Our history read saw messages the room's feed has not delivered yet
        (the bus is behind the store): skip them when they come, then take
        the feed as it is.
        """
        deliver = self.sink.deliver

        def ahead(event) -> None:
            id = event.id
            if id is None or id > last:
                deliver(event)
            if id is not None and id >= last and room.members.get(self) is ahead:
                room.members[self] = deliver

        return ahead

    def _members(self, room: Room) -> Deferred:
        def members(nicks) -> ev.Members:
            return ev.Members(room=room.name, nicks=nicks or (), topic=room.topic, nick=room.topic_by or None,
                              ts=self.hub.now())

        return self.hub.presence.members(room.key).addCallback(members)

    def part(self, name: Optional[str], reason: Optional[str] = None) -> ev.Part:
        """Leave a room (no name: the current one); its members, and we, get a C{part} event."""
        room = self._joined(name)
        event = ev.Part(room=room.name, nick=self.nick, reason=self._reason(reason, refuse=True), ts=self.hub.now())
        self._leave_telling(room, event)
        return event

    def _leave_telling(self, room: Room, event: ev.Event) -> None:
        """Leave C{room}; its members hear C{event}, and so do we unless still waiting for its scrollback."""
        live = self not in room.waiting
        self._leave(room)
        self.hub.bus.publish(room.key, event)
        if live:
            self.sink.deliver(event)

    def _leave(self, room: Room) -> None:
        """No longer a member (others are told by the caller, through the bus)."""
        room.members.pop(self, None)
        room.waiting.pop(self, None)
        del self.rooms[room.key]
        self.hub.presence.leave(room.key, self)
        if self.current is room:
            self.current = next(reversed(self.rooms.values()), None)
        self.hub.close_room_if_empty(room)

    def leave_all(self, reason: Optional[str]) -> None:
        """The session is closing: each room it was in gets a C{quit} (unless the server is stopping)."""
        reason = self._reason(reason)
        now = self.hub.now()
        for room in tuple(self.rooms.values()):
            self._leave(room)
            if not self.hub.shutting_down:
                self.hub.bus.publish(room.key, ev.Quit(room=room.name, nick=self.nick, reason=reason, ts=now))

    def kicked(self, by: str, reason: Optional[str]) -> None:
        """Put out of every room by C{by}: each room, this session included, gets a C{kick} event."""
        reason = self._reason(reason)
        now = self.hub.now()
        for room in tuple(self.rooms.values()):
            self._leave_telling(room, ev.Kick(room=room.name, nick=self.nick, by=by, reason=reason, ts=now))

    # -- talking ----------------------------------------------------------------------

    def say(self, name: Optional[str], text: str, cid: Optional[str] = None) -> Deferred:
        """
        Say C{text} in a room we are in (no name: the current one).

        The message is stored (and committed) before anyone, the sender
        included, receives it, so an acknowledged message is never lost.

        @param cid: the client's own id for this message; a retry with the
            same C{cid} is answered with the first copy and not stored or
            delivered again.
        @return: Deferred firing with the stored C{message} event.
        """
        return self._post(ev.Message, name, text, cid)

    def act(self, name: Optional[str], text: str, cid: Optional[str] = None) -> Deferred:
        """Like L{say}, for an action (C{/me waves})."""
        return self._post(ev.Action, name, text, cid)

    def _post(self, kind, name: Optional[str], text: str, cid: Optional[str]) -> Deferred:
        nick = self._need_nick()
        room = self._joined(name)
        text = clean_text(text, "message", self.hub.rules.max_message)
        if not text.strip():
            raise EmptyText("The message is empty.")
        if cid is not None:
            cid = clean_text(cid, "cid", 64)
        hub = self.hub
        # A cid is unique per sender and room: the same cid in another room
        # is another message.
        d = hub.store.append(room.name, kind.type, nick, text, hub.now(), f"{self.key} {room.key}", cid)

        def stored(result) -> ev.Event:
            id, ts, new = result
            event = kind(room=room.name, nick=nick, text=text, id=id, ts=ts, cid=cid)
            if new:
                hub.stats["messages_received"] += 1
                hub.bus.publish(room.key, event)
            return event

        return d.addCallback(stored)

    def private(self, to: str, text: str) -> Deferred:
        """Send C{text} to one nick; both ends get the C{private} event."""
        nick = self._need_nick()
        key = check_nick(to)
        text = clean_text(text, "message", self.hub.rules.max_message)
        if not text.strip():
            raise EmptyText("The message is empty.")

        def found(target) -> ev.Private:
            if target is None:
                raise NoSuchNick(f"Nobody is called {to} right now.")
            event = ev.Private(nick=nick, to=target.nick, text=text, ts=self.hub.now())
            target.sink.deliver(event)
            if target is not self:
                self.sink.deliver(event)
            return event

        return self.hub.presence.find(key).addCallback(found)

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

        def listed(nicks) -> ev.Members:
            if not nicks:
                raise NoSuchRoom(f"There is no room {name} right now; nobody is in it.")
            room = self.hub.rooms.get(key)
            return ev.Members(room=room.name if room else name, nicks=nicks, topic=room.topic if room else "",
                              nick=(room.topic_by or None) if room else None, ts=self.hub.now())

        return self.hub.presence.members(key).addCallback(listed)

    def list_rooms(self) -> Deferred:
        """The C{rooms} event: every room that has members."""
        return self.hub.presence.rooms().addCallback(lambda rows: ev.Rooms(rooms=rows, ts=self.hub.now()))

    def history(self, name: Optional[str], limit: Optional[int] = None, before: Optional[int] = None) -> Deferred:
        """
        Read a room's stored messages (joined or not, no name: the current
        room), oldest first.

        @param limit: how many; clamped to C{rules.history_max}.
        @param before: only messages with a smaller id (paging back).
        @return: Deferred firing with a C{history} event.
        """
        name = self._named(name)
        rules = self.hub.rules
        if limit is None:
            limit = rules.scrollback
        limit = max(0, min(int(limit), rules.history_max))
        room = self.hub.room(name)
        display = room.name if room is not None else name
        d = self.hub.store.recent(display, limit, before=before)
        return d.addCallback(
            lambda r: ev.History(room=display, messages=tuple(r[0]), truncated=r[1], ts=self.hub.now())
        )
