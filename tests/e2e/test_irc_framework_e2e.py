"""
A Node IRC user on irc-framework (the library behind Kiwi IRC), logged in
with SASL PLAIN to an account registered on telnet: it joins #lobby, gets
the scrollback, and chats with a telnet user and a WebSocket user, message
ids matching chatd's.  tests/e2e/node/ircf_client.mjs is the client; the
Makefile installs its npm packages (tests/e2e/node/package-lock.json).
"""

import json
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path


from chatclients import LineClient, WSUser, of
from lacking import lacking

NODE_DIR = Path(__file__).parent / "node"
PASSWORD = "correct-horse"


def need_irc_framework():
    """In CI a missing node or irc-framework fails the test; elsewhere it skips with the reason."""
    missing = []
    if shutil.which("node") is None:
        missing.append("node (apt-get install nodejs)")
    if not (NODE_DIR / "node_modules" / "irc-framework").is_dir():
        missing.append("irc-framework (npm ci in tests/e2e/node; make test does it)")
    if missing:
        message = "needs " + " and ".join(missing)
        lacking(message)


class NodeUser:
    """ircf_client.mjs in a subprocess: JSON commands in, JSON events out."""

    def __init__(self, port: int, nick: str, account=None, password=None) -> None:
        argv = ["node", str(NODE_DIR / "ircf_client.mjs"), str(port), nick]
        if account:
            argv += [account, password]
        self.proc = subprocess.Popen(argv, cwd=NODE_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.events: "queue.Queue[dict]" = queue.Queue()
        self.seen = []
        self.backlog = []
        self.wire = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self._event), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.wire.append), daemon=True).start()

    @staticmethod
    def _pump(stream, sink):
        for line in stream:
            sink(line.rstrip("\n"))

    def _event(self, line: str) -> None:
        self.events.put(json.loads(line))

    def send(self, **command) -> None:
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def expect(self, event: str, timeout: float = 10.0, **fields) -> dict:
        """The first event of that kind with those fields not taken yet, in the order they came."""
        def matches(got):
            return got["event"] == event and all(got.get(k) == v for k, v in fields.items())

        for got in self.backlog:
            if matches(got):
                self.backlog.remove(got)
                return got
        deadline = time.monotonic() + timeout
        while True:
            try:
                got = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {event} {fields}; events {self.seen[-10:]}; wire:\n"
                                     + "\n".join(self.wire[-30:]))
            self.seen.append(got)
            if matches(got):
                return got
            if got["event"] == "close":
                raise AssertionError("the connection closed; wire:\n" + "\n".join(self.wire[-30:]))
            self.backlog.append(got)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)


def test_irc_framework_with_sasl_chats_with_telnet_and_websocket(daemon):
    """Kiwi IRC's library logs in by SASL, sees the scrollback, and chats both ways with one id per message."""
    need_irc_framework()
    acc = LineClient(daemon.lines_port).login("kiwi")
    assert acc.register(PASSWORD).startswith("-!- You registered the account kiwi")
    acc.send("/quit")
    acc.wait_closed()
    tom = LineClient(daemon.lines_port).login("tom", "#lobby")
    ws = WSUser(daemon.ws_url, "wendy", "#lobby")
    tom.send("before kiwi came")
    ws.wait(of("message", text="before kiwi came"))

    kiwi = NodeUser(daemon.irc_port, "kiwi", "kiwi", PASSWORD)
    try:
        assert kiwi.expect("loggedin")["account"] == "kiwi"
        assert kiwi.expect("registered")["nick"] == "kiwi"
        kiwi.send(join="#lobby")
        kiwi.expect("join", nick="kiwi", channel="#lobby")
        old = kiwi.expect("message", message="before kiwi came")
        assert (old["nick"], old["ident"], old["hostname"], old["target"]) == ("tom", "~tom", "user/tom", "#lobby")
        assert old["time"], "the scrollback carries server-time"
        tom.shows("[#lobby] -!- kiwi has joined")
        tom.send("/whois kiwi")
        tom.shows("-!- kiwi is logged in as kiwi")

        kiwi.send(say=["#lobby", "hello from kiwi"])
        tom.shows("[#lobby] <kiwi> hello from kiwi")
        ws.wait(of("message", text="hello from kiwi"))

        ws.command(type="say", room="#lobby", text="hello kiwi, from the web")
        sent = next(e for e in ws.seen if e["type"] == "message" and e["text"] == "hello kiwi, from the web")
        got = kiwi.expect("message", message="hello kiwi, from the web")
        assert got["nick"] == "wendy" and got["msgid"].split(".")[0] == str(sent["id"])

        tom.send("/me waves at kiwi")
        assert kiwi.expect("message", type="action", message="waves at kiwi")["nick"] == "tom"
        kiwi.send(action=["#lobby", "waves back"])
        tom.shows("[#lobby] * kiwi waves back")
        kiwi.send(quit="bye")
        kiwi.expect("close")
        tom.shows("[#lobby] -!- kiwi has quit (bye)")
    finally:
        kiwi.close()
        ws.close()
        tom.close()
