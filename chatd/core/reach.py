# -*- test-case-name: tests.core.test_cluster -*-
"""
Reaching users wherever they are, and keeping this node's copy of each
room's state in step with the others: the hub's side of a cluster.

A rule that acts on another user (L{Person}) calls L{Reach.reach}: the
directive is obeyed here for the user's connections on this node, and
sent to every other node that holds some (L{chatd.core.nodes.INodes}).
Each node obeys directives in L{Reach.obey}, for its own connections only.

Room state (topic, modes, roles, bans, mutes, invitations) lives in the
store; each node keeps a copy in its L{chatd.core.room.Room}.  A rule that
changes it saves it, changes its own copy and publishes an event; when
rooms are shared, every node that receives the event through the bus reads
the room's state again from the store (L{Reach.refresh}).
"""

from typing import Dict

from twisted.internet.defer import Deferred, DeferredList, succeed
from twisted.logger import Logger

from chatd.core import directives as dv
from chatd.core import events as ev
from chatd.core.presence import away_of
from chatd.core.room import Deliver, Room
from chatd.core.text import fold

log = Logger(namespace="chatd.hub")

#: Events that change a room's state: a node that did not make the change reads the room again.
STATE = frozenset({ev.ROLE, ev.MODE, ev.BAN, ev.UNBAN, ev.MUTE, ev.UNMUTE, ev.ROOM})


