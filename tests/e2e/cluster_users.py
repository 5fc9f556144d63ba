"""
Users of a test cluster that keep one L{oracle.ClientLog} across
connections: when their node dies they move to another, claim their nick
again (a dead node's nicks are freed within node_timeout plus a few
seconds), rejoin each room with C{since} and resend every C{cid} that was
not acknowledged, as docs/protocol.md tells a client to.

Built on the shared clients of chatclients.py (WSUser, PollClient,
LineClient); a telnet user cannot resume, so one that reconnects is a new
user with a new log (L{LineChatter.again}).
"""

import json
import time
from typing import Callable, Iterable, List, Optional

import requests
from websockets.exceptions import ConnectionClosed

from chatclients import LineClient, PollClient, WSUser
from cluster import NODE_TIMEOUT, Node
from oracle import ClientLog

#: How long a user retries its nick after its node died.
NICK_WAIT = NODE_TIMEOUT + 7


class Gone(Exception):
    """The user's connection (or long-poll session) is gone."""


def claim(attempt: Callable[[], dict], nick: str, timeout: float) -> dict:
    """Ask for C{nick} until it is granted, while it is C{nick-in-use}."""
    deadline = time.monotonic() + timeout
    while True:
        answer = attempt()
        if answer["type"] == "ok":
            return answer
        if answer.get("code") != "nick-in-use" or time.monotonic() >= deadline:
            raise AssertionError(f"could not take the nick {nick} within {timeout} s: {answer}")
        time.sleep(0.25)


class Chatter:
    """One user: a nick, its rooms, its log, the node it is on."""

    echoes = True

    def __init__(self, name: str, nick: Optional[str] = None, rooms: Iterable[str] = ("#lobby",)) -> None:
        self.name = name
        self.nick = nick or name
        self.rooms = list(rooms)
        self.log = ClientLog(name, echoes=self.echoes)
        self.node: Optional[Node] = None
        self.broken = False
        self.errors: List[dict] = []
        self.streamed = 0
        self._serial = 0

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} on {self.node and self.node.name}>"

    def next_cid(self) -> str:
        self._serial += 1
        return f"{self.name}-{self._serial}"

    def pump(self, seconds: float = 0.2) -> None:
        """Read what arrives for C{seconds}, into the log."""
        raise NotImplementedError

    def sees(self, text: str, room: Optional[str] = None, timeout: float = 10.0) -> None:
        """Read until C{text} is in the log of C{room} (default: the first room)."""
        room = room or self.rooms[0]
        deadline = time.monotonic() + timeout
        while text not in self.log.texts(room):
            if self.broken or time.monotonic() >= deadline:
                raise AssertionError(f"{self.name} on {self.node.name} did not see {text!r} in {room} "
                                     f"(broken: {self.broken}); it saw {self.log.texts(room)[-8:]}")
            self.pump(0.1)

    def stream(self, count: int, room: Optional[str] = None, pause: float = 0.01) -> None:
        """Say C{count} numbered messages, reading between them; stop when the connection is gone."""
        room = room or self.rooms[0]
        for _ in range(count):
            if self.broken:
                return
            self.streamed += 1
            self.say(room, f"{self.name} {self.streamed}")
            self.pump(pause)

    def say(self, room: str, text: str) -> Optional[str]:
        raise NotImplementedError

    def must_be_stored(self, room: str) -> set:
        """Texts the history must hold: what was acknowledged."""
        return {ack.text for ack in self.log.acks if ack.room == room}

    def settle(self, timeout: float = 10.0) -> None:
        """Read (resending now and then) until every cid is acknowledged."""
        start = time.monotonic()
        resent = start
        while self.log.unacked:
            now = time.monotonic()
            if self.broken or now >= start + timeout:
                raise AssertionError(f"{self.name} on {self.node.name}: no ok for {sorted(self.log.unacked)} "
                                     f"within {timeout} s (broken: {self.broken}; errors: {self.errors[-3:]})")
            if now - resent > 1.0:
                self.retry()
                resent = now
            self.pump(0.05)

    def retry(self) -> None:
        """Resend every cid not acknowledged yet, with its text."""
        raise NotImplementedError


