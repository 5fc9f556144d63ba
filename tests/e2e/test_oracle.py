"""
The cluster tests' oracle (oracle.py) on hand-made logs: it passes what a
correct cluster shows, and catches each way a cluster can go wrong: a
duplicate, a reordering, a hole, an acknowledged message lost or stored
twice.  No daemon runs here.
"""

import pytest

from oracle import ClientLog, check, fetch_history, problems


def stored(*pairs, room="#lobby"):
    """A history: (id, text) pairs, as the JSON history command reports them."""
    return {room: [{"type": "message", "room": room, "from": "x", "text": t, "id": i, "ts": "-"} for i, t in pairs]}


HISTORY = stored((1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e"))


def seen(name, *pairs, room="#lobby", echoes=True):
    log = ClientLog(name, echoes=echoes)
    for id, text in pairs:
        log.saw(room, id, text)
    return log


def test_whole_and_tail_slices_pass():
    """A member from the start and one that joined late (its first message mid-history) both pass."""
    check([seen("all", (1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e")),
           seen("late", (3, "c"), (4, "d"), (5, "e"))], HISTORY)


def test_a_duplicate_is_caught():
    found = problems([seen("bob", (1, "a"), (2, "b"), (2, "b"), (3, "c"), (4, "d"), (5, "e"))], HISTORY)
    assert found == ["bob in #lobby: saw id 2 ('b') twice"]


def test_a_reordering_is_caught():
    found = problems([seen("bob", (1, "a"), (3, "c"), (2, "b"), (4, "d"), (5, "e"))], HISTORY)
    assert found == ["bob in #lobby: missed ids [2] between id 1 and id 3 ('c'), and was not told truncated",
                     "bob in #lobby: saw id 2 ('b') after id 3: out of order"]


def test_a_hole_is_caught():
    found = problems([seen("bob", (1, "a"), (2, "b"), (4, "d"), (5, "e"))], HISTORY)
    assert found == ["bob in #lobby: missed ids [3] between id 2 and id 4 ('d'), and was not told truncated"]


def test_a_hole_after_truncated_is_allowed():
    """A resume told truncated: true may skip what it could not replay; a later hole still counts."""
    log = seen("bob", (1, "a"))
    log.event({"type": "history", "room": "#lobby", "truncated": True,
               "messages": [{"type": "message", "room": "#lobby", "from": "x", "text": "d", "id": 4}]})
    log.saw("#lobby", 5, "e")
    check([log], HISTORY)
    again = seen("carol", (1, "a"))
    again.truncated("#lobby")
    again.saw("#lobby", 2, "b")
    again.saw("#lobby", 5, "e")
    assert problems([again], HISTORY) == [
        "carol in #lobby: missed ids [3, 4] between id 2 and id 5 ('e'), and was not told truncated"]


def test_a_lost_tail_is_caught_unless_the_log_ended():
    """A log still connected at the end must reach the history's last message; one that died early need not."""
    assert problems([seen("bob", (1, "a"), (2, "b"), (3, "c"))], HISTORY) == [
        "bob in #lobby: stopped at id 3, missing [4, 5]"]
    check([seen("bob", (1, "a"), (2, "b"), (3, "c")).ended()], HISTORY)
    assert problems([ClientLog("never-joined")], HISTORY) == []  # never in the room: nothing to hold it to
    joined = ClientLog("joined")
    joined.truncated("#lobby")  # joined, was told of older messages, then saw nothing
    assert problems([joined], HISTORY) == ["joined in #lobby: saw nothing, the history holds ids [1, 2, 3, 4, 5]"]


def test_a_message_the_history_does_not_hold_is_caught():
    assert problems([seen("bob", (1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e"), (6, "f"))], HISTORY) == [
        "bob in #lobby: saw id 6 ('f'), which the history does not hold"]
    assert problems([seen("bob", (1, "a"), (2, "B"), (3, "c"), (4, "d"), (5, "e"))], HISTORY) == [
        "bob in #lobby: saw id 2 as 'B', the history has 'b'"]


def test_a_lost_acknowledged_message_is_caught():
    """alice's x was acknowledged as id 6 and is not in the history: lost."""
    alice = seen("alice", (1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e"))
    alice.say("#lobby", "x", cid="c-1")
    alice.event({"type": "ok", "room": "#lobby", "cid": "c-1", "id": 6, "ref": 1})
    assert problems([alice], HISTORY) == [
        "alice: acknowledged 'x' (cid 'c-1', id 6) in #lobby, and the history lost it"]


def test_an_acknowledged_message_stored_twice_or_under_another_id_is_caught():
    history = stored((1, "a"), (2, "x"), (3, "x"))
    alice = seen("alice", (1, "a"), (2, "x"), (3, "x"))
    alice.say("#lobby", "x", cid="c-1")
    alice.acked("#lobby", "c-1", 2)
    assert "alice: acknowledged 'x' (cid 'c-1') in #lobby, and the history holds it 2 times: ids [2, 3]" in \
        problems([alice], history)
    bob = seen("bob", (1, "a"), (2, "b"))
    bob.say("#lobby", "b", cid="c-2")
    bob.acked("#lobby", "c-2", 7)
    assert problems([bob], stored((1, "a"), (2, "b"))) == [
        "bob: 'b' (cid 'c-2') was acknowledged with id 7, the history holds it as id 2"]


def test_a_retry_must_get_the_same_id():
    """A cid resent after a reconnect is acknowledged again: with the same id, or it was stored twice."""
    alice = seen("alice", (1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e"))
    alice.say("#lobby", "e", cid="c-5")
    alice.acked("#lobby", "c-5", 5)
    alice.acked("#lobby", "c-5", 5)
    check([alice], HISTORY)
    alice.acked("#lobby", "c-5", 6)
    assert problems([alice], HISTORY) == ["alice: cid 'c-5' was acknowledged with id 5, then 6"]


def test_an_unacknowledged_message_may_be_lost():
    """Said, never acknowledged (its node died first): the oracle does not require it."""
    alice = seen("alice", (1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e"))
    alice.say("#lobby", "lost in flight", cid="c-9")
    check([alice], HISTORY)
    assert alice.unacked == {"c-9": ("#lobby", "lost in flight")}


def test_a_terminal_log_is_checked_by_text_without_its_own_messages():
    """A terminal shows no ids and not its own lines: found by text, held against the others' messages."""
    tom = ClientLog("tom", echoes=False)
    tom.say("#lobby", "c")
    for shown in ["[#lobby] -!- Scrollback (1 message):", "[#lobby] 20:08 <x> a", "[#lobby] -!- End of scrollback",
                  "[#lobby] <x> b", "[#lobby] -!- bob has joined", "[#lobby] * x d", "[#lobby] <x> e"]:
        tom.line(shown)
    assert tom.texts("#lobby") == ["a", "b", "d", "e"]
    check([tom], HISTORY)
    tom.line("[#lobby] <x> b")
    assert problems([tom], HISTORY) == ["tom in #lobby: saw id 2 ('b') twice"]


def test_a_terminal_told_of_older_messages_may_start_after_a_gap():
    tom = ClientLog("tom", echoes=False)
    for shown in ["[#lobby] -!- Scrollback (2 messages):",
                  "[#lobby] -!- (older messages not shown; /history N shows more)",
                  "[#lobby] 20:08 <x> d", "[#lobby] 20:08 <x> e", "[#lobby] -!- End of scrollback"]:
        tom.line(shown)
    check([tom], HISTORY)


def test_json_events_feed_the_log():
    """Messages, actions and a join's scrollback count; a history page asked for (with its ref) does not."""
    log = ClientLog("wes")
    log.event({"type": "history", "room": "#lobby", "truncated": False,
               "messages": [{"type": "message", "room": "#lobby", "from": "x", "text": "a", "id": 1}]})
    log.event({"type": "message", "room": "#lobby", "from": "x", "text": "b", "id": 2})
    log.event({"type": "action", "room": "#lobby", "from": "x", "text": "c", "id": 3})
    log.event({"type": "join", "room": "#lobby", "nick": "y"})
    log.event({"type": "history", "room": "#lobby", "truncated": False, "ref": "r1",
               "messages": [{"type": "message", "room": "#lobby", "from": "x", "text": "a", "id": 1}]})
    log.say("#lobby", "d", cid="w-1")
    log.event({"type": "message", "room": "#lobby", "from": "wes", "text": "d", "id": 4, "cid": "w-1"})
    log.event({"type": "ok", "room": "#lobby", "id": 4, "cid": "w-1", "ref": 7})
    log.event({"type": "message", "room": "#lobby", "from": "x", "text": "e", "id": 5})
    assert [(s.id, s.text) for s in log.rooms["#lobby"]] == [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e")]
    assert log.last_id("#lobby") == 5 and log.unacked == {}
    check([log], HISTORY)


def test_an_ok_for_a_cid_never_sent_is_an_error():
    with pytest.raises(AssertionError, match="an ok for cid 'nope', which it never sent"):
        ClientLog("wes").acked("#lobby", "nope", 1)


def test_rooms_are_checked_apart():
    history = {**stored((1, "a"), (2, "b")), **stored((1, "p"), (2, "q"), room="#den")}
    log = seen("bob", (1, "a"), (2, "b"))
    log.saw("#den", 2, "q")
    check([log], history)
    log.saw("#elsewhere", 1, "z")
    assert problems([log], history) == ["bob saw messages in #elsewhere, whose history was not read"]


def test_a_history_out_of_order_is_reported():
    assert problems([], stored((2, "b"), (1, "a"))) == [
        "the history of #lobby is not in strictly increasing id order: [2, 1]"]


def test_fetch_history_pages_back_through_the_command():
    """Pages of 2, newest first, each told truncated while older ones remain: joined oldest first."""
    rows = [{"type": "message", "room": "#lobby", "text": t, "id": i} for i, t in
            [(1, "a"), (2, "b"), (4, "d"), (5, "e"), (9, "i")]]
    asked = []

    def ask(**command):
        asked.append(command)
        before = command.get("before", 10**9)
        older = [m for m in rows if m["id"] < before]
        return {"type": "history", "room": "#lobby", "messages": older[-command["limit"]:],
                "truncated": len(older) > command["limit"], "ref": "r"}

    assert [m["id"] for m in fetch_history(ask, "#lobby", page=2)] == [1, 2, 4, 5, 9]
    assert [c.get("before") for c in asked] == [None, 5, 2]
    assert all(c["type"] == "history" and c["room"] == "#lobby" for c in asked)
