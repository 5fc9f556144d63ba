"""
WAMP users for end-to-end tests: Autobahn|Python (wamp_py_client.py) and
autobahn-js (node/wamp_client.mjs), each in its own process, driven by
JSON lines (see wamp_py_client.py for the protocol).  Neither is chatd's
code; both speak to the real daemon's /wamp.
"""

import itertools
import json
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, List, Optional

import pytest

from lacking import lacking

HERE = Path(__file__).parent
NODE_DIR = HERE / "node"
LOBBY = "chatd.room.lobby"

#: How each library's client is started.
COMMANDS = {
    "py": [sys.executable, str(HERE / "wamp_py_client.py")],
    "js": ["node", str(NODE_DIR / "wamp_client.mjs")],
}
LIBRARY = {"py": "autobahn-python", "js": "autobahn-js"}


def need_autobahn_js() -> None:
    """In CI a missing node or autobahn-js fails the test; elsewhere it skips with the reason."""
    missing = []
    if shutil.which("node") is None:
        missing.append("node (apt-get install nodejs)")
    packages = [p for p in ("autobahn", "ws") if not (NODE_DIR / "node_modules" / p).is_dir()]
    if packages:
        missing.append(f"the npm packages {' and '.join(packages)} (npm ci in tests/e2e/node; make test does it)")
    if missing:
        lacking("needs " + " and ".join(missing))


