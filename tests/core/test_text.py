"""
The text rules of docs/protocol.md ("Text rules"): nicks, room names,
folding, and what a message or topic may hold.
"""

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatd.core.errors import InvalidNick, InvalidRoom, InvalidText, TooLong
from chatd.core.text import (
    NICK_MAX,
    ROOM_MAX,
    check_nick,
    check_room,
    clean_text,
    describe,
    fold,
)

# -- nicks ---------------------------------------------------------------


@pytest.mark.parametrize(
    "nick",
    [
        "a",
        "alice",
        "Alice_99",
        "x" * NICK_MAX,
        "bob-the-builder",
        "[away]bob",
        "émilie",
        "Straße",
        "Ａｌｉｃｅ",
        "名前",
        "Ωmega",
        "a#b",
        "a/b",
        "a&b",
        "smile😀",
    ],
)
def test_valid_nicks_are_accepted(nick):
    """Nicks within the rules are accepted and keyed by their fold."""
    assert check_nick(nick) == fold(nick)


@pytest.mark.parametrize(
    "nick, fragment",
    [
        ("", "at least one character"),
        ("x" * (NICK_MAX + 1), f"{NICK_MAX + 1} characters long"),
        ("é" * (NICK_MAX + 1), "at most 32"),
        ("al ice", "a space U+0020"),
        ("al\u00a0ice", "a space U+00A0"),
        ("al\u3000ice", "a space U+3000"),
        ("al\tice", "control character U+0009"),
        ("alice\x00", "control character U+0000 (NUL)"),
        ("\x1b[2Jalice", "U+001B (ESCAPE)"),
        ("alice\x7f", "U+007F (DELETE)"),
        ("alice\x9b", "U+009B (CONTROL SEQUENCE INTRODUCER)"),
        ("al\nice", "U+000A"),
        ("al\u200bice", "invisible formatting character U+200B (ZERO WIDTH SPACE)"),
        ("al\u200dice", "invisible formatting character U+200D"),
        ("\u202eecila", "invisible formatting character U+202E (RIGHT-TO-LEFT OVERRIDE)"),
        ("al\u2066ice", "invisible formatting character U+2066"),
        ("\ufeffalice", "invisible formatting character U+FEFF"),
        ("al\u2028ice", "line separator U+2028"),
        ("al\u2029ice", "paragraph separator U+2029"),
        ("al\ue000ice", "private-use character U+E000"),
        ("al\U000e0001ice", "invisible formatting character U+E0001"),
        ("al\U0010ffffice", "U+10FFFF"),
        ("al\u0378ice", "unassigned code point U+0378"),
        ("al\ud800ice", "unpaired surrogate U+D800"),
    ],
)
def test_nick_with_forbidden_characters_is_refused(nick, fragment):
    """Each forbidden kind of character is refused, naming it and its position."""
    with pytest.raises(InvalidNick) as info:
        check_nick(nick)
    assert info.value.code == "invalid-nick"
    assert fragment in info.value.message


@pytest.mark.parametrize("nick", ["al ice", "a\u200bb", "ab\u202e"])
def test_nick_error_names_position(nick):
    """The invalid-nick message says at which (1-based) position the bad character is."""
    pos = next(i for i, ch in enumerate(nick) if unicodedata.category(ch)[0] in "CZ") + 1
    with pytest.raises(InvalidNick, match=f"at position {pos}"):
        check_nick(nick)


@pytest.mark.parametrize("ch", list(",:!@*?"))
def test_nick_with_forbidden_punctuation_is_refused(ch):
    """None of , : ! @ * ? may appear anywhere in a nick."""
    for nick in (f"{ch}bob", f"bo{ch}b", f"bob{ch}"):
        with pytest.raises(InvalidNick, match=r"may not contain any of , : ! @ \* \?"):
            check_nick(nick)


@pytest.mark.parametrize("ch", list("#/&"))
def test_nick_may_not_start_with_room_or_command_chars(ch):
    """A nick may not start with # / or &, but may contain them later."""
    with pytest.raises(InvalidNick, match="may not start"):
        check_nick(ch + "bob")
    assert check_nick("bob" + ch) == "bob" + ch


def test_nick_length_counts_characters_not_bytes():
    """32 multi-byte characters are a valid nick; the limit is in characters."""
    assert check_nick("名" * NICK_MAX) == "名" * NICK_MAX


# -- rooms ---------------------------------------------------------------


@pytest.mark.parametrize(
    "room",
    ["#a", "#lobby", "#Lobby", "#" + "r" * (ROOM_MAX - 1), "#café", "##two", "#a-b_c.d", "#日本"],
)
def test_valid_rooms_are_accepted(room):
    """Room names within the rules are accepted and keyed by their fold."""
    assert check_room(room) == fold(room)


