"""
The history rule paging forward (C{after}) and selecting by time
(C{after_ts}, C{before_ts}), as every front end gets it: over the
in-memory store, on a fake clock.
"""

import math

import pytest

from chatcore_helpers import T0, World, raises, result
from chatd.core import commands as cmd
from chatd.core.errors import BadCommand


def said(world, session, room, n, step=10.0):
    """Say C{n} messages C{step} seconds apart; their ids."""
    ids = []
    for i in range(n):
        ids.append(result(session.say(room, f"m{len(ids) + 1}")).id)
        world.clock.advance(step)
    return ids


def page(session, **kw):
    h = result(session.history("#lobby", **kw))
    return [m.id for m in h.messages], h.truncated


@pytest.fixture
def alice(world):
    session, _ = world.member("alice", "#lobby")
    return session


def test_after_gives_the_oldest_page_first(world, alice):
    """With after, the oldest messages above it come first; truncated says there are more."""
    said(world, alice, "#lobby", 10)
    assert page(alice, limit=3, after=2) == ([3, 4, 5], True)
    assert page(alice, limit=3, after=7) == ([8, 9, 10], False)
    assert page(alice, limit=3, after=10) == ([], False)
    assert page(alice, limit=3, after=0) == ([1, 2, 3], True)


def test_paging_forward_across_deleted_messages(world, alice):
    """Deleted ids leave holes: forward pages still hold `limit` messages each and miss none."""
    said(world, alice, "#lobby", 12)
    for id in (3, 4, 8):
        result(world.store.delete_message("#lobby", id))
    pages, after, more = [], 0, True
    while more:
        ids, more = page(alice, limit=3, after=after)
        pages.append(ids)
        after = ids[-1]
    assert pages == [[1, 2, 5], [6, 7, 9], [10, 11, 12]]


def test_between_two_ids(world, alice):
    """after and before together: the oldest of the messages strictly between them."""
    said(world, alice, "#lobby", 10)
    assert page(alice, limit=3, after=2, before=9) == ([3, 4, 5], True)
    assert page(alice, limit=10, after=2, before=9) == ([3, 4, 5, 6, 7, 8], False)
    assert page(alice, limit=10, after=5, before=6) == ([], False)


def test_after_pruned_messages_says_truncated(world, alice):
    """Messages after `after` that retention took make the page truncated."""
    said(world, alice, "#lobby", 6)
    result(world.store.prune(3, None, world.clock.seconds()))
    assert page(alice, limit=10, after=1) == ([4, 5, 6], True)
    assert page(alice, limit=10, after=3) == ([4, 5, 6], False)


def test_without_after_pages_back_as_before(world, alice):
    """Without after, history is still the newest page (paging back)."""
    said(world, alice, "#lobby", 10)
    assert page(alice, limit=3) == ([8, 9, 10], True)
    assert page(alice, limit=3, before=8) == ([5, 6, 7], True)


def test_after_ts_selects_later_messages(world, alice):
    """after_ts: the oldest messages later than that time, oldest first."""
    said(world, alice, "#lobby", 10)  # message n at T0 + 10 * (n - 1)
    assert page(alice, limit=3, after_ts=T0 + 25) == ([4, 5, 6], True)
    assert page(alice, limit=3, after_ts=T0 + 30) == ([5, 6, 7], True)  # strictly later
    assert page(alice, limit=3, after_ts=T0 - 1000) == ([1, 2, 3], True)
    assert page(alice, limit=3, after_ts=T0 + 1000) == ([], False)


def test_before_ts_pages_back_from_a_time(world, alice):
    """before_ts: the newest messages earlier than that time."""
    said(world, alice, "#lobby", 10)
    assert page(alice, limit=3, before_ts=T0 + 50) == ([3, 4, 5], True)
    assert page(alice, limit=3, before_ts=T0 + 55) == ([4, 5, 6], True)
    assert page(alice, limit=3, before_ts=T0) == ([], False)
    assert page(alice, limit=3, before_ts=T0 + 1000) == ([8, 9, 10], True)


def test_between_two_times_and_mixed_bounds(world, alice):
    """Times and ids bound the same page; the narrower bound wins."""
    said(world, alice, "#lobby", 10)
    assert page(alice, limit=10, after_ts=T0 + 15, before_ts=T0 + 65) == ([3, 4, 5, 6, 7], False)
    assert page(alice, limit=2, after_ts=T0 + 15, before_ts=T0 + 65) == ([3, 4], True)
    assert page(alice, limit=10, after=4, after_ts=T0 + 15, before_ts=T0 + 65) == ([5, 6, 7], False)
    assert page(alice, limit=10, after_ts=T0 + 15, before=5) == ([3, 4], False)


def test_times_across_holes_and_equal_times(world, alice):
    """Deleted messages and messages sharing a second are found by time all the same."""
    ids = said(world, alice, "#lobby", 3, step=0)  # 1, 2, 3 at T0
    ids += said(world, alice, "#lobby", 6)  # 4..9 at T0, T0 + 10, ...
    for id in (5, 6, 7):
        result(world.store.delete_message("#lobby", id))
    assert page(alice, limit=10, after_ts=T0) == ([8, 9], False)
    assert page(alice, limit=10, after_ts=T0 - 1, before_ts=T0 + 1) == ([1, 2, 3, 4], False)
    assert page(alice, limit=10, before_ts=T0 + 30) == ([1, 2, 3, 4], False)


def test_times_in_an_empty_room(world, alice):
    """An empty or unknown room has no messages at any time."""
    assert result(alice.history("#never", after_ts=T0)).messages == ()
    assert page(alice, limit=5, before_ts=T0) == ([], False)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "yesterday", True, 10**400])
def test_bad_times_are_refused_in_plain_words(alice, bad):
    """A time that is not a finite number is a bad command that says what a time is."""
    e = raises(BadCommand, alice.history, "#lobby", None, None, None, bad)
    assert e.code == "bad-command"
    assert '"after_ts" must be a time in seconds since 1970' in str(e)
    e = raises(BadCommand, alice.history, "#lobby", None, None, None, None, bad)
    assert '"before_ts"' in str(e)


def test_the_command_carries_after_and_times(world, alice):
    """The history command's new fields reach the rule through the session, as any front end sends them."""
    said(world, alice, "#lobby", 5)
    bob, _ = world.connect("bob")
    forward = result(bob.handle(cmd.History(room="#lobby", limit=2, after=1)))
    assert [m.id for m in forward.messages] == [2, 3]
    by_time = result(bob.handle(cmd.History(room="#lobby", after_ts=T0 + 25, before_ts=T0 + 45)))
    assert [m.id for m in by_time.messages] == [4, 5]


def test_a_closed_room_is_read_by_its_members_only(world, alice):
    """An invite-only or keyed room's history is refused to whoever is not in it, with the reason."""
    from chatd.core.errors import NotInRoom

    said(world, alice, "#lobby", 2)
    outsider, _ = world.member("zed")
    assert [m.id for m in result(outsider.history("#lobby")).messages] == [1, 2]
    for flag, why in (("i", "invite-only"), ("k", "protected by a key")):
        alice.hub.room("#lobby").settings[flag] = "secret" if flag == "k" else True
        error = raises(NotInRoom, outsider.history, "#lobby")
        assert why in error.message and "join it first" in error.message
        assert [m.id for m in result(alice.history("#lobby")).messages] == [1, 2]
        del alice.hub.room("#lobby").settings[flag]
