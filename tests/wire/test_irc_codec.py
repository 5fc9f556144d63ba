"""
The IRC codec (L{chatd.wire.irc}): what an IRC client's lines become, and
the lines chatd sends back.

The parser is held to the ircdocs parser test vectors (PyPI
C{irc-parser-tests}) and, on generated lines, to an independent parser
(C{irctokens}); what chatd sends is read back by both.
"""

import unicodedata
from typing import Dict, List

import irctokens
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from parser_tests import data as vectors

from chatd.wire import irc
from chatd.wire.irc import (
    InvalidUTF8Line, IrcInputError, IrcSyntaxError, LineDecoder, LineTooLongError, Message, action, ctcp, line,
    parse, serialize, split_text, strip_formatting,
)


def _expected(atoms: Dict) -> Message:
    return Message(
        atoms["verb"].upper(), tuple(atoms.get("params") or ()), atoms.get("source"), atoms.get("tags") or {})


# -- the ircdocs vectors ----------------------------------------------------


@pytest.mark.parametrize("case", vectors.msg_split["tests"], ids=lambda case: case["input"][:40])
def test_split_vectors(case):
    """
    Every line of ircdocs' msg-split vectors parses into its tags, source,
    command and parameters.
    """
    assert parse(case["input"]) == _expected(case["atoms"])


@pytest.mark.parametrize("case", vectors.msg_join["tests"], ids=lambda case: case["desc"])
def test_join_vectors(case):
    """
    Every message of ircdocs' msg-join vectors is sent as a line that reads
    back as the same message and is one of the lines the vectors accept
    (up to the order of the tags).
    """
    message = _expected(case["atoms"])
    sent = serialize(message)
    assert parse(sent) == message
    assert all(parse(match) == message for match in case["matches"])
    if not message.tags:
        accepted = [match.replace(case["atoms"]["verb"], message.command, 1) for match in case["matches"]]
        assert sent in accepted


# -- parse and serialize ----------------------------------------------------


def test_parse_uppercases_and_keeps_numerics():
    assert parse("privmsg #lobby :hi there") == Message("PRIVMSG", ("#lobby", "hi there"))
    assert parse(":chatd 001 alice :Welcome") == Message("001", ("alice", "Welcome"), "chatd")


def test_parse_tags_are_unescaped():
    message = parse("@+draft/reply=12.ab;label=a\\sb;x :n!~n@chatd TAGMSG #r")
    assert message.tags == {"+draft/reply": "12.ab", "label": "a b", "x": ""}


@pytest.mark.parametrize("text, problem", [
    ("", "empty"),
    ("   ", "empty"),
    ("@a=b", "no command"),
    ("@a=b   ", "no command"),
    (":nick", "no command"),
    (":nick   ", "no command"),
    ("@ PING", "no message tags"),
    ("@=x PING", "no name"),
    ("@a;;b PING", "no name"),
    (": PING", "empty source"),
    (":src :PING", "not a word"),
    ("PRIV/MSG x", "not a word"),
])
def test_parse_refuses_in_plain_words(text, problem):
    """
    A line that is not IRC is refused with a message saying what is wrong.
    """
    with pytest.raises(IrcSyntaxError) as raised:
        parse(text)
    assert problem in str(raised.value)


def test_line_adds_colon_only_when_needed():
    assert line("PRIVMSG", "#lobby", "hi") == "PRIVMSG #lobby hi"
    assert line("PRIVMSG", "#lobby", "hi there") == "PRIVMSG #lobby :hi there"
    assert line("PRIVMSG", "#lobby", ":)") == "PRIVMSG #lobby ::)"
    assert line("AWAY", "") == "AWAY :"
    assert line("AWAY") == "AWAY"
    assert line("PRIVMSG", "#r", "x", source="a!~a@chatd", tags={"time": "2024", "msgid": "1.ab", "bot": ""}) == (
        "@time=2024;msgid=1.ab;bot :a!~a@chatd PRIVMSG #r x")


def test_serialize_equals_line():
    message = Message("NOTICE", ("*", "a b"), "chatd", {"label": "x;y z\\"})
    assert serialize(message) == line("NOTICE", "*", "a b", source="chatd", tags={"label": "x;y z\\"})
    assert serialize(message) == "@label=x\\:y\\sz\\\\ :chatd NOTICE * :a b"


