# -*- test-case-name: tests.frontends.test_wamp_pubsub -*-
"""
A WAMP session's publish and subscribe: SUBSCRIBE, UNSUBSCRIBE and
PUBLISH, as methods of L{chatd.frontends.wamp.peer.WampPeer}.

A PUBLISH to a room's topic is a say in the room (the core's, under
flood control); with C{exclude_me} the publisher does not get its own
message back: by its cid when it gave one, else by the order its says
without a cid come back (L{_Said}).  Other topics outside C{chatd.} are
the node's plain broker (L{chatd.frontends.wamp.broker}).
"""

from collections import deque
from typing import Optional

from autobahn.wamp import message

from chatd.core import commands as cmd
from chatd.core.errors import BadCommand, ChatError
from chatd.core.text import check_room, fold
from chatd.frontends.wamp import uris
from chatd.frontends.wamp.uris import INVALID_ARGUMENT, INVALID_URI, NOT_AUTHORIZED

#: Publications whose own echo a session still expects to skip (C{exclude_me}).
EXCLUDED_MAX = 256


class _Said:
    """
    A say of this connection without a cid, in a room, on its way: whether
    its message goes back to this session (a PUBLISH with C{exclude_me}
    does not), and its id once the store gave one.  Such messages reach
    the session in the order they were said, so the first one waiting is
    the one that arrives.
    """

    __slots__ = ("echo", "id")

    def __init__(self, echo: bool) -> None:
        self.echo = echo
        self.id: Optional[int] = None


