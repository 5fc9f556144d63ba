"""
Terminal input (chatd.wire.telnet), sans IO: the decoder telnet and nc
bytes go through: line ends, telnet commands, over-long lines, UTF-8, and
what a terminal sends on its own.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatd.core.errors import ChatError
from chatd.wire import telnet as wire
from chatd.wire.telnet import DO, DONT, IAC, SB, SE, WILL, WONT, LineDecoder


def decode(data, max_line=16384):
    """Feed C{data} at once; return (items, replies)."""
    d = LineDecoder(max_line)
    items = d.feed(data)
    return items, bytes(d.replies)


def feed_pieces(pieces, max_line=16384):
    d = LineDecoder(max_line)
    items = []
    for piece in pieces:
        items.extend(d.feed(piece))
    return items, bytes(d.replies)


def problems(items):
    """The refusals among the decoder's items (the rest are lines)."""
    return [i for i in items if isinstance(i, ChatError)]


# -- line splitting -------------------------------------------------------------

LINE_CASES = [
    (b"hello\n", ["hello"]),
    (b"hello\r\n", ["hello"]),
    (b"hello\r\x00", ["hello"]),
    (b"hello\r", ["hello"]),
    (b"a\nb\n", ["a", "b"]),
    (b"a\r\nb\r\n", ["a", "b"]),
    (b"a\rb\r", ["a", "b"]),
    (b"a\r\x00b\r\x00", ["a", "b"]),
    (b"a\r\nb\nc\rd\r\x00", ["a", "b", "c", "d"]),
    (b"a\n\nb\n", ["a", "", "b"]),
    (b"a\r\n\r\nb\r\n", ["a", "", "b"]),
    (b"a\r\rb\r", ["a", "", "b"]),
    (b"\n", [""]),
    (b"\r\n", [""]),
    (b"no newline yet", []),
    (b"done\nhalf", ["done"]),
    (b"caf\xc3\xa9 \xe2\x98\x95\n", ["café ☕"]),
    (b"nul\x00inside\n", ["nul\x00inside"]),
    (b"  spaced  \n", ["  spaced  "]),
    (b"tab\there\r\n", ["tab\there"]),
]


@pytest.mark.parametrize("data, lines", LINE_CASES)
def test_line_endings(data, lines):
    """LF, CRLF, CR NUL and bare CR all end a line; nothing is sent back."""
    assert decode(data) == (lines, b"")


@pytest.mark.parametrize("data, lines", LINE_CASES)
def test_line_endings_split_at_every_byte(data, lines):
    """Feeding the bytes one at a time gives the same lines."""
    assert feed_pieces([bytes([b]) for b in data]) == (lines, b"")


@pytest.mark.parametrize("data, lines", LINE_CASES)
def test_line_endings_split_at_every_position(data, lines):
    """Splitting the bytes into two feeds at any position gives the same lines."""
    for i in range(len(data) + 1):
        assert feed_pieces([data[:i], data[i:]]) == (lines, b""), i


def test_cr_then_lf_in_the_next_feed_is_one_line_end():
    """A CRLF split across two reads ends one line, not two."""
    d = LineDecoder()
    assert d.feed(b"one\r") == ["one"]
    assert d.feed(b"\ntwo\n") == ["two"]
    assert d.feed(b"three\r") == ["three"]
    assert d.feed(b"\x00four\r\n") == ["four"]


def test_pending_counts_unfinished_line():
    """pending is the number of bytes of the unfinished line held."""
    d = LineDecoder()
    d.feed(b"abc")
    assert d.pending == 3
    d.feed(b"de\n")
    assert d.pending == 0


# -- telnet ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, lines, replies",
    [
        (bytes([IAC, DO, 1]) + b"hi\n", ["hi"], bytes([IAC, WONT, 1])),
        (bytes([IAC, WILL, 31]) + b"hi\n", ["hi"], bytes([IAC, DONT, 31])),
        (bytes([IAC, WONT, 1, IAC, DONT, 3]) + b"hi\n", ["hi"], b""),
        (bytes([IAC, DO, 1, IAC, DO, 1, IAC, DO, 1]) + b"x\n", ["x"], bytes([IAC, WONT, 1])),
        (
            bytes([IAC, DO, 1, IAC, WILL, 1, IAC, DO, 3, IAC, WILL, 1]) + b"x\n",
            ["x"],
            bytes([IAC, WONT, 1, IAC, DONT, 1, IAC, WONT, 3]),
        ),
        (b"h" + bytes([IAC, 241]) + b"i\n", ["hi"], b""),  # NOP
        (b"h" + bytes([IAC, 249]) + b"i\n", ["hi"], b""),  # GA
        (b"h" + bytes([IAC, 246]) + b"i\n", ["hi"], b""),  # AYT
        (bytes([IAC, SB, 24, 1, IAC, SE]) + b"hi\n", ["hi"], b""),
        (b"a" + bytes([IAC, SB, 31, 0, 80, 0, 24, IAC, SE]) + b"b\r\n", ["ab"], b""),
        (bytes([IAC, SB, 24, 0]) + b"xterm\n\r" + bytes([IAC, SE]) + b"hi\n", ["hi"], b""),
        (bytes([IAC, SB, 24, IAC, IAC, 7, IAC, SE]) + b"hi\n", ["hi"], b""),
        (b"\xc3" + bytes([IAC, DO, 1]) + b"\xa9\n", ["é"], bytes([IAC, WONT, 1])),
    ],
)
def test_telnet_negotiation(data, lines, replies):
    """Options are refused once each (DO->WONT, WILL->DONT), commands and subnegotiations never reach a line."""
    assert decode(data) == (lines, replies)
    for i in range(len(data) + 1):
        assert feed_pieces([data[:i], data[i:]]) == (lines, replies), i
    assert feed_pieces([bytes([b]) for b in data]) == (lines, replies)


