"""
Rooms as topics, in memory: what WAMP subscribers see of a room that
terminal users talk in, what terminal users see of WAMP publications,
private events on the session's topic, and plain application topics.
"""

import pytest
from autobahn.wamp import message

from chatd.frontends.wamp.router import WampLimits
from wampworld import PASSWORD, World, kinds, topic_of

LOBBY = topic_of("#lobby")


@pytest.fixture
def world():
    return World()


def _said(events):
    return [(e["from"], e["text"]) for e in events if e["type"] in ("message", "action")]


# -- a room's events ----------------------------------------------------------------------------


def test_a_subscriber_sees_nothing_of_a_room_until_it_joins(world):
    tom = world.terminal("tom", "#lobby")
    ann = world.wamp_user("ann")
    sub = ann.subscribe(LOBBY)
    tom.type("before ann joined")
    tom.type("/topic nothing to see")
    assert ann.read() == []
    joined = ann.call("chatd.join", "#lobby")
    assert [m["text"] for m in joined.kwargs["history"]] == ["before ann joined"]
    tom.type("now she is here")
    [event] = ann.events(sub)
    assert event["type"] == "message" and event["from"] == "tom" and event["text"] == "now she is here"
    assert event["room"] == "#lobby" and isinstance(event["id"], int) and event["ts"].endswith("Z")
    assert ann.read() == []


def test_events_carry_the_json_protocol_event_object(world):
    tom = world.terminal("tom", "#lobby")
    ann = world.wamp_user("ann", "#lobby")
    tom.type("hello", "/me waves")
    first, second = ann.events()
    assert set(first) >= {"type", "id", "ts", "from", "text", "room"}
    assert (second["type"], second["text"]) == ("action", "waves")
    assert second["id"] == first["id"] + 1


def test_a_subscriber_sees_the_room_come_and_go(world):
    """Joins, topics and parts of others arrive on the room topic; nick changes (of no one room) on the session's."""
    ann = world.wamp_user("ann", "#lobby")
    mine = ann.subscribe(ann.private_topic)
    tom = world.terminal("tom", "#lobby")
    tom.type("/topic plans", "/nick tommy", "/part #lobby bye")
    room = [(e["type"], e.get("nick")) for e in ann.events(ann.subscribe(LOBBY))]
    assert room == [("join", "tom"), ("topic", "tom"), ("part", "tommy")]
    assert [(e["type"], e["old"], e["new"]) for e in ann.events(mine)] == [("nick", "tom", "tommy")]


def test_a_subscriber_that_left_the_room_hears_no_more_of_it(world):
    tom = world.terminal("tom", "#lobby")
    ann = world.wamp_user("ann", "#lobby")
    assert isinstance(ann.call("chatd.part", "#lobby"), message.Result)
    ann.read()
    tom.type("gone?")
    assert ann.read() == []


def test_a_terminal_user_sees_what_a_wamp_user_says(world):
    tom = world.terminal("tom", "#lobby")
    ann = world.wamp_user("ann", "#lobby")
    tom.output()
    said = ann.call("chatd.say", "#lobby", "by call")
    assert isinstance(said, message.Result)
    ann.publish(LOBBY, "by publish")
    ann.publish(LOBBY, text="by keyword")
    ann.publish(LOBBY, text="waves", type="action")
    assert tom.output() == ["[#lobby] <ann> by call", "[#lobby] <ann> by publish", "[#lobby] <ann> by keyword",
                            "[#lobby] * ann waves"]


def test_publish_with_acknowledge_gives_the_message_id(world):
    tom = world.terminal("tom", "#lobby")
    ann = world.wamp_user("ann", "#lobby")
    bob = world.wamp_user("bob", "#lobby")
    ann.read()
    published = ann.publish(LOBBY, "counted", acknowledge=True)
    assert isinstance(published, message.Published)
    [seen] = bob.events()
    assert seen["id"] == published.publication
    assert tom.output()[-1] == "[#lobby] <ann> counted"


