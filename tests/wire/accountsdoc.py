"""
The examples of docs/accounts.md, read the way a reader sees them: its
JSON blocks (events, answers, commands) and its terminal block; and the
core events they show, in the document's order.
"""

import json
import pathlib
import re
from typing import List

from chatd.core import events as ev

ACCOUNTS_DOC = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "accounts.md").read_text("utf-8")


def _blocks(fence: str) -> List[str]:
    """The bodies of the fenced blocks opened by C{fence} (C{```json} or a bare C{```}), in order."""
    return re.findall(rf"^{re.escape(fence)}\n(.*?)^```$", ACCOUNTS_DOC, re.M | re.S)


def json_block(n: int) -> List[dict]:
    """The objects of the C{n}th JSON block: 0 the events, 1 the answers, 2 the commands."""
    return [json.loads(ln) for ln in _blocks("```json")[n].splitlines() if ln.strip()]


def terminal_lines() -> List[str]:
    """The lines of "What you see in a terminal", without their comments in parentheses."""
    block = ACCOUNTS_DOC.split("### What you see in a terminal", 1)[1]
    body = re.search(r"^```\n(.*?)^```$", block, re.M | re.S).group(1)
    return [re.sub(r"\s{2,}\(.*\)$", "", ln).rstrip() for ln in body.splitlines() if ln.strip()]


TS = 1_795_810_200.0  # 2026-11-27T20:10:00.000Z
DAY = 86400


def private(nick, to, text, id, ts=TS):
    return ev.Private(nick=nick, to=to, text=text, id=id, ts=ts)


#: The events of the first JSON block, in order.
EVENTS = [
    ev.Role(room="#den", nick="bob", role="operator", by="alice", ts=TS),
    ev.Role(room="#den", nick="carol", role="member", by="alice", ts=TS),
    ev.ModeChange(room="#den", nick="alice", modes="+k", arg="secret", ts=TS),
    ev.ModeChange(room="#den", nick="alice", modes="-i", ts=TS),
    ev.BanSet(room="#den", mask="spam*", by="alice", reason="spam", until=TS + 600, ts=TS),
    ev.BanSet(room="#den", mask="~a:troll", by="alice", ts=TS),
    ev.BanSet(room=None, mask="192.0.2.0/24", by="root", reason="botnet", until=TS + DAY, ts=TS),
    ev.BanLifted(room="#den", mask="spam*", by="alice", ts=TS),
    ev.BanLifted(room=None, mask="192.0.2.0/24", by="root", ts=TS),
    ev.Muted(room="#den", nick="bob", by="alice", until=TS + 300, ts=TS),
    ev.Muted(room="#den", nick="dave", by="alice", ts=TS),
    ev.Unmuted(room="#den", nick="bob", by="alice", ts=TS),
    ev.Invited(room="#den", nick="alice", to="carol", ts=TS),
    ev.Deleted(room="#den", message=42, by="alice", ts=TS),
    ev.RoomChanged(room="#den", action="registered", founder="alice", by="alice", ts=TS),
    ev.RoomChanged(room="#den", action="transferred", founder="bob", by="alice", ts=TS),
    ev.RoomChanged(room="#den", action="dropped", by="bob", ts=TS),
    ev.Kick(room="#den", nick="bob", by="alice", reason="spam", ts=TS),
    private("bob", "alice", "psst", 7),
]

#: The answers of the second JSON block, with the ref each carries, in order.
ANSWERS = [
    (ev.Members(room="#den", nicks=("alice", "bob", "carol", "dave"), topic="Welcome", ts=TS,
                roles=(("alice", "founder"), ("bob", "operator"), ("carol", "voice"))), 5),
    (ev.Modes(room="#den", modes="+tkl", key="secret", limit=20, founder="alice", ts=TS), 6),
    (ev.Modes(room="#lobby", modes="", ts=TS), 7),
    (ev.BanList(room="#den", ts=TS, bans=(ev.BanInfo("spam*", "alice", "spam", TS, TS + 600),
                                          ev.BanInfo("~a:troll", "alice", None, TS, None))), 8),
    (ev.BanList(room=None, ts=TS), 9),
    (ev.WhoIs(nick="bob", account="bob", rooms=("#den", "#lobby"), address="192.0.2.7", ts=TS), 10),
    (ev.WhoIs(nick="Guest-1234", ts=TS), 11),
    (ev.Privates(messages=(private("bob", "alice", "psst", 7, TS - 2 * DAY), private("alice", "bob", "hi", 8)),
                 ts=TS), None),
]
