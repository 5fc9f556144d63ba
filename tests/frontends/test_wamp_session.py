"""
A WAMP session's opening and end, in memory: HELLO, ticket authentication,
WELCOME or ABORT, GOODBYE, and what breaks the protocol.
"""

import pytest
from autobahn.wamp import message

from wampworld import PASSWORD, World, kinds, topic_of


@pytest.fixture
def world():
    return World()


# -- opening --------------------------------------------------------------------------------------


def test_another_realm_is_refused(world):
    c = world.client()
    abort = c.hello(realm="realm1")
    assert isinstance(abort, message.Abort) and abort.reason == "wamp.error.no_such_realm"
    assert "chatd" in abort.message and "realm1" in abort.message
    assert c.closed


def test_an_anonymous_session_is_welcome_and_picks_a_nick(world):
    c = world.client()
    welcome = c.hello()
    assert isinstance(welcome, message.Welcome)
    assert welcome.realm == "chatd" and welcome.authmethod == "anonymous" and welcome.authid is None
    assert {"broker", "dealer"} <= set(welcome.roles)
    assert c.call("chatd.nick", "ann").kwargs == {"nick": "ann"}
    tom = world.terminal("tom")
    tom.type("/whois ann")
    assert "-!- ann is not logged in" in tom.output()


def test_ticket_authentication_with_a_password_logs_into_the_account(world):
    world.account("ann")
    c = world.client()
    welcome = c.login("ann", PASSWORD)
    assert isinstance(welcome, message.Welcome)
    assert (welcome.authid, welcome.authmethod, welcome.authrole) == ("ann", "ticket", "user")
    assert welcome.authextra["nick"] == "ann"
    token = welcome.authextra["token"]
    assert isinstance(token, str) and len(token) >= 32
    tom = world.terminal("tom")
    tom.type("/whois ann")
    assert "-!- ann is logged in as ann" in tom.output()


def test_the_token_from_welcome_works_as_a_ticket(world):
    world.account("ann")
    first = world.client()
    token = first.login("ann").authextra["token"]
    first.drop()
    again = world.client()
    welcome = again.login("ann", token)
    assert isinstance(welcome, message.Welcome) and welcome.authid == "ann"


def test_a_wrong_password_is_refused_in_chatds_words(world):
    world.account("ann")
    c = world.client()
    abort = c.login("ann", "not-the-password")
    assert isinstance(abort, message.Abort) and abort.reason == "wamp.error.authentication_failed"
    assert "password" in abort.message.lower()
    assert "b'" not in abort.message and "None" not in abort.message
    assert c.closed


def test_a_password_in_clear_text_is_refused_with_the_way_out(world):
    world.account("ann")
    c = world.client(secure=False)
    abort = c.login("ann", PASSWORD)
    assert isinstance(abort, message.Abort) and abort.reason == "wamp.error.authentication_failed"
    assert "TLS" in abort.message and "allow_cleartext" in abort.message


def test_an_unknown_account_is_refused(world):
    c = world.client()
    abort = c.login("nobody", PASSWORD)
    assert isinstance(abort, message.Abort) and abort.reason == "wamp.error.authentication_failed"
    assert "nobody" in abort.message


def test_ticket_without_an_authid_is_refused(world):
    c = world.client()
    abort = c.hello(authmethods=["ticket"])
    assert isinstance(abort, message.Abort) and abort.reason == "wamp.error.authentication_failed"
    assert "authid" in abort.message


def test_an_authmethod_chatd_does_not_offer_is_refused(world):
    c = world.client()
    abort = c.hello(authmethods=["wampcra"], authid="ann")
    assert isinstance(abort, message.Abort) and abort.reason == "wamp.error.no_auth_method"
    assert "ticket" in abort.message and "anonymous" in abort.message


def test_a_message_before_hello_is_a_protocol_violation(world):
    c = world.client()
    c.send(message.Subscribe(1, "app.news"))
    [abort] = c.read()
    assert isinstance(abort, message.Abort) and abort.reason == "wamp.error.protocol_violation"
    assert "HELLO" in abort.message
    assert c.closed


