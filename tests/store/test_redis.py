# -*- test-case-name: tests.store.test_redis -*-
"""
Tests for L{chatd.store.redis}: the store contracts against a real
redis-server, then what only the shared store does: publishing in id
order, surviving Redis's C{kill -9}, never reusing ids after Redis lost
its data, and Redis's failures said in words.

What Redis publishes is read by a plain socket speaking RESP
(L{RawSubscriber}), not by the client library chatd uses.
"""

import socket
import time

import pytest
import pytest_twisted
from account_contract import AccountContract, ModerationContract, account
from conversation_contract import ConversationContract
from store_contract import StoreContract, fill, ids, say
from twisted.internet.defer import gatherResults
from twisted.internet.task import deferLater

from chatd.core.errors import AccountExists
from chatd.store.redis import RedisStore
from chatd.store.redis_connect import RedisUnavailable, connect
from chatd.wire.cluster import decode_frames


class TestRedisContract(StoreContract, AccountContract, ModerationContract, ConversationContract):
    @pytest.fixture
    def store(self, open_redis):
        return pytest_twisted.blockon(open_redis())


class RawSubscriber:
    """SUBSCRIBE on a plain socket; what Redis publishes waits in the kernel until read."""

    def __init__(self, port: int, channel: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buffer = b""
        name = channel.encode()
        self.sock.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(name), name))
        assert self.read_reply()[0] == b"subscribe"

    def close(self) -> None:
        self.sock.close()

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            self._more()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _more(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("Redis closed the subscription")
        self.buffer += data

    def read_reply(self):
        line = self._line()
        if line[:1] == b"*":
            return [self.read_reply() for _ in range(int(line[1:]))]
        if line[:1] == b"$":
            size = int(line[1:])
            while len(self.buffer) < size + 2:
                self._more()
            data, self.buffer = self.buffer[:size], self.buffer[size + 2:]
            return data
        if line[:1] == b":":
            return int(line[1:])
        return line[1:]

    def frames(self, count: int):
        """The next C{count} published frames."""
        out = []
        while len(out) < count:
            kind, _, payload = self.read_reply()
            assert kind == b"message"
            out.append(payload)
        return out

    def events(self, count: int):
        """The next C{count} published events (a frame may carry several)."""
        out = []
        while len(out) < count:
            out += decode_frames(self.frames(1)[0])
        return out

    def nothing_more(self) -> bool:
        """Whether nothing else was published (waiting a little for it)."""
        self.sock.settimeout(0.2)
        try:
            self._more()
        except socket.timeout:
            return not self.buffer
        finally:
            self.sock.settimeout(5)
        return False


@pytest.fixture
def subscribe(redis):
    made = []

    def subscribe_(channel="chatd:room:#a"):
        made.append(RawSubscriber(redis.port, channel))
        return made[-1]

    yield subscribe_
    for sub in made:
        sub.close()


@pytest_twisted.inlineCallbacks
def test_publish_order_is_id_order(open_redis, subscribe):
    """
    Two nodes (two connections) appending to one room at once: the room's
    channel carries every message once, in id order, each frame decoding
    to the message its sender was given the id of.
    """
    sub = subscribe()
    one, two = yield gatherResults([open_redis(), open_redis()])
    calls = []
    for i in range(150):
        calls.append(one.append("#A", "message", "alice", f"a{i}", 1000.0 + i, "alice #a", f"c{i}", via=7))
        calls.append(two.append("#a", "action", "bob", f"b{i}", 2000.0 + i, "bob #a", None, via=9))
    given = yield gatherResults(calls)
    assert sorted(r[0] for r in given) == list(range(1, 301))
    frames = sub.events(300)
    assert [e.id for e in frames] == list(range(1, 301))
    by_id = {e.id: e for e in frames}
    for i, (id, ts, new) in enumerate(given):
        sent = by_id[id]
        assert new and sent.ts == ts
        assert (sent.room, sent.text) == ("#A", f"a{i // 2}" if i % 2 == 0 else f"b{i // 2}")
        assert (sent.type, sent.via, sent.cid) == (("message", 7, f"c{i // 2}") if i % 2 == 0 else ("action", 9, None))
    assert sub.nothing_more()
    # Each node's own calls got their ids in call order.
    assert [r[0] for r in given[0::2]] == sorted(r[0] for r in given[0::2])


@pytest_twisted.inlineCallbacks
def test_history_is_what_was_published(open_redis, subscribe):
    """
    The history holds the published events, with the sending connection's
    serial: a node that fills a gap from the stream (after a Redis outage)
    must still know a terminal's own lines, or show them to it again.
    """
    sub = subscribe("chatd:room:#lobby")
    store = yield open_redis()
    yield store.append("#Lobby", "message", "alice", "héllo ✓", 5.25, "alice #lobby", "c1", via=3)
    (published,) = sub.events(1)
    (stored,), more = yield store.recent("#lobby", 10)
    assert (published.via, stored.via) == (3, 3)
    assert [(e.type, e.room, e.nick, e.text, e.id, e.ts, e.cid) for e in (published, stored)] == [
        ("message", "#Lobby", "alice", "héllo ✓", 1, 5.25, "c1")] * 2


@pytest_twisted.inlineCallbacks
def test_replies_and_reactions_are_published_whole(open_redis, subscribe, redis):
    """
    The room's channel carries a reply with its quote and a reaction with
    its message, its sender's account and connection, as the bus gives
    them to the other nodes; the room's index of reactions is a key like
    the others, and pruning empties it with the messages.
    """
    sub = subscribe()
    store = yield open_redis()
    yield store.append("#a", "message", "alice", "first\nsecond", 5.0, "alice #a", None)
    reply = {"reply_to": 1, "reply_nick": "alice", "reply_text": "first"}
    yield store.append("#a", "message", "bob", "yes", 6.0, "bob #a", "c2", via=4, account="Bob", extra=reply)
    yield store.append("#a", "react", "bob", "👍", 7.0, "bob #a", None, via=4, account="Bob", extra={"message": 1})
    frames = sub.events(3)
    assert [(e.type, e.id, e.room, e.nick) for e in frames] == [
        ("message", 1, "#a", "alice"), ("message", 2, "#a", "bob"), ("react", 3, "#a", "bob")]
    assert frames[0].text == "first\nsecond"
    assert (frames[1].reply_to, frames[1].reply_nick, frames[1].reply_text) == (1, "alice", "first")
    assert frames[1].cid == "c2"
    assert (frames[2].message, frames[2].reaction, frames[2].account, frames[2].via) == (1, "👍", "Bob", 4)
    assert redis.cli("ZRANGE", "chatd:reactions:#a", "0", "-1", "WITHSCORES") == "3\n1"
    yield store.prune(1, None, now=10.0)
    assert redis.cli("EXISTS", "chatd:reactions:#a") == "0"


@pytest_twisted.inlineCallbacks
def test_retry_after_redis_kill_9(open_redis, redis, subscribe, reactor):
    """
    Redis killed with SIGKILL and started again on its append-only file:
    the same store goes on over its new connection; a client retrying a
    message gets its first id and nothing is published again; ids go on.
    """
    store = yield open_redis()
    yield fill(store, "#a", 4)
    first = yield say(store, "#a", "once", ts=2000.0, cid="c1")
    assert first == (5, 2000.0, True)
    redis.kill()
    yield deferLater(reactor, 0.1)  # the store sees its connection closed, as a running node would
    redis.start()
    sub = subscribe()
    assert (yield say(store, "#a", "once", ts=2001.0, cid="c1")) == (5, 2000.0, False)
    assert (yield say(store, "#a", "next", ts=2002.0))[0] == 6
    assert [e.text for e in sub.events(1)] == ["next"]
    assert sub.nothing_more()
    rows, more = yield store.recent("#a", 10)
    assert (ids(rows), more) == ([1, 2, 3, 4, 5, 6], False)


@pytest_twisted.inlineCallbacks
def test_lost_redis_never_reuses_ids(open_redis, redis, tmp_path):
    """
    Redis emptied (FLUSHALL, as a restart without its file would): a node
    started again with its epoch file gives ids above every old one, and a
    client resuming from an old id is told history is missing.
    """
    store = yield open_redis()
    yield fill(store, "#a", 3)
    epoch = (tmp_path / "state" / "cluster-epoch").read_text().strip()
    assert epoch == store.epoch
    redis.cli("FLUSHALL")
    before = int(time.time() * 1000)
    store = yield open_redis()
    assert store.epoch != epoch
    assert (tmp_path / "state" / "cluster-epoch").read_text().strip() == store.epoch
    id, _, _ = yield say(store, "#a", "after")
    assert id > before
    assert (yield store.recent("#a", 10, after=2)) [1] is True
    assert ids((yield store.recent("#a", 10, after=id - 1))[0]) == [id]
    record = yield store.room("#a")
    assert (record.last_id, record.pruned_below) == (id, id)


@pytest_twisted.inlineCallbacks
def test_lost_redis_noticed_while_running(open_redis, redis, tmp_path, logged):
    """
    Redis emptied under a running node: the next room record it makes
    starts above every old id, it learns the new epoch and says so.
    """
    store = yield open_redis()
    yield fill(store, "#a", 3)
    old = store.epoch
    redis.cli("FLUSHALL")
    id, _, new = yield say(store, "#a", "after")
    assert new and id > 3 and id > int(time.time() * 1000) - 60_000
    rows, more = yield store.recent("#a", 10, after=3)
    assert (ids(rows), more) == ([id], True)
    assert store.epoch not in ("", old)
    assert (tmp_path / "state" / "cluster-epoch").read_text().strip() == store.epoch
    assert any("lost chatd's data while this node was running" in e["log_format"] for e in logged)


@pytest_twisted.inlineCallbacks
def test_node_with_stale_epoch_raises_floor(open_redis, redis, tmp_path):
    """
    A node that knew another epoch than the one Redis now has (another node
    made the record again first) raises the floor for rooms made from then on.
    """
    yield open_redis("a")
    redis.cli("FLUSHALL")
    fresh = yield open_redis("b")  # a node that never saw the old epoch: nothing looks lost
    assert (yield say(fresh, "#x", "hi"))[0] == 1
    stale = yield open_redis("a")
    assert stale.epoch == fresh.epoch
    assert (yield say(stale, "#y", "hi"))[0] > 1000
    assert (yield say(stale, "#x", "again"))[0] == 2  # a room that exists keeps its ids


@pytest_twisted.inlineCallbacks
def test_raise_floor(open_redis):
    """A node that delivered ids the room no longer has raises its floor: ids go on above, old resumes are told."""
    store = yield open_redis()
    yield fill(store, "#a", 3)
    assert (yield store.raise_floor("#A", 40)) == 40
    assert (yield store.raise_floor("#a", 10)) == 40
    assert (yield say(store, "#a", "next"))[0] == 41
    assert (yield store.recent("#a", 10, after=39))[1] is True
    assert ids((yield store.recent("#a", 10, after=40))[0]) == [41]
    assert ids((yield store.recent("#a", 10))[0]) == [41]


@pytest_twisted.inlineCallbacks
def test_flushed_scripts_are_sent_again(open_redis, redis):
    """Scripts flushed from Redis (SCRIPT FLUSH) are sent again as the calls need them, in call order."""
    store = yield open_redis()
    yield say(store, "#a", "one")
    redis.cli("SCRIPT", "FLUSH")
    fired = []
    calls = [say(store, "#a", "two"), store.last_id("#a"), store.room("#a"), say(store, "#a", "three")]
    for i, d in enumerate(calls):
        d.addCallback(lambda r, i=i: fired.append(i) or r)
    two, last, _, three = yield gatherResults(calls)
    assert (two[0], three[0], fired) == (2, 3, [0, 1, 2, 3])


@pytest_twisted.inlineCallbacks
def test_what_never_expires(open_redis, redis):
    """Room records, histories and accounts have no expiry; a client message id has the window."""
    store = yield open_redis(cid_window=600.0)
    yield say(store, "#a", "hi", cid="c1")
    yield store.create_account(account("alice"))
    for key in ("chatd:room:#a", "chatd:history:#a", "chatd:account:alice", "chatd:cluster"):
        assert redis.cli("PTTL", key) == "-1", key
    assert 590_000 < int(redis.cli("PTTL", "chatd:cid:5:alice:c1")) <= 600_000


@pytest_twisted.inlineCallbacks
def test_account_race_across_nodes(open_redis):
    """Two nodes registering one name (or look-alikes) at once: exactly one wins each time."""
    one, two = yield gatherResults([open_redis(), open_redis()])
    for name, other in [("alice", "ALICE"), ("bob", "b\u043eb")]:  # Cyrillic о
        results = []
        for d in (one.create_account(account(name)), two.create_account(account(other))):
            results.append(d.addCallbacks(lambda _: "made", lambda f: f.trap(AccountExists) and "refused"))
        assert sorted((yield gatherResults(results))) == ["made", "refused"]


@pytest_twisted.inlineCallbacks
def test_lost_connection_is_said(open_redis, redis, reactor):
    """A call under way when Redis dies fails with an operator's sentence, not a ChatError; later calls go on."""
    store = yield open_redis()
    yield say(store, "#a", "one")
    redis.pause()
    pending = say(store, "#a", "two")
    yield deferLater(reactor, 0.05)  # the turn ends: the message is on its way to Redis
    redis.kill()
    with pytest.raises(RedisUnavailable) as caught:
        yield pending
    assert str(caught.value).startswith(f"Storing the message failed: the connection to Redis at {redis.endpoint} is"
                                        " down (")
    assert str(caught.value).endswith("chatd connects again by itself.")
    yield deferLater(reactor, 0.1)
    redis.start()
    assert (yield say(store, "#a", "three"))[0] in (2, 3)  # "two" may have been stored before the kill


@pytest_twisted.inlineCallbacks
def test_epoch_file_unwritable(open_redis, redis, tmp_path, logged, reactor):
    """
    A state directory chatd cannot write stops the store opening, saying
    so; one that becomes unwritable while it runs is logged, and the
    message that found the new epoch is still stored.
    """
    (tmp_path / "blocked").write_text("not a directory")
    conn = yield connect(redis.endpoint, reactor=reactor)
    try:
        with pytest.raises(OSError, match="^Cannot write the cluster epoch file .*/blocked/state/cluster-epoch .*;"
                                          " check that chatd may write its state directory.$"):
            yield RedisStore(conn, state_dir=str(tmp_path / "blocked" / "state")).open()
    finally:
        yield conn.disconnect()
    store = yield open_redis()
    epoch_file = tmp_path / "state" / "cluster-epoch"
    epoch_file.unlink()
    epoch_file.mkdir()  # the file cannot be replaced now
    redis.cli("FLUSHALL")
    id, _, new = yield say(store, "#a", "after")
    assert new and (yield store.message("#a", id)).text == "after"
    assert any(e.get("log_level").name == "error" and "Cannot write the cluster epoch file" in e["error"]
               for e in logged if "error" in e)
