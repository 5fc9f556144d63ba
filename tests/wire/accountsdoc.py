"""
The examples of docs/accounts.md, read the way a reader sees them: its
JSON blocks (events, answers, commands) and its terminal block.
"""

import json
import pathlib
import re
from typing import List

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