def test_no_hello_in_time_is_aborted_and_closed(world):
    c = world.client()
    world.clock.advance(world.router.limits.hello_timeout - 1)
    assert c.read() == [] and not c.closed
    world.clock.advance(1)
    [abort] = c.read()
    assert isinstance(abort, message.Abort)
    assert "30" in abort.message
    assert c.closed


def test_an_unanswered_challenge_is_aborted_in_time(world):
    world.account("ann")
    c = world.client()
    assert isinstance(c.hello(authmethods=["ticket"], authid="ann"), message.Challenge)
    world.clock.advance(world.router.limits.hello_timeout)
    assert kinds(c.read()) == ["ABORT"] and c.closed


def test_a_welcomed_session_has_no_hello_timeout(world):
    c = world.client()
    c.hello()
    world.clock.advance(world.router.limits.hello_timeout * 2)
    assert c.read() == [] and not c.closed
    assert isinstance(c.call("chatd.rooms"), message.Result)


def test_hello_twice_is_aborted(world):
    c = world.client()
    c.hello()
    again = c.hello()
    assert isinstance(again, message.Abort) and again.reason == "wamp.error.protocol_violation"
    assert c.closed


def test_a_router_only_message_from_a_client_is_aborted(world):
    c = world.client()
    c.hello()
    c.send(message.Event(1, 2))
    [abort] = c.read()
    assert isinstance(abort, message.Abort) and abort.reason == "wamp.error.protocol_violation"
    assert "EVENT" in abort.message


# -- abuse --------------------------------------------------------------------------------------------


@pytest.fixture
def flood():
    """ann and bob, both listening on app.news, on a server allowing 1 message a second (3 at once)."""
    world = World(flood_rate=1, flood_burst=3, recvq=1000)
    ann, bob = world.wamp_user("ann"), world.wamp_user("bob")
    world.clock.advance(10)
    ann.subscribe(ann.private_topic)
    bob.subscribe("app.news")
    world.clock.advance(10)
    return world, ann, bob


def test_a_session_faster_than_the_flood_rate_is_held(flood):
    world, ann, bob = flood
    for i in range(5):
        ann.publish("app.news", i)
    assert bob.events() == [{"args": [0]}, {"args": [1]}, {"args": [2]}]
    world.clock.advance(1)
    assert bob.events() == [{"args": [3]}]
    world.clock.advance(1)
    assert bob.events() == [{"args": [4]}]
    assert not ann.closed and ann.read() == []


def test_a_session_past_recvq_is_disconnected_and_told_why(flood):
    world, ann, bob = flood
    tom = world.terminal("tom")
    for i in range(10):
        if ann.closed:
            break
        ann.publish("app.news", i)
    assert ann.closed
    shutdown, goodbye = ann.read()
    assert shutdown.kwargs["type"] == "shutdown" and "flooding" in shutdown.kwargs["reason"]
    assert isinstance(goodbye, message.Goodbye) and goodbye.reason == "wamp.close.system_shutdown"
    assert "1000 bytes" in goodbye.message
    world.clock.advance(10)
    assert len(bob.events()) == 3  # what was held was never run
    assert isinstance(bob.call("chatd.msg", "tom", "still here"), message.Result)
    assert tom.output()[-1].endswith("still here")
    again = world.client()
    again.hello()
    assert again.call("chatd.nick", "ann").kwargs == {"nick": "ann"}  # the nick is free again


def test_chat_procedures_are_under_the_same_flood_control(flood):
    world, ann, bob = flood
    ann.call("chatd.join", "#lobby")
    world.clock.advance(10)
    requests = [ann.call_later("chatd.say", "#lobby", f"line {i}") for i in range(5)]
    assert [ann.answer_to(r) is not None for r in requests] == [True, True, True, False, False]
    world.clock.advance(2)
    assert all(isinstance(ann.answer_to(r), message.Result) for r in requests[3:])


