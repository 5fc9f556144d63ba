"""
Tests for L{chatd.store.turnwriter}: SQLite in the reactor thread
(C{durability = normal}): one transaction per reactor turn, commits
spaced for company, checkpoints in a pool thread.
"""

import time

import pytest_twisted
from store_contract import say
from twisted.internet.defer import gatherResults
from twisted.internet.task import Clock, deferLater

from chatd.store import turnwriter
from chatd.store.sqlite import SQLiteStore


@pytest_twisted.inlineCallbacks
def test_calls_of_one_reactor_turn_share_one_transaction(reactor, tmp_path):
    store = SQLiteStore(str(tmp_path / "turn.db"), reactor, in_reactor=True)
    yield store.open()
    try:
        before = store.commits
        yield gatherResults([say(store, f"#room{i}", "hello") for i in range(40)])
        assert store.commits - before == 1
        yield say(store, "#room0", "later")
        assert store.commits - before == 2
    finally:
        yield store.close()


@pytest_twisted.inlineCallbacks
def test_a_callback_follows_each_batch_handed_back(reactor, tmp_path):
    """The service's write coalescing settles right after a batch's results, in the same reactor iteration."""
    store = SQLiteStore(str(tmp_path / "after.db"), reactor, in_reactor=True)
    seen = []
    store.after_batch(lambda: seen.append(store.commits))
    yield store.open()
    try:
        first = say(store, "#a", "one")
        first.addCallback(lambda _: seen.append("delivered"))
        yield first
        yield deferLater(reactor, 0, lambda: None)
        assert seen == ["delivered", store.commits]
    finally:
        yield store.close()


@pytest_twisted.inlineCallbacks
def test_the_log_is_checkpointed_in_the_background(reactor, tmp_path, monkeypatch):
    """The reactor's connection never checkpoints (a checkpoint syncs); a pool thread does, some time after commits."""
    monkeypatch.setattr(turnwriter, "CHECKPOINT_EVERY", 0.2)
    path = tmp_path / "ckpt.db"
    store = SQLiteStore(str(path), reactor, in_reactor=True)
    yield store.open()
    try:
        empty = path.stat().st_size
        yield gatherResults([say(store, "#a", "x" * 2000) for _ in range(300)])
        assert path.stat().st_size == empty, "the messages are in the write-ahead log, not the file yet"
        deadline = time.monotonic() + 5
        # The checkpoint copies pages into the file as it goes: wait for all of them.
        while path.stat().st_size <= 300 * 2000 and time.monotonic() < deadline:
            yield deferLater(reactor, 0.05, lambda: None)
        assert path.stat().st_size > 300 * 2000
    finally:
        yield store.close()


@pytest_twisted.inlineCallbacks
def test_many_commits_bring_the_checkpoint_forward(reactor, tmp_path, monkeypatch):
    """Past CHECKPOINT_COMMITS commits the log is checkpointed at once, not after CHECKPOINT_EVERY seconds."""
    monkeypatch.setattr(turnwriter, "CHECKPOINT_EVERY", 60.0)
    monkeypatch.setattr(turnwriter, "CHECKPOINT_COMMITS", 5)
    path = tmp_path / "many.db"
    store = SQLiteStore(str(path), reactor, in_reactor=True)
    yield store.open()
    try:
        empty = path.stat().st_size
        for _ in range(6):
            yield say(store, "#a", "y" * 20000)  # one commit each
        deadline = time.monotonic() + 5
        while path.stat().st_size == empty and time.monotonic() < deadline:
            yield deferLater(reactor, 0.05, lambda: None)
        assert path.stat().st_size > 5 * 20000
    finally:
        yield store.close()


def test_messages_close_behind_a_commit_share_the_next(tmp_path):
    """
    A message arriving within L{turnwriter.SPACING} of a commit waits for
    the rest of it, so that messages of busy small rooms share one
    transaction; one arriving later than that is committed at once.
    """
    clock = Clock()
    clock.advance(100.0)
    store = SQLiteStore(str(tmp_path / "spaced.db"), clock, in_reactor=True)
    store.open()
    clock.advance(0)
    stored = []
    say(store, "#a", "first").addCallback(stored.append)
    clock.advance(0)
    assert [r[0] for r in stored] == [1]
    commits = store.commits
    clock.advance(turnwriter.SPACING / 4)
    say(store, "#b", "second").addCallback(stored.append)
    clock.advance(0)
    clock.advance(turnwriter.SPACING / 4)
    say(store, "#a", "third").addCallback(stored.append)
    clock.advance(0)
    assert len(stored) == 1  # both wait for the spacing to pass
    clock.advance(turnwriter.SPACING / 2 + turnwriter.SPACING / 100)
    assert [r[0] for r in stored] == [1, 1, 2]
    assert store.commits == commits + 1
    clock.advance(1.0)
    say(store, "#a", "quiet").addCallback(stored.append)
    clock.advance(0)
    assert [r[0] for r in stored[3:]] == [3]
    assert store.commits == commits + 2
    store.close()
    clock.advance(0)
