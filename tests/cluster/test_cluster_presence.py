# -*- test-case-name: tests.cluster.test_cluster_presence -*-
"""
Tests for L{chatd.cluster.presence}: the presence contract
(presence_contract.py) against a real redis-server and against the
in-memory model the core tests use, then what only Redis can show: two
nodes racing for one nick, each firing its claim before either answers.
"""

import pytest
import pytest_twisted
from presence_contract import FakeWorld, PresenceContract, claim
from twisted.internet.defer import DeferredList

from chatd.core.errors import NickInUse


class TestRedisPresence(PresenceContract):
    @pytest.fixture
    def cw(self, world):
        return world


class TestModelPresence(PresenceContract):
    @pytest.fixture
    def cw(self):
        return FakeWorld()


async def race(*claims):
    """Fire every claim before any answers; (winners' indexes, losers' failures)."""
    results = await DeferredList(list(claims), consumeErrors=True)
    return [i for i, (ok, _) in enumerate(results) if ok], [f for ok, f in results if not ok]


@pytest_twisted.ensureDeferred
async def test_two_nodes_racing_for_one_nick_exactly_one_wins(world):
    n1, n2 = await world.node("n1"), await world.node("n2")
    for i in range(20):
        one, _ = await n1.connect(f"one{i}")
        two, _ = await n2.connect(f"two{i}")
        won, lost = await race(claim(n1, one, f"Racer{i}"), claim(n2, two, f"racer{i}"))
        assert len(won) == 1 and len(lost) == 1 and lost[0].check(NickInUse)
        winner, loser = (one, two) if won == [0] else (two, one)
        assert (await n1.presence.find(f"racer{i}")).uid == winner.user.uid
        assert (await n1.presence.find(loser.key)).uid == loser.user.uid  # the loser keeps its nick


@pytest_twisted.ensureDeferred
async def test_two_clients_racing_for_look_alike_nicks_exactly_one_gets_one(world):
    n1, n2 = await world.node("n1"), await world.node("n2")
    for i in range(10):
        one, _ = await n1.connect(f"one{i}")
        two, _ = await n2.connect(f"two{i}")
        won, lost = await race(one.set_nick(f"Mallory{i}"), two.set_nick(f"MaIlory{i}"))
        assert len(won) == 1 and len(lost) == 1 and lost[0].check(NickInUse)
        winner, loser = (one, two) if won == [0] else (two, one)
        assert (winner.nick, loser.nick) == ((f"Mallory{i}", f"two{i}") if won == [0] else (f"MaIlory{i}", f"one{i}"))
        assert (await n2.presence.find(winner.key)).uid == winner.user.uid
