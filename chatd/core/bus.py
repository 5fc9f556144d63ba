# -*- test-case-name: tests.core.test_feed -*-
"""
The room bus: the one path by which room events reach the members of a
room, on this node and (with a shared bus) on every other.

The core publishes each committed room event (a stored message, and the
presence events of the room) to the bus; each node subscribes to the rooms
its members are in and delivers what it receives through its per-room
cursor (L{chatd.core.feed.RoomFeed}), which puts numbered events in id
order, drops repeats and fills gaps from the store.  So a bus may deliver
late, out of order or twice: what members see does not change.
"""

from typing import Callable, Dict

from zope.interface import Interface, implementer

Receiver = Callable[[object], None]


class IRoomBus(Interface):
    """Carries room events between the nodes serving a room."""

    def subscribe(room_key, receiver):
        """
        Start receiving the events published for C{room_key} (a folded room
        name): C{receiver(event)} is called for each, on the reactor thread.
        One receiver per room per node.  May return a Deferred firing once
        everything published from then on will be received (the hub reads
        the room's record only then).
        """

    def unsubscribe(room_key):
        """Stop receiving C{room_key}'s events (no local member is left)."""

    def publish(room_key, event):
        """Publish a committed room event to every node subscribed to the room."""


@implementer(IRoomBus)
class LocalBus:
    """The bus of a single node: publishing hands the event to this node's receiver at once."""

    def __init__(self) -> None:
        self._receivers: Dict[str, Receiver] = {}

    def subscribe(self, room_key: str, receiver: Receiver) -> None:
        self._receivers[room_key] = receiver

    def unsubscribe(self, room_key: str) -> None:
        self._receivers.pop(room_key, None)

    def publish(self, room_key: str, event) -> None:
        receiver = self._receivers.get(room_key)
        if receiver is not None:
            receiver(event)
