# -*- test-case-name: tests.core.test_hub -*-
"""
A room on this node: its record (name, topic, settings), its local
members, and the fan-out loop.

A room's record lives in the store and outlives its members; a node keeps
a L{Room} in memory while it has local members, fed by the room bus
through its L{chatd.core.feed.RoomFeed}.

Fan-out policy (the hot path), stated plainly:

  - An event is built once and handed to each member's deliver callable.
    Front ends encode it with L{chatd.core.events.Event.encoded}, so each
    wire format encodes it once for the whole room.
  - There is no backpressure from a member to the room: a member that
    cannot keep up is its front end's problem.  Its sink queues up to a
    bound and then disconnects that member; the room never waits.
  - Members are iterated over a snapshot, so a member leaving during a
    fan-out (its connection was closed) neither breaks the loop nor makes
    anyone else miss the event.
"""

from collections import Counter
from typing import Callable, Dict, List, Mapping, Optional

from chatd.core.events import JOIN, Event

Deliver = Callable[[Event], None]


class Room:
    """
    A room that has members on this node.

    C{members} maps each local member's session to the callable that
    receives the room's events for it: normally its sink's C{deliver}, or,
    while a joiner waits for its scrollback, a list's C{append} that holds
    live events until the scrollback is out (so nothing arrives out of
    order; the list is in C{waiting}).
    """

    __slots__ = ("name", "key", "topic", "topic_by", "settings", "members", "waiting", "stats", "feed", "creator",
                 "roles", "bans", "mutes", "invites")

    def __init__(self, name: str, key: str, topic: str = "", topic_by: str = "",
                 settings: Optional[Mapping] = None, stats=None) -> None:
        self.name = name
        self.key = key
        self.topic = topic
        self.topic_by = topic_by
        self.settings: Mapping = settings or {}
        self.members: Dict[object, Deliver] = {}
        #: Joiners still waiting for their scrollback, and what is held for them.
        self.waiting: Dict[object, List[Event]] = {}
        self.stats = stats if stats is not None else Counter()
        self.feed = None
        #: The user who joined it first since it was last empty (who may register it).
        self.creator = None
        #: Roles by account key, and bans (L{chatd.store.records.BanRecord}), from the store.
        self.roles: Dict[str, str] = {}
        self.bans: List = []
        #: Mutes and invitations (a mark's C{who} -> until, None for no end), from the store.
        self.mutes: Dict[str, Optional[float]] = {}
        self.invites: Dict[str, Optional[float]] = {}

    def set_marks(self, marks) -> None:
        """Take the room's mutes and invitations from its L{chatd.store.records.MarkRecord}s."""
        self.mutes = {m.who: m.until for m in marks if m.kind == "mute"}
        self.invites = {m.who: m.until for m in marks if m.kind == "invite"}

    def broadcast(self, event: Event) -> None:
        """
        Hand C{event} to every local member.  A joiner got its own C{join}
        first, directly; the room's copy (which presence may let through
        late, on a cluster) is not shown to it again.
        """
        if event.type == JOIN:
            nick = event.nick
            targets = tuple(deliver for member, deliver in self.members.items() if member.nick != nick)
        else:
            targets = tuple(self.members.values())
        self.stats["deliveries"] += len(targets)
        for deliver in targets:
            deliver(event)

    def __repr__(self) -> str:
        return f"<Room {self.name} members={len(self.members)}>"
