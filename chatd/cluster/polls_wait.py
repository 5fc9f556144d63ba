# -*- test-case-name: tests.frontends.test_longpoll_cluster -*-
"""
Polls on any node of a cluster for any long-poll session
(L{chatd.cluster.polls} has the keys): a poll with nothing to answer
listens on the session's wake channel, reads once more when the
subscription holds, and answers when an entry comes, when a newer poll
starts (on any node), when the session ends, or at its timeout.
"""

from typing import Callable, Dict, Set

from twisted.internet.defer import Deferred

from chatd.cluster.polls import LOST, NONE, WAKE, PollStore, SessionGone, Taken, ms, passed
from chatd.frontends.pollqueue import Batch


class Wakes:
    """
    One subscription per session with polls held on this node; each
    message goes to every poll held for it (L{HeldPoll}).
    """

    def __init__(self, link) -> None:
        self.link = link
        self._held: Dict[str, Set["HeldPoll"]] = {}
        self._ready: Dict[str, Deferred] = {}

    def add(self, token: str, poll: "HeldPoll") -> Deferred:
        """Deferred firing once Redis confirms the subscription (then a read misses nothing)."""
        group = self._held.get(token)
        if group is None:
            group = self._held[token] = set()
            self._ready[token] = self.link.subscribe(WAKE + token, lambda data: self._woken(token, data))
        group.add(poll)
        return passed(self._ready[token])

    def remove(self, token: str, poll: "HeldPoll") -> None:
        group = self._held.get(token)
        if group is None:
            return
        group.discard(poll)
        if not group:
            del self._held[token], self._ready[token]
            self.link.unsubscribe(WAKE + token)

    def reconnected(self) -> None:
        """Redis dropped what was published while the link was away: every held poll reads again."""
        for group in list(self._held.values()):
            for poll in list(group):
                poll.look()

    def _woken(self, token: str, data: bytes) -> None:
        kind, number = data[:1], data[1:]
        for poll in list(self._held.get(token, ())):
            if kind == b"a":
                poll.look()
            elif kind == b"p":
                poll.superseded(int(number))
            else:
                poll.removed()


class HeldPoll:
    """
    A poll with nothing to answer yet: it listens on the session's wake
    channel, reads once more when the subscription holds (closing the race
    with an append made meanwhile), and answers when an entry comes,
    when a newer poll starts, when the session ends, or at its timeout.
    """

    def __init__(self, store: PollStore, wakes: Wakes, clock, token: str, taken: Taken, timeout: float) -> None:
        self.store, self.wakes, self.clock, self.token = store, wakes, clock, token
        self.after, self.number = taken.after, taken.number
        self.done = False
        self.d: Deferred = Deferred(canceller=lambda _: self._stop())
        self._timer = clock.callLater(timeout, self._end)
        wakes.add(token, self).addCallback(lambda _: self.look())

    def look(self) -> None:
        if not self.done:
            self._take("look").addCallbacks(self._found, self._failed)

    def superseded(self, number: int) -> None:
        if number > self.number:
            self._end()

    def removed(self) -> None:
        self._answer(Batch((), self.after))

    def _end(self) -> None:
        if not self.done:
            self._take("end").addCallbacks(lambda taken: self._answer(taken.batch()), self._failed)

    def _take(self, mode: str) -> Deferred:
        return self.store.take(self.token, self.after, ms(self.clock), mode, number=self.number)

    def _found(self, taken: Taken) -> None:
        if taken.entries:
            self._answer(taken.batch())

    def _failed(self, failure) -> None:
        if failure.check(SessionGone) and failure.value.code == NONE:
            self._answer(Batch((), self.after))  # ended meanwhile, as a DELETE answers it: the next poll is told
        elif not self.done:  # lost (this read deleted the keys: it must say so), or Redis failed
            self._stop()
            self.d.errback(failure)

    def _answer(self, batch: Batch) -> None:
        if not self.done:
            self._stop()
            self.d.callback(batch)

    def _stop(self) -> None:
        self.done = True
        if self._timer.active():
            self._timer.cancel()
        self.wakes.remove(self.token, self)


class SharedPolls:
    """
    Polls on this node for any session of the cluster.

    @param owns: whether this node holds the session of a token (a record
        naming this node for a session it does not hold is stale: this
        node restarted).
    """

    def __init__(self, cluster, clock, owns: Callable[[str], bool]) -> None:
        self.store = PollStore(cluster)
        self.wakes = Wakes(cluster.link)
        cluster.link.on_reconnect(self.wakes.reconnected)
        self.clock = clock
        self.node = cluster.name
        self.owns = owns

    def wait(self, token: str, after: int, timeout: float) -> Deferred:
        """
        Deferred firing with the L{Batch} after C{after}, at once if there
        is one (or C{timeout} is 0), else when one comes, else empty after
        C{timeout} seconds; failing with L{SessionGone}.
        """
        hold = int(timeout * 1000) if timeout > 0 else 0
        d = self.store.take(token, after, ms(self.clock), "poll", hold)
        return d.addCallback(self._taken, token, timeout)

    def _taken(self, taken: Taken, token: str, timeout: float):
        self.check_owner(token, taken.owner)
        if taken.entries or timeout <= 0:
            return taken.batch()
        return HeldPoll(self.store, self.wakes, self.clock, token, taken, timeout).d

    def check_owner(self, token: str, owner: str) -> None:
        """A record naming this node for a session it does not hold is lost (this node restarted)."""
        if owner == self.node and not self.owns(token):
            self.store.remove(token).addErrback(lambda f: None)
            raise SessionGone(LOST, owner)

    def owner(self, token: str) -> Deferred:
        """Deferred firing with the node holding C{token}'s session, or failing with L{SessionGone}."""
        return self.store.owner(token).addCallback(lambda owner: self.check_owner(token, owner) or owner)


__all__ = ["HeldPoll", "SharedPolls", "Wakes"]