class WSChatter(Chatter):
    """A JSON user on /ws."""

    ws: Optional[WSUser] = None

    def connect(self, node: Node, timeout: float = NICK_WAIT) -> "WSChatter":
        """Connect to C{node} (again): nick, rooms resumed with C{since}, unacknowledged cids resent."""
        self.close()
        self.node, self.broken, self._fed = node, False, 0
        # Unbounded queue: a user that reads between its own sends must not
        # stop reading the socket (and leave a close unanswered) meanwhile.
        self.ws = WSUser(node.ws_url, max_queue=None, close_timeout=2, **getattr(node, "ws_options", {}))
        claim(lambda: self._command(type="nick", nick=self.nick), self.nick, timeout)
        for room in self.rooms:
            since = self.log.last_id(room)
            join = {"type": "join", "room": room} if since is None else {"type": "join", "room": room, "since": since}
            answer = self._command(**join)
            assert answer["type"] == "ok", (self.name, answer)
        self.retry()
        return self

    move_to = connect

    def _feed(self) -> None:
        for event in self.ws.seen[self._fed:]:
            self.log.event(event)
            if event["type"] == "error":
                self.errors.append(event)
        self._fed = len(self.ws.seen)

    def _command(self, **command) -> dict:
        try:
            return self.ws.command(**command)
        except (ConnectionClosed, OSError) as e:
            self.broken = True
            raise Gone(f"{self.name}: {e}") from e
        finally:
            self._feed()

    def ask(self, **command) -> dict:
        """A reading command's data event (C{who}, C{history}...)."""
        try:
            return self.ws.ask(**command)
        finally:
            self._feed()

    def say(self, room: str, text: str) -> str:
        cid = self.next_cid()
        self.log.say(room, text, cid)
        self._send(room, text, cid)
        return cid

    def _send(self, room: str, text: str, cid: str) -> None:
        try:
            self.ws.send(type="say", room=room, text=text, cid=cid, ref=cid)
        except (ConnectionClosed, OSError):
            self.broken = True

    def retry(self) -> None:
        for cid, (room, text) in list(self.log.unacked.items()):
            self._send(room, text, cid)

    def pump(self, seconds: float = 0.2) -> None:
        if self.broken:
            return
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                self.ws.recv(timeout=max(0.001, deadline - time.monotonic()))
                self._feed()
        except TimeoutError:
            pass
        except (ConnectionClosed, OSError):
            self.broken = True
        self._feed()

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
            self.ws = None


