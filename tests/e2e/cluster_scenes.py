"""
Scenes with several cluster users at once: run them side by side, wait
until they all see something, close a scenario so that every log must
reach the history's end, and read the histories the oracle holds them to.
"""

import threading
import time
from typing import Callable, Dict, Iterable, List, Optional

from chatclients import WSUser
from cluster import Node
from cluster_users import Chatter, WSChatter
from oracle import fetch_history


def together(*jobs: Callable[[], object], timeout: float = 60.0) -> List[object]:
    """Run each job in its own thread; re-raise the first failure."""
    results: Dict[int, object] = {}
    failures: List[BaseException] = []

    def run(i: int, job: Callable[[], object]) -> None:
        try:
            results[i] = job()
        except BaseException as e:  # noqa: B902 - handed to the test's thread
            failures.append(e)

    threads = [threading.Thread(target=run, args=(i, job), daemon=True) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), f"a job still ran after {timeout} s"
    if failures:
        raise failures[0]
    return [results[i] for i in range(len(jobs))]


def everyone_sees(chatters: Iterable[Chatter], text: str, room: Optional[str] = None, timeout: float = 15.0) -> None:
    """Every user (each reading in its own thread) sees C{text}."""
    together(*[lambda c=c: c.sees(text, room, timeout) for c in chatters])


def finish(chatters: Iterable[Chatter], node: Node, room: str = "#lobby", timeout: float = 15.0) -> "WSChatter":
    """
    Close a scenario: every live user's messages acknowledged and in the
    history, then a last message said through C{node} that every live user
    sees, so that each log must reach the history's end.  Returns the
    closer (its log counts too).
    """
    live = [c for c in chatters if not c.broken]
    together(*[lambda c=c: c.settle(timeout) for c in live])
    expected = set().union(*[c.must_be_stored(room) for c in chatters])
    reader = WSUser(node.ws_url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            missing = expected - {m["text"] for m in fetch_history(reader.ask, room)}
            if not missing:
                break
            assert time.monotonic() < deadline, f"the history of {room} on {node.name} lacks {sorted(missing)}"
            time.sleep(0.2)
    finally:
        reader.close()
    closer = WSChatter("closer", rooms=[room]).connect(node)
    closer.say(room, "the end")
    everyone_sees(live + [closer], "the end", room, timeout)
    return closer


def histories(node: Node, rooms: Iterable[str]) -> Dict[str, list]:
    """Each room's whole history as C{node} reports it through the JSON history command."""
    reader = WSUser(node.ws_url)
    try:
        return {room: fetch_history(reader.ask, room) for room in rooms}
    finally:
        reader.close()
