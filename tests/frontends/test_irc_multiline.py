"""
draft/multiline, in memory: a long chatd message or one with line breaks
reaches a client that negotiated it as one batch, and every other client
as a PRIVMSG per line; a client's batch becomes one chatd message, within
the limits CAP LS states, or is refused whole.
"""

import irctokens

from ircworld import World, commands, only, texts, world  # noqa: F401

MULTILINE = ("message-tags", "server-time", "batch", "draft/multiline")
ECHO = MULTILINE + ("echo-message", "labeled-response", "standard-replies")


def send_batch(client, target: str, *lines: str, ref: str = "r1", opening_tags: str = "") -> None:
    """A draft/multiline batch of C{lines} (a line starting with C{+} is a concat line)."""
    client.send(f"{opening_tags}BATCH +{ref} draft/multiline {target}")
    for line in lines:
        if line.startswith("+"):
            client.send(f"@batch={ref};draft/multiline-concat PRIVMSG {target} :{line[1:]}")
        else:
            client.send(f"@batch={ref} PRIVMSG {target} :{line}")
    client.send(f"BATCH -{ref}")


def fails(lines) -> list:
    return [m.params[:2] for m in lines if m.command == "FAIL"]


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
    """
    Lines of a batch meet at a line break; a concat line joins its
    predecessor directly: one chatd message, one msgid, shown as a batch
    to a reader with draft/multiline and as a PRIVMSG per line to one without.
    """
    sender = world.irc_user("sender", "#lobby", caps=MULTILINE)
    batched = world.irc_user("batched", "#lobby", caps=MULTILINE)
    plain = world.irc_user("plain", "#lobby", caps=("message-tags",))
    sender.read()
    batched.read()
    plain.read()
    sender.send("BATCH +m1 draft/multiline #lobby",
                "@batch=m1 PRIVMSG #lobby :first line",
                "@batch=m1;draft/multiline-concat PRIVMSG #lobby :, continued",
                "@batch=m1 PRIVMSG #lobby :second line",
                "BATCH -m1")
    lines = batched.read()
    assert [m.command for m in lines] == ["BATCH", "PRIVMSG", "PRIVMSG", "BATCH"]
    assert [m.params[1] for m in lines[1:3]] == ["first line, continued", "second line"]
    assert not any("draft/multiline-concat" in m.tags for m in lines[1:3])
    shown = plain.read()
    assert [(m.command, m.params) for m in shown] == [("PRIVMSG", ["#lobby", "first line, continued"]),
                                                      ("PRIVMSG", ["#lobby", "second line"])]
    assert shown[0].tags["msgid"] == lines[0].tags["msgid"] and "msgid" not in shown[1].tags


def test_a_multiline_batch_over_the_limit_is_refused_whole(world):
    sender = world.irc_user("sender", "#lobby", caps=MULTILINE)
    bob = world.terminal("bob", "#lobby")
    sender.read()
    bob.output()
    sender.send("BATCH +big draft/multiline #lobby",
                *[f"@batch=big PRIVMSG #lobby :{'x' * 400}" for _ in range(11)],
                "BATCH -big")
    fails = [m for m in sender.read() if m.command == "FAIL"]
    assert [m.params[:2] for m in fails] == [["BATCH", "MULTILINE_MAX_BYTES"]]
    assert not any("<sender>" in line for line in bob.output())


# -- a message with line breaks, to each kind of client ----------------------------------------------------


def test_three_lines_reach_each_client_in_its_own_form(world):
    """
    One three-line message: a multiline client gets one batch (msgid on the
    BATCH line), a tags client three PRIVMSGs with the msgid on the first
    only, a plain client three plain PRIVMSGs.
    """
    sender = world.irc_user("sender", "#lobby", caps=MULTILINE)
    batched = world.irc_user("batched", "#lobby", caps=MULTILINE)
    tagged = world.irc_user("tagged", "#lobby", caps=("message-tags",))
    plain = world.irc_user("plain", "#lobby")
    for c in (sender, batched, tagged):
        c.read()
    send_batch(sender, "#lobby", "one", "two", "three")

    got = batched.read()
    assert commands(got) == ["BATCH", "PRIVMSG", "PRIVMSG", "PRIVMSG", "BATCH"]
    opening = got[0]
    assert opening.params[1:] == ["draft/multiline", "#lobby"] and opening.source.startswith("sender!")
    ref = opening.params[0][1:]
    assert [m.tags["batch"] for m in got[1:4]] == [ref] * 3
    assert texts(got) == ["one", "two", "three"]
    assert got[-1].params == ["-" + ref]

    lines = tagged.read()
    assert texts(lines) == ["one", "two", "three"]
    assert lines[0].tags["msgid"] == opening.tags["msgid"]
    assert ["msgid" in m.tags for m in lines] == [True, False, False]
    assert [m.format() for m in plain.read()] == [
        ":sender!~sender@user/sender PRIVMSG #lobby one",
        ":sender!~sender@user/sender PRIVMSG #lobby two",
        ":sender!~sender@user/sender PRIVMSG #lobby three"]


