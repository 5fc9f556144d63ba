"""
IRC clients in rooms, in memory: joins with scrollback, messages to and from
terminal users, long messages, CHATHISTORY, topic, names, WHO, LIST, MODE
queries.
"""

import re

import irctokens
import pytest

from ircworld import ALL_TAGS, SERVER, T0, commands, only, texts, world  # noqa: F401


# -- rooms and messages -----------------------------------------------------------------------------


def test_join_shows_topic_names_and_scrollback_batch(world):
    """JOIN echo, 332/333, 353/366, then the scrollback as a chathistory batch with time and msgid."""
    bob = world.terminal("bob", "#lobby")
    bob.type("/topic Welcome all", "first", "/me waves", "third")
    world.clock.advance(5)
    c = world.irc_user("alice", caps=ALL_TAGS)
    c.send("JOIN #lobby")
    seen = c.read()
    assert commands(seen) == ["JOIN", "332", "333", "353", "366", "BATCH", "PRIVMSG", "PRIVMSG", "PRIVMSG",
                              "BATCH"]
    join = seen[0]
    assert join.source == f"alice!~alice@user/alice" and join.params == ["#lobby"]
    assert seen[1].params == ["alice", "#lobby", "Welcome all"]
    assert seen[2].params[:3] == ["alice", "#lobby", "bob"]
    assert seen[3].params[:3] == ["alice", "=", "#lobby"] and set(seen[3].params[3].split()) == {"alice", "bob"}
    start, end = seen[5], seen[9]
    ref = start.params[0][1:]
    assert start.params[0].startswith("+") and start.params[1:] == ["chathistory", "#lobby"]
    assert end.params == ["-" + ref]
    history = seen[6:9]
    assert [line.params for line in history] == [["#lobby", "first"], ["#lobby", "\x01ACTION waves\x01"],
                                                 ["#lobby", "third"]]
    assert all(line.source == f"bob!~bob@user/bob" for line in history)
    assert all(line.tags["batch"] == ref for line in history)
    assert all(line.tags["time"] == "2023-11-14T22:13:20.000Z" for line in history)
    ids = [line.tags["msgid"] for line in history]
    assert len(set(ids)) == 3


def test_join_scrollback_without_tags_is_plain_privmsgs(world):
    bob = world.terminal("bob", "#lobby")
    bob.type("first", "second")
    c = world.irc_user("alice")
    c.send("JOIN #lobby")
    seen = c.read()
    assert commands(seen) == ["JOIN", "353", "366", "PRIVMSG", "PRIVMSG"]
    assert all(line.tags is None for line in seen)
    assert texts(seen) == ["first", "second"]


def test_privmsg_reaches_irc_and_terminal_users(world):
    alice = world.irc_user("alice", "#lobby")
    bob = world.irc_user("bob", "#lobby")
    carol = world.terminal("carol", "#lobby")
    alice.read()
    alice.send("PRIVMSG #lobby :hello there")
    assert [(line.source, line.params) for line in only(bob.read(), "PRIVMSG")] == [
        (f"alice!~alice@user/alice", ["#lobby", "hello there"])]
    assert carol.output() == ["[#lobby] <alice> hello there"]
    assert alice.read() == []  # no echo without echo-message
    carol.type("hi from a terminal")
    assert [(line.source, line.params) for line in alice.read()] == [
        (f"carol!~carol@user/carol", ["#lobby", "hi from a terminal"])]


def test_ctcp_action_both_ways(world):
    alice = world.irc_user("alice", "#lobby")
    carol = world.terminal("carol", "#lobby")
    alice.read()
    alice.send("PRIVMSG #lobby :\x01ACTION waves\x01")
    assert carol.output() == ["[#lobby] * alice waves"]
    carol.type("/me bows")
    assert texts(alice.read()) == ["\x01ACTION bows\x01"]


def test_echo_message_only_when_negotiated_with_label(world):
    plain_client = world.irc_user("alice", "#lobby")
    echoing = world.irc_user("bob", "#lobby", caps=("echo-message", "labeled-response", "message-tags"))
    labels_only = world.irc_user("dan", "#lobby", caps=("labeled-response", "message-tags"))
    for c in (plain_client, echoing, labels_only):
        c.read()
    plain_client.send("PRIVMSG #lobby :one")
    assert plain_client.read() == []
    echoing.read()
    labels_only.read()
    echoing.send("@label=L42 PRIVMSG #lobby :two")
    echo = echoing.read()
    assert [(line.source, line.params) for line in echo] == [(f"bob!~bob@user/bob", ["#lobby", "two"])]
    assert echo[0].tags["label"] == "L42" and "msgid" in echo[0].tags
    others = plain_client.read()
    assert texts(others) == ["two"] and others[0].tags is None
    assert "label" not in labels_only.read()[0].tags  # the label is only for the sender
    labels_only.send("@label=L7 PRIVMSG #lobby :three")
    ack = labels_only.read()
    assert [(line.command, line.tags.get("label")) for line in ack] == [("ACK", "L7")]


