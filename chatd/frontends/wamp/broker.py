# -*- test-case-name: tests.frontends.test_wamp_pubsub -*-
"""
The WAMP broker: who is subscribed to which topic, and EVENTs to them.

Room topics carry what the core delivers: an event reaches a WAMP session
through its core session (so only members of a room ever see its events)
and is written only if the session subscribed to the room's topic.  One
subscription id serves every subscriber of a topic, so a room's EVENT is
the same message for all of them and is serialized and framed once per
serializer (L{Subscription.codec}, cached on the event), never once per
subscriber.

Other topics (outside C{chatd.}) are a plain WAMP broker on this node:
PUBLISH reaches the other subscribers of the exact topic, and not the
publisher unless it asks (C{exclude_me: false}).
"""

import itertools
from typing import Callable, Dict, Iterable, Optional, Set

from autobahn.util import id as random_id
from autobahn.wamp import message

from chatd.core.text import fold
from chatd.frontends.wamp import uris
from chatd.frontends.wamp.payload import payload
from chatd.wire import jsonproto

#: A serializer's way to turn a WAMP message into the bytes one client reads.
Encoder = Callable[[message.Message], bytes]


def publication_of(event) -> int:
    """A room event's publication id: its message id if it has one, else a random id (the same for every subscriber)."""
    return event.id if event.id is not None else event.encoded(_random_publication)


def _random_publication(event) -> int:
    return random_id()


class Subscription:
    """One topic and its subscribers; C{key} is what makes two spellings one topic (a room's folded name)."""

    __slots__ = ("id", "topic", "key", "subscribers", "_codecs", "_encoders")

    def __init__(self, id: int, topic: str, key: str, encoders: Dict[str, Encoder]) -> None:
        self.id = id
        self.topic = topic
        self.key = key
        self.subscribers: Set = set()
        self._encoders = encoders
        self._codecs: Dict[str, Callable] = {}

    def codec(self, serializer: str) -> Callable:
        """
        The function that frames a room event as this subscription's EVENT
        for C{serializer}'s clients: one object per subscription and
        serializer, so L{chatd.core.events.Event.encoded} caches its bytes.
        """
        codec = self._codecs.get(serializer)
        if codec is None:
            encode = self._encoders[serializer]
            sub = self.id

            def codec(event) -> bytes:
                return encode(message.Event(sub, publication_of(event), args=[], kwargs=jsonproto.event_object(event)))

            self._codecs[serializer] = codec
        return codec


class Broker:
    """
    Every subscription on this node.

    @param encoders: by serializer name (C{json}, C{msgpack}, their
        batched forms), how a message becomes what a client reads.
    """

    def __init__(self, encoders: Dict[str, Encoder]) -> None:
        self.encoders = encoders
        self._ids = itertools.count(1)
        self._by_key: Dict[str, Subscription] = {}
        self._by_id: Dict[int, Subscription] = {}

    @staticmethod
    def key_of(topic: str) -> str:
        """Two spellings of one room are one topic; any other topic is itself."""
        room = uris.room_of(topic)
        return "room " + fold(room) if room is not None else topic

    def room(self, room_key: str) -> Optional[Subscription]:
        """The subscription to a room's topic (by the room's folded name), if anyone here has one."""
        return self._by_key.get("room " + room_key)

    def find(self, topic: str) -> Optional[Subscription]:
        """The subscription to C{topic} (any spelling of a room), if anyone here has one."""
        return self._by_key.get(self.key_of(topic))

    def subscribe(self, peer, topic: str) -> Subscription:
        key = self.key_of(topic)
        sub = self._by_key.get(key)
        if sub is None:
            sub = Subscription(next(self._ids), topic, key, self.encoders)
            self._by_key[key] = self._by_id[sub.id] = sub
        sub.subscribers.add(peer)
        return sub

    def unsubscribe(self, peer, sub_id: int) -> bool:
        """Take C{peer} off subscription C{sub_id}; False if it was not on it."""
        sub = self._by_id.get(sub_id)
        if sub is None or peer not in sub.subscribers:
            return False
        self._leave(peer, sub)
        return True

    def drop(self, peer, subscriptions: Iterable[int]) -> None:
        """A session ended: take it off every subscription it had."""
        for sub_id in tuple(subscriptions):
            sub = self._by_id.get(sub_id)
            if sub is not None and peer in sub.subscribers:
                self._leave(peer, sub)

    def _leave(self, peer, sub: Subscription) -> None:
        sub.subscribers.discard(peer)
        if not sub.subscribers:
            del self._by_key[sub.key]
            del self._by_id[sub.id]

    def publish(self, publisher, topic: str, args, kwargs, exclude_me: bool = True) -> int:
        """An application topic's PUBLISH: an EVENT to its other subscribers here; the publication id."""
        publication = random_id()
        sub = self._by_key.get(topic)
        if sub is not None:
            args, kwargs = payload(args, kwargs)
            event = message.Event(sub.id, publication, args=args, kwargs=kwargs)
            frames: Dict[str, bytes] = {}
            for peer in tuple(sub.subscribers):
                if peer is publisher and exclude_me:
                    continue
                frame = frames.get(peer.serializer)
                if frame is None:
                    frame = frames[peer.serializer] = self.encoders[peer.serializer](event)
                peer.write(frame)
        return publication

    def __len__(self) -> int:
        return len(self._by_id)