class Topics:
    """Publish and subscribe, for L{chatd.frontends.wamp.peer.WampPeer}."""

    def _subscribe(self, msg: message.Subscribe, size: int) -> None:
        topic = msg.topic
        if msg.match not in (None, message.Subscribe.MATCH_EXACT):
            return self._error(message.Subscribe.MESSAGE_TYPE, msg.request, INVALID_ARGUMENT,
                               "chatd matches topics exactly; prefix and wildcard subscriptions are not offered.")
        refusal = self._topic_refusal(topic)
        if refusal is not None:
            return self._error(message.Subscribe.MESSAGE_TYPE, msg.request, *refusal)
        known = self.router.broker.find(topic)
        again = known is not None and self in known.subscribers  # the same subscription, as the spec says
        if not again and len(self.subscriptions) >= self.router.limits.subscriptions:
            return self._limit_error(message.Subscribe.MESSAGE_TYPE, msg.request, "too-many-subscriptions",
                                     f"A session may subscribe to {self.router.limits.subscriptions} topics; "
                                     "unsubscribe from one first.")
        sub = self.router.broker.subscribe(self, topic)
        self.subscriptions.add(sub.id)
        if topic.startswith(uris.SESSION):
            self.private = sub
        self.send(message.Subscribed(msg.request, sub.id))
        if self.private is sub and self.early is not None:
            early, self.early = self.early, None
            for event in early:
                self.route(event)

    def _topic_refusal(self, topic: str):
        """Why C{topic} cannot be subscribed or published to, as (error URI, text), or None."""
        if not uris.valid(topic):
            return INVALID_URI, f"{str(topic)[:80]!r} is not a valid WAMP topic."
        if topic.startswith(uris.ROOM):
            room = uris.room_of(topic)
            if room is None:
                return INVALID_URI, (f"{topic[:80]!r} is not a room topic: escape '%', '.' and '#' in the room "
                                     "name as %25, %2E and %23.")
            try:
                check_room(room)
            except ChatError as e:
                return uris.error_uri(e.code), e.message
            return None
        if topic.startswith(uris.SESSION):
            if topic != uris.session_topic(self.id):
                return NOT_AUTHORIZED, "A session may subscribe only to its own chatd.session topic."
            return None
        if topic.startswith(uris.RESERVED):
            return INVALID_URI, f"chatd has no topic {topic[:80]!r}; rooms are chatd.room.<name>."
        return None

    def _unsubscribe(self, msg: message.Unsubscribe, size: int) -> None:
        if msg.subscription not in self.subscriptions or not self.router.broker.unsubscribe(self, msg.subscription):
            return self._error(message.Unsubscribe.MESSAGE_TYPE, msg.request, "wamp.error.no_such_subscription",
                               "This session has no such subscription.")
        self.subscriptions.discard(msg.subscription)
        if self.private is not None and self.private.id == msg.subscription:
            self.private = None
        self.send(message.Unsubscribed(msg.request))

    def _publish(self, msg: message.Publish, size: int) -> None:
        topic = msg.topic
        refusal = self._topic_refusal(topic)
        if refusal is None and topic.startswith(uris.SESSION):
            refusal = NOT_AUTHORIZED, "Only chatd publishes to a session's topic."
        if refusal is None and topic.startswith(uris.WAMP):
            refusal = NOT_AUTHORIZED, "Topics under wamp. are the router's own; publish elsewhere."
        if refusal is not None:
            if msg.acknowledge:
                self._error(message.Publish.MESSAGE_TYPE, msg.request, *refusal)
            return
        if topic.startswith(uris.ROOM):
            return self._say(msg, uris.room_of(topic), size)
        publication = self.router.broker.publish(self, topic, msg.args, msg.kwargs, msg.exclude_me is not False)
        if msg.acknowledge:
            self.send(message.Published(msg.request, publication))

    def _say(self, msg: message.Publish, room: str, size: int) -> None:
        """A PUBLISH to a room: said in the room (C{kwargs.type = "action"} for an action)."""
        kwargs = msg.kwargs or {}
        text = kwargs.get("text", msg.args[0] if msg.args else None)
        cid = kwargs.get("cid")
        kind = cmd.Action if kwargs.get("type") == "action" else cmd.Say
        if not isinstance(text, str) or (cid is not None and not isinstance(cid, str)):
            # Still waits its turn under flood control, as a say would.
            cid, command = None, cmd.Refused(error=BadCommand(
                "Publish the text to a room as args[0] or kwargs.text, a string (and cid, a string)."))
        else:
            if msg.exclude_me is not False and cid is not None:
                self.excluded[cid] = None
                while len(self.excluded) > EXCLUDED_MAX:
                    self.excluded.popitem(last=False)
            command = kind(room=room, text=text, cid=cid)
        said_ = self._saying(command, echo=msg.exclude_me is False)
        d = self.session.handle(command, size)

        def said(event) -> None:
            if said_ is not None:
                said_.id = event.id
            if msg.acknowledge:
                self.send(message.Published(msg.request, event.id))

        def refused(failure) -> None:
            self.excluded.pop(cid, None)
            self._unsaid(command, said_)
            if msg.acknowledge:
                self._chat_error(message.Publish.MESSAGE_TYPE, msg.request, failure.value)

        d.addCallbacks(said, refused)

    def _saying(self, command: cmd.Command, echo: bool) -> Optional[_Said]:
        """Note a say without a cid (L{_Said}); None for anything else."""
        if not isinstance(command, cmd.Say) or command.cid is not None:
            return None
        try:
            key = check_room(command.room)
        except ChatError:
            return None  # it will be refused
        said = _Said(echo)
        waiting = self.saying.setdefault(key, deque())
        waiting.append(said)
        if len(waiting) > EXCLUDED_MAX:
            waiting.popleft()
        return said

    def _unsaid(self, command: cmd.Command, said: Optional[_Said]) -> None:
        """A noted say was refused: no message of it will come."""
        if said is not None:
            waiting = self.saying.get(fold(command.room))
            if waiting is not None and said in waiting:
                waiting.remove(said)

    def _echo(self, key: str, id: int) -> bool:
        """Does this session get its own message C{id}, said without a cid?"""
        waiting = self.saying.get(key)
        while waiting and waiting[0].id is not None and waiting[0].id < id:
            waiting.popleft()  # said, but never came back (the session left the room meanwhile)
        if not waiting:
            return True
        said = waiting.popleft()
        if not waiting:
            del self.saying[key]
        return said.echo
