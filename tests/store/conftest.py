"""Fixtures for the store tests."""

import pytest


@pytest.fixture
def reactor():
    """The global reactor, which pytest-twisted runs (imported late on purpose)."""
    from twisted.internet import reactor as _reactor

    return _reactor
