"""
The admin socket's wire format (chatd.admin.wire), sans IO: what the
daemon frames is what chatctl reads back, however the bytes arrive.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatd.admin import wire
from chatd.admin.wire import MULTILINE, Reply, ReplyReader, error, frame, ok, parse_request


def read(data: bytes, verb: str, cuts=()):
    """Feed C{data} to a reader for C{verb}, cut at C{cuts}; the reply, or None if incomplete."""
    reader, start, reply = ReplyReader(verb), 0, None
    for cut in sorted(set(cuts)) + [len(data)]:
        reply = reader.feed(data[start:cut])
        start = cut
        if reply is not None:
            break
    return reply


def test_multiline_reply_bytes():
    """ok line, body lines (a leading dot doubled), then a line holding only a dot."""
    reply = ok("reloaded", ["motd updated", ".dotted", "."])
    assert frame(reply, "reload") == b"ok reloaded\nmotd updated\n..dotted\n..\n.\n"


def test_error_and_one_line_replies_have_no_body():
    assert frame(error("nobody is called bob"), "kick") == b"error nobody is called bob\n"
    assert frame(Reply("error reload refused", ("ignored",)), "reload") == b"error reload refused\n"
    assert frame(ok("kicked alice", ["ignored"]), "kick") == b"ok kicked alice\n"


def test_line_breaks_inside_a_line_become_spaces():
    """A reload report or a topic with a line break cannot end the reply early or fake a line."""
    data = frame(ok("reloaded", ["one\ntwo", "three\r\n.", "\u2028"]), "reload")
    assert data == b"ok reloaded\none two\nthree .\n\n.\n"
    assert read(data, "reload").body == ("one two", "three .", "")


def test_reader_waits_for_the_end_line():
    reader = ReplyReader("status")
    assert reader.feed(b"ok status\nsessions 1\n") is None
    assert reader.feed(b".") is None, "a line is not complete before its LF"
    assert reader.feed(b"\r\n") == Reply("ok status", ("sessions 1",))


def test_reader_of_an_error_to_a_multiline_command_stops_at_its_first_line():
    assert read(b"error reload is not available here\n", "reload") == Reply("error reload is not available here")
    assert not read(b"error x\n", "reload").ok


def test_reader_replaces_bytes_that_are_not_utf8():
    assert read(b"ok kicked \xff\n", "kick").first == "ok kicked \ufffd"


@pytest.mark.parametrize("first, is_ok", [("ok", True), ("ok bye", True), ("okay", False), ("error ok", False), ("", False)])
def test_ok_is_the_first_word(first, is_ok):
    assert Reply(first).ok is is_ok


@pytest.mark.parametrize("line, parsed", [
    (b"status\n", ("status", "")),
    (b"  KICK  alice  spamming links \r", ("kick", "alice  spamming links")),
    (b"\r\n", None),
    (b"", None),
    (b"\xff\xfe", ("\ufffd", "")),
])
def test_parse_request(line, parsed):
    assert parse_request(line) == parsed


def test_request_is_one_line():
    assert wire.request("kick alice bye") == b"kick alice bye\n"
    for bad in ("status\nquit", "status\r"):
        with pytest.raises(ValueError, match="a command is one line"):
            wire.request(bad)


one_line_text = st.text().map(wire.one_line)


@settings(max_examples=300, deadline=None)
@given(verb=st.sampled_from(sorted(MULTILINE)), text=one_line_text, body=st.lists(one_line_text, max_size=8),
       cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6))
def test_multiline_round_trip(verb, text, body, cuts):
    """Any body, dots and all, comes back as sent, however the bytes are cut up on the way."""
    sent = ok(text, body)
    data = frame(sent, verb)
    assert read(data, verb, cuts) == Reply(wire.one_line(sent.first), tuple(body))
    assert data.count(b"\n.\n") == 1 and data.endswith(b"\n.\n"), "only the end line is a lone dot"


@settings(max_examples=200, deadline=None)
@given(verb=st.text(min_size=1).map(str.lower), first=st.one_of(
    one_line_text.map(lambda t: ok(t).first), one_line_text.map(lambda t: error(t).first)),
    body=st.lists(one_line_text, max_size=4))
def test_every_reply_reads_back_from_the_bytes_it_frames(verb, first, body):
    """Reader and framer agree on which replies have a body, for any command word."""
    reply = Reply(first, tuple(body))
    data = frame(reply, wire.one_line(verb))
    back = read(data, wire.one_line(verb))
    assert back.first == wire.one_line(first) and back.ok == reply.ok
    assert back.body == (tuple(body) if wire.has_body(wire.one_line(verb), reply.ok) else ())