def test_a_refused_publication_is_an_error_only_when_acknowledged(world):
    world.terminal("tom", "#lobby")
    ann = world.wamp_user("ann")
    refused = ann.publish(LOBBY, "let me in", acknowledge=True)
    assert isinstance(refused, message.Error) and refused.error == "chatd.error.not-in-room"
    assert "#lobby" in refused.args[0]
    assert ann.publish(LOBBY, "let me in") is None
    assert ann.read() == []


def test_a_publication_without_text_is_a_bad_command(world):
    ann = world.wamp_user("ann", "#lobby")
    refused = ann.publish(LOBBY, 42, acknowledge=True)
    assert isinstance(refused, message.Error) and refused.error == "chatd.error.bad-command"
    assert "text" in refused.args[0]


def test_a_muted_publisher_gets_chatds_refusal(world):
    world.account("ann")
    ann = world.client()
    ann.login("ann")
    ann.subscribe(LOBBY)
    ann.call("chatd.join", "#lobby")
    assert isinstance(ann.call("chatd.room", "#lobby", "register"), message.Result)
    bob = world.wamp_user("bob", "#lobby")
    assert isinstance(ann.call("chatd.mute", "#lobby", "bob"), message.Result)
    ann.read()
    refused = bob.publish(LOBBY, "can I talk?", acknowledge=True)
    assert isinstance(refused, message.Error) and refused.error == "chatd.error.muted"
    assert ann.events() == []


def test_the_publisher_is_excluded_unless_it_asks(world):
    ann = world.wamp_user("ann", "#lobby")
    bob = world.wamp_user("bob", "#lobby")
    ann.read()
    ann.publish(LOBBY, "not for me")
    assert ann.read() == []
    assert _said(bob.events()) == [("ann", "not for me")]
    ann.publish(LOBBY, "for me too", exclude_me=False)
    assert _said(ann.events()) == [("ann", "for me too")]
    assert _said(bob.events()) == [("ann", "for me too")]


def test_a_publication_without_a_cid_carries_none_and_is_told_apart_from_calls(world):
    """No cid is made up for readers to see; says by CALL and by PUBLISH in between still reach the right ears."""
    ann = world.wamp_user("ann", "#lobby")
    bob = world.wamp_user("bob", "#lobby")
    tom = world.terminal("tom", "#lobby")
    ann.read()
    bob.read()
    ann.publish(LOBBY, "published")
    ann.call_later("chatd.say", "#lobby", "called")
    ann.publish(LOBBY, "published again")
    ann.publish(LOBBY, "published for me", exclude_me=False)
    seen = bob.events()
    assert [e["text"] for e in seen] == ["published", "called", "published again", "published for me"]
    assert all("cid" not in e for e in seen)
    assert [e["text"] for e in ann.events()] == ["called", "published for me"]
    assert tom.output()[-1].endswith("published for me")


def test_a_retried_publication_does_not_hide_another_users_message(world):
    """Client ids are each client's own: ann's retry of cid 1 must not swallow bob's message with cid 1."""
    ann = world.wamp_user("ann", "#lobby")
    bob = world.wamp_user("bob", "#lobby")
    ann.read()
    first = ann.publish(LOBBY, "hello", cid="1", acknowledge=True)
    again = ann.publish(LOBBY, "hello", cid="1", acknowledge=True)  # a retry: the same message
    assert again.publication == first.publication
    assert _said(bob.events()) == [("ann", "hello")]
    bob.publish(LOBBY, "my first", cid="1")
    assert _said(ann.events()) == [("bob", "my first")]


def test_a_say_by_call_is_seen_by_the_caller_too(world):
    """A CALL is not a publication: the caller hears its own message, as every member does."""
    ann = world.wamp_user("ann", "#lobby")
    ann.call("chatd.say", "#lobby", "echo")
    assert _said(ann.events()) == [("ann", "echo")]


