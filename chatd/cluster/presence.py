# -*- test-case-name: tests.cluster.test_cluster_presence -*-
"""
Presence on Redis: who holds which nick, who is in which room, on every
node (L{chatd.core.presence.IPresence}).  Each change is one Lua script
(chatd/cluster/scripts/presence_*.lua), so two nodes racing for a nick or
a room see one winner.

Keys (C{chatd:<kind>:<name>}):

  - C{nick-holder:<folded nick>}, C{look-holder:<look-alike key>}: the
    uid holding it; they expire unless the holder's node beats
    (L{chatd.cluster.liveness}), so a dead node's nicks come free.
  - C{user:<uid>}: nick, key, look, account, account_name, away (its
    away message, while it is away), and
    C{@<node>} -> the addresses it connects from there, per node that
    holds a connection of it; C{user-rooms:<uid>}: its rooms' keys.
  - C{members:<room key>}: uid -> "nick, account, nodes"; C{live-rooms}:
    room key -> name, for rooms with members.
  - C{node-members:<node>}, C{node-users:<node>}: what each node holds,
    so that the janitor can clear up after a dead one.

A node asks Redis only for its first connection of a user entering a room
and its last one leaving it; its other connections are its own business.
"""

from importlib import resources
from typing import Dict, Optional

from twisted.internet.defer import Deferred, succeed
from zope.interface import implementer

from chatd.core.errors import NickInUse
from chatd.core.events import RoomInfo
from chatd.core.presence import Entered, IPresence, Member, Person
from chatd.core.text import fold
from chatd.store.redis_scripts import Script


def load_scripts(prefix: str = "presence_") -> Dict[str, Script]:
    """The presence scripts, each with the common part in front, by name without prefix."""
    folder = resources.files("chatd.cluster").joinpath("scripts")
    common = folder.joinpath(prefix + "common.lua").read_bytes()
    scripts = {}
    for entry in folder.iterdir():
        name = entry.name
        if name.startswith(prefix) and name.endswith(".lua") and name != prefix + "common.lua":
            short = name[len(prefix):-len(".lua")]
            scripts[short] = Script(short, common + b"\n" + entry.read_bytes())
    return scripts


def _text(value) -> str:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value)


def _person(answer) -> Optional[Person]:
    if not answer:
        return None
    uid, flat, rooms = answer
    fields = {_text(flat[i]): _text(flat[i + 1]) for i in range(0, len(flat), 2)}
    if "nick" not in fields:
        return None
    nodes = frozenset(f[1:] for f in fields if f.startswith("@"))
    hosts = tuple(dict.fromkeys(h for f, v in sorted(fields.items()) if f.startswith("@") for h in v.split()))
    return Person(uid=_text(uid), nick=fields["nick"], key=fields["key"], look=fields["look"],
                  account=fields.get("account") or None, account_name=fields.get("account_name") or None,
                  nodes=nodes, rooms=tuple(_text(r) for r in rooms), hosts=hosts, away=fields.get("away") or None)


def _member(value, away=b"") -> Member:
    nick, account, _ = _text(value).split("\n", 2)
    return Member(nick, account or None, _text(away) or None)


@implementer(IPresence)
class RedisPresence:
    """
    @param hub: this node's hub (its rooms tell which connections are local).
    @param conn: the command connection (answers as bytes).
    @param ttl: seconds a user's keys live without a heartbeat (C{[cluster] node_timeout}).
    """

    def __init__(self, hub, conn, ttl: float) -> None:
        self.hub = hub
        self.conn = conn
        self.ttl_ms = int(ttl * 1000)
        self.scripts = load_scripts()

    def _run(self, name: str, *args) -> Deferred:
        return self.scripts[name](self.conn, (), args)

    def _local_others(self, room_key: str, session) -> bool:
        room = self.hub.rooms.get(room_key)
        user = session.user
        return room is not None and any(m.user is user and m is not session for m in room.members)

    # -- nicks --------------------------------------------------------------------------------

    def claim(self, user, nick: str, key: str, look: str, take: bool = False) -> Deferred:
        hosts = " ".join(dict.fromkeys(s.host or s.peer for s in user.sessions))

        def answered(answer):
            what = _text(answer[0])
            if what == "taken":
                raise NickInUse(f"The nick {nick} is taken (by {_text(answer[1])}); choose another.")
            if what == "look":
                raise NickInUse(f"The nick {nick} looks like {_text(answer[1])}, who is online; choose another.")

        return self._run("claim", user.uid, nick, key, look, "1" if take else "0", self.hub.node, hosts,
                         user.account or "", user.account_name or "", self.ttl_ms).addCallback(answered)

    def release(self, user) -> Deferred:
        return self._run("release", user.uid, self.hub.node)

    def rekey(self, user, old_uid: str) -> Deferred:
        return self._run("rekey", old_uid, user.uid, self.hub.node, user.account or "", user.account_name or "",
                         self.ttl_ms)

    def set_away(self, user, away: Optional[str]) -> Deferred:
        def answered(old):
            return _text(old) or None if old else None

        return self._run("away", user.uid, away or "").addCallback(answered)

    def find(self, key: str) -> Deferred:
        return self._run("person", "nick", key).addCallback(_person)

    def person(self, uid: str) -> Deferred:
        return self._run("person", "uid", uid).addCallback(_person)

    # -- rooms ---------------------------------------------------------------------------------

    def enter(self, room_key: str, session, again: bool = False) -> Deferred:
        if not again and self._local_others(room_key, session):
            return succeed(Entered(first=False, alone=False))
        room = self.hub.rooms[room_key]
        d = self._run("enter", room_key, room.name, session.user.uid, session.nick, session.user.account or "",
                      self.hub.node, self.ttl_ms)
        return d.addCallback(lambda answer: Entered(first=int(answer[0]) == 1, alone=int(answer[1]) == 1))

    def leave(self, room_key: str, session) -> Deferred:
        if self._local_others(room_key, session):
            return succeed(False)
        return self._run("leave", room_key, session.user.uid, self.hub.node).addCallback(lambda n: int(n) == 1)

    def members(self, room_key: str) -> Deferred:
        def listed(flat):
            if not flat:
                return None
            members = (_member(flat[i], flat[i + 1]) for i in range(0, len(flat), 2))
            return tuple(sorted(members, key=lambda m: fold(m.nick)))

        return self._run("members", room_key).addCallback(listed)

    def member(self, room_key: str, key: str) -> Deferred:
        return self._run("person", "member", room_key, key).addCallback(_person)

    def rooms(self) -> Deferred:
        def listed(flat):
            rows = [RoomInfo(_text(flat[i + 1]), int(flat[i + 2]), _text(flat[i + 3]))
                    for i in range(0, len(flat), 4)]
            return tuple(sorted(rows, key=lambda r: fold(r.name)))

        return self._run("rooms").addCallback(listed)
