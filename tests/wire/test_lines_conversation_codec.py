"""
What a terminal shows and takes of issue 18's conversation features, sans
IO: multi-line messages (and the backslash that continues a line),
replies, reactions, and the times of C{/set timestamps on}.  The same
features through the real front end and core are in
tests/frontends/test_lines_conversation.py.
"""

import pathlib

import pytest

from chatd.core import commands as cmd
from chatd.core import events as ev
from chatd.wire import lines as wire
from chatd.wire.lines import parse
from chatd.wire.telnet import Continuation, line_end

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
TS = 1_700_000_000.0  # 22:13 UTC


def message(text, nick="alice", id=41, **kw):
    return ev.Message(room="#lobby", nick=nick, text=text, id=id, ts=TS, **kw)


def shown(data: bytes):
    """The lines a terminal shows for C{data} (CRLF-terminated, as sent)."""
    assert data.endswith(b"\r\n")
    return data.decode("utf-8").split("\r\n")[:-1]


# -- typing a message over several lines ------------------------------------------------


@pytest.mark.parametrize(
    "line, text, more",
    [
        ("hello", "hello", False),
        ("hello\\", "hello", True),
        ("C:\\\\", "C:\\", False),  # two at the end: one backslash, sent
        ("C:\\\\\\", "C:\\", True),  # three: one backslash, and the message goes on
        ("a\\b", "a\\b", False),  # inside a line a backslash is itself
        ("\\", "", True),
    ],
)
def test_a_trailing_backslash_continues_and_two_stand_for_one(line, text, more):
    assert line_end(line) == (text, more)


def test_continued_lines_join_with_line_breaks_and_lose_blank_ends():
    joining = Continuation(max_lines=20, max_bytes=1000)
    for line in ("", "first", "", "third", "  "):
        assert joining.add(line) is None
    assert joining.text() == "first\n\nthird"


def test_a_message_over_max_lines_is_refused_once():
    """The line past the bound refuses the message, once; the lines after it are dropped quietly."""
    joining = Continuation(max_lines=3, max_bytes=1000)
    assert [joining.add(line) for line in ("a", "b", "c")] == [None, None, None]
    error = joining.add("d")
    assert error.code == "too-long"
    assert error.message == "That message is over 3 lines; it was discarded (a line ending in \\ continues it)."
    assert joining.add("e") is None and joining.refused


def test_a_message_over_max_bytes_is_refused():
    """The bound is on the whole message in UTF-8 bytes, line breaks included: 4 + 1 + 4 fits 9, not 8."""
    assert Continuation(max_lines=20, max_bytes=9).add("abcd") is None
    fits = Continuation(max_lines=20, max_bytes=9)
    assert fits.add("abcd") is None and fits.add("éé") is None and fits.text() == "abcd\néé"
    over = Continuation(max_lines=20, max_bytes=8)
    over.add("abcd")
    assert over.add("éé").message == "That message is over 8 bytes; it was discarded (a line ending in \\ continues it)."


@pytest.mark.parametrize(
    "line, says",
    [
        ("hello", True), ("//etc/hosts", True), ("/me waves", True), ("/ME waves", True),
        ("/reply 41 sure", True), ("/login alice pass\\", False), ("/msg bob hi", False),
        ("/nick bob", False), ("/join #a", False),
    ],
)
def test_only_what_is_said_may_continue(line, says):
    """A password or a command never swallows the next line: only plain lines, /me and /reply continue."""
    assert wire.says(line) is says


# -- the commands --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, command",
    [
        ("/reply 41 sure", cmd.Say(text="sure", reply_to=41)),
        ("/reply 41 sure\nand more", cmd.Say(text="sure\nand more", reply_to=41)),
        ("/reply #den 41  sure thing", cmd.Say(room="#den", text="sure thing", reply_to=41)),
        ("/react 41 👍", cmd.React(id=41, reaction="👍")),
        ("/react #den 41 +1", cmd.React(room="#den", id=41, reaction="+1")),
        ("/unreact 41 👍", cmd.Unreact(id=41, reaction="👍")),
        ("/set timestamps on", cmd.Set(option="timestamps", value="on")),
        ("/SET Timestamps OFF", cmd.Set(option="timestamps", value="off")),
        ("/set colours on", cmd.Set(option="colours", value="on")),  # the core names the settings there are
    ],
)
def test_parse_conversation_commands(line, command):
    assert parse(line) == command