class WampUser:
    """
    One WAMP client process.  Every event it reports is kept in C{seen};
    L{expect} takes them in the order they came, each at most once.
    """

    def __init__(self, lib: str, url: str, serializer: str, authid: Optional[str] = None,
                 ticket: Optional[str] = None, timeout: float = 10.0) -> None:
        if lib == "js":
            need_autobahn_js()
        self.lib = lib
        self.timeout = timeout
        argv = COMMANDS[lib] + [url, serializer]
        if authid is not None:
            argv += [authid, ticket]
        self.proc = subprocess.Popen(argv, cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, encoding="utf-8")
        self.events: "queue.Queue[dict]" = queue.Queue()
        self.seen: List[dict] = []
        self.backlog: List[dict] = []
        self.log: List[str] = []
        self.ids = itertools.count(1)
        self.pumps = [threading.Thread(target=self._pump, args=(self.proc.stdout, self._event), daemon=True),
                      threading.Thread(target=self._pump, args=(self.proc.stderr, self.log.append), daemon=True)]
        for pump in self.pumps:
            pump.start()

    @staticmethod
    def _pump(stream, sink) -> None:
        for line in stream:
            sink(line.rstrip("\n"))

    def _event(self, line: str) -> None:
        try:
            self.events.put(json.loads(line))
        except ValueError:
            self.log.append(f"(not JSON on stdout) {line}")

    def _story(self) -> str:
        return f"{self.lib} events {self.seen[-12:]!r}; its log:\n" + "\n".join(self.log[-30:])

    # -- reading --------------------------------------------------------------------

    def expect(self, match: Callable[[dict], bool], timeout: Optional[float] = None) -> dict:
        """The first event not taken yet that matches, waiting for it if need be."""
        for got in self.backlog:
            if match(got):
                self.backlog.remove(got)
                return got
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                got = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError("no matching event; " + self._story()) from None
            self.seen.append(got)
            if match(got):
                return got
            if got["event"] == "closed":
                raise AssertionError("the session ended; " + self._story())
            self.backlog.append(got)

    def opened(self) -> dict:
        """The session's WELCOME (its id, authid, authrole, authmethod and authextra)."""
        return self.expect(lambda e: e["event"] == "open")

    def closed(self) -> dict:
        """How the session ended (ABORT or GOODBYE reason and message)."""
        return self.expect(lambda e: e["event"] == "closed")

    def said(self, text: str, topic: str = LOBBY, timeout: Optional[float] = None) -> dict:
        """The next room event on C{topic} whose text is C{text}: the JSON protocol's event object."""
        return self.expect(lambda e: e["event"] == "event" and e["topic"] == topic
                           and e["kwargs"].get("text") == text, timeout)["kwargs"]

    def next_room_event(self, topic: str = LOBBY, kind: str = "message") -> dict:
        """The next event of that type on C{topic}, whatever it says."""
        return self.expect(lambda e: e["event"] == "event" and e["topic"] == topic
                           and e["kwargs"].get("type") == kind)["kwargs"]

    def answer(self, op_id: int) -> dict:
        """What came back for command C{op_id}: result, subscribed, published, registered, or error."""
        return self.expect(lambda e: e.get("id") == op_id)

    # -- doing ----------------------------------------------------------------------

    def send(self, op: str, **fields) -> int:
        op_id = next(self.ids)
        self.proc.stdin.write(json.dumps(dict(fields, op=op, id=op_id)) + "\n")
        self.proc.stdin.flush()
        return op_id

    def ask(self, op: str, **fields) -> dict:
        return self.answer(self.send(op, **fields))

    def call(self, procedure: str, *args, **kwargs) -> dict:
        """CALL and return the answer: C{{"event": "result", "args", "kwargs"}} or C{{"event": "error", ...}}."""
        return self.ask("call", procedure=procedure, args=list(args), kwargs=kwargs)

    def call_within(self, timeout_ms: int, procedure: str, *args, **kwargs) -> dict:
        """CALL with the option C{timeout} (milliseconds): the router cancels the call after that."""
        return self.ask("call", procedure=procedure, args=list(args), kwargs=kwargs, timeout=timeout_ms)

    def result(self, procedure: str, *args, **kwargs) -> dict:
        """CALL that must succeed; return the RESULT's kwargs."""
        got = self.call(procedure, *args, **kwargs)
        assert got["event"] == "result", f"{procedure} failed: {got}"
        return got["kwargs"]

    def subscribe(self, topic: str = LOBBY) -> dict:
        return self.ask("subscribe", topic=topic)

    def publish(self, topic: str, *args, acknowledge: bool = True, **kwargs) -> dict:
        return self.ask("publish", topic=topic, args=list(args), kwargs=kwargs, acknowledge=acknowledge)

    def register(self, procedure: str, error: Optional[str] = None, hold: bool = False) -> dict:
        """REGISTER a procedure that upper-cases its arguments, or fails with C{error}, or (C{hold}) never answers."""
        fields = {"procedure": procedure}
        if error:
            fields["error"] = error
        if hold:
            fields["hold"] = True
        return self.ask("register", **fields)

    def enter(self, nick: str, room: str = "#lobby", since: Optional[int] = None) -> dict:
        """Subscribe to the room's topic, take a nick, join: return the join's result."""
        assert self.subscribe()["event"] == "subscribed"
        assert self.result("chatd.nick", nick) == {"nick": nick}
        args = [room] if since is None else [room, since]
        return self.result("chatd.join", *args)

    # -- ending ---------------------------------------------------------------------

    def leave(self) -> dict:
        """GOODBYE; return how the session ended."""
        self.send("leave")
        return self.closed()

    def kill(self) -> None:
        """The process dies at once: no GOODBYE, no WebSocket close."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)

    def close(self) -> None:
        self.kill()
        for pump in self.pumps:
            pump.join(5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass


@pytest.fixture(params=["json", "msgpack"])
def serializer(request):
    """Each test that uses WAMP users runs over wamp.2.json and over wamp.2.msgpack."""
    return request.param


@pytest.fixture
def wamp(daemon, opened, serializer):
    """Start WAMP users on the daemon's /wamp: C{wamp("js")}, C{wamp("py", authid=..., ticket=...)}."""
    url = f"ws://127.0.0.1:{daemon.web_port}/wamp"

    def make(lib, **auth):
        user = WampUser(lib, url, serializer, **auth)
        opened.append(user)
        return user

    return make
