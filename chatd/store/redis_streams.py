# -*- test-case-name: tests.store.test_redis -*-
"""
Reading Redis streams as the store's numbered streams (a room's history,
an account's private messages): entry id C{<id>-0} is message C{id}, and
a page answers like L{chatd.store.streams.EventStream.page}.
"""

from typing import List, Optional, Tuple


def stream_id(id: int) -> str:
    """The stream entry id of message C{id}."""
    return "%d-0" % id


def entry_number(entry_id: bytes) -> int:
    """The message id of a stream entry id C{b"<id>-0"}."""
    return int(entry_id[:-2])


def bounds(limit: int, before: Optional[int], after: Optional[int]) -> Tuple[str, str, int]:
    """
    The highest and lowest entry ids and the count for C{history.lua}:
    C{after < id < before}, at most C{limit} + 1 (one more tells C{more}).
    """
    low = 0 if after is None else max(after + 1, 0)
    if before is not None and before - 1 < low:
        return "+", "-", 0
    return ("+" if before is None else stream_id(before - 1)), stream_id(low), max(limit, 0) + 1


def page(answer, limit: int, after: Optional[int], oldest: bool = False) -> Tuple[List, bool]:
    """
    C{history.lua}'s answer as C{(entries, more)}: the newest C{limit}
    (C{oldest}: the oldest, as the script read them with C{"oldest"}),
    oldest first; C{more} when more matched or (for C{after}) some are
    already pruned.
    """
    if not answer:
        return [], False
    pruned_below, rows = answer
    more = len(rows) > limit
    if after is not None and after + 1 < pruned_below:
        more = True  # some of what was asked for is already pruned
    rows = rows[:limit] if limit > 0 else []
    if not oldest:
        rows.reverse()
    return rows, more
