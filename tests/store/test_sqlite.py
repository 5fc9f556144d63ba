# -*- test-case-name: tests.store.test_sqlite -*-
"""
Tests for L{chatd.store.sqlite}: the IStore contract, then what only a
durable, threaded store has (restarts, group commit, pruning, failures).
Every test uses a real SQLite file under C{tmp_path}.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing

import pytest
import pytest_twisted
from account_contract import AccountContract, DurableAccountContract, ModerationContract
from conversation_contract import ConversationContract, DurableConversationContract
from sqlite_files import change, query
from store_contract import DurableContract, StoreContract, fill, ids, say
from twisted.logger import formatEvent

from chatd.store.sqlite import SCHEMA_VERSION, SQLiteStore, StoreError


@pytest.fixture(params=[True, False], ids=["in-reactor", "writer-thread"])
def open_store(request, open_store):
    """The conftest's, run twice: calls in the reactor thread (durability = normal) and in the writer thread (full)."""

    def open_(name="chat.sqlite3", **kw):
        kw.setdefault("in_reactor", request.param)
        return open_store(name, **kw)

    return open_


class TestSQLiteContract(StoreContract, DurableContract, AccountContract, ModerationContract,
                         DurableAccountContract, ConversationContract, DurableConversationContract):
    @pytest.fixture
    def store(self, open_store):
        return pytest_twisted.blockon(open_store())

    @pytest.fixture
    def reopen(self, open_store):
        def reopen_(store):
            return store.close().addCallback(lambda _: open_store())

        return reopen_


def page(store, room, limit, **kw):
    return store.recent(room, limit, **kw).addCallback(lambda r: (ids(r[0]), r[1]))


@pytest_twisted.inlineCallbacks
def test_reopen_keeps_everything(open_store):
    """Ids continue, topics, display names and client ids survive a restart."""
    store = yield open_store()
    yield fill(store, "#a", 3)
    yield say(store, "#Bee", "x", ts=1000.0, cid="c1")
    yield store.set_topic("#a", "Hello", "alice")
    yield store.close()

    store = yield open_store()
    assert ((yield store.last_id("#a")), (yield store.last_id("#BEE"))) == (3, 1)
    record = yield store.room("#A")
    assert (record.topic, record.topic_by) == ("Hello", "alice")
    assert (yield say(store, "#a", "next"))[0] == 4
    assert (yield say(store, "#bee", "x", ts=1010.0, cid="c1")) == (1, 1000.0, False)
    rows, more = yield store.recent("#bee", 10)
    assert [(e.room, e.text, e.id, e.ts, e.cid) for e in rows] == [("#Bee", "x", 1, 1000.0, "c1")]
    assert (yield page(store, "#a", 10)) == ([1, 2, 3, 4], False)


