# -*- test-case-name: tests.store.test_redis -*-
"""
The store shared by the nodes of a cluster, on one Redis primary
(docs/cluster.md): rooms and their histories here; accounts, tokens and
private messages in L{chatd.store.redis_accounts}; roles, bans and marks
in L{chatd.store.redis_moderation}; retention in L{chatd.store.redis_prune}.

It answers exactly as L{chatd.store.memory.MemoryStore} does (the same
contract tests run on both), and more: a message is stored and published
by one script (C{append.lua}, with the room's other messages of the same
reactor turn: L{chatd.store.redis_appends}): the client message id
check, the next id, the history entry (stream entry id C{<id>-0}),
retention and the PUBLISH of the frame C{b"<id>\\n" + values} to the
room's channel, so the channel carries a room's messages in id order.

Ids are never given out twice (L{chatd.store.redis_epoch}).  Redis must
keep an append-only file (L{chatd.store.redis_connect.check_persistence})
and must not evict chatd's keys (L{chatd.store.redis_keys}).
"""

import dataclasses
import json
from typing import Optional

from twisted.internet.defer import Deferred
from zope.interface import implementer

from chatd.core.events import ACTION, MESSAGE, Action, Event, Message, stored
from chatd.core.interfaces import IAccountStore, IModerationStore, IStore
from chatd.core.text import fold
from chatd.store import redis_keys as keys
from chatd.store import redis_scripts
from chatd.store.records import RoomRecord, Settings
from chatd.store.redis_accounts import RedisAccounts
from chatd.store.redis_appends import Appends
from chatd.store.redis_calls import Calls
from chatd.store.redis_epoch import Epoch
from chatd.store.redis_moderation import RedisModeration
from chatd.store.redis_prune import RedisRetention
from chatd.store.redis_streams import bounds, entry_number, page, stream_id
from chatd.wire import cluster

__all__ = ["RedisStore"]

#: The row types that are messages; the others (reactions) are on one.
_MESSAGES = (MESSAGE, ACTION)


def _event(entry) -> Event:
    """
    A history entry as L{IStore.recent} gives it: its id, without the
    sender's account (the bus carries it live; history has none, as in
    every store).  It keeps the serial of the connection that sent it
    (unique across nodes): a node catching up from the stream after a
    Redis outage must not show a terminal user its own lines again.
    """
    entry_id, fields = entry
    event = cluster.decode(fields[3])  # t, <ts>, v, <value>
    return dataclasses.replace(event, id=entry_number(entry_id), account=None)


def _message(found) -> Optional[Event]:
    """An XRANGE of one entry as a message, or None: nothing there, or a reaction."""
    if not found:
        return None
    event = _event(found[0])
    return event if event.type in _MESSAGES else None


def _by_id(event: Event) -> int:
    return event.id


