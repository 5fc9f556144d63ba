# -*- test-case-name: tests.store.test_sqlite_accounts -*-
"""
Tests for accounts, roles, bans and deletions in L{chatd.store.sqlite}
beyond the shared contracts: what is in the file, group commit with
refusals, pruning in steps, and a C{kill -9} under load.
"""

import os
import signal
import subprocess
import sys

import pytest
import pytest_twisted
from account_contract import account, dm, dms, privates
from sqlite_files import query
from store_contract import fill, ids, say
from twisted.internet.defer import gatherResults

from chatd.core.errors import AccountExists
from chatd.store.records import BanRecord


@pytest.fixture(params=[True, False], ids=["in-reactor", "writer-thread"])
def open_store(request, open_store):
    """The conftest's, run twice: calls in the reactor thread (durability = normal) and in the writer thread (full)."""

    def open_(name="chat.sqlite3", **kw):
        kw.setdefault("in_reactor", request.param)
        return open_store(name, **kw)

    return open_


@pytest_twisted.inlineCallbacks
def test_drop_leaves_nothing_in_the_file(open_store, tmp_path):
    """A dropped account leaves no row naming it but its bans; the others' rows stay."""
    path = tmp_path / "chat.sqlite3"
    store = yield open_store()
    yield gatherResults([store.create_account(account("alice")), store.create_account(account("bob"))])
    yield gatherResults([store.add_token("d1", "alice", 9e9), store.add_token("d2", "bob", 9e9),
                         store.set_role("#den", "alice", "operator"), store.set_role("#den", "bob", "voice"),
                         dms(store, "alice", 3), dm(store, "bob", "hi"),
                         store.add_ban("#den", BanRecord("~a:alice", "bob", 1.0))])
    yield store.drop_account("alice")
    for table in ("accounts", "tokens", "roles", "privates"):
        assert query(path, f"SELECT DISTINCT key FROM {table}") == [("bob",)], table
    assert query(path, "SELECT mask FROM bans") == [("~a:alice",)]


@pytest_twisted.inlineCallbacks
def test_expired_token_deleted_when_seen(open_store, tmp_path):
    """Only the token's digest is kept, and an expired one is deleted from the file once looked up."""
    path = tmp_path / "chat.sqlite3"
    store = yield open_store()
    yield store.create_account(account("alice"))
    yield gatherResults([store.add_token("ab" * 32, "alice", 100.0), store.add_token("cd" * 32, "alice", 200.0)])
    assert query(path, "SELECT digest, key, expires FROM tokens ORDER BY expires") == [
        ("ab" * 32, "alice", 100.0), ("cd" * 32, "alice", 200.0)]
    assert (yield store.token_account("ab" * 32, 150.0)) is None
    assert query(path, "SELECT digest FROM tokens") == [("cd" * 32,)]


@pytest_twisted.inlineCallbacks
def test_refusal_keeps_the_group_commit(open_store, logged):
    """
    A refused account among hundreds of queued messages fails alone: the
    batch is not rolled back and run again one by one, and nothing is
    logged as a store failure (a refusal is an answer).
    """
    store = yield open_store()
    yield store.create_account(account("alice"))
    before = store.commits
    first = fill(store, "#a", 300)
    refused = store.create_account(account("ALICE"))
    second = fill(store, "#a", 300)
    with pytest.raises(AccountExists):
        yield refused
    assert [r[0] for r in (yield first) + (yield second)] == list(range(1, 601))
    assert store.commits - before <= 10
    assert [e for e in logged if "log_failure" in e] == []


