# -*- test-case-name: tests.core.test_history_window -*-
"""
A room's history by time: turning a timestamp into a position among the
room's message ids, so the C{history} rule can select by time with the
same id windows it pages with.

A message's C{ts} increases with its id within a room (but for small
clock differences between cluster nodes), so a binary search over ids
finds where a time falls.  Every store answers it the same way, through
L{chatd.core.interfaces.IStore.recent}, with deleted and pruned ids
(holes) taken in stride; it costs about log2(last id) small reads.
"""

from typing import Optional

from twisted.internet.defer import Deferred, succeed


def window(store, room: str, before: Optional[int], after: Optional[int],
           before_ts: Optional[float], after_ts: Optional[float]) -> Deferred:
    """
    The id bounds C{(before, after)} of a page of C{room}: the narrower of
    the ids given and the positions of the times given (None: unbounded).
    """
    bounds = [before, after]

    def narrow(found: int, which: int, pick) -> None:
        bounds[which] = found if bounds[which] is None else pick(bounds[which], found)

    d = succeed(None)
    if before_ts is not None:
        d.addCallback(lambda _: position(store, room, before_ts))
        d.addCallback(narrow, 0, min)
    if after_ts is not None:
        d.addCallback(lambda _: position(store, room, after_ts, strict=True))
        d.addCallback(lambda found: narrow(found - 1, 1, max))
    return d.addCallback(lambda _: tuple(bounds))


def position(store, room: str, ts: float, strict: bool = False) -> Deferred:
    """
    The id of the first message in C{room} at C{ts} or later (C{strict}:
    later than C{ts}): every stored message below it is earlier.

    @return: Deferred firing with that id (the room's last id + 1 when no
        message is that late).
    """
    return store.last_id(room).addCallback(lambda last: _Search(store, room, ts, strict, last + 1).step())


class _Search:
    """
    One binary search.  Every message below C{lo} is early; C{found} is
    the first late message seen, and no message in C{[hi, found)} exists;
    each step reads the first message at or after the middle of
    C{[lo, hi)} and halves it.
    """

    __slots__ = ("store", "room", "ts", "strict", "lo", "hi", "found")

    def __init__(self, store, room: str, ts: float, strict: bool, end: int) -> None:
        self.store, self.room, self.ts, self.strict = store, room, ts, strict
        self.lo, self.hi = 0, end
        self.found = end

    def _late(self, when: float) -> bool:
        return when > self.ts if self.strict else when >= self.ts

    def step(self, _=None):
        if self.lo >= self.hi:
            return self.found
        mid = (self.lo + self.hi) // 2
        d = self.store.recent(self.room, 1, after=mid - 1, before=self.hi, oldest=True)
        return d.addCallback(self._probed, mid)

    def _probed(self, page, mid: int):
        rows = page[0]
        if not rows:
            self.hi = mid  # nothing in [mid, hi): found is still the first late one
        elif self._late(rows[0].ts):
            self.hi, self.found = mid, rows[0].id
        else:
            self.lo = rows[0].id + 1
        return self.step()