def test_a_long_message_is_split_within_512_bytes(world):
    """3,000 characters from a terminal arrive as several PRIVMSGs of at most 512 bytes, whole, msgid on the first."""
    plain_client = world.irc_user("alice", "#lobby")
    tagged = world.irc_user("tagged", "#lobby", caps=("message-tags",))
    bob = world.terminal("bobby_the_long_nick", "#lobby")
    plain_client.read()
    tagged.read()
    words = [f"w{n}-{'é' * (n % 7)}" for n in range(1000)]
    text = " ".join(words)[:3000].rstrip()
    assert len(text) == 3000
    bob.type(text)
    raw = plain_client.raw()
    parts = [irctokens.tokenise(line.decode("utf-8")) for line in raw]
    assert len(parts) > 6
    assert all(len(line) + 2 <= 512 for line in raw)
    assert all(p.command == "PRIVMSG" and p.params[0] == "#lobby" and p.tags is None for p in parts)
    assert "".join(p.params[1] for p in parts) == text
    tagged_raw = tagged.raw()
    tagged_parts = [irctokens.tokenise(line.decode("utf-8")) for line in tagged_raw]
    assert "".join(p.params[1] for p in tagged_parts) == text
    assert all(len(line.split(b" ", 1)[1]) + 2 <= 512 for line in tagged_raw)
    assert "msgid" in tagged_parts[0].tags
    assert not any("msgid" in p.tags for p in tagged_parts[1:])


def test_mirc_formatting_is_stripped(world):
    alice = world.irc_user("alice", "#lobby")
    carol = world.terminal("carol", "#lobby")
    alice.read()
    alice.send("PRIVMSG #lobby :\x02bold\x02 \x0304,01red\x03 \x1ditalic\x1d \x1funder\x1f\x0f \x16rev\x16 \x1estrike")
    assert carol.output() == ["[#lobby] <alice> bold red italic under rev strike"]
    assert alice.read() == []


def test_notice_to_a_room_and_a_nick(world):
    alice = world.irc_user("alice", "#lobby")
    bob = world.irc_user("bob", "#lobby")
    carol = world.terminal("carol", "#lobby")
    alice.read()
    bob.read()
    alice.send("NOTICE #lobby :heads up")
    assert carol.output() == ["[#lobby] <alice> heads up"]
    assert [(line.source, line.params) for line in bob.read()] == [(f"alice!~alice@user/alice", ["#lobby", "heads up"])]
    alice.send("NOTICE bob :just you")
    assert [(line.source, line.params) for line in bob.read()] == [(f"alice!~alice@user/alice", ["bob", "just you"])]
    alice.send("NOTICE carol :you too")
    assert carol.output() == ["*alice* you too"]
    alice.send("NOTICE nobody :hello?", "NOTICE #elsewhere :hello?", "NOTICE #lobby :\x02\x02")
    assert alice.read() == []  # a NOTICE is never answered, not even with an error


def test_private_messages_both_ways(world):
    alice = world.irc_user("alice")
    bob = world.irc_user("bob")
    carol = world.terminal("carol")
    alice.send("PRIVMSG bob :psst")
    assert [(line.source, line.params) for line in bob.read()] == [(f"alice!~alice@user/alice", ["bob", "psst"])]
    bob.send("PRIVMSG alice :what")
    assert [(line.source, line.params) for line in alice.read()] == [(f"bob!~bob@user/bob", ["alice", "what"])]
    alice.send("PRIVMSG carol :hi terminal")
    assert carol.output() == ["*alice* hi terminal"]
    carol.type("/msg alice hi irc")
    assert [(line.source, line.params) for line in alice.read()] == [(f"carol!~carol@user/carol", ["alice", "hi irc"])]
    alice.send("PRIVMSG nobody :hello?")
    assert [(line.command, line.params[:2]) for line in alice.read()] == [("401", ["alice", "nobody"])]


# -- chathistory -------------------------------------------------------------------------------------


@pytest.fixture
def talked(world):
    """Ten messages in #lobby, a second apart, and an IRC client that saw them: (client, msgids, times, texts)."""
    alice = world.irc_user("alice", "#lobby", caps=ALL_TAGS + ("draft/chathistory",))
    bob = world.terminal("bob", "#lobby")
    said = [f"m{n}" for n in range(1, 11)]
    for text in said:
        bob.type(text)
        world.clock.advance(1)
    seen = only(alice.read(), "PRIVMSG")
    assert texts(seen) == said
    return alice, [line.tags["msgid"] for line in seen], [line.tags["time"] for line in seen], said