@pytest.mark.parametrize("params, problem", [
    (("a b", "x"), "only the last parameter"),
    (("", "x"), "only the last parameter"),
    ((":a", "x"), "only the last parameter"),
    (("#r", "hi\r\nQUIT"), "line break"),
    (("#r", "hi\nQUIT"), "line break"),
    (("#r\0", "x"), "NUL"),
])
def test_serialize_refuses_what_would_not_read_back(params, problem):
    """
    chatd never sends a line that a client would read differently (a
    parameter that would split, or a line break that would inject a line).
    """
    with pytest.raises(IrcSyntaxError) as raised:
        line("PRIVMSG", *params)
    assert problem in str(raised.value)


def test_tag_escaping():
    assert irc.escape_tag_value("a;b c\\d\r\n") == "a\\:b\\sc\\\\d\\r\\n"
    assert irc.unescape_tag_value("a\\:b\\sc\\\\d\\r\\n") == "a;b c\\d\r\n"
    assert irc.unescape_tag_value("x\\y\\") == "xy"


# -- generated messages -----------------------------------------------------

_text = st.characters(blacklist_characters="\r\n\0", blacklist_categories=("Cs",))
_word = st.characters(blacklist_characters=" \r\n\0", blacklist_categories=("Cs",))
_commands = st.one_of(
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=12),
    st.from_regex(r"\A[0-9]{3}\Z"),
)
_middles = st.text(_word, min_size=1, max_size=12).filter(lambda p: p[0] != ":")
_keys = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/.+", min_size=1, max_size=12)
_tags = st.dictionaries(_keys, st.text(_text, max_size=20), max_size=4)
_sources = st.one_of(st.none(), st.text(_word, min_size=1, max_size=30))


@st.composite
def messages(draw):
    params = draw(st.lists(_middles, max_size=5))
    if draw(st.booleans()):
        params.append(draw(st.text(_text, max_size=30)))
    return Message(draw(_commands), tuple(params), draw(_sources), draw(_tags))


@given(messages())
@example(Message("PRIVMSG", ("#r", " :x "), "a", {"k": " ;\\"}))
def test_round_trip(message):
    """
    What chatd sends reads back as the same message.
    """
    sent = serialize(message)
    assert "\r" not in sent and "\n" not in sent
    assert parse(sent) == message


@st.composite
def spaced_lines(draw):
    """
    A line as a client might type it: words separated by one or more spaces,
    maybe ending in a trailing parameter.
    """
    words = []
    tags = draw(_tags)
    if tags:
        words.append("@" + ";".join(k + "=" + irc.escape_tag_value(v) if v else k for k, v in tags.items()))
    source = draw(_sources)
    if source is not None:
        words.append(":" + source)
    words.append(draw(st.one_of(_commands, _commands.map(str.lower))))
    words.extend(draw(st.lists(_middles, max_size=5)))
    if draw(st.booleans()):
        words.append(":" + draw(st.text(_text, max_size=30)))
    text = words[0]
    for index, word in enumerate(words[1:]):
        # irctokens wants exactly one space after the tags.
        spaces = " " if index == 0 and tags else draw(st.sampled_from([" ", "  ", "   "]))
        text += spaces + word
    return text + draw(st.sampled_from(["", " ", "  "]))


@given(spaced_lines())
@example("@a=b;c :src   PRIVMSG  #x   :  hello  ")
@example(":src  JOIN   #a  ")
def test_agrees_with_irctokens(text):
    """
    An independent parser (irctokens) reads every generated line the same
    way, including repeated spaces between words.
    """
    ours = parse(text)
    theirs = irctokens.tokenise(text)
    assert ours.command == theirs.command
    assert list(ours.params) == theirs.params
    assert ours.source == theirs.source
    assert dict(ours.tags) == (theirs.tags or {})


@given(messages())
def test_irctokens_reads_what_we_send(message):
    theirs = irctokens.tokenise(serialize(message))
    assert (theirs.command, theirs.params, theirs.source, theirs.tags or {}) == (
        message.command, list(message.params), message.source, dict(message.tags))


# -- the byte stream ----------------------------------------------------------


def _feed_bytewise(decoder: LineDecoder, data: bytes) -> List:
    out = []
    for index in range(len(data)):
        out.extend(decoder.feed(data[index:index + 1]))
        assert decoder.buffered <= decoder.max_tags + decoder.max_rest
    return out


def test_decoder_crlf_and_lf():
    decoder = LineDecoder()
    assert decoder.feed(b"NICK alice\r\nUSER a 0 * :Alice A\n\r\n\nPING x") == ["NICK alice", "USER a 0 * :Alice A"]
    assert decoder.feed(b"\r") == []
    assert decoder.feed(b"\n") == ["PING x"]


