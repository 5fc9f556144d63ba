"""Fixtures for the store tests."""

import pytest
import pytest_twisted
from twisted.logger import globalLogPublisher

from chatd.store.sqlite import SQLiteStore


@pytest.fixture
def reactor():
    """The global reactor, which pytest-twisted runs (imported late on purpose)."""
    from twisted.internet import reactor as _reactor

    return _reactor


@pytest.fixture
def open_store(reactor, tmp_path):
    """
    A function opening a store on C{tmp_path/name}; returns a Deferred.
    Every store it made is closed when the test ends.
    """
    made = []

    def open_(name="chat.sqlite3", **kw):
        store = SQLiteStore(str(tmp_path / name), reactor, **kw)
        made.append(store)
        return store.open().addCallback(lambda _: store)

    yield open_
    for store in made:
        pytest_twisted.blockon(store.close())


@pytest.fixture
def logged():
    """Log events of the C{chatd.store} namespace emitted during the test."""
    events = []

    def observe(event):
        if event.get("log_namespace") == "chatd.store":
            events.append(event)

    globalLogPublisher.addObserver(observe)
    yield events
    globalLogPublisher.removeObserver(observe)
