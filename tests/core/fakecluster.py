"""
Several hubs sharing one store, one presence, one bus and one network of
directives, all in memory: the core's cluster rules tested without Redis.

Everything that crosses between nodes goes through the cluster wire format
(chatd.wire.cluster), as it would through Redis, and waits in a queue
until L{Cluster.pump}: so a test sees what a node does before the others
hear of it.  Presence answers at once, with the semantics the Redis
presence must have (uids, nodes per user and per membership).
"""

from collections import deque
from typing import Dict, Optional

from twisted.internet.defer import fail, gatherResults, succeed
from twisted.internet.task import Clock
from zope.interface import implementer

from chatd.core.bus import IRoomBus
from chatd.core.errors import NickInUse
from chatd.core.events import RoomInfo
from chatd.core.hub import Hub
from chatd.core.nodes import INodes
from chatd.core.presence import Entered, IPresence, Member, Person
from chatd.core.text import fold
from chatd.passwords import SyncHasher
from chatd.store.memory import MemoryStore
from chatd.wire import cluster as wire

from chatcore_helpers import T0, RecordingSink, make_rules, result


class Cluster:
    """The shared parts, and the queue of what is in flight between nodes."""

    def __init__(self, **rules) -> None:
        self.clock = Clock()
        self.clock.advance(T0)
        self.store = MemoryStore()
        self.rules = make_rules(**rules)
        self.hubs: Dict[str, Hub] = {}
        self.in_flight = deque()
        # presence, shared: what Redis would hold
        self.nicks: Dict[str, str] = {}
        self.looks: Dict[str, str] = {}
        self.users: Dict[str, dict] = {}
        self.members: Dict[str, Dict[str, dict]] = {}
        self.names: Dict[str, str] = {}

    def node(self, name: str) -> "Node":
        hub = Hub(self.clock, self.store, self.rules, name="chatd", bus=SharedBus(self, name),
                  hasher=SyncHasher(), nodes=SharedNodes(self, name))
        hub.presence = SharedPresence(self, hub)
        self.hubs[name] = hub
        return Node(self, hub)

    def send(self, node: str, data: bytes, kind: str, room: Optional[str] = None) -> None:
        self.in_flight.append((node, data, kind, room))

    def pump(self) -> None:
        """Deliver everything in flight, and whatever that sends, until nothing is."""
        while self.in_flight:
            node, data, kind, room = self.in_flight.popleft()
            hub = self.hubs.get(node)
            if hub is None:
                continue
            if kind == "bus":
                receiver = hub.bus.receivers.get(room)
                if receiver is not None:
                    receiver(wire.decode_frame(data))
            else:
                hub.obey(wire.decode(data))


@implementer(IRoomBus)
class SharedBus:
    def __init__(self, cluster: Cluster, node: str) -> None:
        self.cluster, self.node = cluster, node
        self.receivers = {}

    def subscribe(self, room_key, receiver) -> None:
        self.receivers[room_key] = receiver

    def unsubscribe(self, room_key) -> None:
        self.receivers.pop(room_key, None)

    def publish(self, room_key, event) -> None:
        frame = wire.encode_frame(event)
        for name, hub in self.cluster.hubs.items():
            if room_key in hub.bus.receivers:
                self.cluster.send(name, frame, "bus", room_key)


@implementer(INodes)
class SharedNodes:
    shared = True

    def __init__(self, cluster: Cluster, name: str) -> None:
        self.cluster, self.name = cluster, name

    def tell(self, node, directive) -> None:
        data = wire.encode(directive)
        for name in self.cluster.hubs:
            if name != self.name and node in (None, name):
                self.cluster.send(name, data, "directive")


