"""
Routed RPC between WAMP clients, in memory: REGISTER, CALL, INVOCATION,
YIELD and ERROR, with timeouts on the fake clock, cancellation, progressive
results, limits, and sessions that leave mid-call.
"""

import pytest
from autobahn.wamp import message

from chatd.frontends.wamp.router import WampLimits
from wampworld import World, kinds


@pytest.fixture
def world():
    return World(limits=WampLimits(call_timeout=10))


@pytest.fixture
def bot(world):
    """A callee offering bot.weather."""
    c = world.wamp_user("bot")
    assert isinstance(c.register("bot.weather"), int)
    return c


@pytest.fixture
def ann(world):
    return world.wamp_user("ann")


def _error(answer, uri):
    assert isinstance(answer, message.Error), answer
    assert answer.error == uri, answer.error
    return answer.args[0] if answer.args else None


# -- calls that are answered ---------------------------------------------------------------------------


def test_a_call_is_invoked_and_its_yield_is_the_result(bot, ann):
    request = ann.call_later("bot.weather", "Oslo", units="metric")
    [inv] = bot.invocations()
    assert (inv.args, inv.kwargs) == (["Oslo"], {"units": "metric"})
    assert ann.read() == []
    bot.yield_(inv, "rain", temperature=7)
    result = ann.answer_to(request)
    assert isinstance(result, message.Result)
    assert (result.args, result.kwargs) == (["rain"], {"temperature": 7})


def test_the_callees_error_reaches_the_caller(bot, ann):
    request = ann.call_later("bot.weather", "Atlantis")
    [inv] = bot.invocations()
    bot.fail(inv, "bot.error.no_such_city", "No city called Atlantis.")
    assert _error(ann.answer_to(request), "bot.error.no_such_city") == "No city called Atlantis."


def test_calls_run_side_by_side_and_are_answered_in_any_order(bot, ann, world):
    cat = world.wamp_user("cat")
    first = ann.call_later("bot.weather", "Oslo")
    second = cat.call_later("bot.weather", "Rome")
    one, two = bot.invocations()
    bot.yield_(two, "sun")
    bot.yield_(one, "rain")
    assert cat.answer_to(second).args == ["sun"]
    assert ann.answer_to(first).args == ["rain"]


def test_a_late_or_foreign_yield_is_ignored(bot, ann, world):
    request = ann.call_later("bot.weather")
    [inv] = bot.invocations()
    intruder = world.wamp_user("eve")
    intruder.yield_(inv, "forged")
    assert ann.read() == []
    bot.yield_(inv, "real")
    bot.yield_(inv, "again")
    assert [m.args for m in ann.read()] == [["real"]]
    assert ann.answer_to(request) is None


def test_progressive_results_come_before_the_final_one(bot, ann):
    request = ann.call_later("bot.weather", _options={"receive_progress": True})
    [inv] = bot.invocations()
    assert inv.receive_progress is True
    bot.yield_(inv, "10%", progress=True)
    bot.yield_(inv, "50%", progress=True)
    bot.yield_(inv, "done")
    results = ann.read()
    assert [(r.request, bool(r.progress), r.args) for r in results] == [
        (request, True, ["10%"]), (request, True, ["50%"]), (request, False, ["done"])]


# -- calls that are not ------------------------------------------------------------------------------


def test_no_such_procedure(ann):
    assert "bot.nothing" in _error(ann.call("bot.nothing"), "wamp.error.no_such_procedure")


def test_a_procedure_has_one_callee(bot, world):
    rival = world.wamp_user("rival")
    assert _error(rival.register("bot.weather"), "wamp.error.procedure_already_exists")


def test_procedures_under_chatd_are_chatds_own(ann):
    assert _error(ann.register("chatd.say"), "wamp.error.not_authorized")
    assert _error(ann.register("chatd.mine"), "wamp.error.not_authorized")


def test_only_exact_registrations_with_valid_names(ann):
    assert _error(ann.register("bot..weather"), "wamp.error.invalid_uri")
    request = next(ann.requests)
    ann.send(message.Register(request, "bot", match=message.Register.MATCH_PREFIX))
    assert _error(ann.answer_to(request, (message.Error,)), "wamp.error.invalid_argument")


def test_a_session_has_a_bounded_number_of_registrations():
    world = World(limits=WampLimits(registrations=1))
    c = world.wamp_user("bot")
    c.register("bot.one")
    assert "1 procedures" in _error(c.register("bot.two"), "chatd.error.too-many-registrations")


def _unregister(client, registration):
    request = next(client.requests)
    client.send(message.Unregister(request, registration))
    return client.answer_to(request, (message.Unregistered, message.Error))


def test_unregister_ends_the_procedure_and_its_running_calls(bot, ann):
    reg = bot.register("bot.other")
    assert _error(_unregister(ann, reg), "wamp.error.no_such_registration")  # not hers to end
    request = ann.call_later("bot.other")
    bot.invocations()
    assert isinstance(_unregister(bot, reg), message.Unregistered)
    _error(ann.answer_to(request), "wamp.error.canceled")
    _error(ann.call("bot.other"), "wamp.error.no_such_procedure")
    assert _error(_unregister(bot, reg), "wamp.error.no_such_registration")


def test_the_call_timeout_ends_a_call_and_interrupts_the_callee(bot, ann, world):
    request = ann.call_later("bot.weather")
    [inv] = bot.invocations()
    world.clock.advance(9.9)
    assert ann.read() == [] and bot.read() == []
    world.clock.advance(0.1)
    assert "10 seconds" in _error(ann.answer_to(request), "wamp.error.timeout")
    [interrupt] = bot.read()
    assert isinstance(interrupt, message.Interrupt) and interrupt.request == inv.request
    bot.yield_(inv, "too late")
    assert ann.read() == []


