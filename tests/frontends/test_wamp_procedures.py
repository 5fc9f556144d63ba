"""
Chat commands as C{chatd.*} procedures, in memory: arguments in, results
and chatd's refusals out, with terminal users in the same rooms; and
C{chatd.join}'s history, with the room's events held until its RESULT.
"""

import pytest
from autobahn.wamp import message

from wampworld import PASSWORD, LaterStore, World, kinds, topic_of

LOBBY = topic_of("#lobby")


@pytest.fixture
def world():
    return World()


def _refused(answer, code):
    assert isinstance(answer, message.Error), answer
    assert answer.error == f"chatd.error.{code}"
    assert answer.kwargs["code"] == code and answer.args[0] == answer.kwargs["message"]
    return answer.args[0]


# -- arguments ------------------------------------------------------------------------------------


def test_positional_and_keyword_arguments_are_the_same_command(world):
    tom = world.terminal("tom", "#lobby")
    ann = world.wamp_user("ann", "#lobby")
    tom.output()
    ann.call("chatd.say", "#lobby", "positional")
    ann.call("chatd.say", room="#lobby", text="keywords")
    ann.call("chatd.say", "#lobby", text="both")
    ann.call("chatd.action", "#lobby", "nods")
    assert tom.output() == ["[#lobby] <ann> positional", "[#lobby] <ann> keywords", "[#lobby] <ann> both",
                            "[#lobby] * ann nods"]


def test_an_unknown_procedure_names_the_known_ones(world):
    ann = world.wamp_user("ann")
    text = _refused(ann.call("chatd.nope"), "unknown-type")
    assert "'nope'" in text and "join" in text and "say" in text and "history" in text


def test_wrong_types_missing_and_extra_arguments_are_bad_commands(world):
    ann = world.wamp_user("ann", "#lobby")
    assert _refused(ann.call("chatd.say", 1, 2), "bad-command") == '"room" must be a string.'
    assert "text" in _refused(ann.call("chatd.say", "#lobby"), "bad-command")
    assert "(room, text, cid, reply_to)" in _refused(ann.call("chatd.say", "#lobby", "a", "b", 1, 2), "bad-command")
    assert "'txt'" in _refused(ann.call("chatd.say", "#lobby", txt="typo"), "bad-command")
    assert "whole number" in _refused(ann.call("chatd.history", "#lobby", None, "ten"), "bad-command")


def test_a_procedure_uri_must_be_valid(world):
    ann = world.wamp_user("ann")
    answer = ann.call("chatd..say")
    assert isinstance(answer, message.Error) and answer.error == "wamp.error.invalid_uri"


def test_a_command_needing_a_nick_says_so(world):
    c = world.client()
    c.hello()
    _refused(c.call("chatd.join", "#lobby"), "no-nick")
    _refused(c.call("chatd.nick", "#notanick"), "invalid-nick")


# -- results --------------------------------------------------------------------------------------


def test_say_returns_the_message_id_and_a_retried_cid_the_same(world):
    tom = world.terminal("tom", "#lobby")
    ann = world.wamp_user("ann", "#lobby")
    tom.output()
    first = ann.call("chatd.say", "#lobby", "only once", "c-1").kwargs
    again = ann.call("chatd.say", "#lobby", "only once", "c-1").kwargs
    assert first == again
    assert set(first) == {"id", "room", "ts", "cid"} and first["cid"] == "c-1"
    assert tom.output() == ["[#lobby] <ann> only once"]
    assert [e["id"] for e in ann.events()] == [first["id"]]


def test_who_rooms_topic_and_history(world):
    tom = world.terminal("tom", "#lobby")
    tom.type("/topic plans for today", "one", "two", "three")
    ann = world.wamp_user("ann", "#lobby")
    assert ann.call("chatd.who", "#lobby").kwargs == {"room": "#lobby", "nicks": ["ann", "tom"],
                                                      "topic": "plans for today"}
    assert ann.call("chatd.rooms").kwargs == {"rooms": [{"name": "#lobby", "members": 2,
                                                         "topic": "plans for today"}]}
    topic = ann.call("chatd.topic", "#lobby").kwargs
    assert (topic["room"], topic["topic"], topic["nick"]) == ("#lobby", "plans for today", "tom")
    page = ann.call("chatd.history", "#lobby", None, 2).kwargs  # room, before, limit
    assert [m["text"] for m in page["messages"]] == ["two", "three"] and page["truncated"] is True
    older = ann.call("chatd.history", "#lobby", before=page["messages"][0]["id"]).kwargs
    assert [m["text"] for m in older["messages"]] == ["one"]