@pytest.mark.parametrize(
    "room, fragment",
    [
        ("lobby", "must start with '#'"),
        ("", "must start with '#'"),
        ("&lobby", "must start with '#'"),
        ("＃lobby", "must start with '#'"),
        ("#", "1 characters long"),
        ("#" + "r" * ROOM_MAX, f"{ROOM_MAX + 1} characters long"),
        ("#lob by", "a space U+0020"),
        ("#lob,by", "may not contain a comma"),
        ("#a,", "may not contain a comma"),
        ("#lob\x07by", "U+0007 (BELL)"),
        ("#lob\x1bby", "U+001B (ESCAPE)"),
        ("#lobby\x85", "control character U+0085"),
        ("#lob\u200bby", "invisible formatting character"),
        ("#lob\nby", "control character U+000A"),
    ],
)
def test_invalid_rooms_are_refused(room, fragment):
    """Room names breaking a rule are refused with invalid-room, naming the rule."""
    with pytest.raises(InvalidRoom) as info:
        check_room(room)
    assert info.value.code == "invalid-room"
    assert fragment in info.value.message


# -- folding -------------------------------------------------------------


@pytest.mark.parametrize(
    "a, b",
    [
        ("Alice", "alice"),
        ("ALICE", "alice"),
        ("Ａｌｉｃｅ", "alice"),
        ("ＡＬＩＣＥ", "Alice"),
        ("Straße", "STRASSE"),
        ("straße", "strasse"),
        ("ﬁsh", "fish"),
        ("ΣΊΣΥΦΟΣ", "σίσυφος"),
        ("#Lobby", "#ｌｏｂｂｙ"),
        ("e\u0301", "\u00e9"),
    ],
)
def test_fold_makes_equivalent_names_equal(a, b):
    """Case, full width, ß/ss, ligatures and composition all fold alike."""
    assert fold(a) == fold(b)


@pytest.mark.parametrize("a, b", [("alice", "alicf"), ("bob", "b0b"), ("#a", "#b"), ("ali", "alice")])
def test_fold_keeps_different_names_apart(a, b):
    """Names that differ in more than case or width stay different."""
    assert fold(a) != fold(b)


def test_fold_keeps_ascii_lowercase_unchanged():
    """Plain lower-case ASCII is its own key."""
    assert fold("alice_42") == "alice_42"


# -- message and topic text ------------------------------------------------


def test_clean_text_passes_ordinary_text_unchanged():
    """Printable ASCII and Unicode text is relayed exactly as sent."""
    for text in ("hello", "héllo wörld", "日本語", "emoji 😀", "a  b ", "שלום \u2067عربي\u2069 isolates pass", "lrm \u200e"):
        assert clean_text(text, "message", 100) == text