@pytest_twisted.inlineCallbacks
def test_prune_in_steps(open_store, tmp_path):
    """Expired rows and private messages are pruned in bounded steps too, letting other calls through."""
    path = tmp_path / "chat.sqlite3"
    store = yield open_store(prune_chunk=4)
    yield gatherResults([store.create_account(account(n)) for n in ("alice", "bob")])
    yield gatherResults([store.add_token(f"t{i}", "alice", 10.0 + i) for i in range(6)]
                        + [store.add_ban(None, BanRecord(f"m{i}", "op", 1.0, until=10.0 + i)) for i in range(6)]
                        + [dms(store, "alice", 12), dms(store, "bob", 9), fill(store, "#a", 7)])
    fired = []
    before = store.commits
    pruned = store.prune(2, None, now=100.0).addCallback(lambda n: fired.append("prune") or n)
    said = dm(store, "bob", "meanwhile").addCallback(lambda _: fired.append("dm"))
    assert (yield pruned) == 10 + 8 + 5  # bob's 10th came first: his 9th and 10th are kept
    yield said
    assert fired == ["dm", "prune"]
    assert store.commits - before >= (6 + 6 + 23) // 4
    assert query(path, "SELECT count(*) FROM tokens UNION ALL SELECT count(*) FROM bans") == [(0,), (0,)]
    assert (yield privates(store, "alice", 10)) == ([11, 12], False)
    assert (yield privates(store, "bob", 10)) == ([9, 10], False)


_WRITER = """
import sys
from twisted.internet import defer, task
from chatd.core.text import fold, skeleton
from chatd.store.records import AccountRecord, BanRecord
from chatd.store.sqlite import SQLiteStore

async def main(reactor):
    store = SQLiteStore(sys.argv[1], reactor)
    await store.open()
    n = 0
    while True:
        batch = []
        for _ in range(20):
            n += 1
            name = "user%d" % n
            batch.append(store.create_account(AccountRecord(name, fold(name), skeleton(name), "h%d" % n)))
            batch.append(store.add_token("t%d" % n, name, 9e9))
            batch.append(store.set_role("#den", name, "voice"))
            batch.append(store.add_ban(None, BanRecord("mask%d" % n, name, float(n))))
            batch.append(store.append_private(name, name, "user1", "hi", float(n)))
        await defer.gatherResults(batch)
        sys.stdout.write("%d\\n" % n)
        sys.stdout.flush()

task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
"""


@pytest_twisted.inlineCallbacks
def test_kill_9_loses_no_acked_account(open_store, tmp_path):
    """
    A writer killed with SIGKILL while registering accounts loses none it
    acknowledged, nor their tokens, roles, bans or private messages.
    """
    path = str(tmp_path / "chat.sqlite3")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    child = subprocess.Popen([sys.executable, "-c", _WRITER, path], stdout=subprocess.PIPE, cwd=root,
                             env={**os.environ, "PYTHONPATH": root})
    acked = 0
    try:
        while acked < 400:
            line = child.stdout.readline()
            assert line, "the writer died"
            acked = int(line)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    store = yield open_store()
    names = [f"user{n}" for n in range(1, acked + 1)]
    found = yield gatherResults([store.account(name) for name in names])
    assert [r.password_hash for r in found] == [f"h{n}" for n in range(1, acked + 1)]
    assert (yield gatherResults([store.token_account(f"t{n}", 0.0) for n in range(1, acked + 1)])) == names
    roles = yield store.roles("#den")
    assert all(roles[name] == "voice" for name in names)
    bans = yield store.bans(None)
    assert [b.mask for b in bans[:acked]] == [f"mask{n}" for n in range(1, acked + 1)]
    streams = yield gatherResults([privates(store, name, 5) for name in names])
    assert streams == [([1], False)] * acked


@pytest_twisted.inlineCallbacks
def test_deletion_is_in_the_file(open_store, tmp_path):
    """A deleted message is gone from the file, not hidden; the room's counter stays."""
    path = tmp_path / "chat.sqlite3"
    store = yield open_store()
    yield fill(store, "#a", 3)
    yield store.delete_message("#a", 3)
    assert query(path, "SELECT id FROM messages ORDER BY id") == [(1,), (2,)]
    assert query(path, "SELECT last_id FROM rooms") == [(3,)]
    assert (yield say(store, "#a", "next"))[0] == 4
    assert ids((yield store.recent("#a", 10))[0]) == [1, 2, 4]