def test_decoder_bytewise_equals_whole():
    stream = "@label=1 PRIVMSG #lobby :h\u00e9llo \u4e2d\U0001f44d\r\nJOIN #r\nQUIT :bye\r\n".encode()
    assert _feed_bytewise(LineDecoder(), stream) == LineDecoder().feed(stream) == [
        "@label=1 PRIVMSG #lobby :h\u00e9llo \u4e2d\U0001f44d", "JOIN #r", "QUIT :bye"]


def test_decoder_line_at_the_limits_passes():
    """
    510 bytes and CRLF make 512: the longest line RFC 1459 allows; tags
    may add 8191 bytes with their '@' and space.
    """
    rest = b"PRIVMSG #r :" + b"x" * 498
    tags = b"@a=" + b"t" * 8187
    assert len(rest) == 510 and len(tags) + 1 == 8191
    assert LineDecoder().feed(rest + b"\r\n") == [rest.decode()]
    assert LineDecoder().feed(tags + b" " + rest + b"\n") == [(tags + b" " + rest).decode()]


@pytest.mark.parametrize("bad, words", [
    (b"PRIVMSG #r :" + b"x" * 499, "longer than 512 bytes"),
    (b"@a=" + b"t" * 8188 + b" PING x", "message tags are longer than 8191 bytes"),
    (b"@a=" + b"t" * 100 + b" PRIVMSG #r :" + b"x" * 499, "longer than 512 bytes"),
    (b"@a=" + b"t" * 20000, "message tags are longer than 8191 bytes"),
    (b"x" * 100000, "longer than 512 bytes"),
])
@pytest.mark.parametrize("bytewise", [False, True])
def test_decoder_too_long_then_recovers(bad, words, bytewise):
    """
    An over-long line is answered once, its bytes are dropped up to its LF
    without being held, and the next line is read as usual.
    """
    decoder = LineDecoder()
    stream = b"PING a\r\n" + bad + b"\r\nPING b\r\n"
    out = _feed_bytewise(decoder, stream) if bytewise else decoder.feed(stream)
    assert out[0] == "PING a" and out[2:] == ["PING b"]
    assert isinstance(out[1], LineTooLongError) and isinstance(out[1], IrcInputError)
    assert out[1].code == "line-too-long"
    assert words in str(out[1])


def test_decoder_too_long_is_told_before_the_line_ends():
    """
    A client sending a line without end is told once, as soon as the line
    is over the limit, and the decoder holds no more than the limits.
    """
    decoder = LineDecoder(max_tags=100, max_rest=50)
    out = decoder.feed(b"x" * 60)
    assert [e.code for e in out] == ["line-too-long"]
    for _ in range(100):
        assert decoder.feed(b"y" * 10000) == []
        assert decoder.buffered <= 150
    assert decoder.feed(b"z\nPING\n") == ["PING"]


@given(st.lists(st.binary(max_size=300), max_size=40), st.integers(10, 200), st.integers(10, 200))
def test_decoder_memory_is_bounded(chunks, max_tags, max_rest):
    """
    Whatever the bytes, the decoder never holds more than the two limits,
    and never hands out a line holding LF.
    """
    decoder = LineDecoder(max_tags=max_tags, max_rest=max_rest)
    for chunk in chunks:
        for item in decoder.feed(chunk):
            assert isinstance(item, IrcInputError) or ("\n" not in item and item)
        assert decoder.buffered <= max_tags + max_rest


def _outcome(items: List) -> List:
    return [item.code if isinstance(item, IrcInputError) else item for item in items]


@given(
    st.lists(st.one_of(
        st.text(_text, max_size=60),
        st.binary(max_size=60).filter(lambda b: b"\n" not in b),
    ), max_size=12),
    st.lists(st.sampled_from([b"\n", b"\r\n"]), min_size=12, max_size=12),
    st.lists(st.integers(0, 2000), max_size=10),
)
def test_decoder_chunking_does_not_matter(lines, ends, cuts):
    """
    However the network cuts the stream, the same lines (and the same
    refusals) come out, in order.
    """
    stream = b"".join((item.encode() if isinstance(item, str) else item) + end for item, end in zip(lines, ends))
    whole = LineDecoder(max_tags=30, max_rest=40).feed(stream)
    decoder = LineDecoder(max_tags=30, max_rest=40)
    chunked = []
    previous = 0
    for cut in sorted(set(cuts)) + [len(stream)]:
        chunked.extend(decoder.feed(stream[previous:cut]))
        previous = max(previous, cut)
    assert _outcome(chunked) == _outcome(whole)