def history(client, command: str) -> list:
    """The texts of the chathistory batch answering C{command}, oldest first."""
    client.send(command)
    seen = client.read()
    assert commands(seen)[0] == "BATCH" and commands(seen)[-1] == "BATCH", [line.format() for line in seen]
    assert seen[0].params[1:] == ["chathistory", "#lobby"]
    ref = seen[0].params[0][1:]
    assert all(line.tags["batch"] == ref for line in seen[1:-1])
    return texts(seen[1:-1])


def test_chathistory_by_msgid(talked):
    alice, ids, _, said = talked
    assert history(alice, "CHATHISTORY LATEST #lobby * 3") == said[-3:]
    assert history(alice, f"CHATHISTORY AFTER #lobby msgid={ids[4]} 100") == said[5:]
    assert history(alice, f"CHATHISTORY AFTER #lobby msgid={ids[4]} 2") == said[5:7]
    assert history(alice, f"CHATHISTORY BEFORE #lobby msgid={ids[4]} 2") == said[2:4]
    assert history(alice, f"CHATHISTORY BETWEEN #lobby msgid={ids[1]} msgid={ids[6]} 100") == said[2:6]
    assert history(alice, f"CHATHISTORY LATEST #lobby msgid={ids[7]} 100") == said[8:]
    around = history(alice, f"CHATHISTORY AROUND #lobby msgid={ids[4]} 4")
    assert 0 < len(around) <= 4
    assert around == sorted(around, key=said.index)
    assert said.index(around[0]) < 4 and said.index(around[-1]) > 4


def test_chathistory_by_timestamp(talked):
    alice, _, times, said = talked
    assert history(alice, f"CHATHISTORY AFTER #lobby timestamp={times[4]} 100") == said[5:]
    assert history(alice, f"CHATHISTORY BEFORE #lobby timestamp={times[4]} 3") == said[1:4]
    assert history(alice, f"CHATHISTORY BETWEEN #lobby timestamp={times[1]} timestamp={times[6]} 100") == said[2:6]


def test_chathistory_bad_reference_is_invalid_params(talked, world):
    alice, ids, _, _ = talked
    other = world.irc_user("dan", "#other", caps=ALL_TAGS)
    other.send("PRIVMSG #other :elsewhere")
    for ref in ("msgid=nonsense", "msgid=1.00000000", "timestamp=yesterday", "around-noon"):
        alice.send(f"CHATHISTORY AFTER #lobby {ref} 10")
        seen = alice.read()
        assert [line.params[:2] for line in seen] == [["CHATHISTORY", "INVALID_PARAMS"]], ref
        assert seen[0].command == "FAIL"


# -- room information ---------------------------------------------------------------------------------


def test_topic_read_and_set(world):
    alice = world.irc_user("alice", "#lobby")
    carol = world.terminal("carol", "#lobby")
    alice.read()
    alice.send("TOPIC #lobby")
    assert [(line.command, line.params) for line in alice.read()] == [("331", ["alice", "#lobby", "No topic is set"])]
    alice.send("TOPIC #lobby :Cats only")
    assert [(line.source, line.command, line.params) for line in alice.read()] == [
        (f"alice!~alice@user/alice", "TOPIC", ["#lobby", "Cats only"])]
    assert carol.output() == ["[#lobby] -!- alice set the topic to: Cats only"]
    alice.send("TOPIC #lobby")
    seen = alice.read()
    assert [(line.command, line.params[:4]) for line in seen] == [
        ("332", ["alice", "#lobby", "Cats only"]), ("333", ["alice", "#lobby", "alice", str(int(T0))])]


def test_names_plain_multi_prefix_and_userhost(world):
    world.terminal("carol", "#lobby")
    alice = world.irc_user("alice", "#lobby", caps=("multi-prefix", "userhost-in-names"))
    alice.send("NAMES #lobby")
    seen = alice.read()
    assert commands(seen) == ["353", "366"]
    assert set(seen[0].params[-1].split()) == {f"alice!~alice@user/alice", f"carol!~carol@user/carol"}
    assert seen[1].params == ["alice", "#lobby", "End of /NAMES list."]
    bob = world.irc_user("bob", "#lobby")
    bob.send("NAMES #lobby")
    assert set(bob.read()[0].params[-1].split()) == {"alice", "bob", "carol"}


