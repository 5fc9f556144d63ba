# -*- test-case-name: tests.core.test_hub -*-
"""
A session: one connected client, whatever its wire format.

Every command a front end can send is a method here.  Methods either return
a value, return a Deferred, or raise L{chatd.core.errors.ChatError}; front
ends call them through C{maybeDeferred} and treat both alike.  Every chat
rule is enforced here or in L{chatd.core.text}, once, for every front end.
"""

from typing import Dict, List, Optional

from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger

from chatd.core.errors import (
    ChatError,
    EmptyText,
    NickInUse,
    NoNick,
    NoSuchNick,
    NoSuchRoom,
    NotInRoom,
    Unavailable,
    TooManyRooms,
)
from chatd.core.events import (
    ACTION,
    HISTORY,
    JOIN,
    MEMBERS,
    MESSAGE,
    NICK,
    PART,
    PRIVATE,
    QUIT,
    TOPIC,
    Event,
)
from chatd.core.flood import Throttle, cost_of
from chatd.core.room import Deliver, Room
from chatd.core.text import check_nick, check_room, clean_text, skeleton

log = Logger(namespace="chatd.session")


class Session:
    """
    The core's view of one client.

    @ivar nick: the nick as its owner typed it, or C{None} before one is set.
    @ivar key: the folded nick (the registry key), or C{None}.
    @ivar look: the nick's look-alike key (L{skeleton}), or C{None}.
    @ivar rooms: the rooms this session is in, by folded name.
    """

    __slots__ = ("hub", "sink", "peer", "frontend", "nick", "key", "look", "rooms", "closed", "throttle")

    def __init__(self, hub, sink, peer: str, frontend: str) -> None:
        self.hub = hub
        self.sink = sink
        self.peer = peer
        self.frontend = frontend
        self.nick: Optional[str] = None
        self.key: Optional[str] = None
        self.look: Optional[str] = None
        self.rooms: Dict[str, Room] = {}
        self.closed = False
        self.throttle = Throttle(hub, self._flooding)

    def __repr__(self) -> str:
        return f"<Session {self.nick or '(no nick)'} {self.frontend} {self.peer}>"

    # -- helpers ----------------------------------------------------------

    def submit(self, command: str, size: int, run, drop=None) -> bool:
        """
        Run one piece of client input under flood control: now, or held
        and run later in arrival order (L{chatd.core.flood}).  Every front
        end sends every command through here, refused input included
        (unknown commands, undecodable lines, bad JSON), so garbage floods
        are bounded like any other.

        @param command: the command's name (C{say}, C{join}, C{msg}, ...),
            or C{"invalid"} for input refused before it became one.
        @param size: its size in bytes as received.
        @param run: does the command and answers the client.
        @param drop: called with a reason if the session ends while the
            command is held, for front ends that owe the client an answer.
        @return: whether it ran now.
        """
        if self.closed:
            if drop is not None:
                drop("This session has ended; connect again.")
            return False
        if self.throttle.submit(cost_of(command), size, run, drop):
            return True
        self.hub.stats["rate_limited"] += 1
        if len(self.throttle) == 1:  # once per streak, not once per command
            log.info(
                "Slowing down {who} ({frontend} {peer}): over {rate} commands per second; "
                "its input is held and run late",
                who=self.logname, frontend=self.frontend, peer=self.peer, rate=self.hub.rules.flood_rate,
            )
        return False

    @property
    def held(self) -> int:
        """How many commands are waiting for flood control to let them run."""
        return len(self.throttle)

    def _flooding(self, held_bytes: int) -> None:
        rules = self.hub.rules
        self.hub.stats["flood_disconnects"] += 1
        log.warn(
            "Disconnecting {who} ({frontend} {peer}) for flooding: {held} bytes of commands waiting, "
            "over [limits] recvq = {recvq} at {rate} commands per second",
            who=self.logname, frontend=self.frontend, peer=self.peer, held=held_bytes,
            recvq=rules.recvq, rate=rules.flood_rate,
        )
        reason = (
            f"Disconnected for flooding: you sent more than {rules.recvq} bytes of commands "
            f"faster than {rules.flood_rate} per second."
        )
        self.sink.disconnect(reason)
        self.close(reason)  # in case the sink did not

    @property
    def logname(self) -> str:
        """The session's nick for logs, or what it is before it has one."""
        return self.nick if self.nick is not None else "a client without a nick"

    def _need_open(self) -> None:
        """A closed session must not act: it would leave a ghost behind."""
        if self.closed:
            raise Unavailable("This session has ended; connect again.")

    def _need_nick(self) -> str:
        self._need_open()
        if self.nick is None:
            raise NoNick("Choose a nick first.")
        return self.nick

    def _joined(self, name: str) -> Room:
        key = check_room(name)
        room = self.rooms.get(key)
        if room is None:
            raise NotInRoom(f"You are not in {name}; join it first.")
        return room

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

    # -- commands ---------------------------------------------------------

    def set_nick(self, nick: str) -> Optional[Event]:
        """
        Take C{nick}; tell everyone who shares a room with us.

        @return: the C{nick} event, or C{None} for a session's first nick
            (nobody else can see that session yet).
        @raise NickInUse: another session holds the folded nick, or a nick
            that looks like it.
        """
        self._need_open()
        key = check_nick(nick)
        hub = self.hub
        holder = hub.nicks.get(key)
        if holder is not None and holder is not self:
            raise NickInUse(f"The nick {nick} is taken (by {holder.nick}); choose another.")
        look = skeleton(nick)
        twin = hub.lookalikes.get(look)
        if twin is not None and twin is not self:
            raise NickInUse(f"The nick {nick} looks like {twin.nick}, who is online; choose another.")
        old = self.nick
        if old == nick:
            return None
        if self.key is not None:
            del hub.nicks[self.key]
            del hub.lookalikes[self.look]
        hub.nicks[key] = self
        hub.lookalikes[look] = self
        self.nick, self.key, self.look = nick, key, look
        if old is None:
            return None
        event = Event(NICK, nick=nick, old=old, ts=self.hub.now())
        targets = self.hub.members_of_rooms(self)
        targets.setdefault(self, self.sink.deliver)
        for deliver in tuple(targets.values()):
            deliver(event)
        return event

    def join(self, name: str, since: Optional[int] = None) -> Deferred:
        """
        Join a room, creating it if nobody is in it.

        The joiner gets, in this order: its own C{join} event (everyone else
        in the room gets it too), a C{members} event, a C{history} event
        (the last C{rules.scrollback} messages, or everything after
        C{since}), then live traffic, with no gap and no duplicate between
        history and live.  Joining a room twice is harmless.

        @return: Deferred firing with the C{members} event once the history
            has been delivered.
        """
        nick = self._need_nick()
        key = check_room(name)
        hub = self.hub
        if key in self.rooms:
            room = self.rooms[key]
            return succeed(self._members(room))
        if len(self.rooms) >= hub.rules.rooms_per_session:
            raise TooManyRooms(
                f"You are in {len(self.rooms)} rooms, the most allowed; part one first."
            )
        if key not in hub.rooms and len(hub.rooms) >= hub.rules.max_rooms:
            raise TooManyRooms("The server has as many rooms as it allows; join an existing room.")
        room = hub.open_room(name, key)
        event = Event(JOIN, room=room.name, nick=nick, ts=hub.now())
        room.broadcast(event)
        held: List[Event] = []
        room.members[self] = held.append
        self.rooms[key] = room
        self.sink.deliver(event)
        members = self._members(room)
        self.sink.deliver(members)
        if since is not None:
            d = hub.store.recent(room.name, hub.rules.replay_max, after=since)
        else:
            d = hub.store.recent(room.name, hub.rules.scrollback)

        def release(result) -> Event:
            rows, more = result
            self._release(room, held, rows, more)
            return members

        def failed(failure):
            # History could not be read: say so, then go live anyway.
            self._release(room, held, [], True)
            return failure

        return d.addCallbacks(release, failed)

    def _release(self, room: Room, held: List[Event], rows, more: bool) -> None:
        """Deliver the scrollback, then the events held meanwhile, then go live."""
        if room.members.get(self) != held.append:
            return  # parted or quit while the history was being read
        last = rows[-1].id if rows else -1
        self.sink.deliver(Event(HISTORY, room=room.name, messages=tuple(rows), truncated=more, ts=self.hub.now()))
        if room.members.get(self) != held.append:
            return  # delivering the history closed the session (too slow)
        deliver = self.sink.deliver
        room.members[self] = deliver
        for event in held:
            if event.id is None or event.id > last:
                deliver(event)

    def _members(self, room: Room) -> Event:
        return Event(MEMBERS, room=room.name, nicks=room.nicks(), topic=room.topic, nick=room.setter or None, ts=self.hub.now())

    def part(self, name: str, reason: Optional[str] = None) -> Event:
        """Leave a room; its members, and we, get a C{part} event."""
        room = self._joined(name)
        event = Event(PART, room=room.name, nick=self.nick, reason=self._reason(reason, refuse=True), ts=self.hub.now())
        room.broadcast(event)
        self._leave(room)
        return event

    def _leave(self, room: Room) -> None:
        room.members.pop(self, None)
        self.rooms.pop(room.key, None)
        self.hub.close_room_if_empty(room)

    def say(self, name: str, text: str, cid: Optional[str] = None) -> Deferred:
        """
        Say C{text} in a room we are in.

        The message is stored (and committed) before anyone, the sender
        included, receives it, so an acknowledged message is never lost.

        @param cid: the client's own id for this message; a retry with the
            same C{cid} is answered with the first copy and not stored or
            delivered again.
        @return: Deferred firing with the stored C{message} event.
        """
        return self._post(MESSAGE, name, text, cid)

    def act(self, name: str, text: str, cid: Optional[str] = None) -> Deferred:
        """Like L{say}, for an action (C{/me waves})."""
        return self._post(ACTION, name, text, cid)

    def _post(self, type: str, name: str, text: str, cid: Optional[str]) -> Deferred:
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
        d = hub.store.append(room.name, type, nick, text, hub.now(), f"{self.key} {room.key}", cid)

        def stored(result) -> Event:
            id, ts, new = result
            event = Event(type, room=room.name, nick=nick, text=text, id=id, ts=ts, cid=cid)
            if new:
                hub.stats["messages_received"] += 1
                room.broadcast(event)
            return event

        return d.addCallback(stored)

    def private(self, to: str, text: str) -> Event:
        """Send C{text} to one nick; both ends get the C{private} event."""
        nick = self._need_nick()
        target = self.hub.nicks.get(check_nick(to))
        if target is None:
            raise NoSuchNick(f"Nobody is called {to} right now.")
        text = clean_text(text, "message", self.hub.rules.max_message)
        if not text.strip():
            raise EmptyText("The message is empty.")
        event = Event(PRIVATE, nick=nick, to=target.nick, text=text, ts=self.hub.now())
        target.sink.deliver(event)
        if target is not self:
            self.sink.deliver(event)
        return event

    def topic(self, name: str) -> Event:
        """Read a room's topic (any live room, joined or not)."""
        room = self.hub.room(name)
        if room is None:
            topic, setter = self.hub.store.topic(name)
            if not topic:
                raise NoSuchRoom(f"There is no room {name} right now.")
            return Event(TOPIC, room=name, topic=topic, nick=setter or None, ts=self.hub.now())
        return Event(TOPIC, room=room.name, topic=room.topic, nick=room.setter or None, ts=self.hub.now())

    def set_topic(self, name: str, topic: str) -> Deferred:
        """Set the topic of a room we are in; an empty topic clears it."""
        nick = self._need_nick()
        room = self._joined(name)
        topic = clean_text(topic, "topic", self.hub.rules.max_topic).strip()
        d = self.hub.store.set_topic(room.name, topic, nick)

        def stored(_) -> Event:
            room.topic, room.setter = topic, nick
            event = Event(TOPIC, room=room.name, nick=nick, topic=topic, ts=self.hub.now())
            room.broadcast(event)
            return event

        return d.addCallback(stored)

    def who(self, name: str) -> Event:
        """The C{members} event of a live room (joined or not)."""
        room = self.hub.room(name)
        if room is None:
            raise NoSuchRoom(f"There is no room {name} right now; nobody is in it.")
        return self._members(room)

    def list_rooms(self) -> Event:
        """The C{rooms} event: every room that has members."""
        return self.hub.list_rooms()

    def history(self, name: str, limit: Optional[int] = None, before: Optional[int] = None) -> Deferred:
        """
        Read a room's stored messages (joined or not), oldest first.

        @param limit: how many; clamped to C{rules.history_max}.
        @param before: only messages with a smaller id (paging back).
        @return: Deferred firing with a C{history} event.
        """
        check_room(name)
        rules = self.hub.rules
        if limit is None:
            limit = rules.scrollback
        limit = max(0, min(int(limit), rules.history_max))
        room = self.hub.room(name)
        display = room.name if room is not None else name
        d = self.hub.store.recent(display, limit, before=before)
        return d.addCallback(
            lambda r: Event(HISTORY, room=display, messages=tuple(r[0]), truncated=r[1], ts=self.hub.now())
        )

    def close(self, reason: Optional[str] = None) -> None:
        """
        End the session (the client quit or its connection closed): every
        room it was in gets a C{quit} event, and its nick is free again.
        Safe to call more than once.
        """
        if self.closed:
            return
        self.closed = True
        log.info(
            "Session ended: {who} ({frontend} {peer}): {reason}",
            who=self.logname, frontend=self.frontend, peer=self.peer, reason=reason or "no reason",
        )
        self.throttle.clear(reason or "The session ended.")
        reason = self._reason(reason)
        now = self.hub.now()
        for room in tuple(self.rooms.values()):
            room.members.pop(self, None)
            if not self.hub.shutting_down:
                room.broadcast(Event(QUIT, room=room.name, nick=self.nick, reason=reason, ts=now))
            self.hub.close_room_if_empty(room)
        self.rooms.clear()
        self.hub.forget(self)


__all__ = ["Session", "Deliver"]