def test_decoder_invalid_utf8_then_recovers():
    decoder = LineDecoder()
    out = decoder.feed(b"PRIVMSG #r :caf\xe9\r\nPRIVMSG #r :caf\xc3\xa9\r\n")
    assert isinstance(out[0], InvalidUTF8Line) and out[0].code == "invalid-utf8"
    assert "not valid UTF-8" in str(out[0]) and "\\x" not in str(out[0])
    assert out[1:] == ["PRIVMSG #r :caf\u00e9"]


# -- formatting, splitting, CTCP ----------------------------------------------


@pytest.mark.parametrize("raw, clean", [
    ("\x02bold\x02 \x1ditalic\x1d \x1funder\x1f \x1estrike\x1e \x11mono\x11 \x16rev\x16\x0f.",
     "bold italic under strike mono rev."),
    ("\x0312,4text", "text"),
    ("\x034red\x03 plain", "red plain"),
    ("\x03,text", ",text"),
    ("\x0312,text", ",text"),
    ("\x0399", ""),
    ("\x03123", "3"),
    ("\x0312,345", "5"),
    ("\x04FF0000,00ff00hex\x04 done", "hex done"),
    ("\x04FF00 short", "FF00 short"),
    ("no codes, 100% plain", "no codes, 100% plain"),
])
def test_strip_formatting(raw, clean):
    assert strip_formatting(raw) == clean


def test_ctcp_and_action():
    assert ctcp("\x01ACTION waves\x01") == ("ACTION", "waves")
    assert ctcp("\x01ACTION waves") == ("ACTION", "waves")
    assert ctcp("\x01version\x01") == ("VERSION", "")
    assert ctcp("hello") is None
    assert ctcp("\x01\x01") is None
    assert ctcp("") is None
    assert action("waves") == "\x01ACTION waves\x01"
    assert ctcp(action("waves at you")) == ("ACTION", "waves at you")


def test_split_text_fits_and_splits():
    assert split_text("hello", 4) == ["hell", "o"]
    assert split_text("hello world", 11) == ["hello world"]
    assert split_text("hello world and more", 12) == ["hello world ", "and more"]
    assert split_text("\u4e2d\u6587\u5b57", 7) == ["\u4e2d\u6587", "\u5b57"]
    assert split_text("e\u0301" * 3, 5) == ["e\u0301"] * 3
    assert split_text("\U0001f44d\U0001f3fd\U0001f44d\U0001f3fd", 10) == ["\U0001f44d\U0001f3fd"] * 2
    assert split_text("x" * 9, 4) == ["xxxx", "xxxx", "x"]


def _joins(ch: str) -> bool:
    return unicodedata.category(ch) in ("Mn", "Mc", "Me") or 0x1F3FB <= ord(ch) <= 0x1F3FF


@given(
    st.one_of(
        st.text(),
        st.lists(st.sampled_from(["a", " ", "e\u0301", "\u00e9", "\U0001f44d\U0001f3fd", "\u00df", "\u4e2d"]))
        .map("".join),
    ),
    st.integers(4, 60),
)
@example("a" * 10 + " b", 10)
@example(" " * 9, 4)
@example("00\U0001f3fb", 5)
def test_split_text_invariants(text, budget):
    """
    The parts join back to the text, each fits the budget, none is empty;
    a part ends at the last space in its window when there is one, else as
    close to the budget as a character allows.
    """
    parts = split_text(text, budget)
    assert "".join(parts) == text
    assert all(parts) or parts == [""]
    rest = text.encode()
    for part in parts[:-1]:
        encoded = part.encode()
        assert len(encoded) <= budget
        window = rest[:budget]
        if b" " in window:
            assert encoded == window[:window.rfind(b" ") + 1]
        elif not any(_joins(ch) for ch in rest[:budget + 4].decode(errors="ignore")):
            assert len(encoded) > budget - 4
        rest = rest[len(encoded):]
    assert len(parts[-1].encode()) <= budget


@given(
    st.lists(st.sampled_from(["a", "e\u0301", "\u00e9", "\U0001f44d\U0001f3fd", "\u4e2d", "o\u0308\u0301"]))
    .map("".join),
    st.integers(8, 40),
)
def test_split_text_keeps_characters_whole(text, budget):
    """
    When every character (base and its marks) fits the budget, no part
    starts with a mark cut off from its base.
    """
    for part in split_text(text, budget)[1:]:
        assert not _joins(part[0])
