# -*- test-case-name: tests.store.test_memory -*-
"""The IStore contract, run against L{chatd.store.memory.MemoryStore}."""

import pytest
from store_contract import StoreContract

from chatd.store.memory import MemoryStore


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self):
        return MemoryStore()
