# -*- test-case-name: tests.core.test_feed -*-
"""
A node's cursor over one room's stream: whatever order the bus delivers
in, the room's local members get each message once, in id order.

Ids are handed out by the store, one more per message in each room.  The
feed remembers the last id it delivered:

  - an id at or below it is a repeat, and is dropped;
  - the next id is delivered;
  - an id beyond the next is a gap: what is missing is read from the store
    and delivered first, and events arriving meanwhile wait behind it.  A
    gap the store cannot fill (the messages were pruned, or more are
    missing than a resume replays) is announced with a truncated
    C{history} event holding what could be read.

Unnumbered events (join, part, quit, topic, kick) are delivered as they
come, behind anything waiting.  Until L{RoomFeed.start} gives the room's
last id (the room is still being opened on this node), everything waits.
"""

from typing import List, Optional

from twisted.logger import Logger

from chatd.core import events as ev

log = Logger(namespace="chatd.feed")

#: Unnumbered events that change the room (L{chatd.core.reach.Reach.refresh}).
_CHANGES = frozenset({ev.TOPIC, ev.BAN, ev.UNBAN, ev.ROLE, ev.MODE, ev.MUTE, ev.UNMUTE, ev.ROOM})


class RoomFeed:
    """
    @param room: the L{chatd.core.room.Room} whose local members get the events.
    @param hub: where the store, the rules (C{replay_max}) and the clock are.
    """

    __slots__ = ("room", "hub", "last", "pending")

    def __init__(self, room, hub) -> None:
        self.room = room
        self.hub = hub
        #: The id of the last message delivered; None until started.
        self.last: Optional[int] = None
        #: Events waiting for the start or for a gap to be filled; None
        #: while nothing waits.
        self.pending: Optional[List] = []

    def start(self, last_id: int) -> None:
        """The room is open: messages after C{last_id} are new."""
        self.last = last_id
        self._drain()

    def receive(self, event) -> None:
        """An event from the bus."""
        if self.pending is not None:
            self.pending.append(event)
        else:
            self._accept(event)

    def _accept(self, event) -> None:
        id = event.id
        if id is None:
            self.room.broadcast(event)
            if event.type in _CHANGES:  # after: a member a ban puts out sees the ban first
                self.hub.refresh(self.room, event)
            return
        last = self.last
        if id <= last:
            self.hub.stats["bus_repeats"] += 1
            return
        if id == last + 1:
            self.last = id
            self.room.broadcast(event)
            return
        self.pending = [event]
        self.hub.stats["bus_gaps"] += 1
        d = self.hub.store.recent(self.room.name, self.hub.rules.replay_max, after=last, before=id)
        d.addCallbacks(self._filled, self._unfilled, callbackArgs=(id,), errbackArgs=(id,))

    def _filled(self, result, upto: int) -> None:
        rows, more = result
        if more:
            self.room.broadcast(ev.History(room=self.room.name, messages=tuple(rows), truncated=True, ts=self.hub.now()))
        else:
            for row in rows:
                self.room.broadcast(row)
        # Whatever the store no longer holds below upto is gone for good.
        self.last = upto - 1
        self._drain()

    def _unfilled(self, failure, upto: int) -> None:
        log.failure("Could not read the messages missing in {room} before id {id}; announcing the gap",
                    failure, room=self.room.name, id=upto)
        self._filled(((), True), upto)

    def catch_up(self) -> None:
        """
        Events may have been published that this feed never received (the
        bus was cut off): read what the store has beyond the last id
        delivered, and deliver it, or announce the gap.  If the store has
        less than was delivered, it lost messages (a Redis that restarted
        without them): it is told to give out ids above them.
        """
        if self.pending is not None:
            return  # not started yet, or filling a gap: it reads the store anyway
        self.pending = []
        last = self.last
        room, store = self.room, self.hub.store

        def newest(top: int):
            if top > last:
                self.hub.stats["bus_gaps"] += 1
                d = store.recent(room.name, self.hub.rules.replay_max, after=last, before=top + 1)
                return d.addCallbacks(self._filled, self._unfilled, callbackArgs=(top + 1,), errbackArgs=(top + 1,))
            if top < last:
                self.hub.store_lost(room, top, last)
            self._drain()

        def failed(failure) -> None:
            log.failure("Could not read the newest id of {room} to catch up after the bus was cut off",
                        failure, room=room.name)
            self._drain()

        store.last_id(room.name).addCallbacks(newest, failed)

    def _drain(self) -> None:
        """Deliver what waited, in order, until it is done or a new gap opens."""
        pending, self.pending = self.pending, None
        for i, event in enumerate(pending):
            if self.pending is not None:
                self.pending.extend(pending[i:])
                return
            self._accept(event)