@pytest_twisted.inlineCallbacks
def test_schema_and_pragmas(open_store, tmp_path, logged):
    """The file is in WAL mode at the current schema version; the log tells the durability in use."""
    for name, durability in [("n.db", "normal"), ("f.db", "full")]:
        store = yield open_store(name, durability=durability)
        assert query(tmp_path / name, "PRAGMA journal_mode") == [("wal",)]
        assert query(tmp_path / name, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
        opened = [e for e in logged if e.get("store") == store.name and "durability" in e]
        assert [(e["journal"], e["durability"], e["version"]) for e in opened] == [("wal", durability, SCHEMA_VERSION)]
        assert formatEvent(opened[0]) == (
            f"{store.name} is open: schema version {SCHEMA_VERSION}, journal wal, durability {durability}"
        )
    with pytest.raises(ValueError, match="'normal' or 'full', not paranoid"):
        SQLiteStore("x.db", None, durability="paranoid")


@pytest_twisted.inlineCallbacks
def test_reactor_never_waits_for_the_file(open_store, tmp_path):
    """
    While another process holds the file's write lock, calls return at once
    and their results come once the lock is released: SQLite is only
    touched in the store's own thread.
    """
    store = yield open_store()
    yield say(store, "#a", "before")
    with closing(sqlite3.connect(tmp_path / "chat.sqlite3", isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        stored, read = say(store, "#a", "while locked"), store.last_id("#a")
        assert time.monotonic() - started < 0.5
        assert not stored.called and not read.called
        other.execute("COMMIT")
    assert (yield stored)[0] == 2
    assert (yield read) == 2


@pytest_twisted.inlineCallbacks
def test_newer_schema_refused(open_store, tmp_path):
    """A file from a newer chatd is not opened (nor changed)."""
    yield (yield open_store("new.db")).close()
    with sqlite3.connect(tmp_path / "new.db") as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="schema version 99"):
        yield open_store("new.db")


@pytest_twisted.inlineCallbacks
def test_open_failure(reactor, tmp_path):
    """A file that cannot be created errbacks open() and whatever was queued."""
    store = SQLiteStore(str(tmp_path / "missing" / "x.db"), reactor)
    opened = store.open()
    queued = say(store, "#a", "early")
    with pytest.raises(StoreError, match="unable to open"):
        yield opened
    with pytest.raises(StoreError, match="could not be opened"):
        yield queued
    with pytest.raises(StoreError, match="not open"):
        yield say(store, "#a", "late")
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_calls_while_opening(reactor, tmp_path):
    """Calls made before open() has fired are queued behind it."""
    store = SQLiteStore(str(tmp_path / "x.db"), reactor)
    opened = store.open()
    result = say(store, "#a", "early")
    yield opened
    assert (yield result)[0] == 1
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_close_twice_and_while_opening(reactor, tmp_path):
    """close() may be called before open() has fired, and again: every caller is told."""
    store = SQLiteStore(str(tmp_path / "x.db"), reactor)
    opened = store.open()
    stored = say(store, "#a", "quick")
    first, second = store.close(), store.close()
    yield opened
    assert (yield stored)[0] == 1
    assert (yield first) is None and (yield second) is None
    assert (yield store.close()) is None
    with pytest.raises(StoreError, match="already opened"):
        yield store.open()


@pytest_twisted.inlineCallbacks
def test_group_commit(open_store):
    """A thousand appends queued at once take far fewer than a thousand commits."""
    store = yield open_store()
    before = store.commits
    results = yield fill(store, "#a", 1000)
    assert [r[0] for r in results] == list(range(1, 1001))
    assert store.commits - before <= 50


@pytest_twisted.inlineCallbacks
def test_no_group_commit(open_store):
    """With group commit off, each append is its own transaction."""
    store = yield open_store(group_commit=False)
    before = store.commits
    results = yield fill(store, "#a", 200)
    assert [r[0] for r in results] == list(range(1, 201))
    assert store.commits - before == 200


@pytest_twisted.inlineCallbacks
def test_close_flushes(open_store):
    """close() lets every queued write commit and fire first; later calls fail."""
    store = yield open_store()
    fired = []
    for i in range(300):
        say(store, "#a", f"m{i}").addCallback(lambda r: fired.append(r[0]))
    yield store.close().addCallback(lambda _: fired.append("closed"))
    assert fired == list(range(1, 301)) + ["closed"]
    with pytest.raises(StoreError, match="not open"):
        yield say(store, "#a", "late")
    store = yield open_store()
    assert (yield store.last_id("#a")) == 300
    assert (yield page(store, "#a", 1000))[0] == list(range(1, 301))


@pytest_twisted.inlineCallbacks
def test_write_failure(open_store, tmp_path, logged):
    """
    A write that fails (here SQLite refuses it, as it would on a full disk)
    errbacks with a StoreError and is logged; the writes around it still
    commit and the store keeps working.
    """
    path = tmp_path / "chat.sqlite3"
    store = yield open_store()
    yield say(store, "#a", "one")
    change(path, "CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN length(NEW.text) > 50000"
                 " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
    big = "x" * 100_000
    ok1, bad, ok2 = say(store, "#a", "two"), say(store, "#a", big), say(store, "#a", "three")
    with pytest.raises(StoreError, match="Storing the message failed .*full.*; try again later") as caught:
        yield bad
    assert isinstance(caught.value.__cause__, sqlite3.Error)
    assert caught.value.code == "unavailable"
    assert [(yield ok1)[0], (yield ok2)[0]] == [2, 3]
    assert [e["store"] for e in logged if "log_failure" in e] == [store.name]

    change(path, "DROP TRIGGER refuse")
    assert (yield say(store, "#a", big))[0] == 4
    assert (yield store.last_id("#a")) == 4
    rows, _ = yield store.recent("#a", 10)
    assert [e.text for e in rows] == ["one", "two", "three", big]


@pytest_twisted.inlineCallbacks
def test_prune_by_count(open_store, tmp_path):
    """Only the newest messages stay; C{more} tells a resuming client of the gap, after a restart too."""
    store = yield open_store()
    yield fill(store, "#a", 10)
    yield fill(store, "#b", 3)
    assert (yield store.prune(5, None, now=5000.0)) == 5
    assert query(tmp_path / "chat.sqlite3", "SELECT id FROM messages ORDER BY rid, id") == [
        (6,), (7,), (8,), (9,), (10,), (1,), (2,), (3,)
    ]
    assert (yield page(store, "#a", 100)) == ([6, 7, 8, 9, 10], False)
    assert (yield page(store, "#b", 100)) == ([1, 2, 3], False)
    assert (yield page(store, "#a", 100, after=3)) == ([6, 7, 8, 9, 10], True)
    assert (yield page(store, "#a", 100, after=4)) == ([6, 7, 8, 9, 10], True)
    assert (yield page(store, "#a", 100, after=5)) == ([6, 7, 8, 9, 10], False)
    assert (yield page(store, "#a", 2, before=7)) == ([6], False)
    yield store.close()
    store = yield open_store()
    assert (yield page(store, "#a", 100, after=3)) == ([6, 7, 8, 9, 10], True)
    assert (yield say(store, "#a", "next"))[0] == 11


@pytest_twisted.inlineCallbacks
def test_prune_by_age(open_store):
    """Messages older than the age go, oldest first; a newer one holds back those behind it."""
    store = yield open_store()
    yield fill(store, "#a", 10, ts=1000.0)  # ts 1000..1009
    assert (yield store.prune(None, 5, now=1010.0)) == 5
    assert (yield page(store, "#a", 100)) == ([6, 7, 8, 9, 10], False)
    assert (yield page(store, "#a", 100, after=0)) == ([6, 7, 8, 9, 10], True)
    for ts in (1000.0, 2000.0, 1001.0):
        yield say(store, "#b", "x", ts=ts)
    assert (yield store.prune(None, 5, now=1500.0)) == 5 + 1  # #a is all gone now
    assert (yield page(store, "#b", 100)) == ([2, 3], False)


@pytest_twisted.inlineCallbacks
def test_prune_everything(open_store):
    """Both limits apply together; pruning all messages keeps the id counter."""
    store = yield open_store()
    yield fill(store, "#a", 10, ts=1000.0)
    assert (yield store.prune(3, 5, now=1010.0)) == 7
    assert (yield page(store, "#a", 100)) == ([8, 9, 10], False)
    assert (yield store.prune(0, None, now=1010.0)) == 3
    assert (yield page(store, "#a", 100)) == ([], False)
    assert (yield page(store, "#a", 100, after=9)) == ([], True)
    assert (yield page(store, "#a", 100, after=10)) == ([], False)
    assert (yield say(store, "#a", "again"))[0] == 11


@pytest_twisted.inlineCallbacks
def test_prune_in_chunks(open_store):
    """Pruning is done in bounded steps, letting calls made meanwhile through."""
    store = yield open_store(prune_chunk=7)
    yield fill(store, "#a", 40)
    yield fill(store, "#b", 30)
    fired = []
    before = store.commits
    pruned = store.prune(5, None, now=5000.0).addCallback(lambda n: fired.append("prune") or n)
    appended = say(store, "#c", "meanwhile").addCallback(lambda r: fired.append("append"))
    assert (yield pruned) == 60
    yield appended
    assert fired == ["append", "prune"]
    assert store.commits - before >= 60 // 7
    assert (yield page(store, "#a", 100)) == ([36, 37, 38, 39, 40], False)
    assert (yield page(store, "#b", 100)) == ([26, 27, 28, 29, 30], False)


@pytest_twisted.inlineCallbacks
def test_prune_cids(open_store, tmp_path):
    """Client message ids older than the window are forgotten by prune()."""
    store = yield open_store(cid_window=100.0)
    yield say(store, "#a", "x", ts=0.0, cid="old")
    yield say(store, "#a", "y", ts=500.0, cid="new")
    assert (yield store.prune(None, None, now=550.0)) == 0
    assert query(tmp_path / "chat.sqlite3", "SELECT cid FROM cids") == [("new",)]


@pytest.mark.parametrize("group_commit", [True, False])
@pytest_twisted.inlineCallbacks
def test_close_during_prune(open_store, group_commit):
    """close() waits for a pruning that needs several steps."""
    store = yield open_store(prune_chunk=3, group_commit=group_commit)
    yield fill(store, "#a", 20)
    pruned = store.prune(0, None, now=5000.0)
    yield store.close()
    assert pruned.called
    assert (yield pruned) == 20


_WRITER = """
import sys
from twisted.internet import defer, task
from chatd.store.sqlite import SQLiteStore

async def main(reactor):
    store = SQLiteStore(sys.argv[1], reactor)
    await store.open()
    def acked(result):
        sys.stdout.write("%d\\n" % result[0])
        sys.stdout.flush()
    while True:
        await defer.gatherResults([
            store.append("#a", "message", "alice", "m", 1.0, "alice", None).addCallback(acked)
            for _ in range(50)
        ])

task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
"""


@pytest_twisted.inlineCallbacks
def test_kill_9_loses_no_acked_message(open_store, tmp_path):
    """
    A writer killed with SIGKILL under load loses nothing it acknowledged:
    every acked id is in the file afterwards.
    """
    path = str(tmp_path / "chat.sqlite3")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    child = subprocess.Popen([sys.executable, "-c", _WRITER, path], stdout=subprocess.PIPE, cwd=root,
                             env={**os.environ, "PYTHONPATH": root})
    acked = []
    try:
        while len(acked) < 3000:
            line = child.stdout.readline()
            assert line, "the writer died"
            acked.append(int(line))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    store = yield open_store()
    last = yield store.last_id("#a")
    assert last >= max(acked)
    rows, more = yield store.recent("#a", last)
    assert ids(rows) == list(range(1, last + 1))
    assert not more