@implementer(IStore, IAccountStore, IModerationStore)
class RedisStore(RedisAccounts, RedisModeration, RedisRetention):
    """
    @param conn: a connected txredisapi handler of one connection, with
        answers as bytes (L{chatd.store.redis_connect.connect} makes one);
        the caller keeps it and disconnects it.
    @param keep: the most messages kept per room (and per account's
        private messages).
    @param cid_window: seconds (by message timestamp) a client message id
        is remembered for.
    @param state_dir: the node's state directory, where it keeps the
        cluster's epoch (L{chatd.store.redis_epoch}); None keeps nothing.
    @param clock: C{seconds()} for the time of the cluster record.
    @param where: where Redis is (the endpoint string), for messages.
    """

    def __init__(self, conn, keep: int = 1000, cid_window: float = 86400.0, state_dir: Optional[str] = None,
                 clock=None, where: str = "redis") -> None:
        if clock is None:
            from twisted.internet import reactor as clock
        self.name = f"redis:{where}"
        self._scripts = redis_scripts.load()
        self._calls = Calls(conn, where, self._scripts)
        self._epoch = Epoch(state_dir, where)
        self._clock = clock
        self._keep = keep
        self._cid_window = cid_window
        self._appends = Appends(self._calls, clock, self._epoch, keep, cid_window)

    @property
    def epoch(self) -> str:
        """The cluster's epoch, as this node knows it (for C{chatctl status})."""
        return self._epoch.known

    def open(self) -> Deferred:
        """Load the scripts and make or check the cluster record."""
        calls = self._calls
        for script in self._scripts.values():
            calls.command("Loading the store's scripts", "SCRIPT", "LOAD", script.text)
        return self._epoch.open(calls, self._clock.seconds())

    def close(self) -> Deferred:
        """Wait for the calls under way; the connection is the caller's to close."""
        self._appends.send()
        return self._calls.idle()

    # -- room messages ----------------------------------------------------------

    def append(self, room: str, type: str, nick: str, text: str, ts: float, identity: str,
               cid: Optional[str], via: Optional[int] = None, account: Optional[str] = None,
               extra: Optional[dict] = None) -> Deferred:
        """
        The stream entry is the event as the bus carries it (a reply's
        quote and a reaction's message are its fields), so C{extra} needs
        no column of its own; a reaction also goes in the room's index.
        """
        key = fold(room)
        on = ""
        if extra is None:  # the common case, as cheap as before
            event = (Action if type == ACTION else Message)(room=None, nick=nick, text=text, ts=ts, cid=cid,
                                                            via=via, account=account)
        else:
            event = dataclasses.replace(stored(type, None, nick, text, None, ts, cid, extra), via=via,
                                        account=account)
            if type not in _MESSAGES:
                on = "%d" % extra["message"]
        value = cluster.encode(event)
        if not 0x80 <= value[0] < 0x8F:  # append.lua adds "room" to a fixmap of at most 14 fields
            return self._calls.refuse(ValueError(f"A message of {len(value)} fields cannot be stored."))
        return self._appends.add(key, room, identity, cid, value, ts, on)

    def recent(self, room: str, limit: int, before: Optional[int] = None, after: Optional[int] = None,
               oldest: bool = False) -> Deferred:
        key = fold(room)
        high, low, count = bounds(limit, before, after)

        def rows(answer):
            found, more = page(answer, limit, after, oldest)
            return [_event(entry) for entry in found], more

        return self._calls.script("Reading the history", "history", [keys.room(key), keys.history(key)],
                                  ["pruned_below", high, low, count, "oldest" if oldest else "newest"], then=rows)

    def message(self, room: str, id: int) -> Deferred:
        if not isinstance(id, int) or id < 1:
            return self._calls.answer(None)
        entry = stream_id(id)
        return self._calls.command("Reading the message", "XRANGE", keys.history(fold(room)), entry, entry,
                                   then=_message)

    def reactions(self, room: str, ids) -> Deferred:
        """
        By the room's index of reactions (a sorted set scored by message),
        not by reading the stream from the oldest message asked for: a page
        deep in a long history costs its own reactions, not the history's.
        """
        wanted = sorted({id for id in ids if isinstance(id, int) and id > 0})
        if not wanted:
            return self._calls.answer([])
        key = fold(room)
        return self._calls.script(
            "Reading the reactions", "reactions", [keys.history(key), keys.reactions(key)],
            ["%d" % wanted[0], "%d" % wanted[-1], *("%d" % id for id in wanted)],
            then=lambda rows: sorted((_event(entry) for entry in rows), key=_by_id),
        )

    def delete_message(self, room: str, id: int) -> Deferred:
        """Forget one message; the room's counter keeps its id from being given out again, its cid stays."""
        if not isinstance(id, int) or id < 1:
            return self._calls.answer(False)
        return self._calls.command("Deleting the message", "XDEL", keys.history(fold(room)), stream_id(id),
                                   then=lambda n: n > 0)

    def last_id(self, room: str) -> Deferred:
        return self._calls.command("Reading the room", "HGET", keys.room(fold(room)), "last",
                                   then=lambda last: int(last) if last is not None else 0)

    def raise_floor(self, room: str, last: int) -> Deferred:
        """
        Redis-only, not in L{IStore}: a node whose feed already delivered
        ids up to C{last} in C{room}, above the room's last id, has seen
        Redis lose them.  Ids go on above C{last}, and a resume from below
        it is told that history is missing (C{recent} says C{more}).
        Deferred firing with the room's last id.
        """
        key = fold(room)
        epoch = self._epoch

        def raised(answer) -> int:
            if len(answer) > 1:
                epoch.learn(answer[1])
            return answer[0]

        return self._calls.script(
            "Raising the room's ids", "raise_floor",
            [keys.room(key), keys.history(key), keys.CLUSTER, keys.STORED_ROOMS],
            [key, room, "%d" % last, epoch.known, epoch.candidate], then=raised,
        )

    # -- room records --------------------------------------------------------------

    def room(self, room: str) -> Deferred:
        return self._calls.command("Reading the room", "HGETALL", keys.room(fold(room)), then=_record)

    def save_room(self, record: RoomRecord) -> Deferred:
        if not isinstance(record, RoomRecord):
            return self._calls.refuse(TypeError(f"save_room needs a RoomRecord, not {type(record).__name__}"))
        key = fold(record.name)
        settings = json.dumps(dict(record.settings), sort_keys=True)
        return self._room_script("Storing the room", "save_room", key,
                                 [record.name, record.topic, record.topic_by, settings])

    def set_topic(self, room: str, topic: str, nick: str) -> Deferred:
        return self._room_script("Storing the topic", "set_topic", fold(room), [room, topic, nick])

    def _room_script(self, what: str, name: str, key: str, args: list) -> Deferred:
        epoch = self._epoch

        def done(learn) -> None:
            if learn is not None:
                epoch.learn(learn)

        return self._calls.script(what, name, [keys.room(key), keys.CLUSTER, keys.STORED_ROOMS],
                                  [key, *args, epoch.known, epoch.candidate], then=done)


def _record(found) -> Optional[RoomRecord]:
    if not found:
        return None
    fields = {found[i].decode(): found[i + 1] for i in range(0, len(found), 2)}
    return RoomRecord(
        fields["name"].decode(), fields["topic"].decode(), fields["topic_by"].decode(),
        Settings(json.loads(fields["settings"])), int(fields["last"]), int(fields["pruned_below"]),
    )
