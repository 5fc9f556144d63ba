# -*- test-case-name: tests.core.test_session -*-
"""
Joining and leaving rooms, for a user and all its connections.

A join is admitted once the room's record is loaded (its bans, key,
limit and invitations decide: L{chatd.core.moderation}); then every
connection of the user enters the room (on every node: L{dv.Enter}), and
the room hears one C{join}, when presence says the user was not in it.
Each connection gets its own C{join}, C{members} and C{history}, then live
traffic, with no gap and no duplicate between history and live.  Leaving
works the same way round: the room hears one C{part} (or C{quit}, or
C{kick}) when presence says the user's last connection left it.
"""

from typing import List, Optional

from twisted.internet.defer import Deferred, DeferredList

from chatd.core import directives as dv
from chatd.core import events as ev
from chatd.core.errors import TooManyRooms, Unavailable
from chatd.core.moderation import roles_shown
from chatd.core.presence import away_of
from chatd.core.room import Room
from chatd.core.text import check_room


class Membership:
    """Joining and leaving, as methods of L{chatd.core.session.Session}."""

    __slots__ = ()

    def join(self, name: str, since: Optional[int] = None, key: Optional[str] = None) -> Deferred:
        """
        Join a room (on every connection of the user) and make it the
        current room.

        @param since: resume after this message id instead of the last
            C{rules.scrollback} messages.
        @param key: the room's key, if it has one (C{+k}).
        @return: Deferred firing with the C{members} event once the history
            has been delivered, or failing with the refusal (banned,
            invite-only, bad key, room full).
        """
        self._need_nick()
        room_key = check_room(name)
        hub = self.hub
        room = self.rooms.get(room_key)
        if room is not None:
            self.current = room
            if since is None or room.waiting.get(self) is not None:
                return self._members(room)
            return self._replay(room, since)
        if len(self.rooms) >= hub.rules.rooms_per_session:
            raise TooManyRooms(f"You are in {len(self.rooms)} rooms, the most allowed; part one first.")
        if room_key not in hub.rooms and len(hub.rooms) >= hub.rules.max_rooms:
            raise TooManyRooms("The server has as many rooms as it allows; join an existing room.")
        room = hub.open_room(name, room_key)

        def refused(failure):
            hub.close_room_if_empty(room)
            return failure

        done: Deferred = Deferred()
        d = hub.opened(room).addCallback(lambda _: self.admit(room, key))
        d.addCallbacks(lambda _: self._enter_all(room, since), refused).chainDeferred(done)
        return done

    def _enter_all(self, room: Room, since: Optional[int]) -> Deferred:
        if self.closed:
            raise Unavailable("This session has ended; connect again.")
        if room.key in self.rooms:  # another connection of ours got there first
            self.current = room
            return self._members(room)
        user = self.user
        joined = ev.Join(room=room.name, nick=self.nick, account=user.account_name, ts=self.hub.now())
        d = self._enter(room, joined, since, announce=True)
        for other in tuple(user.sessions):
            if other is not self and room.key not in other.rooms:
                other._enter(room, joined, None)
        self.hub.spread(user, dv.Enter(uid=user.uid, room=room.name))
        return d

    def follow(self, name: str) -> None:
        """
        The user joined C{name} on another node (it was admitted there):
        its connections here join too, and the room hears nothing new.
        """
        key = check_room(name)
        if key in self.rooms or self.closed:
            return
        hub, user = self.hub, self.user
        room = hub.open_room(name, key)

        def opened(_) -> None:
            joined = ev.Join(room=room.name, nick=user.nick, account=user.account_name, ts=hub.now())
            for session in tuple(user.sessions):
                if room.key not in session.rooms and not session.closed:
                    session._enter(room, joined, None)
            hub.close_room_if_empty(room)

        hub.opened(room).addCallback(opened)

    def _enter(self, room: Room, joined: ev.Join, since: Optional[int], announce: bool = False) -> Deferred:
        """
        This connection becomes a member, holding live events until its
        scrollback is out.  If C{announce}, the room hears C{joined} when
        presence says its user was not in the room yet.
        """
        held: List[ev.Event] = []
        room.members[self] = held.append
        room.waiting[self] = held
        self.rooms[room.key] = room
        self.current = room
        self.sink.deliver(joined)

        def entered(entered) -> Deferred:
            if announce:
                if entered.alone:
                    room.creator = self.user  # first in since the room was empty
                if entered.first:
                    self.hub.bus.publish(room.key, joined)
            return self._members(room)

        def unrecorded(failure):
            if room.waiting.get(self) is held:
                self._leave(room)
            return failure

        done: Deferred = Deferred()
        d = self.hub.presence.enter(room.key, self).addCallbacks(entered, unrecorded)
        d.addCallback(self._scrollback, room, held, since)
        d.chainDeferred(done)
        return done

    def _replay(self, room: Room, since: int) -> Deferred:
        """
        A join with C{since} of a room this connection is already in (its
        account's other connection brought it in): the messages after
        C{since} again, then live ones, held meanwhile, without a gap.
        """
        held: List[ev.Event] = []
        room.members[self] = held.append
        room.waiting[self] = held
        return self._members(room).addCallback(self._scrollback, room, held, since)

    def _scrollback(self, members: ev.Members, room: Room, held: List, since: Optional[int]) -> Deferred:
        """Deliver the members, then the history; release what arrived meanwhile."""
        self.sink.deliver(members)
        rules = self.hub.rules
        if since is not None:
            # A resume replays the stream as it is, reactions included.
            d = self.hub.store.recent(room.name, rules.replay_max, after=since)
            d.addCallback(lambda page: (page[0], page[1], page[0][-1].id if page[0] else since))
        else:
            # A first look shows messages with their reactions folded in.
            d = self.hub.store.recent(room.name, rules.scrollback).addCallback(self._folded, room)

        def failed(failure):
            # History could not be read: say so, then go live anyway.
            self._release(room, held, since, [], True, since if since is not None else -1)
            return failure

        return d.addCallbacks(lambda rows: self._release(room, held, since, *rows) or members, failed)

    def _folded(self, page, room: Room) -> Deferred:
        """
        Scrollback: C{(messages with their reactions, more, last id read)}.
        Only reactions up to the last id read are folded in: later ones
        reach the member live.
        """
        rows, more = page
        last = rows[-1].id if rows else -1
        return self._with_reactions(room.name, tuple(rows), last).addCallback(lambda shown: (shown, more, last))

    def _release(self, room: Room, held: List, since: Optional[int], rows, more: bool, last: int) -> None:
        """Deliver the scrollback, then the events held meanwhile (those after C{last}), then go live."""
        if room.waiting.get(self) is not held:
            return  # parted or quit while the history was being read
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
        def members(members) -> ev.Members:
            members = members or ()
            return ev.Members(room=room.name, nicks=tuple(m.nick for m in members), topic=room.topic,
                              nick=room.topic_by or None, roles=roles_shown(room, members), away=away_of(members),
                              ts=self.hub.now())

        return self.hub.presence.members(room.key).addCallback(members)

    # -- leaving --------------------------------------------------------------------

    def part(self, name: Optional[str], reason: Optional[str] = None) -> ev.Part:
        """Leave a room (no name: the current one) on every connection; the room hears one C{part}."""
        room = self._joined(name)
        event = ev.Part(room=room.name, nick=self.nick, reason=self._reason(reason, refuse=True), ts=self.hub.now())
        self.user_leaves(room, event)
        return event

    def user_leaves(self, room: Room, event: ev.Event, spread: bool = True) -> None:
        """
        Every connection of the user leaves C{room} (on every node, if
        C{spread}); its members hear C{event}, and so does each connection
        not still waiting for its scrollback.
        """
        told, left = [], []
        for session in tuple(self.user.sessions):
            if room.key in session.rooms:
                if session not in room.waiting:
                    told.append(session)
                left.append(session._leave(room))
        hub = self.hub

        def gone(results) -> None:
            if any(ok and last for ok, last in results):
                hub.bus.publish(room.key, event)

        DeferredList(left).addCallback(gone)
        for session in told:
            session.sink.deliver(event)
        if spread:
            hub.spread(self.user, dv.Leave(uid=self.user.uid, room=room.name, event=event))

    def _leave(self, room: Room) -> Deferred:
        """
        This connection is no longer a member (others are told by the
        caller, through the bus).  Fires with whether its user has left
        the room altogether (presence's L{IPresence.leave}).
        """
        room.members.pop(self, None)
        room.waiting.pop(self, None)
        del self.rooms[room.key]
        d = self.hub.presence.leave(room.key, self)
        if self.current is room:
            self.current = next(reversed(self.rooms.values()), None)
        self.hub.close_room_if_empty(room)
        return d

    def leave_all(self, reason: Optional[str]) -> None:
        """
        This connection is closing: it leaves its rooms; a room hears a
        C{quit} when no other connection of the user is in it (and this
        node is not stopping, unless other nodes share the room).
        """
        reason = self._reason(reason)
        hub = self.hub
        now = hub.now()
        nick = self.nick
        quiet = hub.shutting_down and not hub.nodes.shared
        for room in tuple(self.rooms.values()):
            d = self._leave(room)
            if not quiet:
                d.addCallback(self._quit, room, ev.Quit(room=room.name, nick=nick, reason=reason, ts=now))

    def _quit(self, last: bool, room: Room, event: ev.Quit) -> None:
        if last:
            self.hub.bus.publish(room.key, event)

    def kicked(self, by: str, reason: Optional[str], rooms=None) -> None:
        """
        Put out of C{rooms} (every room, by default) by C{by}: each room,
        and every connection of the user, gets a C{kick} event.
        """
        reason = self._reason(reason)
        now = self.hub.now()
        for room in tuple(rooms if rooms is not None else self.rooms.values()):
            if room.key in self.rooms:
                self.user_leaves(room, ev.Kick(room=room.name, nick=self.nick, by=by, reason=reason, ts=now),
                                 spread=False)