def test_topic_set_by_procedure_reaches_the_terminal(world):
    tom = world.terminal("tom", "#lobby")
    ann = world.wamp_user("ann", "#lobby")
    tom.output()
    assert ann.call("chatd.topic", "#lobby", "new plans").kwargs["topic"] == "new plans"
    assert any("new plans" in line for line in tom.output())


def test_away_and_whois(world):
    ann = world.wamp_user("ann", "#lobby")
    assert ann.call("chatd.away", "brb").kwargs == {"away": "brb"}
    whois = ann.call("chatd.whois", "ann").kwargs
    assert (whois["nick"], whois["away"], whois["rooms"]) == ("ann", "brb", ["#lobby"])


# -- accounts -------------------------------------------------------------------------------------------


def test_register_logout_and_login_by_procedure(world):
    tom = world.terminal("tom")
    ann = world.wamp_user("ann")
    made = ann.call("chatd.register", PASSWORD).kwargs
    assert (made["account"], made["nick"]) == ("ann", "ann") and made["token"]
    tom.type("/whois ann")
    assert "-!- ann is logged in as ann" in tom.output()
    assert isinstance(ann.call("chatd.logout"), message.Result)
    _refused(ann.call("chatd.logout"), "not-logged-in")
    _refused(ann.call("chatd.login", "ann", "wrong-password-here"), "bad-password")
    back = ann.call("chatd.login", "ann", PASSWORD).kwargs
    assert back["account"] == "ann" and back["token"] != made["token"]
    ann.call("chatd.logout")
    again = world.client()
    assert again.login("ann", made["token"]).reason == "wamp.error.authentication_failed"


# -- moderation, with a terminal user as the target ------------------------------------------------------


@pytest.fixture
def den(world):
    """ann (a WAMP user) founded the registered room #den; tom (a terminal user) is in it."""
    world.account("ann")
    ann = world.client()
    ann.login("ann")
    ann.subscribe(topic_of("#den"))
    ann.call("chatd.join", "#den")
    assert isinstance(ann.call("chatd.room", "#den", "register"), message.Result)
    tom = world.terminal("tom", "#den")
    ann.read()
    return ann, tom


def test_kick_by_procedure(den):
    ann, tom = den
    assert isinstance(ann.call("chatd.kick", "#den", "tom", "spam"), message.Result)
    assert tom.output() == ["[#den] -!- tom was kicked by ann (spam)"]
    assert [(e["type"], e["nick"], e["by"]) for e in ann.events()] == [("kick", "tom", "ann")]


def test_ban_by_procedure_keeps_the_terminal_user_out(den):
    ann, tom = den
    assert isinstance(ann.call("chatd.ban", "#den", "tom", None, "flooding"), message.Result)
    assert tom.output() == ["[#den] -!- ann banned tom (flooding)",
                            "[#den] -!- tom was kicked by ann (banned (flooding))"]
    tom.type("/join #den")
    assert tom.output() == ["! banned: You are banned from #den: flooding."]
    assert [b["mask"] for b in ann.call("chatd.bans", "#den").kwargs["bans"]] == ["tom"]


def test_moderation_without_the_role_is_refused_in_chatds_words(den, world):
    ann, tom = den
    bob = world.wamp_user("bob", "#den")
    text = _refused(bob.call("chatd.kick", "#den", "tom"), "not-operator")
    assert "#den" in text
    assert tom.output()[-1].endswith("bob has joined")


# -- chatd.join: history, then live, without gap or duplicate ----------------------------------------------


