# -*- test-case-name: tests.frontends.test_longpoll_cluster -*-
"""
The Redis side of long-poll sessions, for a cluster with no sticky
sessions: any node answers a session's polls (docs/protocol.md, "Long-poll
API"; docs/cluster.md).

Keys (Lua in chatd/cluster/scripts/polls_*.lua, one call per operation):

  - C{chatd:poll:<token>}: the record, a hash: C{owner} (the node holding
    the core session), C{ip}, C{created}, C{polled} (when a poll last
    started or ended, ms), C{held}/C{heldby} (until when, and which poll,
    a poll is held), C{polls} (poll number), and the queue's counters
    (C{seq}, C{bytes}, C{marker}, C{mlen}, C{dropped}).
  - C{chatd:poll-queue:<token>}: a stream of the entries not yet
    acknowledged; entry id C{<seq>-0}, field C{d}: the encoded event.
  - channel C{chatd:poll-wake:<token>}: C{a<seq>} after an append,
    C{p<n>} when poll number n starts (an older held poll then answers
    at once), C{x} when the session ends.

Only the owner renews the keys' lifetime; a dead owner's keys expire by
themselves, and the first poll or command that finds the owner dead
deletes them at once (the session is lost).  Times are the nodes' clocks,
in ms: nodes should agree on the time (NTP).
"""

from importlib import resources
from typing import Callable, Dict, NamedTuple, Optional, Sequence, Tuple

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from chatd.cluster.node import ALIVE
from chatd.frontends.pollqueue import Batch, Entry, overflow_entry
from chatd.store.redis_scripts import Script

log = Logger(namespace="chatd.longpoll")

RECORD = "chatd:poll:"
QUEUE = "chatd:poll-queue:"
WAKE = "chatd:poll-wake:"
#: Bytes kept free for the overflow entry when the byte bound is enforced (as PollQueue).
MARKER_ROOM = 512
#: Seconds between tries to reach Redis again when the owner's check failed.
RETRY = 5.0

NONE, LOST = "no-such-session", "session-lost"


def _load() -> Dict[str, Script]:
    folder = resources.files("chatd.cluster").joinpath("scripts")
    scripts = {}
    for name in ("create", "append", "take", "owner", "activity", "remove"):
        text = folder.joinpath(f"polls_{name}.lua").read_bytes()
        scripts[name] = Script("polls_" + name, text)
    return scripts


_SCRIPTS = _load()


def _overflow_parts() -> Tuple[bytes, bytes, bytes]:
    """The overflow entry around the number dropped (twice), for the append script to complete."""
    probe = 987654321987
    parts = overflow_entry(probe).split(b"%d" % probe)
    assert len(parts) == 3, parts
    return parts[0], parts[1], parts[2]


_OVERFLOW = _overflow_parts()


class SessionGone(Exception):
    """The token names no session (C{code} L{NONE}), or its owner died (L{LOST})."""

    def __init__(self, code: str, owner: Optional[str] = None) -> None:
        super().__init__(code)
        self.code, self.owner = code, owner


class Taken(NamedTuple):
    """What a take found: the owner, the cursor (clamped), the poll number and the entries after it."""

    owner: str
    after: int
    number: int
    entries: Tuple[Entry, ...]

    def batch(self) -> Batch:
        return Batch(self.entries, self.entries[-1][0] if self.entries else self.after)


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _keys(token: str):
    return (RECORD + token, QUEUE + token)


class PollStore:
    """
    One node's calls on the session keys.

    @param cluster: the node's L{chatd.cluster.node.ClusterNode}.
    """

    def __init__(self, cluster) -> None:
        self.link = cluster.link
        self.node = cluster.name

    @property
    def conn(self):
        """The link's command connection (attached when the node joins the cluster, after the front ends are built)."""
        return self.link.conn

    def create(self, token: str, ip: str, now_ms: int, ttl_ms: int) -> Deferred:
        return _SCRIPTS["create"](self.conn, _keys(token), (self.node, ip, now_ms, ttl_ms))

    def append(self, token: str, entries: Sequence[bytes], ttl_ms: int, backlog: int,
               max_bytes: Optional[int]) -> Deferred:
        """Deferred firing with the newest seq, or None when the session is gone."""
        args = (WAKE + token, ttl_ms, max(2, backlog), max_bytes or 0, MARKER_ROOM, *_OVERFLOW, *entries)
        d = _SCRIPTS["append"](self.conn, _keys(token), args)
        return d.addCallback(lambda seq: None if int(seq) < 0 else int(seq))

    def take(self, token: str, after: int, now_ms: int, mode: str, hold_ms: int = 0, number: int = 0) -> Deferred:
        """
        Acknowledge up to C{after} and read what follows (polls_take.lua
        says what C{mode} does).  Deferred firing with a L{Taken}, or
        failing with L{SessionGone}.
        """
        args = (after, now_ms, mode, hold_ms, number, self.node, ALIVE, WAKE + token)
        return _SCRIPTS["take"](self.conn, _keys(token), args).addCallback(self._taken)

    def _taken(self, reply) -> Taken:
        state = int(reply[0])
        if state == 0:
            raise SessionGone(NONE)
        owner = _text(reply[1])
        if state == 1:
            raise SessionGone(LOST, owner)
        flat = reply[4:]
        entries = tuple((int(flat[i].split(b"-", 1)[0]), flat[i + 1]) for i in range(0, len(flat), 2))
        return Taken(owner, int(reply[2]), int(reply[3]), entries)

    def owner(self, token: str) -> Deferred:
        """Deferred firing with the node holding the session, or failing with L{SessionGone}."""

        def found(reply) -> str:
            state = int(reply[0])
            if state == 0:
                raise SessionGone(NONE)
            if state == 1:
                raise SessionGone(LOST, _text(reply[1]))
            return _text(reply[1])

        return _SCRIPTS["owner"](self.conn, _keys(token), (self.node, ALIVE)).addCallback(found)

    def activity(self, token: str, ttl_ms: int) -> Deferred:
        """Deferred firing with the latest poll activity (ms), or None when the session is gone; renews the keys."""

        def latest(reply) -> Optional[int]:
            return max(int(reply[0]), int(reply[1])) if reply else None

        return _SCRIPTS["activity"](self.conn, _keys(token), (ttl_ms,)).addCallback(latest)

    def remove(self, token: str) -> Deferred:
        """Delete the session's keys and answer a poll held anywhere."""
        return _SCRIPTS["remove"](self.conn, _keys(token), (WAKE + token,))


