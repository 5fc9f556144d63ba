"""Fixtures for the core tests."""

import pytest

from chatcore_helpers import World


@pytest.fixture
def world():
    """A hub with default rules over an in-memory store, on a Clock."""
    return World()
