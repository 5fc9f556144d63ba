# -*- test-case-name: tests.core.test_hub -*-
"""
The hub: one node's rooms and sessions, wired to the store, the room bus,
presence and the other nodes.

One process is one node.  What several nodes share sits behind
interfaces: the store (L{IStore}: messages, room records), the room bus
(L{chatd.core.bus.IRoomBus}: room events), presence
(L{chatd.core.presence.IPresence}: nicks, membership, the room list) and
the other nodes (L{chatd.core.nodes.INodes}: directives, L{chatd.core.reach}).
The hub keeps what is this node's alone: its sessions and users, and a
L{Room} with a feed for each room that has members here.
"""

import secrets
from collections import Counter
from typing import Dict, List, Optional

from twisted.internet.defer import Deferred, DeferredList, maybeDeferred, succeed
from twisted.logger import Logger

from chatd.core import events as ev
from chatd.core.attempts import Attempts
from chatd.core.bus import LocalBus
from chatd.core.errors import ChatError
from chatd.core.feed import RoomFeed
from chatd.core.interfaces import ISink, IStore
from chatd.core import directives as dv
from chatd.core.masks import parse as parse_mask
from chatd.core.nodes import LoneNode
from chatd.core.presence import LocalPresence
from chatd.core.reach import Reach
from chatd.core.room import Deliver, Room
from chatd.core.rules import Rules
from chatd.core.session import Session
from chatd.core.text import check_nick, check_room, fold, skeleton

log = Logger(namespace="chatd.hub")