def test_a_blank_line_is_kept_in_a_batch_and_left_out_of_plain_privmsgs(world):
    sender = world.irc_user("sender", "#lobby", caps=MULTILINE)
    batched = world.irc_user("batched", "#lobby", caps=MULTILINE)
    plain = world.irc_user("plain", "#lobby")
    sender.read()
    batched.read()
    send_batch(sender, "#lobby", "above", "", "below")
    assert texts(batched.read()) == ["above", "", "below"]
    assert texts(plain.read()) == ["above", "below"]


def test_a_long_line_of_a_multiline_message_is_cut_with_concat_tags(world):
    """A 700-character line among short ones: its parts are concat lines in a batch, several PRIVMSGs otherwise."""
    sender = world.irc_user("sender", "#lobby", caps=MULTILINE)
    batched = world.irc_user("batched", "#lobby", caps=MULTILINE)
    plain = world.irc_user("plain", "#lobby")
    sender.read()
    batched.read()
    long = " ".join(["word"] * 140)
    send_batch(sender, "#lobby", "first", long[:400], "+" + long[400:], "last")
    got = batched.read()[1:-1]
    assert [m.params[1] for m in got if "draft/multiline-concat" not in m.tags] != []
    joined, current = [], None
    for m in got:
        if "draft/multiline-concat" in m.tags:
            joined[-1] += m.params[1]
        else:
            joined.append(m.params[1])
    assert joined == ["first", long, "last"]
    assert len(got) > 3
    shown = plain.read()
    assert shown[0].params[1] == "first" and shown[-1].params[1] == "last"
    assert "".join(m.params[1] for m in shown[1:-1]) == long


def test_an_action_with_line_breaks_is_an_action_per_line(world):
    """chatd's multi-line action (from a browser) is several ACTIONs, never a batch of CTCP parts."""
    from chatd.core import events as ev

    batched = world.irc_user("batched", "#lobby", caps=MULTILINE)
    data = ev.Action(room="#lobby", nick="bob", text="waves\nand smiles", id=3, ts=world.clock.seconds())
    lines = data.encoded(batched.proto.renderer.render).decode().split("\r\n")[:-1]
    assert [line.split(" PRIVMSG ", 1)[1] for line in lines] == ["#lobby :\x01ACTION waves\x01",
                                                                   "#lobby :\x01ACTION and smiles\x01"]


def test_a_multiline_private_message_reaches_the_nick_as_lines(world):
    sender = world.irc_user("sender", caps=MULTILINE)
    friend = world.irc_user("friend")
    sender.read()
    send_batch(sender, "friend", "hi", "there")
    assert [m.format() for m in friend.read()] == [":sender!~sender@user/sender PRIVMSG friend hi",
                                                   ":sender!~sender@user/sender PRIVMSG friend there"]


# -- echo and labels ---------------------------------------------------------------------------------------------


def test_the_echo_of_a_labelled_batch_is_a_batch_with_the_label_on_its_opening(world):
    sender = world.irc_user("sender", "#lobby", caps=ECHO)
    plain = world.irc_user("plain", "#lobby")
    sender.read()
    send_batch(sender, "#lobby", "one", "two", opening_tags="@label=L7 ")
    got = sender.read()
    assert commands(got) == ["BATCH", "PRIVMSG", "PRIVMSG", "BATCH"]
    assert got[0].tags["label"] == "L7" and "msgid" in got[0].tags
    assert not any("label" in (m.tags or {}) for m in got[1:])
    assert texts(plain.read()) == ["one", "two"]


def test_a_labelled_batch_without_echo_message_is_acknowledged(world):
    sender = world.irc_user("sender", "#lobby", caps=MULTILINE + ("labeled-response",))
    sender.read()
    send_batch(sender, "#lobby", "one", "two", opening_tags="@label=L8 ")
    got = sender.read()
    assert [(m.command, m.tags.get("label")) for m in got] == [("ACK", "L8")]