def test_the_callers_own_shorter_timeout(bot, ann, world):
    request = ann.call_later("bot.weather", _options={"timeout": 2000})
    bot.invocations()
    world.clock.advance(2)
    assert "2 seconds" in _error(ann.answer_to(request), "wamp.error.timeout")
    assert kinds(bot.read()) == ["INTERRUPT"]


def test_a_callers_longer_timeout_is_cut_to_the_servers(bot, ann, world):
    request = ann.call_later("bot.weather", _options={"timeout": 3_600_000})
    world.clock.advance(10)
    _error(ann.answer_to(request), "wamp.error.timeout")


def test_a_session_has_a_bounded_number_of_running_calls():
    world = World(limits=WampLimits(pending_calls=2))
    bot, ann = world.wamp_user("bot"), world.wamp_user("ann")
    bot.register("bot.slow")
    first, second = ann.call_later("bot.slow"), ann.call_later("bot.slow")
    assert "2 calls" in _error(ann.call("bot.slow"), "chatd.error.too-many-calls")
    one, two = bot.invocations()
    bot.yield_(one, "done")
    assert ann.answer_to(first).args == ["done"]
    third = ann.call_later("bot.slow")
    assert len(bot.invocations()) == 1 and ann.answer_to(third) is None


def test_a_request_id_in_use_is_a_protocol_violation(bot, ann):
    ann.send(message.Call(7, "bot.weather"))
    ann.send(message.Call(7, "bot.weather"))
    abort = ann.read()[-1]
    assert isinstance(abort, message.Abort) and abort.reason == "wamp.error.protocol_violation"
    assert "7" in abort.message
    assert ann.closed


def test_cancel_ends_the_call_and_interrupts_the_callee(bot, ann):
    request = ann.call_later("bot.weather")
    [inv] = bot.invocations()
    ann.send(message.Cancel(request))
    _error(ann.answer_to(request), "wamp.error.canceled")
    [interrupt] = bot.read()
    assert isinstance(interrupt, message.Interrupt) and interrupt.request == inv.request
    bot.yield_(inv, "ignored")
    assert ann.read() == []


def test_an_error_for_anything_but_an_invocation_is_a_protocol_violation(ann):
    ann.send(message.Error(message.Call.MESSAGE_TYPE, 1, "app.error"))
    assert kinds(ann.read()) == ["ABORT"] and ann.closed


# -- sessions that leave -------------------------------------------------------------------------------


def test_a_callee_that_leaves_takes_its_registrations_and_fails_its_calls(bot, ann, world):
    request = ann.call_later("bot.weather")
    bot.drop()
    assert "left" in _error(ann.answer_to(request), "wamp.error.canceled")
    heir = world.wamp_user("heir")
    assert isinstance(heir.register("bot.weather"), int)
    request = ann.call_later("bot.weather")
    [inv] = heir.invocations()
    heir.yield_(inv, "sunny")
    assert ann.answer_to(request).args == ["sunny"]


def test_a_caller_that_leaves_interrupts_the_callee(bot, ann):
    ann.call_later("bot.weather")
    [inv] = bot.invocations()
    ann.drop()
    [interrupt] = bot.read()
    assert isinstance(interrupt, message.Interrupt) and interrupt.request == inv.request
    bot.yield_(inv, "nobody listens")
    assert bot.read() == []


def test_a_caller_that_says_goodbye_interrupts_the_callee(bot, ann):
    ann.call_later("bot.weather")
    bot.invocations()
    ann.send(message.Goodbye())
    assert kinds(bot.read()) == ["INTERRUPT"]


# -- cancel modes, and what a callee announced ------------------------------------------------------


def test_cancel_with_skip_answers_the_caller_and_leaves_the_callee_alone(bot, ann):
    request = ann.call_later("bot.weather")
    [inv] = bot.invocations()
    ann.send(message.Cancel(request, mode="skip"))
    _error(ann.answer_to(request), "wamp.error.canceled")
    assert bot.read() == []
    bot.yield_(inv, "too late")
    assert ann.read() == []


def test_cancel_with_kill_interrupts_and_the_callees_answer_ends_the_call(bot, ann):
    request = ann.call_later("bot.weather")
    [inv] = bot.invocations()
    ann.send(message.Cancel(request, mode="kill"))
    assert ann.read() == []  # the caller waits for the callee
    [interrupt] = bot.read()
    assert isinstance(interrupt, message.Interrupt) and interrupt.request == inv.request
    bot.fail(inv, "wamp.error.canceled", "stopped halfway")
    assert _error(ann.answer_to(request), "wamp.error.canceled") == "stopped halfway"


def test_a_callee_that_did_not_announce_call_canceling_gets_no_interrupt(world, ann):
    from autobahn.wamp.role import RoleCalleeFeatures

    plain = world.client()
    plain.hello(roles={"callee": RoleCalleeFeatures()})
    plain.register("bot.plain")
    request = ann.call_later("bot.plain")
    [inv] = plain.invocations()
    ann.send(message.Cancel(request, mode="kill"))  # kill becomes skip for it
    _error(ann.answer_to(request), "wamp.error.canceled")
    assert plain.read() == []
    world.clock.advance(11)  # nor on a timeout
    assert plain.read() == []


def test_progressive_results_a_caller_did_not_ask_for_are_dropped(bot, ann):
    request = ann.call_later("bot.weather")
    [inv] = bot.invocations()
    assert not inv.receive_progress
    bot.yield_(inv, "10%", progress=True)
    assert ann.read() == []
    bot.yield_(inv, "done")
    assert ann.answer_to(request).args == ["done"]