class Reach:
    """Cluster methods of L{chatd.core.hub.Hub}."""

    # -- sending -----------------------------------------------------------------------

    def reach(self, person, directive: dv.Directive, here: bool = True) -> None:
        """
        Have C{directive} obeyed for C{person} (a L{chatd.core.presence.Person})
        on every node holding its connections (this one too, unless not C{here}).
        """
        if here and person.uid in self.users:
            self.obey(directive)
        for node in person.nodes:
            if node != self.node:
                self.nodes.tell(node, directive)

    def spread(self, user, directive: dv.Directive) -> Deferred:
        """
        Send C{directive} to the other nodes holding connections of C{user}
        (a local user).  Only an account's user can be on several nodes.
        """
        if not self.nodes.shared or user.account is None:
            return succeed(None)

        def found(person):
            if person is not None:
                self.reach(person, directive, here=False)

        return self.presence.person(user.uid).addCallback(found)

    def tell_all(self, directive: dv.Directive) -> None:
        """Obey C{directive} here and on every other node."""
        self.obey(directive)
        self.nodes.tell(None, directive)

    def send_to(self, person, event: ev.Event) -> None:
        """Hand C{event} to every connection of C{person}, on every node."""
        self.reach(person, dv.ToUser(uid=person.uid, event=event))

    # -- obeying ---------------------------------------------------------------------------

    def obey(self, directive: dv.Directive) -> None:
        """Do what C{directive} asks, for this node's connections."""
        handler = _OBEY.get(type(directive))
        try:
            handler(self, directive)
        except Exception:
            log.failure("Could not carry out a {kind} directive from another node", kind=directive.kind)

    def _to_user(self, d: dv.ToUser) -> None:
        user = self.users.get(d.uid)
        if user is not None:
            user.deliver(d.event)

    def _disconnect(self, d: dv.Disconnect) -> None:
        user = self.users.get(d.uid)
        for session in tuple(user.sessions) if user is not None else ():
            self.disconnect(session, d.reason)

    def _kick_out(self, d: dv.KickOut) -> None:
        user = self.users.get(d.uid)
        room = self.rooms.get(fold(d.room))
        if user is None or room is None:
            return
        for session in tuple(user.sessions):
            if room.key in session.rooms:
                session.kicked(d.by, d.reason, rooms=[room])
                return

    def _to_guest(self, d: dv.ToGuest) -> None:
        user = self.users.get(d.uid)
        if user is not None and user.sessions:
            self.to_guest(user, d.why)

    def _enter(self, d: dv.Enter) -> None:
        user = self.users.get(d.uid)
        if user is not None and user.sessions:
            user.sessions[0].follow(d.room)

    def _leave(self, d: dv.Leave) -> None:
        user = self.users.get(d.uid)
        room = self.rooms.get(fold(d.room))
        if user is not None and room is not None:
            for session in user.sessions:
                if room.key in session.rooms:
                    session.user_leaves(room, d.event, spread=False)
                    return

    def _renamed(self, d: dv.Renamed) -> None:
        targets: Dict[object, Deliver] = {}
        for key in d.rooms:
            room = self.rooms.get(key)
            if room is not None:
                targets.update(room.members)
        user = self.users.get(d.uid)
        if user is not None:
            user.rename(d.nick, d.key, d.look)
            if d.event.type == ev.AWAY:  # its connections here are away (or back) too
                user.away = d.event.away
            for session in user.sessions:
                targets.setdefault(session, session.sink.deliver)
        for deliver in tuple(targets.values()):
            deliver(d.event)

    def _announce(self, d: dv.Announce) -> None:
        for session in tuple(self.sessions):
            session.sink.deliver(d.event)

    def _server_bans(self, d: dv.ServerBansChanged) -> None:
        def loaded(_) -> None:
            for session in tuple(self.sessions):
                if not session.is_operator and self.server_banned(session):
                    self.disconnect(session, d.reason)

        self.load().addCallback(loaded)

    # -- room state ------------------------------------------------------------------------

    def refresh(self, room: Room, event: ev.Event) -> None:
        """
        A room event came through the bus: keep this node's copy of the
        room's state right, and put out local members a new ban covers.
        """
        type = event.type
        if type == ev.TOPIC:
            room.topic, room.topic_by = event.topic, event.nick or ""
        elif type == ev.BAN:
            self._banned_out(room, event)
        if self.nodes.shared and type in STATE:
            self.reload(room)

    def _banned_out(self, room: Room, event: ev.BanSet) -> None:
        from chatd.store.records import BanRecord

        record = BanRecord(mask=event.mask, by=event.by, since=event.ts, reason=event.reason or "", until=event.until)
        reason = f"banned ({event.reason})" if event.reason else "banned"
        for member in tuple(room.members):
            if (member.nick == event.by or member.is_operator or member.role_in(room) == "founder"
                    or room.key not in member.rooms or member.banned_by([record]) is None):
                continue  # a ban never puts out the banner, the founder or a server operator
            member.kicked(event.by, reason, rooms=[room])

    def reload(self, room: Room) -> Deferred:
        """Read C{room}'s record, roles, bans and marks again (another node changed them)."""
        store = self.store
        d = DeferredList([store.room(room.name), store.roles(room.name), store.bans(room.name),
                          store.marks(room.name)], fireOnOneErrback=True, consumeErrors=True)

        def loaded(results) -> None:
            record, roles, bans, marks = [value for _, value in results]
            if record is not None:
                room.topic, room.topic_by, room.settings = record.topic, record.topic_by, record.settings
            room.roles, room.bans = dict(roles), list(bans)
            room.set_marks(marks)

        def failed(failure) -> None:
            log.failure("Could not read the state of room {room} again from the store after another node "
                        "changed it; this node shows its old state until the next change", failure, room=room.name)

        return d.addCallback(loaded).addErrback(failed)

    def store_lost(self, room: Room, top: int, last: int) -> None:
        """
        The store's newest id in C{room} is C{top}, below the C{last} this
        node delivered: it lost messages (Redis restarted without them).
        Ids must go on above C{last}, never be given out again.
        """
        log.warn("The store's newest message in {room} is {top}, but this node already delivered {last}: the store "
                 "lost messages (did Redis restart without its append-only file?). Ids continue above {last}; "
                 "clients resuming from before it are told history was truncated.", room=room.name, top=top,
                 last=last)
        raise_floor = getattr(self.store, "raise_floor", None)
        if raise_floor is not None:
            raise_floor(room.name, last).addErrback(
                lambda f: log.failure("Could not raise the ids of {room} above {last}", f, room=room.name, last=last))

    def deliver_to_user(self, user, event: ev.Event) -> None:
        """Hand C{event} to every connection of C{user} (a local user), here and on its other nodes."""
        user.deliver(event)
        self.spread(user, dv.ToUser(uid=user.uid, event=event))

    def rekeyed(self, user, old_uid: str) -> Deferred:
        """C{user} (local) was called C{old_uid}: it logged in or out."""
        if self.users.get(old_uid) is user:
            del self.users[old_uid]
        self.users[user.uid] = user
        return self.presence.rekey(user, old_uid)

    def register_again(self, uids) -> Deferred:
        """
        Presence lost these local users (Redis was away longer than their
        keys live, or the janitor took this node for dead): claim their
        nicks again (one taken meanwhile: a guest nick), then enter their
        rooms again, once per user and room whichever of its connections
        are in it (a room that saw them quit sees them join, under the
        nick they have now).
        """
        done = []
        for uid in uids:
            user = self.users.get(uid)
            if user is None or user.nick is None or not user.sessions:
                continue
            d = self.presence.claim(user, user.nick, user.key, user.look)
            if user.away is not None:  # what presence lost, the user still knows
                d.addCallback(lambda _, user=user: self.presence.set_away(user, user.away))
            d.addErrback(self._lost_nick, user)
            d.addCallback(lambda _, user=user: self._enter_again(user))
            d.addErrback(lambda f, user=user: log.failure(
                "Could not register {nick} again in the cluster's presence; they may be missing from who and rooms "
                "until they reconnect", f, nick=user.nick))
            done.append(d)
        return DeferredList(done).addCallback(lambda _: self.resync())

    def _lost_nick(self, failure, user):
        """
        Someone took the nick meanwhile: a guest nick, told to the user
        alone (its rooms saw it quit, or will see it join under its new nick).
        """
        from chatd.core.errors import ChatError

        failure.trap(ChatError)
        return self.to_guest(user, "someone took your nick while this server node was cut off", quiet=True)

    def _enter_again(self, user) -> Deferred:
        """C{user}'s rooms, once each (whichever of its connections are in them); a room that saw it go sees it join."""
        rooms = {}
        for session in user.sessions:
            for key in session.rooms:
                rooms.setdefault(key, session)
        now = self.now()
        entered = []
        for key, session in rooms.items():
            room = session.rooms[key]
            joined = ev.Join(room=room.name, nick=user.nick, account=user.account_name, ts=now)
            entered.append(self.presence.enter(key, session, again=True).addCallback(
                lambda e, key=key, joined=joined: e.first and self.bus.publish(key, joined)))
        return DeferredList(entered)

    def resync(self) -> Deferred:
        """
        The bus was cut off and is back (a Redis reconnect): events published
        meanwhile were never received.  Each live room catches up from the
        store, and its members get a fresh C{members} event.
        """
        done = []
        for room in tuple(self.rooms.values()):
            room.feed.catch_up()
            done.append(self.reload(room))
            done.append(self._members_again(room))
        return DeferredList(done)

    def _members_again(self, room: Room) -> Deferred:
        def listed(members) -> None:
            members = members or ()
            nicks = tuple(m.nick for m in members)
            roles = tuple(sorted((m.nick, room.roles[m.account]) for m in members
                                 if m.account in room.roles and room.settings.get("registered")))
            room.broadcast(ev.Members(room=room.name, nicks=nicks, topic=room.topic, nick=room.topic_by or None,
                                      roles=roles, away=away_of(members), ts=self.now()))

        return self.presence.members(room.key).addCallback(listed)


_OBEY = {
    dv.ToUser: Reach._to_user,
    dv.Disconnect: Reach._disconnect,
    dv.KickOut: Reach._kick_out,
    dv.ToGuest: Reach._to_guest,
    dv.Enter: Reach._enter,
    dv.Leave: Reach._leave,
    dv.Renamed: Reach._renamed,
    dv.Announce: Reach._announce,
    dv.ServerBansChanged: Reach._server_bans,
}

__all__ = ["Reach", "STATE"]