def test_a_reply_tag_on_the_opening_makes_the_batch_a_reply(world):
    sender = world.irc_user("sender", "#lobby", caps=MULTILINE)
    reader = world.irc_user("reader", "#lobby", caps=MULTILINE)
    sender.read()
    reader.read()
    sender.send("PRIVMSG #lobby :the question")
    first = reader.read()[0].tags["msgid"]
    send_batch(sender, "#lobby", "answer,", "in two lines", opening_tags=f"@+draft/reply={first} ")
    got = reader.read()
    assert got[0].command == "BATCH" and got[0].tags["+draft/reply"] == first
    assert not any("+draft/reply" in (m.tags or {}) for m in got[1:])


# -- what a batch may hold ---------------------------------------------------------------------------------------


def test_cap_ls_states_the_limits_in_force():
    world = World(max_message=1000, max_lines=5)
    c = world.client()
    c.send("CAP LS 302")
    offered = " ".join(m.params[-1] for m in c.read() if m.command == "CAP")
    assert "draft/multiline=max-bytes=1000,max-lines=5" in offered.split()


def test_more_lines_than_the_limit_are_refused_whole():
    world = World(max_lines=3)
    sender = world.irc_user("sender", "#lobby", caps=ECHO)
    other = world.irc_user("other", "#lobby")
    sender.read()
    send_batch(sender, "#lobby", "1", "2", "3", "4", "5")
    got = sender.read()
    assert [m.params for m in got if m.command == "FAIL"] == [
        ["BATCH", "MULTILINE_MAX_LINES", "3", "A multiline message has at most 3 lines; it was not sent"]]
    assert only(got, "PRIVMSG") == [] and other.read() == []


def test_concat_lines_do_not_count_as_lines():
    """max-lines counts the message's lines: a long line sent as concat parts is one line."""
    world = World(max_lines=2)
    sender = world.irc_user("sender", "#lobby", caps=MULTILINE)
    other = world.irc_user("other", "#lobby")
    sender.read()
    send_batch(sender, "#lobby", "a long line ", "+cut in ", "+three", "second line")
    assert texts(other.read()) == ["a long line cut in three", "second line"]


def test_line_feeds_count_towards_max_bytes():
    """max-bytes: the lines' bytes and one for each line feed between them."""
    world = World(max_message=10)
    sender = world.irc_user("sender", "#lobby", caps=MULTILINE)
    other = world.irc_user("other", "#lobby")
    sender.read()
    send_batch(sender, "#lobby", "12345", "1234")  # 5 + 1 + 4 = 10: fits
    assert texts(other.read()) == ["12345", "1234"]
    send_batch(sender, "#lobby", "12345", "12345", ref="r2")  # 11: too many
    assert fails(sender.read()) == [["BATCH", "MULTILINE_MAX_BYTES"]]
    assert other.read() == []


def test_a_line_to_another_target_refuses_the_batch(world):
    sender = world.irc_user("sender", "#lobby", "#other", caps=ECHO)
    sender.read()
    sender.send("BATCH +t draft/multiline #lobby", "@batch=t PRIVMSG #lobby :fine", "@batch=t PRIVMSG #other :wrong",
                "@batch=t PRIVMSG #lobby :more", "BATCH -t")
    got = sender.read()
    assert [m.params[:4] for m in got if m.command == "FAIL"] == [
        ["BATCH", "MULTILINE_INVALID_TARGET", "#lobby", "#other"]]
    assert only(got, "PRIVMSG") == []


def test_a_notice_or_a_blank_concat_line_in_a_batch_is_invalid(world):
    sender = world.irc_user("sender", "#lobby", caps=ECHO)
    other = world.irc_user("other", "#lobby")
    sender.read()
    sender.send("BATCH +n draft/multiline #lobby", "@batch=n NOTICE #lobby :no", "BATCH -n")
    sender.send("BATCH +c draft/multiline #lobby", "@batch=c PRIVMSG #lobby :a",
                "@batch=c;draft/multiline-concat PRIVMSG #lobby :", "BATCH -c")
    assert fails(sender.read()) == [["BATCH", "MULTILINE_INVALID"], ["BATCH", "MULTILINE_INVALID"]]
    assert other.read() == []


def test_a_batch_of_blank_lines_sends_nothing(world):
    sender = world.irc_user("sender", "#lobby", caps=ECHO)
    other = world.irc_user("other", "#lobby")
    sender.read()
    send_batch(sender, "#lobby", "", " ")
    assert fails(sender.read()) == [["BATCH", "MULTILINE_INVALID"]]
    assert other.read() == []


