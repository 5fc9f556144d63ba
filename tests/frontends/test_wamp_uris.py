"""
Room names as WAMP topics: every name chatd accepts maps onto a URI a
WAMP client library accepts, and back to the same room.
"""

import pytest
from autobahn.wamp import message
from autobahn.wamp.exception import ProtocolError
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chatd.core.errors import ChatError
from chatd.core.text import check_room
from chatd.frontends.wamp import uris
from wampworld import World

#: Characters that must be escaped, and ones that look like escapes, mixed with ordinary text.
_TRICKY = st.sampled_from(["%", ".", "#", "%2E", "%25", "%zz", "%e2", "é", "ß", "日", "-", "_", ":", "a", "Z", "9"])
_ANY = st.characters(blacklist_categories=("Cs",))


def _accepted(name: str) -> bool:
    try:
        check_room(name)
    except ChatError:
        return False
    return True


_ROOMS = st.builds(lambda parts: "#" + "".join(parts),
                   st.lists(st.one_of(_TRICKY, _ANY), min_size=1, max_size=49)).filter(_accepted)


def _autobahn_accepts(topic: str) -> bool:
    """What Autobahn's own URI check says of a topic (loose rules, no empty components)."""
    try:
        message.check_or_raise_uri(topic, "topic")
    except ProtocolError:
        return False
    return True


@given(_ROOMS)
@settings(max_examples=400, deadline=None)
@example("#dev.ops")
@example("##")
@example("#a%2Eb")
@example("#100%")
def test_every_room_name_is_a_valid_topic_and_back(room):
    topic = uris.topic_of(room)
    assert topic.startswith("chatd.room.")
    assert _autobahn_accepts(topic), topic
    assert uris.valid(topic)
    assert uris.room_of(topic) == room


def test_a_dot_is_escaped_as_in_a_url():
    assert uris.topic_of("#dev.ops") == "chatd.room.dev%2Eops"
    assert uris.room_of("chatd.room.dev%2Eops") == "#dev.ops"


def test_percent_and_hash_are_escaped_so_escapes_read_back_literally():
    assert uris.topic_of("#100%") == "chatd.room.100%25"
    assert uris.topic_of("#a%2Eb") == "chatd.room.a%252Eb"
    assert uris.room_of("chatd.room.a%252Eb") == "#a%2Eb"
    assert uris.topic_of("##x") == "chatd.room.%23x"


def test_escapes_are_written_in_upper_case_and_read_in_either():
    assert uris.topic_of("#a.b") == "chatd.room.a%2Eb"
    assert uris.room_of("chatd.room.a%2eb") == uris.room_of("chatd.room.a%2Eb") == "#a.b"


def test_letters_keep_their_case_and_other_characters_stay_as_they_are():
    assert uris.topic_of("#Lobby") == "chatd.room.Lobby"
    assert uris.topic_of("#café-日本") == "chatd.room.café-日本"


@pytest.mark.parametrize("topic", [
    "app.news",                 # an application topic
    "chatd.session.1234",       # a session's topic
    "chatd.room.",              # no room
    "chatd.room.a.b",           # a dot that is not escaped
    "chatd.room.a#b",           # a '#' that is not escaped
    "chatd.room.50%",           # a '%' that starts no escape
    "chatd.room.a%2",           # a cut escape
    "chatd.room.%FF",           # an escape that is not UTF-8
    "chatd.rooms.lobby",        # a look-alike prefix
])
def test_topics_that_are_not_rooms_have_no_room(topic):
    assert uris.room_of(topic) is None


def test_session_topics_and_error_uris():
    assert uris.session_topic(42) == "chatd.session.42"
    assert uris.error_uri("not-in-room") == "chatd.error.not-in-room"
    assert _autobahn_accepts(uris.error_uri("not-in-room"))


# -- what a client sees ---------------------------------------------------------------------------


def test_a_room_with_a_dot_is_subscribed_by_its_escaped_topic():
    """A subscriber to chatd.room.dev%2Eops hears #dev.ops, however the escape is written."""
    world = World()
    tom = world.terminal("tom", "#dev.ops")
    ann = world.wamp_user("ann")
    upper = ann.subscribe("chatd.room.dev%2Eops")
    lower = ann.subscribe("chatd.room.dev%2eops")
    assert upper == lower  # one room, one subscription
    assert ann.call("chatd.join", "#dev.ops").kwargs["room"] == "#dev.ops"
    tom.type("deploy at noon")
    assert [(e["room"], e["text"]) for e in ann.events(upper)] == [("#dev.ops", "deploy at noon")]


@pytest.mark.parametrize("topic, error", [
    ("chatd.room.a%20b", "chatd.error.invalid-room"),     # a space: not a room name chatd accepts
    ("chatd.room.50%", "wamp.error.invalid_uri"),         # not escaped as topic_of does
    ("chatd.nothing", "wamp.error.invalid_uri"),          # chatd's own names: no such topic
    ("app..news", "wamp.error.invalid_uri"),              # an empty component (a pattern)
])
def test_a_topic_that_names_no_room_is_refused_with_the_reason(topic, error):
    world = World()
    ann = world.wamp_user("ann")
    refused = ann.subscribe(topic)
    assert isinstance(refused, message.Error) and refused.error == error
    assert refused.args[0]