class PollChatter(Chatter):
    """A long-poll user: one session, which any node may answer."""

    client: Optional[PollClient] = None
    #: The body of the 404 that said the session is gone.
    lost: Optional[dict] = None

    def connect(self, node: Node, timeout: float = NICK_WAIT) -> "PollChatter":
        """
        A new session on C{node}: nick, rooms resumed with C{since},
        unacknowledged cids resent.  The old session, if any node still
        answers for it, is ended first, as it would expire anyway.
        """
        if self.client is not None:
            self.via(node).close()
        self.node, self.broken, self.lost = node, False, None
        self.client = PollClient(node.web_url)
        claim(lambda: self.command(type="nick", nick=self.nick), self.nick, timeout)
        for room in self.rooms:
            since = self.log.last_id(room)
            join = {"type": "join", "room": room} if since is None else {"type": "join", "room": room, "since": since}
            answer = self.command(**join)
            assert answer["type"] == "ok", (self.name, answer)
        self.retry()
        return self

    move_to = connect

    def via(self, node: Node) -> "PollChatter":
        """Send the next polls and commands of the same session to C{node}."""
        self.node = node
        self.client.url = f"{node.web_url}/api/sessions/{self.client.token}"
        return self

    def _answer(self, response: requests.Response) -> dict:
        """
        The JSON body of a 200.  A 404 means the session is gone; any
        other status is kept as an error (for settle() to report), as a
        server's trouble is not this user's end.
        """
        if response.status_code == 404:
            self.broken, self.lost = True, response.json()
            raise Gone(f"{self.name}: {self.lost}")
        if response.status_code != 200:
            return {"type": "error", "code": f"HTTP {response.status_code}", "message": response.text[:200]}
        return response.json()

    def command(self, **command) -> dict:
        try:
            r = self.client.http.post(f"{self.client.url}/commands", data=json.dumps(command), timeout=10)
        except requests.RequestException as e:
            self.broken = True
            raise Gone(f"{self.name}: {e}") from e
        answer = self._answer(r)
        self.log.event(answer)
        if answer["type"] == "error":
            self.errors.append(answer)
        return answer

    def say(self, room: str, text: str) -> str:
        cid = self.next_cid()
        self.log.say(room, text, cid)
        try:
            self.command(type="say", room=room, text=text, cid=cid)
        except Gone:
            pass
        return cid

    def retry(self) -> None:
        for cid, (room, text) in list(self.log.unacked.items()):
            self.command(type="say", room=room, text=text, cid=cid)

    def poll(self, timeout: float = 0.2, after: Optional[int] = None) -> requests.Response:
        """One raw poll (no acknowledgement kept): for comparing what nodes answer."""
        return self.client.poll(timeout=timeout, after=after)

    def pump(self, seconds: float = 0.2) -> None:
        """Poll, each poll held up to what is left of C{seconds}, until the time is up or a poll comes back empty."""
        deadline = time.monotonic() + seconds
        while not self.broken:
            try:
                body = self._answer(self.client.poll(timeout=round(max(0.0, deadline - time.monotonic()), 3)))
            except Gone:
                return
            except requests.RequestException:
                self.broken = True
                return
            if body.get("type") == "error":  # the poll failed (not a 200): try again later
                self.errors.append(body)
                time.sleep(0.1)
                return
            self.client.last = body["last"]
            for event in body["events"]:
                self.client.seen.append(event)
                self.log.event(event)
            if not body["events"] or time.monotonic() >= deadline:
                return

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.http.delete(self.client.url, timeout=5)
            except requests.RequestException:
                pass


class LineChatter(Chatter):
    """A telnet user in one room; its own lines are not echoed to it."""

    echoes = False
    client: Optional[LineClient] = None

    def connect(self, node: Node, timeout: float = NICK_WAIT) -> "LineChatter":
        self.node, self.broken, self._fed = node, False, 0
        self.client = c = LineClient(node.lines_port)
        c.expect("Choose a nick")

        def attempt() -> dict:
            c.send(self.nick)
            line = c.expect(r"You are now |^! ")
            return {"type": "ok"} if "You are now " in line else {"type": "error", "code": line[2:].split(":")[0],
                                                                   "line": line}

        claim(attempt, self.nick, timeout)
        c.send(f"/join {self.rooms[0]}")
        c.expect("Your current room is")
        self._feed()
        return self

    def again(self, node: Node, timeout: float = NICK_WAIT) -> "LineChatter":
        """
        The same person on a new connection to C{node}: a new user with a
        new log (a terminal cannot resume); this one's log ends here.
        """
        self.log.ended()
        self.close()
        return LineChatter(f"{self.name}'", self.nick, self.rooms).connect(node, timeout)

    def _feed(self) -> None:
        for line in self.client.seen[self._fed:]:
            self.log.line(line)
            if line.startswith("! "):
                self.errors.append({"type": "error", "line": line})
        self._fed = len(self.client.seen)

    def say(self, room: str, text: str) -> None:
        assert room == self.rooms[0], "a terminal says things in its current room"
        self.log.say(room, text)
        try:
            self.client.send(text)
        except OSError:
            self.broken = True

    def must_be_stored(self, room: str) -> set:
        """A terminal gets no ok: all it said, unless its connection died."""
        return set() if self.broken else set(self.log.said.get(room, []))

    def settle(self, timeout: float = 10.0) -> None:
        self.pump(0.1)

    def send(self, text: str) -> None:
        """A command line (C{/msg bob hi}), not a room message."""
        self.client.send(text)

    def pump(self, seconds: float = 0.2) -> None:
        if self.broken:
            return
        try:  # expect() reads every line until its deadline; a pattern that never matches reads for C{seconds}
            self.client.expect(r"(?!)", timeout=seconds)
        except AssertionError:
            pass
        self._feed()
        if self.client.closed:
            self.broken = True

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