def test_telnet_refusal_is_sent_once_per_option_across_feeds():
    """A client repeating DO ECHO in later reads is refused only the first time."""
    d = LineDecoder()
    d.feed(bytes([IAC, DO, 1]))
    assert bytes(d.replies) == bytes([IAC, WONT, 1])
    d.replies.clear()
    d.feed(bytes([IAC, DO, 1]) + b"x\n")
    assert bytes(d.replies) == b""
    d.feed(bytes([IAC, DO, 5]))
    assert bytes(d.replies) == bytes([IAC, WONT, 5])


def test_iac_iac_is_a_literal_0xff():
    """IAC IAC puts one 0xFF byte into the line (here it is not UTF-8, so the line is refused)."""
    items, _ = decode(b"a" + bytes([IAC, IAC]) + b"b\n")
    assert len(items) == 1 and items[0].code == "invalid-utf8"
    assert "byte 0xFF at position 2" in items[0].message


@pytest.mark.parametrize("stray", [b"caf\xff", b"\xfe\xff", b"\xff", b"ok\xff\xfb", b"ok\xff\xfd"])
@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r\0", b"\r"])
def test_a_stray_0xff_never_swallows_a_line_end(stray, eol):
    """0xFF not followed by a telnet command is a bad byte in its own line: the next line stays its own."""
    for split in range(len(stray + eol) + 1):
        d = LineDecoder()
        data = stray + eol + b"next line" + eol
        items = d.feed(data[:split]) + d.feed(data[split:])
        assert [ChatError if isinstance(i, ChatError) else str for i in items] == [ChatError, str], (split, items)
        assert items[0].code == "invalid-utf8"
        assert items[1] == "next line"


def test_telnet_erase_character_and_erase_line_edit_the_line():
    """IAC EC drops the last character (a whole UTF-8 one); IAC EL drops the line so far."""
    ec, el = bytes([IAC, wire.EC]), bytes([IAC, wire.EL])
    assert decode("café".encode() + ec + ec + b"x\r\n")[0] == ["cax"]
    assert decode(b"wrong" + el + b"right\r\n")[0] == ["right"]


@pytest.mark.parametrize("typed, meant", [
    ("hel\x1b[Dlo", "hello"),  # left arrow, then more typing
    ("\x1b[A\x1b[B\x1b[C\x1b[D", ""),  # arrow keys alone: a blank line
    ("\x1bOAup in application mode", "up in application mode"),
    ("\x1b[1;5Cctrl-right", "ctrl-right"),
    ("\x1b[3~delete key", "delete key"),
    ("\x1b[200~pasted\x1b[201~", "pasted"),  # bracketed paste
    ("helo\x08\x08llo", "hello"),  # raw backspaces (character mode)
    ("typo\x7f\x7fo", "tyo"),  # DEL, as most terminals send for Backspace
    ("\x7f\x7fstart", "start"),  # nothing to erase: nothing happens
    ("café\x7f\x7fe", "cae"),  # one character, not one byte
])
def test_terminal_keys_are_dropped_and_backspaces_edit(typed, meant):
    """What a terminal sends on its own is not text: it is dropped or applied, as the user meant."""
    for eol in (b"\n", b"\r\n"):
        assert decode(typed.encode() + eol)[0] == [meant]


@pytest.mark.parametrize("typed", [
    "\x1b]0;title\x07", "esc \x1b alone", "\x1bc reset", "\x07bell", "\x00nul", "\x1b[2Jclear", "\x1b[31mred",
])
def test_other_control_characters_stay_for_the_text_rules_to_refuse(typed):
    """Only key sequences are dropped: an OSC, a screen erase, a colour, a lone ESC, BEL or NUL reach the core, which refuses them by name."""
    [line] = decode(typed.encode() + b"\r\n")[0]
    assert line == typed


def test_subnegotiation_split_across_feeds_is_skipped():
    """A subnegotiation arriving over several reads is skipped entirely."""
    d = LineDecoder()
    out = d.feed(b"be" + bytes([IAC, SB, 24]))
    out += d.feed(b"\nhidden\r\n")
    out += d.feed(bytes([IAC]))
    out += d.feed(bytes([SE]) + b"fore\n")
    assert out == ["before"]


def test_runaway_subnegotiation_is_abandoned():
    """A subnegotiation that never ends is given up after a bound, so later lines get through."""
    d = LineDecoder()
    items = d.feed(bytes([IAC, SB, 24]) + b"x" * 5000 + b"\nhello\n")
    assert items[-1] == "hello"


