"""
The oracle of the cluster tests: nothing acknowledged is lost, nobody sees
a message twice or out of order, whichever nodes they were on.

Each user keeps a L{ClientLog}: the room messages it was shown, in order
(ids where its wire shows them: JSON; a terminal shows only text, so test
texts are unique and the oracle finds the id by text), where it was told
C{truncated: true}, what it said and which C{cid}s were acknowledged with
an id.  L{check} holds every log against each room's history as the server
reports it through the JSON C{history} command (L{fetch_history}), never
Redis itself:

  - per room, a log is a contiguous, duplicate-free, in-order slice of the
    history (a gap only right after a C{truncated: true});
  - a log that is not L{ClientLog.ended} reaches the end of the history;
  - every acknowledged C{cid} is in the history exactly once, under the id
    it was acknowledged with.

A terminal does not show its user's own messages: its log is held against
the history without the texts that log said (C{echoes=False}).
"""

import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple

#: One stored message as the history reports it.
Stored = dict


@dataclass
class Seen:
    """A room message as one client was shown it."""

    id: Optional[int]
    text: str
    #: The client was told C{truncated: true} just before this one.
    after_gap: bool = False


@dataclass
class Ack:
    room: str
    cid: str
    id: int
    text: str


#: A terminal's room message: live C{[#r] <nick> text} or C{[#r] * nick text},
#: scrollback with the time first (C{[#r] 20:08 <nick> text}).
_LINE = re.compile(r"^\[(?P<room>[^\]]+)\] (?:\d\d:\d\d )?(?:<(?P<nick>[^>]+)> |\* (?P<actor>\S+) )(?P<text>.*)$")
_LINE_GAP = re.compile(r"^\[(?P<room>[^\]]+)\] -!- \(older messages not shown")


class ClientLog:
    """
    What one user saw and said, across all its connections.

    @param echoes: the user is shown its own messages (JSON); a terminal
        is not.
    """

    def __init__(self, name: str, echoes: bool = True) -> None:
        self.name = name
        self.echoes = echoes
        self.rooms: Dict[str, List[Seen]] = {}
        self.said: Dict[str, List[str]] = {}
        self.acks: List[Ack] = []
        self.unacked: Dict[str, Tuple[str, str]] = {}  # cid -> (room, text)
        self.is_ended = False
        self._gap: Dict[str, bool] = {}

    def __repr__(self) -> str:
        return f"<log {self.name}>"

    # -- what the user was shown ----------------------------------------------------------

    def saw(self, room: str, id: Optional[int], text: str) -> None:
        self.rooms.setdefault(room, []).append(Seen(id, text, self._gap.pop(room, False)))

    def truncated(self, room: str) -> None:
        """The server said C{truncated: true}: what comes next may follow a gap."""
        self._gap[room] = True
        self.rooms.setdefault(room, [])

    def last_id(self, room: str) -> Optional[int]:
        """The highest id seen in C{room}: what a resume passes as C{since}."""
        ids = [s.id for s in self.rooms.get(room, []) if s.id is not None]
        return max(ids) if ids else None

    def texts(self, room: str) -> List[str]:
        return [s.text for s in self.rooms.get(room, [])]

    def event(self, event: dict) -> None:
        """
        Take one JSON event: room messages and a join's scrollback (a
        C{history} without C{ref}); a C{history} that answers a command
        (with its C{ref}) is a page the user asked for, not part of the stream.
        """
        kind = event.get("type")
        if kind in ("message", "action"):
            self.saw(event["room"], event["id"], event["text"])
        elif kind == "history" and "ref" not in event:
            if event.get("truncated"):
                self.truncated(event["room"])
            for m in event["messages"]:
                self.saw(event["room"], m["id"], m["text"])
        elif kind == "ok" and event.get("cid") is not None and event.get("id") is not None:
            self.acked(event["room"], event["cid"], event["id"])

    def line(self, text: str) -> None:
        """Take one line a terminal showed."""
        gap = _LINE_GAP.match(text)
        if gap:
            self.truncated(gap["room"])
            return
        m = _LINE.match(text)
        if m:
            self.saw(m["room"], None, m["text"])

    # -- what the user said -----------------------------------------------------------------

    def say(self, room: str, text: str, cid: Optional[str] = None) -> None:
        """The user sent C{text} (with C{cid}, if its wire has them); not yet acknowledged."""
        self.said.setdefault(room, []).append(text)
        if cid is not None:
            self.unacked[cid] = (room, text)

    def acked(self, room: str, cid: str, id: int) -> None:
        """The server answered C{ok} with C{id} for C{cid}."""
        if cid in self.unacked:
            room, text = self.unacked.pop(cid)
        else:
            known = [a for a in self.acks if a.cid == cid]
            if not known:
                raise AssertionError(f"{self.name}: an ok for cid {cid!r}, which it never sent")
            text = known[0].text
        self.acks.append(Ack(room, cid, id, text))

    def ended(self) -> "ClientLog":
        """This log stops early (its connection died and it did not resume)."""
        self.is_ended = True
        return self


# -- the check -------------------------------------------------------------------------------


def _position(history: List[Stored]) -> Tuple[Dict[int, int], Dict[str, List[int]]]:
    by_id: Dict[int, int] = {}
    by_text: Dict[str, List[int]] = {}
    for i, m in enumerate(history):
        by_id[m["id"]] = i
        by_text.setdefault(m["text"], []).append(i)
    return by_id, by_text


