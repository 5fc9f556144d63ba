"""
Routed calls through chatd's dealer between two WAMP libraries in their
own processes (wampusers.py): a procedure registered by autobahn-js is
called from Autobahn|Python and the other way round, over wamp.2.json and
wamp.2.msgpack; callee errors, timeouts and a callee that dies reach the
caller as WAMP errors, and autobahn-js (no call canceling) is never sent
an INTERRUPT.
"""

import re
import time

import pytest

from wampusers import LIBRARY, serializer, wamp  # noqa: F401  (serializer and wamp are fixtures)

BOTH_WAYS = [("js", "py"), ("py", "js")]


@pytest.mark.parametrize("callee_lib, caller_lib", BOTH_WAYS, ids=["js-to-py", "py-to-js"])
def test_a_procedure_registered_by_one_library_is_called_from_the_other(wamp, callee_lib, caller_lib):
    """The caller's arguments reach the callee, and the callee's answer (args and kwargs) reaches the caller."""
    callee, caller = wamp(callee_lib), wamp(caller_lib)
    callee.opened(), caller.opened()
    procedure = f"{callee_lib}.shout"
    assert callee.register(procedure)["event"] == "registered"

    got = caller.call(procedure, "hello", "there", mood="cheery", count=3)
    assert got == {"event": "result", "id": got["id"], "args": ["HELLO", "THERE"],
                   "kwargs": {"by": LIBRARY[callee_lib], "got": {"mood": "cheery", "count": 3}}}
    invoked = callee.expect(lambda e: e["event"] == "invoked")
    assert (invoked["procedure"], invoked["args"], invoked["kwargs"]) == (
        procedure, ["hello", "there"], {"mood": "cheery", "count": 3})

    refusing = f"{callee_lib}.refuse"
    callee.register(refusing, error="app.error.refused")
    refused = caller.call(refusing, "please")
    assert (refused["event"], refused["error"], refused["args"], refused["kwargs"]) == (
        "error", "app.error.refused", [f"{LIBRARY[callee_lib]} refuses {refusing}"], {"by": LIBRARY[callee_lib]})


def test_registration_rules_and_a_callee_that_goes(wamp):
    """One callee per name; chatd.* is chatd's; a slow call times out; a dead callee's calls fail, its names free."""
    js, py = wamp("js"), wamp("py")
    js.opened(), py.opened()
    assert js.register("bot.weather")["event"] == "registered"
    taken = py.register("bot.weather")
    assert (taken["event"], taken["error"]) == ("error", "wamp.error.procedure_already_exists"), taken
    reserved = py.register("chatd.say")
    assert (reserved["event"], reserved["error"]) == ("error", "wamp.error.not_authorized"), reserved
    nobody = py.call("bot.nobody")
    assert (nobody["event"], nobody["error"]) == ("error", "wamp.error.no_such_procedure"), nobody

    # Autobahn|Python announces call_canceling, so it may be sent the INTERRUPT a timeout brings.
    assert py.register("bot.slow", hold=True)["event"] == "registered"
    timed_out = js.call_within(300, "bot.slow", "anyone?")
    assert (timed_out["event"], timed_out["error"]) == ("error", "wamp.error.timeout"), timed_out
    assert timed_out["args"] == ["bot.slow did not answer within 0.3 seconds."]
    assert js.call("bot.weather", "rain")["args"] == ["RAIN"]

    pending = py.send("call", procedure="bot.weather", args=["and now?"], kwargs={})
    js.expect(lambda e: e["event"] == "invoked" and e["args"] == ["and now?"])
    assert py.answer(pending)["args"] == ["AND NOW?"]
    pending = js.send("call", procedure="bot.slow", args=["still there?"], kwargs={})
    py.expect(lambda e: e["event"] == "invoked" and e["args"] == ["still there?"])
    py.kill()
    gone = js.answer(pending)
    assert (gone["event"], gone["error"]) == ("error", "wamp.error.canceled"), gone
    after = js.call("bot.slow")
    assert (after["event"], after["error"]) == ("error", "wamp.error.no_such_procedure"), after
    assert js.register("bot.slow")["event"] == "registered", "the dead callee's name is free again"
    assert js.call("bot.slow", "sunny")["args"] == ["SUNNY"]


def test_an_autobahn_js_callee_outlives_calls_that_end_unanswered(daemon, wamp):
    """
    autobahn-js announces no call_canceling and drops its connection on an
    INTERRUPT: a call to it that times out, or whose caller dies, ends
    without one, and the callee stays connected.
    """
    js, py, doomed = wamp("js"), wamp("py"), wamp("py")
    assert js.register("bot.slow", hold=True)["event"] == "registered"
    assert js.register("bot.weather")["event"] == "registered"
    timed_out = py.call_within(300, "bot.slow", "anyone?")
    assert (timed_out["event"], timed_out["error"]) == ("error", "wamp.error.timeout"), timed_out
    doomed.send("call", procedure="bot.slow", args=["hello?"], kwargs={})
    js.expect(lambda e: e["event"] == "invoked" and e["args"] == ["hello?"])
    doomed.kill()
    deadline = time.monotonic() + 5
    while not re.search(r"wamp connection from \S+ closed", daemon.log()):  # the caller is gone
        assert time.monotonic() < deadline, "the daemon did not see the caller go"
        time.sleep(0.02)
    assert py.call("bot.weather", "rain")["kwargs"] == {"by": "autobahn-js", "got": {}}