@pytest.mark.parametrize("ch", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e"])
@pytest.mark.parametrize("what", ["message", "topic", "reason"])
def test_clean_text_refuses_bidi_embeddings_and_overrides_by_name(ch, what):
    """U+202A..U+202E could reorder other people's text: refused, naming the character and where."""
    with pytest.raises(InvalidText) as e:
        clean_text(f"rtl {ch} override", what, 100)
    assert e.value.code == "invalid-text"
    assert f"The {what} holds the bidi control U+{ord(ch):04X} (" in e.value.message
    assert "at position 5" in e.value.message


def test_clean_text_replaces_tab_with_one_space():
    """Each TAB becomes exactly one space, not refused."""
    assert clean_text("a\tb\t\tc", "message", 100) == "a b  c"
    assert clean_text("\tü\t", "message", 100) == " ü "


@pytest.mark.parametrize("what", ["message", "topic"])
@pytest.mark.parametrize("text, pos", [("a\rb", 2), ("ab\n", 3), ("\r\n", 1), ("x\u2028y", 2), ("xy\u2029", 3)])
def test_clean_text_refuses_line_breaks(text, pos, what):
    """CR, LF, U+2028 and U+2029 are refused as line breaks, with their position."""
    with pytest.raises(InvalidText) as info:
        clean_text(text, what, 100)
    assert info.value.code == "invalid-text"
    assert "line break" in info.value.message
    assert f"at position {pos}" in info.value.message
    assert f"per {what}" in info.value.message


@pytest.mark.parametrize("text, name", [("a\nb", "U+000A"), ("a\rb", "U+000D"), ("a\u2028b", "U+2028")])
def test_clean_text_line_break_error_names_the_character(text, name):
    """The line-break refusal names which character (CR, LF, U+2028...) it was."""
    with pytest.raises(InvalidText) as info:
        clean_text(text, "message", 100)
    assert name in info.value.message


@pytest.mark.parametrize(
    "text, pos, named",
    [
        ("a\x00b", 2, "U+0000 (NUL)"),
        ("\x1b[2J", 1, "U+001B (ESCAPE)"),
        ("hi \x1b]0;pwned\x07", 4, "U+001B (ESCAPE)"),
        ("x\x9b2J", 2, "U+009B (CONTROL SEQUENCE INTRODUCER)"),
        ("del\x7f", 4, "U+007F (DELETE)"),
        ("bell\x07", 5, "U+0007 (BELL)"),
        ("bs\x08", 3, "U+0008 (BACKSPACE)"),
        ("vt\x0b", 3, "U+000B (VERTICAL TAB)"),
        ("ff\x0c", 3, "U+000C (FORM FEED)"),
        ("c1\x85", 3, "U+0085"),
        ("c1\x9f", 3, "U+009F"),
        ("us\x1f", 3, "U+001F"),
        ("é\x1b", 2, "U+001B (ESCAPE)"),
    ],
)
def test_clean_text_refuses_control_characters(text, pos, named):
    """NUL, ESC, CSI, DEL and every other C0/C1 control is refused, named, with its position."""
    with pytest.raises(InvalidText) as info:
        clean_text(text, "message", 100)
    message = info.value.message
    assert named in message
    assert f"at position {pos}" in message
    assert "control character" in message


def test_clean_text_refuses_lone_surrogate():
    """An unpaired surrogate (as JSON '\\ud800' smuggles in) is refused and named."""
    with pytest.raises(InvalidText) as info:
        clean_text("ok\ud800", "topic", 100)
    assert "unpaired surrogate U+D800" in info.value.message
    assert "at position 3" in info.value.message
    assert "topic" in info.value.message
    with pytest.raises(InvalidText, match=r"U\+DFFF"):
        clean_text("\udfff", "message", 100)


def test_clean_text_reports_first_bad_character():
    """With several bad characters, the error names the first one."""
    with pytest.raises(InvalidText, match=r"U\+0000 \(NUL\) at position 2"):
        clean_text("a\x00\x1b\n", "message", 100)


def test_clean_text_length_limit():
    """Exactly the limit is fine; one more character is too-long, saying both numbers."""
    assert clean_text("x" * 10, "message", 10) == "x" * 10
    with pytest.raises(TooLong) as info:
        clean_text("x" * 11, "message", 10)
    assert info.value.code == "too-long"
    assert "11 characters" in info.value.message and "limit is 10" in info.value.message
    assert clean_text("é" * 10, "topic", 10) == "é" * 10
    with pytest.raises(TooLong):
        clean_text("é" * 11, "topic", 10)


def test_clean_text_refuses_control_before_length():
    """A too-long text with a control character is refused for the character."""
    with pytest.raises(InvalidText):
        clean_text("x" * 50 + "\x1b", "message", 10)


def test_describe_names_characters():
    """describe() gives the code point and a name people understand."""
    assert describe("A") == "U+0041 (LATIN CAPITAL LETTER A)"
    assert describe("\x1b") == "U+001B (ESCAPE)"
    assert describe("\x01") == "U+0001 (control character)"
    assert describe("\ud800") == "U+D800"


# -- properties ------------------------------------------------------------

_any_char = st.one_of(
    st.characters(),
    st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Co", "Cn", "Zs"]),
    st.integers(0xD800, 0xDFFF).map(chr),
    st.sampled_from("\t\r\n\x00\x1b\x7f\x85\x9b\u2028\u2029,:!@*?#/&ßẞİ"),
)
_any_text = st.text(alphabet=_any_char, max_size=60)


def _is_control_or_surrogate(ch):
    o = ord(ch)
    return o < 0x20 or 0x7F <= o <= 0x9F or 0xD800 <= o <= 0xDFFF


@given(_any_text)
@settings(max_examples=400, deadline=None)
def test_clean_text_never_returns_controls_or_surrogates(text):
    """Whatever goes in, clean_text returns no C0/C1 control or surrogate, or refuses."""
    try:
        out = clean_text(text, "message", 40)
    except (InvalidText, TooLong):
        return
    assert not any(_is_control_or_surrogate(ch) for ch in out)
    assert "\u2028" not in out and "\u2029" not in out
    assert len(out) <= 40
    assert out == text.replace("\t", " ")


@given(_any_text)
@settings(max_examples=400, deadline=None)
def test_fold_is_idempotent(name):
    """Folding a folded key changes nothing."""
    try:
        once = fold(name)
    except UnicodeError:  # pragma: no cover - lone surrogates fold fine today
        return
    assert fold(once) == once


@given(_any_text)
@settings(max_examples=400, deadline=None)
def test_check_nick_raises_or_returns_fold(nick):
    """check_nick either refuses with InvalidNick or returns fold(nick), and accepted nicks obey the rules."""
    try:
        key = check_nick(nick)
    except InvalidNick as e:
        assert e.code == "invalid-nick" and e.message
        return
    assert key == fold(nick)
    assert 1 <= len(nick) <= NICK_MAX
    assert nick[0] not in "#/&"
    assert not set(nick) & set(",:!@*?")
    assert not any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"} for ch in nick)


@given(st.one_of(_any_text, _any_text.map(lambda s: "#" + s)))
@settings(max_examples=400, deadline=None)
def test_check_room_raises_or_returns_fold(room):
    """check_room either refuses with InvalidRoom or returns fold(room), and accepted names obey the rules."""
    try:
        key = check_room(room)
    except InvalidRoom as e:
        assert e.code == "invalid-room" and e.message
        return
    assert key == fold(room)
    assert room.startswith("#") and 2 <= len(room) <= ROOM_MAX
    assert "," not in room
    assert not any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"} for ch in room)


# -- account names (PRECIS UsernameCaseMapped, RFC 8265, and the nick rules) --

import precis_i18n  # noqa: E402

from chatd.core.errors import InvalidAccount  # noqa: E402
from chatd.core.text import check_account  # noqa: E402


@pytest.mark.parametrize(
    "name",
    ["alice", "Alice_99", "bob-the.builder", "Zoë", "Straße", "日本", "אב", "l·l", "[away]bob", "Ａｌｉｃｅ"],
)
def test_valid_account_names_are_accepted(name):
    """Letters and digits of any script, ASCII punctuation: the key is the nick's, so an account is its nick."""
    assert check_account(name) == check_nick(name) == fold(name)


def test_full_width_account_is_the_plain_one():
    """PRECIS reads full-width letters as plain ones, as chatd's fold does: one account, not two."""
    assert check_account("Ａｌｉｃｅ") == check_account("alice")


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("", "A nick must have at least one character. An account name is a nick: the same rules apply."),
        ("x" * (NICK_MAX + 1), f"{NICK_MAX + 1} characters long; nicks have at most {NICK_MAX}. An account name"),
        ("al ice", "holds a space U+0020 (SPACE) at position 3"),
        ("al\u3000ice", "holds a space U+3000 (IDEOGRAPHIC SPACE) at position 3"),
        ("al\u200dice", "invisible formatting character U+200D (ZERO WIDTH JOINER) at position 3"),
        ("👨\u200d👩", "invisible formatting character U+200D (ZERO WIDTH JOINER) at position 2"),
        ("al\u200cice", "U+200C (ZERO WIDTH NON-JOINER)"),
        ("al\ud800ice", "unpaired surrogate U+D800"),
        ("smile😀", "the symbol U+1F600 (GRINNING FACE) at position 6; account names may not hold symbols or emoji"),
        ("a♥b", "the symbol U+2665 (BLACK HEART SUIT) at position 2"),
        ("ﬁsh", "the compatibility character U+FB01 (LATIN SMALL LIGATURE FI) at position 1; write the plain"),
        ("bob²", "the compatibility character U+00B2 (SUPERSCRIPT TWO) at position 4"),
        ("①", "the compatibility character U+2460 (CIRCLED DIGIT ONE) at position 1"),
        ("louisⅫ", "the compatibility character U+216B (ROMAN NUMERAL TWELVE) at position 6"),
        ("ǅemal", "the compatibility character U+01C5 (LATIN CAPITAL LETTER D WITH SMALL LETTER Z WITH CARON)"),
        ("a—b", "the punctuation mark U+2014 (EM DASH) at position 2; account names may hold ASCII punctuation only"),
        ("a·b", "the middle dot U+00B7 (MIDDLE DOT) at position 2; it is allowed only between two l's"),
        ("\u05d0alice", "mixes right-to-left and left-to-right writing"),
        ("a@b", "nicks may not contain any of , : ! @ * ? An account name is a nick: the same rules apply."),
        ("#alice", "nicks may not start with # / or &. An account name is a nick"),
    ],
)
def test_invalid_account_names_are_refused(name, fragment):
    """Each refusal says what is wrong, in words, and names the character and where it is."""
    with pytest.raises(InvalidAccount) as info:
        check_account(name)
    assert info.value.code == "invalid-account"
    assert fragment in info.value.message
    assert "DISALLOWED" not in info.value.message


@given(_any_text)
@settings(max_examples=400, deadline=None)
def test_an_account_name_passes_both_rule_sets(name):
    """Whatever the text, check_account refuses it or it is both a valid nick and a PRECIS username."""
    try:
        key = check_account(name)
    except InvalidAccount as e:
        assert e.code == "invalid-account" and e.message
        return
    assert key == check_nick(name)
    precis_i18n.get_profile("UsernameCaseMapped").enforce(name)
