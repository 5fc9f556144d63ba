# -*- test-case-name: tests.store.test_memory -*-
"""The store contracts, run against L{chatd.store.memory.MemoryStore}."""

import pytest
from account_contract import AccountContract, ModerationContract
from conversation_contract import ConversationContract
from store_contract import StoreContract

from chatd.store.memory import MemoryStore


class TestMemoryStore(StoreContract, AccountContract, ModerationContract, ConversationContract):
    @pytest.fixture
    def store(self):
        return MemoryStore()
