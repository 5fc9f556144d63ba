"""
What a terminal shows of accounts and moderation (chatd.wire.lines):
every event and answer of docs/accounts.md renders as its "What you see
in a terminal" block says, and nothing the block does not show.
"""

import pytest

from chatd.core import events as ev
from chatd.wire import lines as wire

from accountsdoc import ANSWERS, EVENTS, TS, private, terminal_lines

PRIVATES = ANSWERS[-1][0]


def test_documented_lines_are_the_renderings():
    """The terminal block of docs/accounts.md is, line by line, what its events and answers render as."""
    invited = next(e for e in EVENTS if e.type == ev.INVITE)
    rendered = b"".join(wire.render_event(e) + (wire.render_invitation(e) if e is invited else b"") for e in EVENTS)
    rendered += b"".join(wire.render_event(e) for e, _ in ANSWERS[:-1])
    rendered += wire.render_privates(PRIVATES, me="alice")
    assert rendered.endswith(b"\r\n") and b"\n" not in rendered.replace(b"\r\n", b"")
    assert rendered.decode().split("\r\n")[:-1] == terminal_lines()


@pytest.mark.parametrize(
    "seconds, text",
    [(1, "1 second"), (45, "45 seconds"), (60, "1 minute"), (90, "90 seconds"), (600, "10 minutes"),
     (3600, "1 hour"), (5400, "90 minutes"), (7200, "2 hours"), (86400, "1 day"), (604800, "7 days"),
     (90000, "25 hours")],
)
def test_span(seconds, text):
    """A duration is said in the largest unit it is a whole number of."""
    assert wire.span(seconds) == text


def test_a_ban_lasts_what_was_asked_despite_float_time():
    """until - ts that is a hair under the duration (float clocks) still says the duration typed."""
    e = ev.BanSet(room="#den", mask="x", by="alice", until=1_700_000_000.1 + 600, ts=1_700_000_000.1)
    assert wire.render_event(e) == b"[#den] -!- alice banned x for 10 minutes\r\n"


def test_members_without_roles_keep_the_plain_list():
    """A room where nobody has a role lists bare nicks, as before accounts."""
    e = ev.Members(room="#a", nicks=("alice", "bob"), ts=TS)
    assert wire.render_event(e).startswith(b"[#a] -!- 2 members: alice, bob\r\n")
    member = ev.Members(room="#a", nicks=("alice", "bob"), roles=(("bob", "member"),), ts=TS)
    assert wire.render_event(member).startswith(b"[#a] -!- 2 members: alice, bob\r\n")


def test_replayed_privates_without_a_reader_name_both_ends():
    """Rendered for nobody in particular (the shared codec), each replayed message says who wrote to whom."""
    assert wire.render_event(PRIVATES).splitlines()[1:3] == [
        b"2026-11-25 20:10 *bob* to alice: psst",
        b"20:10 *alice* to bob: hi",
    ]


def test_a_replay_with_nothing_shows_nothing_and_a_truncated_one_says_so():
    """An empty replay (a login with nothing stored) is silent; a truncated one says older ones are missing."""
    assert wire.render_event(ev.Privates(ts=TS)) == b""
    truncated = ev.Privates(messages=(private("bob", "alice", "psst", 9),), truncated=True, ts=TS)
    assert wire.render_privates(truncated, me="alice").splitlines() == [
        b"-!- Stored private messages (1):",
        b"-!- (older private messages not shown)",
        b"20:10 *bob* psst",
        b"-!- End of private messages",
    ]


def test_a_private_to_yourself_is_shown_as_received():
    """A note to yourself replays as received, not as sent to yourself."""
    notes = ev.Privates(messages=(private("alice", "alice", "buy milk", 3),), ts=TS)
    assert b"20:10 *alice* buy milk\r\n" in wire.render_privates(notes, me="alice")


@pytest.mark.parametrize(
    "event, text",
    [
        (ev.Role(room="#a", nick="bob", role="voice", by="alice", ts=TS), "[#a] -!- alice gave bob voice"),
        (ev.RoomChanged(room="#a", action="renamed", by="alice", ts=TS), "[#a] -!- alice: #a renamed"),
        (ev.Modes(room="#a", modes="+kl", ts=TS), "[#a] -!- Modes: +kl (a key, a member limit)"),
        (ev.Modes(room="#a", modes="+x", ts=TS), "[#a] -!- Modes: +x"),
        (ev.BanList(room="#a", bans=(ev.BanInfo("x", "alice", None, TS, None),), ts=TS), "[#a] -!- 1 ban:"),
        (ev.BanList(room="#a", ts=TS), "[#a] -!- No bans"),
        (ev.BanList(room=None, bans=(ev.BanInfo("x", "root", None, TS, None),), ts=TS), "-!- 1 server ban:"),
        (ev.WhoIs(nick="root", account="root", rooms=("#a",), operator=True, ts=TS), "-!- root is a server operator"),
    ],
)
def test_other_forms(event, text):
    """Forms the document does not show: voice, an action this codec does not know, a hidden key, one ban."""
    assert text.encode() + b"\r\n" in wire.render_event(event)


def test_every_event_type_renders():
    """No core event type is without a terminal form."""
    samples = {e.type: e for e in EVENTS + [e for e, _ in ANSWERS]}
    conversation = [
        ev.React(room="#a", nick="bob", message=41, reaction="+1", id=42, ts=TS),
        ev.Unreact(room="#a", nick="bob", message=41, reaction="+1", id=43, ts=TS),
        ev.Typing(room="#a", nick="bob", state="active", ts=TS),
        ev.ReadMarker(room="#a", message=41, ts=TS),
    ]
    samples.update((e.type, e) for e in conversation)
    for t in set(ev.BY_TYPE) - set(samples):
        assert t in {"message", "action", "join", "part", "quit", "topic", "nick", "notice", "rooms", "history",
                     "account", "away"}
    for e in samples.values():
        data = wire.render_event(e)
        assert data.endswith(b"\r\n") or data == b""