# -- over-long lines --------------------------------------------------------------


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"], ids=["fast-LF", "slow-CRLF", "slow-CR"])
def test_overlong_line_gives_one_problem_and_is_discarded(eol):
    """A line over max_line bytes gives one refusal; its bytes up to the line end are dropped."""
    d = LineDecoder(max_line=10)
    assert d.feed(b"x" * 10 + eol) == ["x" * 10]
    items = d.feed(b"y" * 25 + b"TAIL" + eol + b"ok" + eol)
    assert [ChatError if isinstance(i, ChatError) else str for i in items] == [ChatError, str]
    assert items[0].code == "line-too-long"
    assert "over 10 bytes" in items[0].message
    assert items[1] == "ok"


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"], ids=["fast", "slow"])
def test_overlong_line_across_many_feeds(eol):
    """An over-long line arriving in many small reads still gives exactly one refusal."""
    d = LineDecoder(max_line=10)
    items = []
    for _ in range(20):
        items += d.feed(b"abcd")
        assert d.pending <= 10
    items += d.feed(eol + b"next" + eol)
    assert len(problems(items)) == 1
    assert items[-1] == "next"
    assert d.discarded == 0


def test_overlong_counter_counts_and_resets():
    """overlong counts over-long lines in a row and a good line resets it."""
    d = LineDecoder(max_line=4)
    d.feed(b"toolong\n")
    d.feed(b"toolong\r\n")
    assert d.overlong == 2
    d.feed(b"\xff\n")
    assert d.overlong == 2  # a refused (non UTF-8) line is not a good line
    d.feed(b"ok\n")
    assert d.overlong == 0


def test_discarded_counts_dropped_bytes():
    """discarded counts the bytes of the current over-long line thrown away."""
    d = LineDecoder(max_line=4)
    d.feed(b"123456")
    assert d.discarded >= 5
    d.feed(b"789")
    assert d.discarded >= 8
    d.feed(b"\n")
    assert d.discarded == 0


# -- UTF-8 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, byte, pos",
    [(b"\xfe\n", "0xFE", 1), (b"ab\xc3(\n", "0xC3", 3), (b"\xe9t\xe9\r\n", "0xE9", 1), (b"ok\xed\xa0\x80\n", "0xED", 3)],
)
def test_invalid_utf8_gives_problem(data, byte, pos):
    """A line that is not UTF-8 (including encoded surrogates) is refused naming the byte and position."""
    items, _ = decode(data + b"fine\n")
    assert len(items) == 2
    assert items[0].code == "invalid-utf8"
    assert f"byte {byte} at position {pos}" in items[0].message
    assert items[1] == "fine"


def test_utf8_character_split_across_feeds():
    """A multi-byte character split between reads decodes as one character."""
    assert feed_pieces([b"caf\xc3", b"\xa9\n"])[0] == ["café"]


# -- properties -------------------------------------------------------------------------

_FRAGMENTS = [
    b"a", b"bc", b" ", b"\xc3\xa9", b"\xe2\x98\x95", b"\n", b"\r", b"\r\n", b"\r\x00", b"\x00",
    bytes([IAC, DO, 1]), bytes([IAC, WILL, 3]), bytes([IAC, WONT, 1]), bytes([IAC, IAC]),
    bytes([IAC, 241]), bytes([IAC, SB, 24, 1, 2, IAC, SE]), bytes([IAC, SB, 31, IAC, IAC, IAC, SE]),
    b"\xff", b"x" * 7, b"\xc3",
]


@given(
    st.lists(st.sampled_from(_FRAGMENTS), max_size=40).map(b"".join),
    st.lists(st.integers(0, 400), max_size=12),
    st.sampled_from([8, 16384]),
)
@settings(max_examples=300, deadline=None)
def test_any_split_gives_the_same_result(data, cuts, max_line):
    """However a byte stream is split into reads, the lines, problems and replies are the same."""
    whole = decode(data, max_line)
    points = sorted({min(c, len(data)) for c in cuts})
    pieces = [data[i:j] for i, j in zip([0] + points, points + [len(data)])]
    assert feed_pieces(pieces, max_line) == whole
    assert feed_pieces([bytes([b]) for b in data], max_line) == whole


@given(
    # NUL is left out: after a bare CR it is part of the line end (CR NUL), by design.
    st.lists(st.text(st.characters(exclude_characters="\r\n\x00"), max_size=12), max_size=10),
    st.sampled_from([b"\r\n", b"\r\x00", b"\r"]),
    st.sampled_from([6, 16384]),
)
@settings(max_examples=200, deadline=None)
def test_fast_and_slow_paths_agree(lines, eol, max_line):
    """The same lines ended with LF (fast path) or CR forms (slow path) decode identically."""
    encoded = [ln.encode("utf-8", "surrogatepass") for ln in lines]
    fast = decode(b"".join(e + b"\n" for e in encoded), max_line)[0]
    slow = decode(b"".join(e + eol for e in encoded), max_line)[0]
    assert fast == slow