def test_two_spellings_of_a_room_are_one_topic(world):
    tom = world.terminal("tom", "#lobby")
    ann = world.wamp_user("ann")
    upper = ann.subscribe(topic_of("#Lobby"))
    lower = ann.subscribe(topic_of("#lobby"))
    assert upper == lower
    ann.call("chatd.join", "#LOBBY")
    tom.type("one room")
    assert _said(ann.events()) == [("tom", "one room")]
    ann.publish(topic_of("#LoBbY"), "same room")
    assert tom.output()[-1] == "[#lobby] <ann> same room"


# -- the session's own topic ----------------------------------------------------------------------------


def test_private_messages_arrive_on_the_session_topic(world):
    tom = world.terminal("tom")
    ann = world.wamp_user("ann")
    tom.type("/msg ann before subscribing")
    assert ann.read() == []
    mine = ann.subscribe(ann.private_topic)  # what came before is kept for the first subscription
    tom.type("/msg ann psst")
    assert [(e["type"], e["from"], e["text"]) for e in ann.events(mine)] == [
        ("private", "tom", "before subscribing"), ("private", "tom", "psst")]
    ann.unsubscribe(mine)
    tom.type("/msg ann unheard")
    assert ann.subscribe(ann.private_topic) and ann.events() == []  # only until the first subscription
    assert isinstance(ann.call("chatd.msg", "tom", "hi back"), message.Result)
    assert tom.output()[-1].endswith("hi back")


def test_another_sessions_topic_is_not_for_subscribing_or_publishing(world):
    ann = world.wamp_user("ann")
    bob = world.wamp_user("bob")
    refused = ann.subscribe(bob.private_topic)
    assert isinstance(refused, message.Error) and refused.error == "wamp.error.not_authorized"
    refused = ann.publish(ann.private_topic, "to myself", acknowledge=True)
    assert isinstance(refused, message.Error) and refused.error == "wamp.error.not_authorized"


# -- application topics --------------------------------------------------------------------------------


def test_application_topics_reach_the_other_subscribers(world):
    ann, bob, cat = world.wamp_user("ann"), world.wamp_user("bob"), world.wamp_user("cat")
    sub = ann.subscribe("app.news")
    assert bob.subscribe("app.news") == sub
    published = ann.publish("app.news", "extra", acknowledge=True, source="wire")
    assert isinstance(published, message.Published)
    [event] = [m for m in bob.read() if isinstance(m, message.Event)]
    assert (event.subscription, event.publication, event.args, event.kwargs) == (
        sub, published.publication, ["extra"], {"source": "wire"})
    assert ann.read() == [] and cat.read() == []
    ann.publish("app.news", "me too", exclude_me=False)
    assert [e["args"] for e in ann.events()] == [["me too"]]


def test_chatds_own_names_are_not_application_topics(world):
    ann = world.wamp_user("ann")
    refused = ann.publish("chatd.news", "mine", acknowledge=True)
    assert isinstance(refused, message.Error) and refused.error == "wamp.error.invalid_uri"


def test_unsubscribe_stops_events(world):
    tom = world.terminal("tom", "#lobby")
    ann = world.wamp_user("ann", "#lobby")
    bob = world.wamp_user("bob")
    room = ann.subscribe(LOBBY)  # the one wamp_user made
    news = ann.subscribe("app.news")
    assert kinds([ann.unsubscribe(room), ann.unsubscribe(news)]) == ["UNSUBSCRIBED", "UNSUBSCRIBED"]
    tom.type("anyone?")
    bob.publish("app.news", "anyone?")
    assert ann.read() == []
    again = ann.unsubscribe(news)
    assert isinstance(again, message.Error) and again.error == "wamp.error.no_such_subscription"
    assert isinstance(ann.call("chatd.say", "#lobby", "still a member"), message.Result)


