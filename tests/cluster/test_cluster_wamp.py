"""
WAMP procedures across a cluster: a name registered on one node is
unique on all of them, and a call from any node reaches its callee,
through a real redis-server.
"""

import sys
from pathlib import Path

import pytest
import pytest_twisted
from autobahn.wamp import message
from redisworld import wait_for

FRONTENDS = str(Path(__file__).resolve().parent.parent / "frontends")
if FRONTENDS not in sys.path:
    sys.path.insert(0, FRONTENDS)

from wampworld import WampClient, _same  # noqa: E402

from chatd.cluster.node import ClusterNode  # noqa: E402
from chatd.frontends.wamp.backplane import Backplane  # noqa: E402
from chatd.frontends.wamp.router import Router, WampLimits  # noqa: E402


class Realm:
    """The realm chatd on one node of the world (what L{WampClient} needs of a World)."""

    def __init__(self, node, limits: WampLimits) -> None:
        self.router = Router(node.hub, node.clock, {"test": _same}, limits)
        cluster = ClusterNode(node.name, node.link, node.world.node_timeout)
        self.router.dealer.backplane = Backplane(cluster, self.router.dealer, node.clock)


@pytest.fixture
def world(make_world):
    return make_world(node_timeout=1.0)


async def realms(world, **limits):
    n1, n2 = await world.node("n1"), await world.node("n2")
    return n1, n2, Realm(n1, WampLimits(**limits)), Realm(n2, WampLimits(**limits))


def session(realm) -> WampClient:
    c = WampClient(realm)
    c.hello()
    return c


async def answer(client: WampClient, request: int, kinds):
    return await wait_for(lambda: client.answer_to(request, kinds), f"an answer to request {request}")


async def registered(client: WampClient, procedure: str):
    request = next(client.requests)
    client.send(message.Register(request, procedure))
    return await answer(client, request, (message.Registered, message.Error))


def invocations(client: WampClient):
    return [m for m in client.inbox if isinstance(m, message.Invocation)]


@pytest_twisted.ensureDeferred
async def test_a_call_from_one_node_reaches_a_callee_on_another_and_its_result_comes_back(world):
    n1, n2, r1, r2 = await realms(world)
    callee, caller = session(r1), session(r2)
    assert isinstance(await registered(callee, "bot.weather"), message.Registered)
    request = caller.call_later("bot.weather", "Lyon", units="metric")
    inv = (await wait_for(lambda: invocations(callee), "the invocation on n1"))[0]
    assert (inv.args, inv.kwargs) == (["Lyon"], {"units": "metric"})
    callee.send(message.Yield(inv.request, args=["sunny"], kwargs={"celsius": 21}))
    result = await answer(caller, request, (message.Result, message.Error))
    assert isinstance(result, message.Result)
    assert (result.args, result.kwargs) == (["sunny"], {"celsius": 21})


@pytest_twisted.ensureDeferred
async def test_a_name_is_registered_once_across_nodes_and_free_again_when_its_callee_leaves(world):
    n1, n2, r1, r2 = await realms(world)
    first, second = session(r1), session(r2)
    assert isinstance(await registered(first, "bot.echo"), message.Registered)
    refused = await registered(second, "bot.echo")
    assert isinstance(refused, message.Error) and refused.error == "wamp.error.procedure_already_exists"
    first.send(message.Goodbye())
    assert first.closed is not None

    async def taken():
        return isinstance(await registered(second, "bot.echo"), message.Registered)

    assert await wait_for_async(taken, "bob's registration once the first callee left")


async def wait_for_async(check, what: str):
    """Try C{check()} (a coroutine) again until it is true, within the usual wait."""
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    deadline = reactor.seconds() + 5
    while not await check():
        if reactor.seconds() > deadline:
            raise AssertionError(f"waited for {what}")
        await deferLater(reactor, 0.02, lambda: None)
    return True


@pytest_twisted.ensureDeferred
async def test_errors_and_progressive_results_cross_nodes(world):
    n1, n2, r1, r2 = await realms(world)
    callee, caller = session(r1), session(r2)
    await registered(callee, "bot.count")
    request = caller.call_later("bot.count", _options={"receive_progress": True})
    inv = (await wait_for(lambda: invocations(callee), "the invocation"))[0]
    assert inv.receive_progress is True
    callee.send(message.Yield(inv.request, args=[1], progress=True))
    progress = await answer(caller, request, (message.Result,))
    assert progress.progress and progress.args == [1]
    callee.send(message.Error(message.Invocation.MESSAGE_TYPE, inv.request, "bot.error.too_far", args=["no 2"]))
    failed = await answer(caller, request, (message.Error,))
    assert (failed.error, failed.args) == ("bot.error.too_far", ["no 2"])


@pytest_twisted.ensureDeferred
async def test_a_canceled_call_interrupts_the_callee_on_the_other_node(world):
    n1, n2, r1, r2 = await realms(world)
    callee, caller = session(r1), session(r2)
    await registered(callee, "bot.slow")
    request = caller.call_later("bot.slow")
    inv = (await wait_for(lambda: invocations(callee), "the invocation"))[0]
    caller.send(message.Cancel(request))
    canceled = await answer(caller, request, (message.Error,))
    assert canceled.error == "wamp.error.canceled"
    interrupt = await wait_for(lambda: [m for m in callee.inbox if isinstance(m, message.Interrupt)], "an INTERRUPT")
    assert interrupt[0].request == inv.request
    callee.send(message.Yield(inv.request, args=["late"]))  # nobody waits for it any more
    assert caller.answer_to(request) is None


@pytest_twisted.ensureDeferred
async def test_a_call_that_outlives_its_timeout_fails_on_the_caller_s_node(world):
    n1, n2, r1, r2 = await realms(world, call_timeout=0.2)
    callee, caller = session(r1), session(r2)
    await registered(callee, "bot.never")
    request = caller.call_later("bot.never")
    failed = await answer(caller, request, (message.Error,))
    assert failed.error == "wamp.error.timeout"


@pytest_twisted.ensureDeferred
async def test_a_dead_node_s_procedures_are_not_called_and_are_taken_over(world):
    n1, n2, r1, r2 = await realms(world)
    callee, other = session(r1), session(r2)
    await registered(callee, "bot.weather")
    await n1.kill()
    request = other.call_later("bot.weather")
    failed = await answer(other, request, (message.Error,))
    assert failed.error == "wamp.error.no_such_procedure"

    async def taken():
        return isinstance(await registered(other, "bot.weather"), message.Registered)

    # Once n1's heartbeat key expires (node_timeout = 1 s), its name is free.
    assert await wait_for_async(taken, "the dead node's procedure taken over")


@pytest_twisted.ensureDeferred
async def test_cancel_with_kill_waits_for_the_callee_on_the_other_node(world):
    n1, n2, r1, r2 = await realms(world)
    callee, caller = session(r1), session(r2)
    await registered(callee, "bot.slow")
    request = caller.call_later("bot.slow")
    inv = (await wait_for(lambda: invocations(callee), "the invocation"))[0]
    caller.send(message.Cancel(request, mode="kill"))
    await wait_for(lambda: [m for m in callee.inbox if isinstance(m, message.Interrupt)], "an INTERRUPT")
    assert caller.answer_to(request) is None  # it waits for the callee's word
    callee.send(message.Error(message.Invocation.MESSAGE_TYPE, inv.request, "wamp.error.canceled", args=["halted"]))
    failed = await answer(caller, request, (message.Error,))
    assert (failed.error, failed.args) == ("wamp.error.canceled", ["halted"])