class Hub(Reach):
    """
    @param clock: anything with C{seconds()} and C{callLater()}: the reactor
        in production, a L{twisted.internet.task.Clock} in tests.
    @param store: the L{IStore} that numbers and keeps messages and rooms.
    @param rules: the L{Rules} in force.
    @param bus: the room bus; a L{LocalBus} by default (one node).
    @param presence: presence; a L{LocalPresence} by default (one node).
    @param hasher: the L{IPasswordHasher} for accounts.
    @param nodes: the other nodes (L{chatd.core.nodes.INodes}); a
        L{LoneNode} by default.
    """

    def __init__(self, clock, store: IStore, rules: Rules = Rules(), name: str = "chatd", bus=None,
                 presence=None, hasher=None, nodes=None) -> None:
        self.clock = clock
        self.store = store
        self.rules = rules
        self.name = name
        self.bus = bus if bus is not None else LocalBus()
        self.nodes = nodes if nodes is not None else LoneNode(name)
        #: This node's name ([cluster] node).
        self.node: str = self.nodes.name
        self.presence = presence if presence is not None else LocalPresence(self)
        #: Rooms with members on this node, by folded name.
        self.rooms: Dict[str, Room] = {}
        self.sessions: set = set()
        #: This node's users (each with its connections here), by uid.
        self.users: Dict[str, object] = {}
        #: The user logged in to each account on this node, by account key.
        self.accounts: Dict[str, object] = {}
        #: Server bans (L{chatd.store.records.BanRecord}), loaded by L{load}.
        self.server_bans: List = []
        #: Checks passwords (L{chatd.core.interfaces.IPasswordHasher}); None: no accounts.
        self.hasher = hasher
        self.account_attempts = Attempts(clock, limit=3, window=60.0, about="for this account")
        self.address_attempts = Attempts(clock, limit=10, window=60.0, about="from your address")
        self.shutting_down = False
        #: Counters for metrics, read at scrape time: "messages_received",
        #: "deliveries", "rate_limited", "flood_disconnects", "slow_dropped",
        #: "bus_repeats", "bus_gaps", "error:CODE", "bytes_out:FRONTEND",
        #: "connections_refused:REASON".
        self.stats: Counter = Counter()
        self._opening: Dict[Room, List[Deferred]] = {}

    def connect(self, sink: ISink, peer: str = "", frontend: str = "", host: Optional[str] = None,
                secure: bool = False) -> Session:
        """
        Start a session for a newly connected client.

        @param peer: the client's address as logs show it.
        @param frontend: the front end's name, for logs.
        @param host: the client's IP address (for bans), None if it has none.
        @param secure: the connection is TLS, or from this machine (a
            password may travel over it).
        """
        session = Session(self, sink, peer, frontend, host, secure)
        self.sessions.add(session)
        self.users[session.user.uid] = session.user
        return session

    def now(self) -> float:
        return self.clock.seconds()

    # -- rooms --------------------------------------------------------------------

    def room(self, name: str) -> Optional[Room]:
        """The room called C{name} with members on this node, or C{None}; C{name} is checked."""
        return self.rooms.get(check_room(name))

    def open_room(self, name: str, key: str) -> Room:
        """
        The room with members on this node, made if it has none yet: it is
        subscribed to the bus at once (nothing published from now on is
        missed) and its record is loaded from the store; until then its
        feed holds what arrives (L{opened}).
        """
        room = self.rooms.get(key)
        if room is not None:
            return room
        room = self.rooms[key] = Room(name, key, stats=self.stats)
        room.feed = RoomFeed(room, self)
        self._opening[room] = []
        store = self.store

        def load(_) -> Deferred:
            return DeferredList([store.room(name), store.roles(name), store.bans(name), store.marks(name)],
                                fireOnOneErrback=True, consumeErrors=True)

        # Subscribed first: whatever is published once the record is read is not missed.
        d = maybeDeferred(self.bus.subscribe, key, room.feed.receive).addCallback(load)
        d.addCallback(lambda results: [value for _, value in results])
        d.addCallbacks(self._loaded, self._unloaded, callbackArgs=(room,), errbackArgs=(room,))
        return room

    def load(self) -> Deferred:
        """Read what the hub keeps from the store once it is open: the server bans."""
        def loaded(bans):
            self.server_bans = list(bans)

        return self.store.bans(None).addCallback(loaded)

    def opened(self, room: Room) -> Deferred:
        """A Deferred that fires once C{room}'s record is loaded (at once if it is)."""
        waiting = self._opening.get(room)
        if waiting is None:
            return succeed(room)
        d: Deferred = Deferred()
        waiting.append(d)
        return d

    def _loaded(self, loaded, room: Room) -> None:
        record, roles, bans, marks = loaded
        if record is not None:
            room.topic, room.topic_by, room.settings = record.topic, record.topic_by, record.settings
        room.roles, room.bans = dict(roles), list(bans)
        room.set_marks(marks)
        room.feed.start(record.last_id if record is not None else 0)
        for d in self._opening.pop(room, ()):
            d.callback(room)

    def _unloaded(self, failure, room: Room) -> None:
        log.failure("Could not load the record of room {room} from the history store; its topic is not shown "
                    "until it is opened again", failure, room=room.name)
        room.feed.start(None)
        for d in self._opening.pop(room, ()):
            d.callback(room)

    def close_room_if_empty(self, room: Room) -> None:
        """The last local member left: stop following the room (its record stays in the store)."""
        if not room.members and self.rooms.get(room.key) is room:
            del self.rooms[room.key]
            self.bus.unsubscribe(room.key)

    def members_of_rooms(self, session) -> Dict[object, Deliver]:
        """Everyone who shares a room with C{session}, each once."""
        targets: Dict[object, Deliver] = {}
        for room in session.rooms.values():
            targets.update(room.members)
        return targets

    # -- sessions ----------------------------------------------------------------------

    def count_error(self, code: str) -> None:
        """Each error sent to a client, by code, for the metrics."""
        self.stats["error:" + code] += 1

    def find(self, nick: str) -> Optional[Session]:
        """The session on this node holding C{nick} (checked and folded), or None."""
        key = check_nick(nick)
        for session in self.sessions:
            if session.key == key:
                return session
        return None

    def notice(self, text: str, by: Optional[str] = None) -> ev.Notice:
        """Send a notice to every session: from C{by} (a server operator), or from the server."""
        event = ev.Notice(text=text, nick=by or self.name, ts=self.now())
        for session in tuple(self.sessions):
            session.sink.deliver(event)
        return event

    def kick(self, session: Session, reason: Optional[str], by: str = "an operator",
             farewell: Optional[str] = None) -> None:
        """
        Put C{session}'s user out: each of its rooms (and each of its
        connections) gets a C{kick} event naming C{by} and C{reason}, then
        every connection is disconnected with C{farewell}, by default
        "Kicked by BY: REASON".
        """
        session.kicked(by, reason)
        farewell = farewell or f"Kicked by {by}" + (f": {reason}" if reason else ".")
        for connection in tuple(session.user.sessions):
            self.disconnect(connection, farewell)

    def disconnect(self, session: Session, reason: str) -> None:
        """End one connection: its client is told C{reason}, its rooms see it quit if it was the user's last."""
        session.sink.disconnect(reason)
        session.close(reason)

    # -- nicks and accounts ----------------------------------------------------------------

    def tell_about(self, user, event: ev.Event) -> None:
        """
        C{user} was renamed, or logged in or out: hand C{event} to everyone
        who shares a room with it and to all its connections, on every
        node (the other nodes give their connections of the user its
        current nick).
        """
        targets: Dict[object, Deliver] = {}
        rooms = {}
        for session in user.sessions:
            targets.update(self.members_of_rooms(session))
            rooms.update(session.rooms)
        for session in user.sessions:
            targets.setdefault(session, session.sink.deliver)
        for deliver in tuple(targets.values()):
            deliver(event)
        self.nodes.tell(None, dv.Renamed(uid=user.uid, nick=user.nick, key=user.key, look=user.look,
                                         rooms=tuple(rooms), event=event))

    def tell_account(self, user) -> None:
        """C{user} logged in or out (or its account was dropped): told as a nick change is."""
        if user.nick is not None:
            self.tell_about(user, ev.AccountChanged(nick=user.nick, account=user.account_name, ts=self.now()))

    def protect(self, user, account: str) -> None:
        """
        C{user} holds C{account}'s nick without being logged in to it:
        tell it, and rename it to a guest nick unless it logs in within
        C{[accounts] nick_grace} seconds.
        """
        grace = self.rules.nick_grace
        user.stop_grace()
        user.grace = self.clock.callLater(grace, self._grace_over, user, account)
        user.deliver(ev.Notice(nick=self.name, ts=self.now(), text=(
            f"The nick {user.nick} belongs to the account {account}. Log in within {grace} second{'s' if grace != 1 else ''} "
            f"(/identify PASSWORD; from an IRC client, SASL or PASS {account}:PASSWORD) or you will be renamed.")))

    def _grace_over(self, user, account: str) -> None:
        user.grace = None
        if user.sessions and user.account is None:
            self.to_guest(user, f"you did not log in to the account {account} in time")

    def to_guest(self, user, why: str, was: Optional[str] = None, quiet: bool = False) -> Deferred:
        """
        Rename C{user} to a free C{Guest-NNNN} nick, telling it why (its
        rooms see a nick change, unless C{quiet}: only the user sees it).
        C{was}: the nick a user that has none yet had until now (a
        connection that left an account's user): it sees itself renamed
        from it.
        """
        user.stop_grace()

        def named(renamed) -> None:
            guest, old = renamed
            shown = was if was is not None else (old if quiet else None)
            if shown is not None and shown != guest:
                user.deliver(ev.Nick(nick=guest, old=shown, ts=self.now()))
            user.deliver(ev.Notice(nick=self.name, ts=self.now(), text=f"You are now {guest}: {why}."))

        d = self._guest_nick(user, quiet=quiet)
        return d.addCallback(named)

    def _guest_nick(self, user, tries: int = 0, quiet: bool = False) -> Deferred:
        guest = f"Guest-{secrets.randbelow(90000) + 10000}"
        key, look = fold(guest), skeleton(guest)

        def taken(failure):
            failure.trap(ChatError)
            if tries >= 20:
                return failure
            return self._guest_nick(user, tries + 1, quiet)

        def claimed(_):
            old = user.nick
            user.rename(guest, key, look)
            if old is not None and not quiet:
                self.tell_about(user, ev.Nick(nick=guest, old=old, ts=self.now()))
            return guest, old

        return self.presence.claim(user, guest, key, look).addCallbacks(claimed, taken)

    def server_banned(self, session, account: Optional[str] = None) -> bool:
        """Whether a server ban in force means C{session} (or the account it logs in to)."""
        now = self.now()
        user = session.user
        for ban in self.server_bans:
            if ban.until is not None and ban.until <= now:
                continue
            if parse_mask(ban.mask).matches(account or user.account, user.key, session.host):
                return True
        return False

    def address_banned(self, host: str) -> bool:
        """Whether a server ban in force covers connections from C{host} (the gate asks)."""
        now = self.now()
        for ban in self.server_bans:
            if ban.until is None or ban.until > now:
                mask = parse_mask(ban.mask)
                if mask.network is not None and mask.matches(None, None, host):
                    return True
        return False

    def shutdown(self, reason: str) -> None:
        """
        Tell every session C{reason} and disconnect it.  Sessions closing
        now send no C{quit} events to this node's members: everyone here is
        leaving, and a client's last event should be the reason, not a list
        of departures.  Members on other nodes of a cluster do see them quit.
        """
        self.shutting_down = True
        for session in tuple(self.sessions):
            session.sink.disconnect(reason)

    def forget(self, session: Session) -> None:
        """Called by a closing session once it has left its rooms."""
        self.sessions.discard(session)
        user = session.user
        if session in user.sessions:
            user.sessions.remove(session)
        if not user.sessions:
            self.forget_user(user)

    def forget_user(self, user) -> None:
        """A user's last connection has gone: its nick is free, its account offline."""
        user.stop_grace()
        self.presence.release(user)
        if self.users.get(user.uid) is user:
            del self.users[user.uid]
        if user.account is not None and self.accounts.get(user.account) is user:
            del self.accounts[user.account]


__all__: List[str] = ["Hub"]