def test_a_room_publication_costs_what_a_say_costs(flood):
    """PUBLISH to a room is a say: one command under flood control, not two."""
    world, ann, bob = flood
    ann.call("chatd.join", "#lobby")
    world.clock.advance(10)
    answers = [ann.publish(topic_of("#lobby"), f"line {i}", acknowledge=True) for i in range(3)]
    assert kinds(answers) == ["PUBLISHED"] * 3


def test_refused_calls_are_under_flood_control_too(flood):
    """As on /ws: input chatd refuses still waits its turn, and a session spamming it is disconnected."""
    world, ann, bob = flood
    requests = [ann.call_later("chatd.nope") for _ in range(4)]
    assert [ann.answer_to(r) is not None for r in requests] == [True, True, True, False]
    world.clock.advance(1)
    assert ann.answer_to(requests[3]).error == "chatd.error.unknown-type"
    for _ in range(10):
        if ann.closed:
            break
        ann.call_later("chatd.say", 1, 2)
    assert ann.closed and kinds(ann.read())[-1] == "GOODBYE"


# -- the end ----------------------------------------------------------------------------------------


def test_goodbye_is_answered_and_the_connection_closed(world):
    tom = world.terminal("tom", "#lobby")
    ann = world.wamp_user("ann", "#lobby")
    tom.output()
    ann.send(message.Goodbye())
    [goodbye] = ann.read()
    assert isinstance(goodbye, message.Goodbye) and goodbye.reason == "wamp.close.goodbye_and_out"
    assert ann.closed
    assert tom.output() == ["[#lobby] -!- ann has quit (Left)"]


def test_a_dropped_connection_frees_the_nick(world):
    ann = world.wamp_user("ann")
    ann.drop()
    again = world.wamp_user("bob")
    assert again.call("chatd.nick", "ann").kwargs == {"nick": "ann"}


def test_goodbye_before_welcome_just_closes(world):
    c = world.client()
    c.send(message.Goodbye())
    assert c.read() == [] and c.closed


def test_stored_private_messages_of_a_ticket_login_wait_for_the_session_topic(world):
    world.account("ann")
    world.account("tom")
    tom = world.terminal()
    tom.type(f"/login tom {PASSWORD}", "/msg ann while you were out")
    ann = world.client()
    assert isinstance(ann.login("ann"), message.Welcome)
    mine = ann.subscribe(ann.private_topic)
    [privates] = ann.events(mine)
    assert privates["type"] == "privates"
    assert [(m["from"], m["text"]) for m in privates["messages"]] == [("tom", "while you were out")]


def test_a_token_ticket_must_be_the_authids_own(world):
    world.account("ann")
    world.account("bob")
    token = world.client().login("ann").authextra["token"]
    c = world.client()
    abort = c.login("bob", token)
    assert isinstance(abort, message.Abort) and abort.reason == "wamp.error.authentication_failed"
    assert "'bob'" in abort.message and c.closed


def test_a_bots_answers_are_not_charged_by_flood_control(flood):
    """Callers pay for their calls; the callee's answers to them are free (a bot may answer many)."""
    world, ann, bob = flood
    assert isinstance(bob.register("bot.echo"), int)
    world.clock.advance(10)
    callers = [world.wamp_user(f"caller{i}") for i in range(6)]
    world.clock.advance(10)
    requests = [c.call_later("bot.echo", i) for i, c in enumerate(callers)]
    for inv in bob.invocations():
        bob.yield_(inv, inv.args[0])
    assert [c.answer_to(r).args for c, r in zip(callers, requests)] == [[i] for i in range(6)]
    assert not bob.closed


def test_procedures_and_topics_under_wamp_are_the_routers(world):
    ann = world.wamp_user("ann")
    refused = ann.register("wamp.session.get")
    assert isinstance(refused, message.Error) and refused.error == "wamp.error.not_authorized"
    refused = ann.publish("wamp.session.on_join", acknowledge=True)
    assert isinstance(refused, message.Error) and refused.error == "wamp.error.not_authorized"