def _check_room(log: ClientLog, room: str, history: List[Stored]) -> List[str]:
    problems: List[str] = []
    where = f"{log.name} in {room}"
    mine = set() if log.echoes else set(log.said.get(room, []))
    visible = [m for m in history if m["text"] not in mine]
    by_id, by_text = _position(visible)
    positions: List[Tuple[int, Seen]] = []
    for seen in log.rooms.get(room, []):
        if seen.id is not None:
            if seen.id not in by_id:
                problems.append(f"{where}: saw id {seen.id} ({seen.text!r}), which the history does not hold")
                continue
            i = by_id[seen.id]
            if visible[i]["text"] != seen.text:
                problems.append(f"{where}: saw id {seen.id} as {seen.text!r}, the history has {visible[i]['text']!r}")
        else:
            found = by_text.get(seen.text, [])
            if len(found) != 1:
                problems.append(f"{where}: saw {seen.text!r}, which the history holds {len(found)} times")
                continue
            i = found[0]
        positions.append((i, seen))
    ids = lambda a, b: [visible[k]["id"] for k in range(a, b)]  # noqa: E731
    seen_at = set()
    previous: Optional[int] = None
    for i, seen in positions:
        label = f"id {visible[i]['id']} ({visible[i]['text']!r})"
        if i in seen_at:
            problems.append(f"{where}: saw {label} twice")
            continue
        seen_at.add(i)
        if previous is not None and i < previous:
            problems.append(f"{where}: saw {label} after id {visible[previous]['id']}: out of order")
        elif previous is not None and i > previous + 1 and not seen.after_gap:
            problems.append(f"{where}: missed ids {ids(previous + 1, i)} between id {visible[previous]['id']} "
                            f"and {label}, and was not told truncated")
        previous = i if previous is None else max(previous, i)
    if not log.is_ended and visible:
        last = len(visible) - 1
        if previous is None:
            problems.append(f"{where}: saw nothing, the history holds ids {ids(0, len(visible))}")
        elif previous < last:
            problems.append(f"{where}: stopped at id {visible[previous]['id']}, missing {ids(previous + 1, last + 1)}")
    return problems


def _check_acks(log: ClientLog, histories: Dict[str, List[Stored]]) -> List[str]:
    problems: List[str] = []
    first: Dict[str, int] = {}
    for ack in log.acks:
        if first.setdefault(ack.cid, ack.id) != ack.id:
            problems.append(f"{log.name}: cid {ack.cid!r} was acknowledged with id {first[ack.cid]}, then {ack.id}")
    for ack in log.acks:
        if first.get(ack.cid) != ack.id:
            continue
        first.pop(ack.cid)
        history = histories.get(ack.room)
        if history is None:
            problems.append(f"{log.name}: acknowledged {ack.text!r} (id {ack.id}) in {ack.room}, whose history "
                            f"was not read")
            continue
        copies = [m for m in history if m.get("cid") == ack.cid or m["text"] == ack.text]
        if not copies:
            problems.append(f"{log.name}: acknowledged {ack.text!r} (cid {ack.cid!r}, id {ack.id}) in {ack.room}, "
                            f"and the history lost it")
        elif len(copies) > 1:
            problems.append(f"{log.name}: acknowledged {ack.text!r} (cid {ack.cid!r}) in {ack.room}, and the history "
                            f"holds it {len(copies)} times: ids {[m['id'] for m in copies]}")
        elif copies[0]["id"] != ack.id:
            problems.append(f"{log.name}: {ack.text!r} (cid {ack.cid!r}) was acknowledged with id {ack.id}, "
                            f"the history holds it as id {copies[0]['id']}")
    return problems


def problems(logs: Iterable[ClientLog], histories: Dict[str, List[Stored]]) -> List[str]:
    """Everything wrong, one sentence each (empty: the oracle is satisfied)."""
    found: List[str] = []
    for room, history in histories.items():
        ids = [m["id"] for m in history]
        if ids != sorted(set(ids)):
            found.append(f"the history of {room} is not in strictly increasing id order: {ids}")
    for log in logs:
        for room in log.rooms:
            if room not in histories:
                found.append(f"{log.name} saw messages in {room}, whose history was not read")
                continue
            found += _check_room(log, room, histories[room])
        found += _check_acks(log, histories)
    return found


def check(logs: Iterable[ClientLog], histories: Dict[str, List[Stored]]) -> None:
    """Fail with every problem found (see L{problems})."""
    found = problems(list(logs), histories)
    assert not found, f"{len(found)} problem(s):\n" + "\n".join(found)


def fetch_history(ask, room: str, page: int = 200) -> List[Stored]:
    """
    A room's whole history through the JSON C{history} command, oldest
    first, paging back with C{before}.

    @param ask: sends a reading command and returns its data event, as
        C{WSUser.ask} or C{PollClient.ask} do.
    """
    messages: List[Stored] = []
    before = None
    while True:
        command = {"type": "history", "room": room, "limit": page}
        if before is not None:
            command["before"] = before
        answer = ask(**command)
        got = answer["messages"]
        messages[:0] = got
        if not got or not answer.get("truncated"):
            return messages
        before = got[0]["id"]