def ms(clock) -> int:
    """C{clock}'s time in whole milliseconds, as the record keeps times."""
    return int(clock.seconds() * 1000)


def passed(d: Deferred) -> Deferred:
    """A Deferred firing with None once C{d} has fired, leaving C{d}'s result alone."""
    out: Deferred = Deferred()

    def fire(result):
        out.callback(None)
        return result

    d.addBoth(fire)
    return out


class SharedQueue:
    """
    The owner's side of a session's queue (what L{PollQueue} is on one
    node): what the core delivers during one reactor turn is appended in
    one script call; the idle timer asks Redis when the session last
    polled, on whichever node, and renews the keys.

    @param turn: a L{chatd.frontends.outbox.Turn}: calls C{flush()} once at the end of the turn.
    @param ttl: seconds the keys outlive the owner's last renewal.
    @param on_idle: called when no poll was made for C{idle} seconds.
    @param on_gone: called when the keys vanished under a live owner (another
        node judged it dead, or Redis lost its data).
    """

    def __init__(self, store: PollStore, token: str, ip: str, clock, turn, *, backlog: int,
                 max_bytes: Optional[int], idle: Optional[float], ttl: float,
                 on_idle: Callable[[], None], on_gone: Callable[[], None]) -> None:
        self.store, self.token, self.clock, self.turn = store, token, clock, turn
        self.backlog, self.max_bytes, self.idle, self.ttl_ms = backlog, max_bytes, idle, int(ttl * 1000)
        self.on_idle, self.on_gone = on_idle, on_gone
        self.closed = False
        self._pending = []
        self._marked = False
        created = store.create(token, ip, ms(clock), self.ttl_ms)
        #: Fires once the session's record is in Redis (or fails: the session could not be stored).
        self.ready: Deferred = Deferred()
        created.addCallbacks(self.ready.callback, self.ready.errback)
        self._last = created
        self._check_call = clock.callLater(self._period(), self._check)

    def _period(self) -> float:
        return self.idle if self.idle else self.ttl_ms / 3000

    def append(self, data: bytes) -> None:
        """Queue one encoded event; it reaches Redis at the end of this reactor turn."""
        if self.closed:
            return
        self._pending.append(data)
        if not self._marked:
            self._marked = True
            self.turn.mark(self)

    def flush(self) -> None:
        self._marked = False
        if not self._pending or self.closed:
            return
        batch, self._pending = self._pending, []
        d = self.store.append(self.token, batch, self.ttl_ms, self.backlog, self.max_bytes)
        d.addCallback(self._appended)
        d.addErrback(self._failed, f"queue {len(batch)} events")
        self._last = d

    def flushed(self) -> Deferred:
        """Deferred firing once everything appended so far is in Redis (a reply must not overtake its events)."""
        self.flush()
        return passed(self._last)

    def _appended(self, seq: Optional[int]) -> None:
        if seq is None and not self.closed:
            self._gone()

    def _failed(self, failure, what: str) -> None:
        log.warn("Could not {what} for the long-poll session {token} in Redis: {why}; its client misses them "
                 "and should rejoin its rooms with since", what=what, token=self.token[:6] + "...",
                 why=failure.getErrorMessage())

    # -- idleness ---------------------------------------------------------------------

    def _check(self) -> None:
        self._check_call = None
        d = self.store.activity(self.token, self.ttl_ms)
        d.addCallbacks(self._judge, self._unchecked)

    def _judge(self, latest: Optional[int]) -> None:
        if self.closed:
            return
        if latest is None:
            return self._gone()
        if self.idle:
            left = self.idle - (ms(self.clock) - latest) / 1000
            if left <= 0:
                return self.on_idle()
            self._check_call = self.clock.callLater(left, self._check)
        else:
            self._check_call = self.clock.callLater(self._period(), self._check)

    def _unchecked(self, failure) -> None:
        self._failed(failure, "renew the keys")
        if not self.closed:
            self._check_call = self.clock.callLater(min(self._period(), RETRY), self._check)

    def _gone(self) -> None:
        log.warn("The long-poll session {token} vanished from Redis while this node held it (another node "
                 "judged this one dead, or Redis lost its data); it ends", token=self.token[:6] + "...")
        self.on_gone()

    def close(self) -> None:
        """Stop: delete the keys (a poll held anywhere is answered); later appends are ignored."""
        if self.closed:
            return
        self.closed = True
        self._pending = []
        if self._check_call is not None and self._check_call.active():
            self._check_call.cancel()
        self._check_call = None
        self._last = self.store.remove(self.token)
        self._last.addErrback(self._failed, "delete the keys")


__all__ = ["PollStore", "SessionGone", "SharedQueue", "Taken", "ms", "passed"]