@pytest.mark.parametrize("snapshot", ["call", "release"])
def test_events_during_a_join_come_after_its_result(snapshot):
    """Whether the store's read saw the messages said meanwhile or not, each is seen exactly once, in order."""
    store = LaterStore(snapshot)
    world = World(store=store)
    tom = world.terminal("tom", "#lobby")
    tom.type("before")
    ann = world.wamp_user("ann")
    sub = ann.subscribe(LOBBY)
    store.slow = True
    request = ann.call_later("chatd.join", "#lobby")
    tom.type("during one", "during two")
    assert ann.read() == []
    store.release()
    msgs = ann.read()
    assert kinds(msgs)[0] == "RESULT" and msgs[0].request == request
    history = [m["text"] for m in msgs[0].kwargs["history"]]
    live = [m.kwargs["text"] for m in msgs[1:] if m.kwargs["type"] == "message"]
    assert history + live == ["before", "during one", "during two"]
    assert all(m.subscription == sub for m in msgs[1:])
    tom.type("after")
    assert [e["text"] for e in ann.events()] == ["after"]


def test_a_second_join_while_the_first_runs_is_refused():
    store = LaterStore()
    world = World(store=store)
    ann = world.wamp_user("ann")
    store.slow = True
    first = ann.call_later("chatd.join", "#lobby")
    second = ann.call_later("chatd.join", "#LOBBY")
    assert ann.read() == []
    store.release()
    assert isinstance(ann.answer_to(first), message.Result)
    world.clock.advance(0)  # what waited for the join runs next
    assert "Already joining" in _refused(ann.answer_to(second), "bad-command")


def test_joining_a_room_again_brings_no_history(world):
    world.terminal("tom", "#lobby").type("old news")
    ann = world.wamp_user("ann", "#lobby")
    again = ann.call("chatd.join", "#lobby").kwargs
    assert (again["history"], again["truncated"], again["members"]) == ([], False, ["ann", "tom"])


def test_join_since_after_a_disconnect_gives_exactly_what_was_missed(world):
    tom = world.terminal("tom", "#lobby")
    ann = world.wamp_user("ann", "#lobby")
    tom.type("seen")
    [seen] = ann.events()
    ann.drop()
    tom.type("missed one", "missed two")
    back = world.wamp_user("ann")
    back.subscribe(LOBBY)
    joined = back.call("chatd.join", "#lobby", seen["id"]).kwargs
    assert [m["text"] for m in joined["history"]] == ["missed one", "missed two"]
    assert joined["truncated"] is False
    tom.type("live again")
    assert [e["text"] for e in back.events()] == ["live again"]


def test_join_since_replays_even_when_another_connection_kept_the_account_in_the_room(world):
    world.account("ann")
    phone = world.terminal()
    phone.type(f"/login ann {PASSWORD}", "/join #lobby")
    tom = world.terminal("tom", "#lobby")
    ann = world.client()
    ann.login("ann")
    ann.subscribe(LOBBY)
    tom.type("seen")
    [seen] = ann.events()
    ann.drop()
    tom.type("missed one", "missed two")
    back = world.client()
    back.login("ann")  # the account never left #lobby: this connection is in it at once
    back.subscribe(LOBBY)
    joined = back.call("chatd.join", "#lobby", seen["id"]).kwargs
    assert [m["text"] for m in joined["history"]] == ["missed one", "missed two"]
    assert joined["truncated"] is False
    back.events()  # what reached the room topic before the join, as the account was already in the room
    tom.type("live")
    assert [e["text"] for e in back.events()] == ["live"]


def test_a_resume_past_the_replay_limit_says_truncated():
    world = World(replay_max=2)
    tom = world.terminal("tom", "#lobby")
    ann = world.wamp_user("ann", "#lobby")
    tom.type("seen")
    [seen] = ann.events()
    ann.drop()
    tom.type("lost", "kept one", "kept two")
    back = world.wamp_user("ann")
    joined = back.call("chatd.join", room="#lobby", since=seen["id"]).kwargs
    assert [m["text"] for m in joined["history"]] == ["kept one", "kept two"]
    assert joined["truncated"] is True
