"""
draft/multiline, in memory: a long chatd message reaches a client that
negotiated it as one batch, and a client's batch becomes one chatd message.
"""

import irctokens

from ircworld import world  # noqa: F401

MULTILINE = ("message-tags", "server-time", "batch", "draft/multiline")


def test_a_long_message_is_one_multiline_batch(world):
    """3,000 characters: BATCH +ref draft/multiline with the msgid, parts marked concat, each line within 512 bytes."""
    reader = world.irc_user("reader", "#lobby", caps=MULTILINE)
    bob = world.terminal("bob", "#lobby")
    reader.read()
    text = " ".join(f"word{n}" for n in range(600))[:3000].rstrip()
    bob.type(text)
    raw = reader.raw()
    lines = [irctokens.tokenise(line.decode("utf-8")) for line in raw]
    assert lines[0].command == "BATCH" and lines[0].params[0].startswith("+")
    assert lines[0].params[1:] == ["draft/multiline", "#lobby"]
    assert "msgid" in lines[0].tags
    ref = lines[0].params[0][1:]
    assert lines[-1].command == "BATCH" and lines[-1].params == ["-" + ref]
    body = lines[1:-1]
    assert len(body) > 5
    assert all(m.command == "PRIVMSG" and m.tags["batch"] == ref and "msgid" not in m.tags for m in body)
    assert "draft/multiline-concat" not in body[0].tags
    assert all("draft/multiline-concat" in m.tags for m in body[1:])
    assert "".join(m.params[1] for m in body) == text
    assert all(len(line.split(b" ", 1)[1]) + 2 <= 512 for line in raw)


def test_a_short_message_is_one_line_even_with_multiline(world):
    reader = world.irc_user("reader", "#lobby", caps=MULTILINE)
    bob = world.terminal("bob", "#lobby")
    reader.read()
    bob.type("hello")
    lines = reader.read()
    assert [(m.command, m.params) for m in lines] == [("PRIVMSG", ["#lobby", "hello"])]


def test_a_clients_multiline_batch_is_one_chatd_message(world):
    """Lines of a batch meet at a space; a concat line joins its predecessor directly; a terminal sees one message."""
    sender = world.irc_user("sender", "#lobby", caps=MULTILINE)
    bob = world.terminal("bob", "#lobby")
    sender.read()
    bob.output()
    sender.send("BATCH +m1 draft/multiline #lobby",
                "@batch=m1 PRIVMSG #lobby :first line",
                "@batch=m1;draft/multiline-concat PRIVMSG #lobby :, continued",
                "@batch=m1 PRIVMSG #lobby :second line",
                "BATCH -m1")
    assert bob.output() == ["[#lobby] <sender> first line, continued second line"]


def test_a_multiline_batch_over_the_limit_is_refused_whole(world):
    sender = world.irc_user("sender", "#lobby", caps=MULTILINE)
    bob = world.terminal("bob", "#lobby")
    sender.read()
    bob.output()
    sender.send("BATCH +big draft/multiline #lobby",
                *[f"@batch=big PRIVMSG #lobby :{'x' * 400}" for _ in range(14)],
                "BATCH -big")
    fails = [m for m in sender.read() if m.command == "FAIL"]
    assert [m.params[:2] for m in fails] == [["BATCH", "MULTILINE_MAX_BYTES"]]
    assert not any("<sender>" in line for line in bob.output())
