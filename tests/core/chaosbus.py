"""
Test doubles for the paths a room event takes: a room bus that delays,
reorders and repeats what is published, and a store whose reads answer
only when the test says so.  Whatever they do, members must see each
message once, in id order (chatd.core.feed).
"""

from typing import Callable, Dict, List, Tuple

from twisted.internet.defer import Deferred
from zope.interface import implementer

from chatd.core.bus import IRoomBus
from chatd.store.memory import MemoryStore


@implementer(IRoomBus)
class ChaosBus:
    """
    Holds every publication until L{deliver} is asked for it, by position
    in the queue of undelivered ones; a delivered publication may be
    delivered again (L{repeat}).
    """

    def __init__(self) -> None:
        self.receivers: Dict[str, Callable] = {}
        self.queue: List[Tuple[str, object]] = []
        self.delivered: List[Tuple[str, object]] = []

    def subscribe(self, room_key: str, receiver: Callable) -> None:
        self.receivers[room_key] = receiver

    def unsubscribe(self, room_key: str) -> None:
        self.receivers.pop(room_key, None)

    def publish(self, room_key: str, event) -> None:
        self.queue.append((room_key, event))

    def deliver(self, index: int) -> None:
        """Deliver the undelivered publication at C{index} (modulo the queue)."""
        if self.queue:
            item = self.queue.pop(index % len(self.queue))
            self.delivered.append(item)
            self._hand(item)

    def repeat(self, index: int) -> None:
        """Deliver again a publication already delivered."""
        if self.delivered:
            self._hand(self.delivered[index % len(self.delivered)])

    def flush(self) -> None:
        while self.queue:
            self.deliver(0)

    def _hand(self, item) -> None:
        room_key, event = item
        receiver = self.receivers.get(room_key)
        if receiver is not None:
            receiver(event)


class SlowReads(MemoryStore):
    """A memory store whose reads (history, gap fills) answer when L{answer} says, in any order."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.reads: List[Tuple[Deferred, Callable]] = []

    def recent(self, room, limit, before=None, after=None):
        d: Deferred = Deferred()
        self.reads.append((d, lambda: MemoryStore.recent(self, room, limit, before=before, after=after)))
        return d

    def answer(self, index: int) -> None:
        """Answer the pending read at C{index}, reading the messages as they are now."""
        if self.reads:
            d, read = self.reads.pop(index % len(self.reads))
            read().chainDeferred(d)

    def answer_all(self) -> None:
        while self.reads:
            self.answer(0)