def test_who_and_whox(world):
    world.terminal("carol", "#lobby")
    alice = world.irc_user("alice", "#lobby")
    alice.send("WHO #lobby")
    seen = alice.read()
    assert commands(seen) == ["352", "352", "315"]
    rows = {line.params[5]: line.params for line in seen[:2]}
    assert rows["carol"] == ["alice", "#lobby", "~carol", "user/carol", SERVER, "carol", "H", "0 carol"]
    assert seen[2].params[:2] == ["alice", "#lobby"]
    alice.send("WHO #lobby %tcuhnfdar,743")
    seen = alice.read()
    assert commands(seen) == ["354", "354", "315"]
    rows = {line.params[5]: line.params for line in seen[:2]}
    # t c u h n f d a r, in that order: token, channel, user, host, nick, flags, hops, account, realname
    assert rows["carol"] == ["alice", "743", "#lobby", "~carol", "user/carol", "carol", "H", "0", "0", "carol"]


def test_list(world):
    world.terminal("carol", "#lobby", "#den")
    alice = world.irc_user("alice", "#lobby")
    alice.send("TOPIC #lobby :Everyone", "LIST")
    seen = alice.read()
    assert commands(seen)[1:] == ["321", "322", "322", "323"]
    rows = {line.params[1]: line.params[2:] for line in only(seen, "322")}
    assert rows == {"#lobby": ["2", "Everyone"], "#den": ["1", ""]}


def test_mode_queries_after_join(world):
    """What irssi and WeeChat send after a join: MODE #room and MODE #room b."""
    alice = world.irc_user("alice", "#lobby")
    alice.send("MODE #lobby", "MODE #lobby b")
    seen = alice.read()
    assert [(line.command, line.params) for line in seen] == [
        ("324", ["alice", "#lobby", "+n"]), ("329", ["alice", "#lobby", str(int(T0))]),
        ("368", ["alice", "#lobby", "End of channel ban list"])]


def test_msgids_name_the_ids_every_front_end_sees(world):
    """A message's msgid carries the id chatd gave it, whoever sent it: the id a JSON or terminal history shows."""
    from chatd.core import commands as cmd

    alice = world.irc_user("alice", "#lobby")
    reader = world.irc_user("reader", "#lobby", caps=ALL_TAGS)
    carol = world.terminal("carol", "#lobby")
    reader.read()
    carol.type("one")
    alice.send("PRIVMSG #lobby :two")
    carol.type("/me three")
    seen = [(line.params[1], re.fullmatch(r"(\d+)\.[0-9a-f]{8}", line.tags["msgid"]).group(1))
            for line in only(reader.read(), "PRIVMSG")]
    box = []
    carol.proto.session.handle(cmd.History(room="#lobby")).addBoth(box.append)
    stored = [(m.text if m.type == "message" else f"\x01ACTION {m.text}\x01", str(m.id)) for m in box[0].messages]
    assert seen == stored and len(stored) == 3


def test_chathistory_after_the_time_shown_never_repeats_that_message(world):
    """
    Messages said between milliseconds: AFTER timestamp=T, T being the time
    shown on the last line seen, gives what followed it and not that line
    again; LATEST with the same reference likewise.
    """
    alice = world.irc_user("alice", "#lobby", caps=ALL_TAGS + ("draft/chathistory",))
    bob = world.terminal("bob", "#lobby")
    world.clock.advance(0.0007)
    said = [f"m{n}" for n in range(1, 7)]
    for text in said:
        bob.type(text)
        world.clock.advance(0.0016)
    seen = only(alice.read(), "PRIVMSG")
    for n, line in enumerate(seen[:-1]):
        reference = f"timestamp={line.tags['time']}"
        assert history(alice, f"CHATHISTORY AFTER #lobby {reference} 100") == said[n + 1:]
        assert history(alice, f"CHATHISTORY LATEST #lobby {reference} 100") == said[n + 1:]


def test_scrollback_that_leaves_messages_out_says_so(world):
    """More history than the scrollback: the batch holds the newest, then a NOTICE says older ones exist."""
    from ircworld import World

    small = World(scrollback=2)
    bob = small.terminal("bob", "#lobby")
    bob.type("one", "two", "three")
    c = small.irc_user("alice", caps=ALL_TAGS)
    c.send("JOIN #lobby")
    seen = c.read()
    assert texts(seen) == ["two", "three"]
    (notice,) = only(seen, "NOTICE")
    assert notice.source == SERVER and notice.params[0] == "#lobby" and "Older messages" in notice.params[1]
    assert commands(seen).index("NOTICE") > commands(seen).index("366")
    quiet = small.irc_user("carol", caps=ALL_TAGS)
    quiet.send("JOIN #new")
    assert only(quiet.read(), "NOTICE") == []
