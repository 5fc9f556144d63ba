"""
The browser client's copy of the text rules agrees with the server's
(issue 12, item 6): one table of nicks, room names and texts goes through
chatd.core.text (check_nick, check_room, clean_text) here and through
web/js/text.js (nickProblem, roomProblem, textProblem) under Node, and
both must accept or refuse each entry alike. The page only checks early
to spare a round trip; if it refused what the server takes, a user could
not use a valid name, and if it passed what the server refuses, the
user would get the server's error instead of the page's.
"""

import json
import subprocess

import pytest

from chatd.core.errors import ChatError
from chatd.core.text import NICK_MAX, check_nick, check_room, clean_message, clean_text
from test_client_static import WEB, _node

BIDI_CONTROLS = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e"]
ISOLATES = ["\u2066", "\u2067", "\u2068", "\u2069"]

NICKS = [
    "alice", "Alice_99", "דני", "Ａｌｉｃｅ", "émile", "e\u0301mile", "😀", "al#ice", "a.b", "a-b", "a[b]",
    "x" * NICK_MAX, "x" * (NICK_MAX + 1), "x" * (NICK_MAX - 1) + "😀", "",
    # spaces and separators
    "a b", "a\u00a0b", "a\u3000b", "a\tb", "a\nb", "a\u2028b", "a\u2029b",
    # invisible format characters, bidi controls and isolates included
    "a\u200bb", "a\u200db", "a\u00adb", "\ufeffa", "a\u180eb", *(f"a{c}b" for c in BIDI_CONTROLS + ISOLATES),
    # controls, private use, unassigned, surrogates
    "a\x00", "a\x1b[2J", "a\x7f", "a\x85", "a\ue000b", "a\U000f0000", "a\u0378", "a\uffff", "a\ud800", "\udc00a",
    # the line protocol's delimiters
    "#alice", "/alice", "&alice", *(f"a{c}b" for c in ",:!@*?"),
]

ROOMS = [
    "#lobby", "#a", "##", "#a#b", "#a:b", "#c++", "#דיון", "#😀", "#" + "x" * 49, "#" + "x" * 50,
    "#", "", "lobby", "#a,b", "#a b", "#a\u00a0b", "#a\tb", "#a\u2028b",
    "#a\u200bb", "#a\u202eb", "#a\u2067b", "#a\x00", "#a\x9b", "#a\ue000", "#a\u0378", "#a\ud800",
]

#: (text, what, maximum)
TEXTS = [
    ("hello", "message", 4000), ("", "message", 4000), ("hello\tworld", "message", 4000),
    ("שלום, world", "message", 4000), ("a\u200bb \u200f \u061c \ufeff \u00a0", "message", 4000),
    ("a\ue000 \uffff", "message", 4000), ("\u2067שלום\u2069 and \u2066x\u2069 \u2068y", "message", 4000),
    *((f"rtl {c} isolate", "message", 4000) for c in ISOLATES),
    *((f"rtl {c} override", "message", 4000) for c in BIDI_CONTROLS),
    *((f"a{c}", "topic", 390) for c in BIDI_CONTROLS),
    ("a\nb", "message", 4000), ("a\rb", "message", 4000), ("a\u2028b", "message", 4000),
    ("a\u2029b", "message", 4000), ("a\x00", "message", 4000), ("a\x1b[2J", "message", 4000),
    ("a\x7f", "message", 4000), ("a\x85", "message", 4000), ("a\x9b", "topic", 390),
    ("a\ud800", "message", 4000), ("a\udc00b", "message", 4000),
    ("x" * 10, "message", 10), ("x" * 11, "message", 10), ("😀" * 10, "message", 10),
    ("😀" * 11, "message", 10), ("\t" * 10, "message", 10), ("x" * 391, "topic", 390),
]

#: Multi-line messages (issue 18): (text, maximum, max_lines), as the composer sends them.
MESSAGES = [
    ("one\ntwo\nthree", 4000, 20), ("one\r\ntwo", 4000, 20), ("one\rtwo", 4000, 20), ("\n\none\n\n", 4000, 20),
    ("a\nb\nc", 4000, 2), ("a\nb\n\n\n", 4000, 2), ("\n".join("x" * 20), 4000, 20), ("\n".join("x" * 21), 4000, 20),
    ("ok\nnot \x1b[2J ok", 4000, 20), ("ok\n\u202eoverride", 4000, 20), ("ok\n\u2067isolate\u2069", 4000, 20),
    ("a\u2028b", 4000, 20), ("x\nx\nx", 5, 20), ("x\nx\nx", 4, 20), ("tab\there\nnext", 4000, 20),
    ("\ud800\nb", 4000, 20), ("😀\n😀", 3, 20), ("😀\n😀", 2, 20),
]

NODE_SIDE = r"""
import { readFileSync } from 'node:fs';
const text = await import(process.argv[2] + '/js/text.js');
const table = JSON.parse(readFileSync(process.argv[3], 'utf-8'));
console.log(JSON.stringify({
  nicks: table.nicks.map((n) => text.nickProblem(n, table.nickMax) === null),
  rooms: table.rooms.map((r) => text.roomProblem(r) === null),
  texts: table.texts.map(([t, what, max]) => text.textProblem(t, max, what) === null),
  messages: table.messages.map(([t, max, lines]) => text.messageProblem(t, max, lines) === null),
}));
"""


def _accepts(check, *args) -> bool:
    try:
        check(*args)
    except ChatError:
        return False
    return True


def server_verdicts():
    return {
        "nicks": [_accepts(check_nick, n) for n in NICKS],
        "rooms": [_accepts(check_room, r) for r in ROOMS],
        "texts": [_accepts(clean_text, t, what, maximum) for t, what, maximum in TEXTS],
        "messages": [_accepts(clean_message, t, maximum, lines) for t, maximum, lines in MESSAGES],
    }


def client_verdicts(tmp_path):
    node = _node()
    table = tmp_path / "table.json"
    # ensure_ascii: lone surrogates travel as \\ud800 escapes, which JSON.parse keeps as they are.
    table.write_text(json.dumps({"nicks": NICKS, "rooms": ROOMS, "texts": TEXTS, "messages": MESSAGES, "nickMax": NICK_MAX}), encoding="ascii")
    script = tmp_path / "rules.mjs"
    script.write_text(NODE_SIDE, encoding="utf-8")
    run = subprocess.run([node, str(script), WEB.as_uri(), str(table)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.mark.parametrize("kind,table", [("nicks", NICKS), ("rooms", ROOMS), ("texts", TEXTS), ("messages", MESSAGES)])
def test_client_and_server_agree(kind, table, tmp_path):
    server = server_verdicts()[kind]
    client = client_verdicts(tmp_path)[kind]
    verdict = {True: "accepts", False: "refuses"}
    disagree = [
        f"{case!r}: the server {verdict[s]}, the page {verdict[c]}"
        for case, s, c in zip(table, server, client)
        if s != c
    ]
    assert len(client) == len(table)
    assert not disagree, "\n".join(disagree)


def test_the_table_has_both_verdicts():
    """A table the server accepted (or refused) whole would prove little."""
    for kind, verdicts in server_verdicts().items():
        assert True in verdicts and False in verdicts, kind