@implementer(IPresence)
class SharedPresence:
    """One node's view of the shared presence."""

    def __init__(self, cluster: Cluster, hub: Hub) -> None:
        self.c, self.hub = cluster, hub

    def _local_others(self, room_key, session) -> bool:
        room = self.hub.rooms.get(room_key)
        return room is not None and any(m.user is session.user and m is not session for m in room.members)

    def claim(self, user, nick, key, look, take=False):
        c, uid = self.c, user.uid
        if not take:
            for table, k, what in ((c.nicks, key, "is taken (by {})"), (c.looks, look, "looks like {}, who is online")):
                holder = table.get(k)
                if holder is not None and holder != uid:
                    return fail(NickInUse(f"The nick {nick} " + what.format(c.users[holder]["nick"]) + "; choose another."))
        me = c.users.setdefault(uid, {"nodes": {}})
        if c.nicks.get(me.get("key")) == uid:
            del c.nicks[me["key"]]
        if c.looks.get(me.get("look")) == uid:
            del c.looks[me["look"]]
        c.nicks[key], c.looks[look] = uid, uid
        me.update(nick=nick, key=key, look=look, account=user.account, account_name=user.account_name)
        me["nodes"][self.hub.node] = tuple(dict.fromkeys(s.host or s.peer for s in user.sessions))
        for members in c.members.values():
            if uid in members:
                members[uid]["nick"] = nick
        return succeed(None)

    def release(self, user) -> None:
        c, uid = self.c, user.uid
        me = c.users.get(uid)
        if me is None:
            return
        me["nodes"].pop(self.hub.node, None)
        if not me["nodes"]:
            if c.nicks.get(me.get("key")) == uid:
                del c.nicks[me["key"]]
            if c.looks.get(me.get("look")) == uid:
                del c.looks[me["look"]]
            del c.users[uid]

    def rekey(self, user, old_uid):
        c = self.c
        old = c.users.pop(old_uid, None)
        if old is not None:
            for table in (c.nicks, c.looks):
                for k, v in list(table.items()):
                    if v == old_uid:
                        table[k] = user.uid
            mine = c.users.setdefault(user.uid, {"nodes": {}})
            mine.update({k: v for k, v in old.items() if k != "nodes"})
            mine["nodes"].update(old["nodes"])
            mine.update(account=user.account, account_name=user.account_name)
        for members in c.members.values():
            if old_uid in members:
                entry = members.pop(old_uid)
                there = members.get(user.uid)
                if there is not None:
                    entry["nodes"] |= there["nodes"]
                entry["account"] = user.account
                members[user.uid] = entry
        return succeed(None)

    def person(self, uid):
        me = self.c.users.get(uid)
        if me is None or "nick" not in me:
            return succeed(None)
        rooms = tuple(self.c.names[k] for k, members in sorted(self.c.members.items()) if uid in members)
        hosts = tuple(dict.fromkeys(h for hs in me["nodes"].values() for h in hs))
        return succeed(Person(uid=uid, nick=me["nick"], key=me["key"], look=me["look"], account=me.get("account"),
                              account_name=me.get("account_name"), nodes=frozenset(me["nodes"]), rooms=rooms,
                              hosts=hosts, away=me.get("away")))

    def find(self, key):
        uid = self.c.nicks.get(key)
        return self.person(uid) if uid is not None else succeed(None)

    def enter(self, room_key, session, again=False):
        c, uid = self.c, session.user.uid
        members = c.members.setdefault(room_key, {})
        c.names.setdefault(room_key, self.hub.rooms[room_key].name)
        if not again and self._local_others(room_key, session):
            return succeed(Entered(first=False, alone=set(members) <= {uid}))
        first = uid not in members
        alone = not (set(members) - {uid})
        members.setdefault(uid, {"nick": session.nick, "account": session.user.account, "nodes": set()})
        members[uid]["nodes"].add(self.hub.node)
        return succeed(Entered(first=first, alone=alone))

    def leave(self, room_key, session):
        if self._local_others(room_key, session):
            return succeed(False)
        members = self.c.members.get(room_key, {})
        entry = members.get(session.user.uid)
        if entry is None:
            return succeed(False)
        entry["nodes"].discard(self.hub.node)
        if entry["nodes"]:
            return succeed(False)
        del members[session.user.uid]
        if not members:
            del self.c.members[room_key]
        return succeed(True)

    def members(self, room_key):
        members = self.c.members.get(room_key)
        if not members:
            return succeed(None)
        users = self.c.users
        return succeed(tuple(sorted((Member(m["nick"], m["account"], users.get(uid, {}).get("away"))
                                     for uid, m in members.items()), key=lambda m: fold(m.nick))))

    def member(self, room_key, key):
        uid = self.c.nicks.get(key)
        if uid is None or uid not in self.c.members.get(room_key, {}):
            return succeed(None)
        return self.person(uid)

    def set_away(self, user, away):
        me = self.c.users.get(user.uid)
        if me is None:
            return succeed(None)
        old = me.get("away")
        me["away"] = away
        return succeed(old)

    def rooms(self):
        """Topics are read from the store's room records, as Redis reads them from the room's hash."""
        listed = sorted(self.c.members.items())
        d = gatherResults([self.c.store.room(self.c.names[k]) for k, _ in listed])
        return d.addCallback(lambda records: tuple(
            RoomInfo(self.c.names[k], len(m), record.topic if record is not None else "")
            for (k, m), record in zip(listed, records)))


class Node:
    """One hub of the cluster, with helpers to connect clients to it."""

    def __init__(self, cluster: Cluster, hub: Hub) -> None:
        self.cluster, self.hub = cluster, hub

    def connect(self, nick=None, host="127.0.0.1"):
        sink = RecordingSink()
        session = self.hub.connect(sink, peer=f"{host}:1", frontend="test", host=host, secure=True)
        sink.session = session
        if nick is not None:
            result(session.set_nick(nick))
            self.cluster.pump()
        return session, sink

    def member(self, nick, *rooms):
        session, sink = self.connect(nick)
        for room in rooms:
            result(session.join(room))
        self.cluster.pump()
        sink.clear()
        return session, sink