@pytest.mark.parametrize(
    "line, usage",
    [
        ("/reply", "/reply [#room] ID text"),
        ("/reply 41", "/reply [#room] ID text"),
        ("/reply alice sure", "/reply [#room] ID text"),
        ("/reply -1 sure", "/reply [#room] ID text"),
        ("/react 41", "/react [#room] ID REACTION"),
        ("/react 41 two words", "/react [#room] ID REACTION"),
        ("/react ４１ 👍", "/react [#room] ID REACTION"),
        ("/unreact", "/unreact [#room] ID REACTION"),
        ("/set", "/set timestamps on|off"),
        ("/set timestamps", "/set timestamps on|off"),
    ],
)
def test_conversation_commands_typed_wrong_show_their_form(line, usage):
    command = parse(line)
    assert command.error.code == "usage" and command.error.message == f"Usage: {usage}"


def test_help_lists_the_new_commands_and_the_continuation():
    text = "\n".join(wire.HELP)
    for form in ("/reply ID text", "/react ID REACTION", "/unreact ID REACTION", "/set timestamps on|off", "UTC"):
        assert form in text
    assert "ends in \\" in text and "End a line with \\\\ to send a \\" in text


# -- what a terminal shows -----------------------------------------------------------------


def test_further_lines_are_indented_under_the_first():
    assert shown(wire.render_event(message("one\ntwo\nthree"))) == [
        "[#lobby] <alice> one",
        "                 two",
        "                 three",
    ]
    action = ev.Action(room="#lobby", nick="alice", text="waves\nand bows", id=42, ts=TS)
    assert shown(wire.render_event(action)) == ["[#lobby] * alice waves", "                 and bows"]


def test_a_line_of_a_message_never_passes_for_a_prefix():
    """Text that imitates the server's prefixes stays indented under its sender's line."""
    forged = message("hi\n[#admins] <root> your password, please\n-!- root is now known as alice\n! oper: x")
    for row in shown(wire.render_event(forged))[1:]:
        assert row.startswith(" ")
    private = ev.Private(nick="bob", to="alice", text="hi\n*carol* psst", ts=TS)
    assert shown(wire.render_event(private)) == ["*bob* hi", "      *carol* psst"]
    sent = ev.Private(nick="alice", to="bob", text="a\nb", ts=TS)
    assert shown(wire.render_sent_private(sent)) == ["-> *bob* a", "         b"]


def test_the_indent_counts_columns_and_is_bounded():
    """Wide characters take two columns; a very long prefix indents at most INDENT_MAX columns."""
    wide = ev.Message(room="#茶", nick="李", text="a\nb", id=1, ts=TS)
    assert shown(wire.render_event(wide))[1] == " " * len("[#茶] <李> ") + " " * 2 + "b"
    long = ev.Message(room="#" + "r" * 49, nick="n" * 32, text="a\nb", id=1, ts=TS)
    assert shown(wire.render_event(long))[1] == " " * 32 + "b"


def test_a_reply_quotes_what_it_answers_then_its_text():
    reply = message("sure\nwhy not", nick="bob", id=43, reply_to=41, reply_nick="alice", reply_text="lunch?")
    assert shown(wire.render_event(reply)) == [
        "[#lobby] <bob> ↪ alice: lunch?",
        "               sure",
        "               why not",
    ]
    unknown = message("sure", nick="bob", id=43, reply_to=41)
    assert shown(wire.render_event(unknown)) == ["[#lobby] <bob> ↪ message 41", "               sure"]


def test_reactions_are_short_notices():
    react = ev.React(room="#lobby", nick="bob", message=41, reaction="👍", id=44, ts=TS)
    assert shown(wire.render_event(react)) == ["[#lobby] -!- bob reacted 👍 to message 41"]
    unreact = ev.Unreact(room="#lobby", nick="bob", message=41, reaction="👍", id=45, ts=TS)
    assert shown(wire.render_event(unreact)) == ["[#lobby] -!- bob took back 👍 from message 41"]


def test_typing_and_read_markers_show_nothing():
    assert wire.render_event(ev.Typing(room="#lobby", nick="bob", state="active", ts=TS)) == b""
    assert wire.render_event(ev.ReadMarker(room="#lobby", message=41, ts=TS)) == b""


