# -*- test-case-name: tests.cluster.test_cluster_bus -*-
"""
The room bus on Redis: one pub/sub channel per room, C{chatd:room:<key>}.

A numbered message is published by the store's append script, in the
same atomic step that numbers it (so publish order is id order; one frame
may carry a room's messages of one reactor turn): here
L{RedisBus.publish} leaves it alone.  Unnumbered events (joins, parts,
topics, kicks...) are published by the node that made them.  Every node,
the sender's included, delivers only what comes back through its
subscription, through the room's feed (L{chatd.core.feed.RoomFeed}).
"""

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from zope.interface import implementer

from chatd.core.bus import IRoomBus
from chatd.wire.cluster import ClusterWireError, decode_frames, encode_frame

log = Logger(namespace="chatd.cluster")

#: A room's channel (the same name as its record's key: channels are another namespace).
CHANNEL = "chatd:room:"


@implementer(IRoomBus)
class RedisBus:
    """@param link: the node's L{chatd.cluster.link.Link}."""

    def __init__(self, link) -> None:
        self.link = link

    def subscribe(self, room_key: str, receiver) -> Deferred:
        def frame(data: bytes) -> None:
            try:
                events = decode_frames(data)
            except ClusterWireError as e:
                log.warn("Dropped a message on room {room}'s channel that is not chatd's: {why}", room=room_key,
                         why=str(e))
                return
            for event in events:
                receiver(event)

        return self.link.subscribe(CHANNEL + room_key, frame)

    def unsubscribe(self, room_key: str) -> None:
        self.link.unsubscribe(CHANNEL + room_key)

    def publish(self, room_key: str, event) -> None:
        if event.id is not None:
            return  # the store's append script published it
        self.link.publish(CHANNEL + room_key, encode_frame(event)).addErrback(
            lambda f: log.warn("Could not publish a {type} event to room {room} (Redis: {why}); members on other "
                               "nodes miss it", type=event.type, room=room_key, why=f.getErrorMessage()))
