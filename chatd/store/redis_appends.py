# -*- test-case-name: tests.store.test_redis_appends -*-
"""
A reactor turn's room messages, stored with one script call per room.

One call per message made a busy cluster node spend about a quarter of
its time on the Redis client: each message a command built, sent and
answered, and on every node one published frame parsed, for a room whose
members' deliveries cost no more than on SQLite (docs/performance.md).
As the SQLite store's L{chatd.store.turnwriter.TurnWriter} does, the
messages appended during one turn wait for the turn's end and go to
C{append.lua} together: one round trip per room, and one published frame
carrying them all, in id order.

Redis still runs a node's calls in the order the node made them: any
other call sends the waiting messages first (L{Calls.before}).
"""

from typing import Dict, List, Optional

from twisted.internet.defer import Deferred

from chatd.store import redis_keys as keys

#: The most messages of one room in one script call (a call holds Redis
#: for its whole run; 64 short messages take it well under a millisecond).
MOST = 64


class _Waiting:
    """One message waiting for the turn's end, and the Deferred its sender holds."""

    __slots__ = ("cid_key", "value", "ts_text", "has_cid", "on", "ts", "done")

    def __init__(self, cid_key: str, value: bytes, ts_text: str, has_cid: bool, on: str, ts: float,
                 done: Deferred) -> None:
        self.cid_key = cid_key
        self.value = value
        self.ts_text = ts_text
        self.has_cid = has_cid
        self.on = on
        self.ts = ts
        self.done = done


class _Room:
    __slots__ = ("name", "waiting")

    def __init__(self, name: str) -> None:
        self.name = name
        self.waiting: List[_Waiting] = []


class Appends:
    """
    @param calls: the store's L{chatd.store.redis_calls.Calls}; its
        C{before} is set to L{send}.
    @param clock: C{callLater}, for the end of the turn.
    @param epoch: the store's L{chatd.store.redis_epoch.Epoch}.
    @param keep: the most messages kept per room.
    @param cid_window: seconds a client message id is remembered for.
    """

    def __init__(self, calls, clock, epoch, keep: int, cid_window: float, most: int = MOST) -> None:
        self._calls = calls
        self._clock = clock
        self._epoch = epoch
        self._head = [str(keep), repr(cid_window), "%d" % max(1, int(cid_window * 1000))]
        self._most = most
        self._rooms: Dict[str, _Room] = {}
        self._call = None
        calls.before = self.send

    def add(self, key: str, name: str, identity: str, cid: Optional[str], value: bytes, ts: float,
            on: str) -> Deferred:
        """
        Store one message of room C{key} (display name C{name}) at the end
        of this turn.  Deferred firing, in the order of the store's calls,
        with C{(id, ts, True)}, or C{(id, ts of the first, False)} when
        C{cid} was seen already.
        """
        done, result = self._calls.waiting()
        room = self._rooms.get(key)
        if room is None:
            room = self._rooms[key] = _Room(name)
        room.waiting.append(_Waiting(keys.cid(identity, cid or ""), value, repr(ts), cid is not None, on, ts, done))
        if len(room.waiting) >= self._most:
            self.send()
        elif self._call is None:
            self._call = self._clock.callLater(0, self.send)
        return result

    def send(self) -> None:
        """Send what waits: one script call per room, in the order the rooms were first written to."""
        if self._call is not None:
            if self._call.active():
                self._call.cancel()
            self._call = None
        if not self._rooms:
            return
        rooms, self._rooms = self._rooms, {}
        epoch = self._epoch
        for key, room in rooms.items():
            waiting = room.waiting
            args = [key, room.name, *self._head, epoch.known, epoch.candidate, keys.channel(key)]
            for w in waiting:
                args += (w.value, w.ts_text, "1" if w.has_cid else "", w.on)
            self._calls.run(
                "Storing the message" if len(waiting) == 1 else f"Storing {len(waiting)} messages", "append",
                [keys.room(key), keys.history(key), keys.CIDS, keys.CLUSTER, keys.STORED_ROOMS, keys.reactions(key),
                 *(w.cid_key for w in waiting)],
                args,
            ).addCallbacks(self._stored, self._failed, callbackArgs=(waiting,), errbackArgs=(waiting,))

    def _stored(self, answer, waiting: List[_Waiting]) -> None:
        if answer[0]:
            self._epoch.learn(answer[0])
        for i, w in enumerate(waiting):
            id, new, seen_ts = answer[1 + 3 * i: 4 + 3 * i]
            w.done.callback((id, w.ts, True) if new else (id, float(seen_ts), False))

    def _failed(self, failure, waiting: List[_Waiting]) -> None:
        for w in waiting:
            w.done.errback(failure)

