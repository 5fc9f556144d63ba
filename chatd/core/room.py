# -*- test-case-name: tests.core.test_hub -*-
"""
A room with members, and the fan-out loop.

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
from typing import Callable, Dict

from chatd.core.events import Event
from chatd.core.text import fold

Deliver = Callable[[Event], None]


class Room:
    """
    A room that currently has members.

    C{members} maps each member's session to the callable that receives the
    room's events for it: normally its sink's C{deliver}, or, while a joiner
    waits for its scrollback, a list's C{append} that holds live events
    until the scrollback is out (so nothing arrives out of order).
    """

    __slots__ = ("name", "key", "topic", "setter", "members", "stats")

    def __init__(self, name: str, key: str, topic: str = "", setter: str = "", stats=None) -> None:
        self.name = name
        self.key = key
        self.topic = topic
        self.setter = setter
        self.members: Dict[object, Deliver] = {}
        self.stats = stats if stats is not None else Counter()

    def broadcast(self, event: Event) -> None:
        """Hand C{event} to every member, including its sender."""
        targets = tuple(self.members.values())
        self.stats["deliveries"] += len(targets)
        for deliver in targets:
            deliver(event)

    def nicks(self) -> tuple:
        """Members' nicks, sorted case-insensitively."""
        return tuple(sorted((s.nick for s in self.members), key=fold))

    def __repr__(self) -> str:
        return f"<Room {self.name} members={len(self.members)}>"