def test_blank_lines_at_either_end_are_dropped(world):
    sender = world.irc_user("sender", "#lobby", caps=MULTILINE)
    batched = world.irc_user("batched", "#lobby", caps=MULTILINE)
    sender.read()
    batched.read()
    send_batch(sender, "#lobby", "", "middle", "and more", "")
    assert texts(batched.read()) == ["middle", "and more"]


def test_a_batch_without_the_capability_is_refused_and_its_lines_dropped(world):
    """A client that did not negotiate draft/multiline: the batch is refused and its lines are not sent one by one."""
    sender = world.irc_user("sender", "#lobby", caps=("batch", "standard-replies"))
    other = world.irc_user("other", "#lobby")
    sender.read()
    send_batch(sender, "#lobby", "one", "two")
    assert fails(sender.read()) == [["BATCH", "MULTILINE_INVALID"]]
    assert other.read() == []


def test_a_line_of_a_batch_that_is_not_open_is_not_sent(world):
    sender = world.irc_user("sender", "#lobby", caps=ECHO)
    other = world.irc_user("other", "#lobby")
    sender.read()
    sender.send("@batch=nope PRIVMSG #lobby :stray")
    assert fails(sender.read()) == [["BATCH", "MULTILINE_INVALID"]]
    assert other.read() == []


def test_a_batch_left_open_is_replaced_by_the_next(world):
    sender = world.irc_user("sender", "#lobby", caps=ECHO)
    other = world.irc_user("other", "#lobby")
    sender.read()
    sender.send("BATCH +old draft/multiline #lobby", "@batch=old PRIVMSG #lobby :lost")
    send_batch(sender, "#lobby", "kept", "lines", ref="new")
    assert fails(sender.read()) == [["BATCH", "MULTILINE_INVALID"]]
    assert texts(other.read()) == ["kept", "lines"]


def test_a_batch_arrives_whole_and_in_order_behind_held_input():
    """Flood control holds what a fast client sends: the batch's lines wait their turn and make one message."""
    world = World(flood_rate=1, flood_burst=3)
    other, sender = world.client(), world.client()
    other.send("NICK other", "USER other 0 * :O", "JOIN #lobby")
    world.clock.advance(10)
    sender.send("CAP LS 302", "CAP REQ :" + " ".join(MULTILINE), "NICK sender", "USER sender 0 * :S", "CAP END")
    world.clock.advance(10)
    sender.send("JOIN #lobby")
    world.clock.advance(10)
    sender.read()
    other.read()
    sender.send("PRIVMSG #lobby :before 1", "PRIVMSG #lobby :before 2", "PRIVMSG #lobby :before 3")
    texts(other.read())
    send_batch(sender, "#lobby", "batched", "lines")
    sender.send("PRIVMSG #lobby :after")
    assert "after" not in texts(other.read())  # held: sent faster than one a second
    for _ in range(20):
        world.clock.advance(1)
    assert texts(other.read()) == ["before 1", "before 2", "before 3", "batched", "lines", "after"]


def test_history_nests_a_multiline_batch_in_the_chathistory_batch(world):
    """CHATHISTORY: a multi-line message is a draft/multiline batch inside the chathistory one, both ends tagged."""
    sender = world.irc_user("sender", "#lobby", caps=MULTILINE)
    historian = world.irc_user("historian", caps=MULTILINE)
    older = world.irc_user("older", caps=("message-tags", "batch"))
    sender.read()
    send_batch(sender, "#lobby", "one", "two")
    historian.read()
    historian.send("CHATHISTORY LATEST #lobby * 10")
    got = historian.read()
    assert [(m.command, m.params[0][:1]) for m in got] == [("BATCH", "+"), ("BATCH", "+"), ("PRIVMSG", "#"),
                                                           ("PRIVMSG", "#"), ("BATCH", "-"), ("BATCH", "-")]
    outer, inner = got[0].params[0][1:], got[1].params[0][1:]
    assert got[0].params[1] == "chathistory" and got[1].params[1:] == ["draft/multiline", "#lobby"]
    assert got[1].tags["batch"] == outer and "msgid" in got[1].tags
    assert [m.tags["batch"] for m in got[2:4]] == [inner, inner] and texts(got) == ["one", "two"]
    assert got[4].params == ["-" + inner] and got[4].tags["batch"] == outer
    older.read()
    older.send("CHATHISTORY LATEST #lobby * 10")
    lines = only(older.read(), "PRIVMSG")
    assert texts(lines) == ["one", "two"] and ["msgid" in m.tags for m in lines] == [True, False]