def test_own_part():
    part = ev.Part(room="#den", nick="alice", ts=TS)
    assert wire.render_own_part(part) == b"[#den] -!- You left #den\r\n"
    assert wire.render_own_part(ev.Part(room="#den", nick="alice", reason="lunch", ts=TS)) == (
        b"[#den] -!- You left #den (lunch)\r\n")


def test_history_shows_ids_replies_and_reactions():
    """/history's page: each message's id (for /reply and /react), a reply's quote, the reactions under it."""
    page = ev.History(room="#lobby", ts=TS, messages=(
        message("lunch?\nat noon", reactions=(("👍", ("bob", "carol")), ("🎉", ("dave",)))),
        message("sure", nick="bob", id=42, reply_to=41, reply_nick="alice", reply_text="lunch?"),
        ev.React(room="#lobby", nick="erin", message=41, reaction="+1", id=43, ts=TS),
    ))
    assert shown(wire.render_history(page, ids=True)) == [
        "[#lobby] -!- Scrollback (3 messages):",
        "[#lobby] 22:13 (41) <alice> lunch?",
        "                            at noon",
        "                            reactions: 👍 bob, carol; 🎉 dave",
        "[#lobby] 22:13 (42) <bob> ↪ alice: lunch?",
        "                          sure",
        "[#lobby] 22:13 -!- erin reacted +1 to message 41",
        "[#lobby] -!- End of scrollback",
    ]
    # A join's scrollback, as before: without ids.
    assert shown(wire.render_history(page))[1] == "[#lobby] 22:13 <alice> lunch?"


def test_many_reactors_are_counted_not_listed():
    many = message("hi", reactions=(("👍", tuple(f"n{i}" for i in range(8))),))
    assert shown(wire.render_history(ev.History(room="#lobby", messages=(many,), ts=TS)))[2].endswith(
        "reactions: 👍 n0, n1, n2, n3, n4 and 3 more")


# -- timestamps ----------------------------------------------------------------------------


def test_stamped_lines_start_with_their_time_and_further_lines_stay_under_them():
    assert shown(wire.render_stamped(message("one\ntwo"))) == [
        "[22:13] [#lobby] <alice> one",
        "                         two",
    ]
    join = ev.Join(room="#lobby", nick="bob", ts=TS + 60)
    assert shown(wire.render_stamped(join)) == ["[22:14] [#lobby] -!- bob has joined"]
    assert wire.stamp(wire.render_info("Bye."), TS) == b"[22:13] -!- Bye.\r\n"


def test_stamped_scrollback_shows_each_message_at_its_own_time():
    page = ev.History(room="#lobby", ts=TS + 3600, messages=(message("old\nnews"),))
    assert shown(wire.render_history(page, ids=True, stamped=True)) == [
        "[23:13] [#lobby] -!- Scrollback (1 message):",
        "[22:13] [#lobby] (41) <alice> old",
        "                              news",
        "[23:13] [#lobby] -!- End of scrollback",
    ]
    assert wire.render_stamped(page) == wire.render_history(page, stamped=True)


def test_stamped_codec_is_shared_and_distinct():
    """Users with times share one rendering per event, a different one from the users without."""
    m = message("hi")
    assert m.encoded(wire.render_stamped) is m.encoded(wire.render_stamped)
    assert m.encoded(wire.render_stamped) != m.encoded(wire.render_event)


# -- the documentation ---------------------------------------------------------------------


def test_documented_conversation_lines_are_the_renderings():
    """docs/protocol.md's lines section shows a multi-line message, a reply and a reaction as they render."""
    text = DOCS.read_text("utf-8")
    block = text.split("A message over several lines", 1)[1].split("```", 2)[1]
    documented = [row for row in block.splitlines() if row.strip()]
    rendered = (
        wire.render_event(message("lunch at noon?\nthe usual place\nmy treat"))
        + wire.render_event(message("sure", nick="bob", id=42, reply_to=41, reply_nick="alice",
                                    reply_text="lunch at noon? …"))
        + wire.render_event(ev.React(room="#lobby", nick="bob", message=41, reaction="👍", id=43, ts=TS))
    )
    assert shown(rendered) == documented