def test_unsubscribing_anothers_subscription_is_refused(world):
    ann, bob = world.wamp_user("ann"), world.wamp_user("bob")
    sub = ann.subscribe("app.news")
    refused = bob.unsubscribe(sub)
    assert isinstance(refused, message.Error) and refused.error == "wamp.error.no_such_subscription"
    bob.publish("app.news", "still there")
    assert len(ann.events()) == 1


def test_a_session_has_a_bounded_number_of_subscriptions():
    world = World(limits=WampLimits(subscriptions=2))
    ann = world.wamp_user("ann")
    one, two = ann.subscribe("app.one"), ann.subscribe("app.two")
    refused = ann.subscribe("app.three")
    assert isinstance(refused, message.Error) and refused.error == "chatd.error.too-many-subscriptions"
    assert "2 topics" in refused.args[0]
    assert isinstance(ann.unsubscribe(one), message.Unsubscribed)
    assert isinstance(ann.subscribe("app.three"), int)


def test_subscribing_again_gives_the_same_subscription_even_at_the_cap():
    """As the spec says (and Autobahn does, once per handler): one topic, one subscription."""
    world = World(limits=WampLimits(subscriptions=2))
    ann, bob = world.wamp_user("ann"), world.wamp_user("bob")
    one, two = ann.subscribe("app.one"), ann.subscribe("app.two")
    assert (ann.subscribe("app.one"), ann.subscribe("app.two")) == (one, two)
    bob.publish("app.one", "once")
    assert ann.events() == [{"args": ["once"]}]


def test_pattern_subscriptions_are_refused(world):
    ann = world.wamp_user("ann")
    request = next(ann.requests)
    ann.send(message.Subscribe(request, "app", match=message.Subscribe.MATCH_PREFIX))
    refused = ann.answer_to(request, (message.Error,))
    assert refused.error == "wamp.error.invalid_argument" and "exactly" in refused.args[0]


# -- what the server does to a session ----------------------------------------------------------------


@pytest.fixture
def den():
    """tom, a server operator on a terminal, founded #den; ann, a WAMP user, is in it and hears her own topic."""
    world = World(operators=("tom",))
    world.account("tom")
    tom = world.terminal("tom")
    tom.type(f"/login tom {PASSWORD}", "/join #den", "/room register")
    ann = world.wamp_user("ann", "#den")
    mine = ann.subscribe(ann.private_topic)
    tom.output()
    return tom, ann, mine


def test_being_kicked_is_told_on_the_session_topic(den):
    tom, ann, mine = den
    tom.type("/kick ann go away")
    assert [(e["type"], e["nick"], e["by"], e["reason"]) for e in ann.events(mine)] == [
        ("kick", "ann", "tom", "go away")]
    assert ann.read() == []
    refused = ann.publish(topic_of("#den"), "still here?", acknowledge=True)
    assert isinstance(refused, message.Error) and refused.error == "chatd.error.not-in-room"


def test_invitations_and_notices_arrive_on_the_session_topic(den):
    tom, ann, mine = den
    tom.type("/join #back", "/invite #back ann", "/announce maintenance at noon")
    seen = ann.events(mine)
    assert [e["type"] for e in seen] == ["invite", "notice"]
    assert (seen[0]["room"], seen[0]["nick"]) == ("#back", "tom")
    assert seen[1]["text"] == "maintenance at noon"


def test_a_killed_session_is_told_why_and_closed(den):
    tom, ann, mine = den
    tom.type("/kill ann bye")
    shutdown, goodbye = ann.read()
    assert shutdown.subscription == mine and shutdown.kwargs == {"type": "shutdown", "reason": "Killed by tom: bye"}
    assert isinstance(goodbye, message.Goodbye) and goodbye.reason == "wamp.close.system_shutdown"
    assert goodbye.message == "Killed by tom: bye" and ann.closed
    assert "[#den] -!- ann has quit (Killed by tom: bye)" in tom.output()
