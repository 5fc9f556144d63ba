"""
Real clients for end-to-end tests, none of them the server's own
libraries: a raw-socket line client (what nc does), a WebSocket user
(the websockets library) and a long-poll user (requests).
"""

import json
import re
import socket
import time
from contextlib import ExitStack
from typing import Callable, List, Optional

import requests
from websockets.sync.client import connect as ws_connect

from lacking import lacking

Event = dict


def bare(event: Event) -> Event:
    """A JSON event as every JSON front end shows it: without its time, its long-poll cursor and its ref."""
    return {k: v for k, v in event.items() if k not in ("ts", "seq", "ref")}


def of(kind: str, **fields) -> Callable[[Event], bool]:
    """Matches a JSON event of type C{kind} that has C{fields}."""
    return lambda e: e["type"] == kind and all(e.get(k) == v for k, v in fields.items())


def first(client, match: Callable[[Event], bool]) -> Event:
    """
    The first event a JSON client got that matches: one read already (a
    WebSocket command reads every event up to its answer), or the next.
    """
    for event in client.seen:
        if match(event):
            return event
    return client.wait(match)


class LineClient:
    """A telnet/nc user: raw TCP, UTF-8 lines."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 5.0, source: Optional[str] = None) -> None:
        """@param source: the local address to connect from (another loopback address: 127.0.0.2)."""
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.timeout = timeout
        self.buf = b""
        self.seen: List[str] = []
        self.closed = False

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, text: str) -> None:
        self.sock.sendall(text.encode("utf-8") + b"\r\n")

    def _fill(self, deadline: float) -> bool:
        """Read what is available until the deadline; False at EOF."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return True
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return True
        except ConnectionError:
            self.closed = True
            return False
        if not data:
            self.closed = True
            return False
        self.buf += data
        return True

    def _pop_line(self) -> Optional[str]:
        if b"\r\n" not in self.buf:
            return None
        raw, self.buf = self.buf.split(b"\r\n", 1)
        text = raw.decode("utf-8", "replace")
        self.seen.append(text)
        return text

    def expect(self, pattern: str, timeout: Optional[float] = None) -> str:
        """Read lines until one matches C{pattern} (a regex); return it."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            line = self._pop_line()
            if line is not None:
                if regex.search(line):
                    return line
                continue
            if time.monotonic() >= deadline or not self._fill(deadline):
                raise AssertionError(
                    f"no line matching {pattern!r}; got {self.seen[-15:]!r}, pending {self.buf[:200]!r}"
                )

    def drain(self, quiet: float = 0.3) -> List[str]:
        """Read lines until nothing arrives for C{quiet} seconds."""
        out = []
        while True:
            line = self._pop_line()
            if line is not None:
                out.append(line)
                continue
            before = len(self.buf)
            if not self._fill(time.monotonic() + quiet) or len(self.buf) == before:
                return out

    def wait_closed(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            if not self._fill(deadline):
                break
            while self._pop_line() is not None:
                pass
        return self.closed

    def login(self, nick: str, room: Optional[str] = None) -> "LineClient":
        self.expect("Choose a nick")
        self.send(nick)
        self.expect(f"You are now {re.escape(nick)}")
        if room:
            self.send(f"/join {room}")
            self.expect("Your current room is")
        return self

    def shows(self, text: str, timeout: Optional[float] = None) -> str:
        """Read lines until one is exactly C{text}."""
        return self.expect("^" + re.escape(text) + "$", timeout)

    def refused(self, code: str, timeout: Optional[float] = None) -> str:
        """Read lines until a refusal with C{code} (C{! CODE: MESSAGE}); return its message."""
        return self.expect(f"^! {re.escape(code)}: ", timeout)[len(code) + 4:]

    def identify(self, account: str, password: str, timeout: Optional[float] = None) -> str:
        """Log in to an account (C{/login ACCOUNT PASSWORD}); return the answer or the refusal line."""
        self.send(f"/login {account} {password}")
        return self.expect(r"^-!- You are logged in as |^! ", timeout)

    def register(self, password: str, timeout: Optional[float] = None) -> str:
        """Register the current nick as an account; return the answer or the refusal line."""
        self.send(f"/register {password}")
        return self.expect(r"^-!- You registered the account |^! ", timeout)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class WSUser:
    """A browser-like JSON user on /ws."""

    def __init__(self, url: str, nick: Optional[str] = None, room: Optional[str] = None, **kw) -> None:
        kw.setdefault("open_timeout", 5)
        self._stack = ExitStack()
        self.ws = self._stack.enter_context(ws_connect(url, proxy=None, **kw))
        self.seen: List[dict] = []
        self.welcome = self.recv()
        assert self.welcome["type"] == "welcome", self.welcome
        if nick:
            self.command(type="nick", nick=nick)
        if room:
            self.command(type="join", room=room)

    def recv(self, timeout: float = 5.0) -> dict:
        event = json.loads(self.ws.recv(timeout=timeout))
        self.seen.append(event)
        return event

    def send(self, **command) -> None:
        self.ws.send(json.dumps(command))

    def expect(self, match: Callable[[dict], bool], timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching event; saw {self.seen[-10:]!r}")
            try:
                event = self.recv(remaining)
            except TimeoutError:
                continue
            if match(event):
                return event

    def command(self, ref=None, **command) -> dict:
        """Send a command and return its ok (or error)."""
        ref = ref if ref is not None else f"r{len(self.seen)}-{time.monotonic()}"
        self.send(ref=ref, **command)
        return self.expect(lambda e: e.get("ref") == ref and e["type"] in ("ok", "error"))

    def login(self, account: Optional[str] = None, password: Optional[str] = None, **fields) -> dict:
        """Log in (by password, or C{token=T}); return the C{ok} (with its token) or the C{error}."""
        if account is not None:
            fields["account"] = account
        if password is not None:
            fields["password"] = password
        return self.command(type="login", **fields)

    #: The same as L{expect}: no event is lost between two calls (see L{PollClient.wait}).
    wait = expect

    def ask(self, **command) -> dict:
        """Send a command that reads (who, bans, gbans, mode, whois, history) and return the data it answers."""
        ref = f"ask{len(self.seen)}-{time.monotonic()}"
        answer = self.command(ref=ref, **command)
        assert answer["type"] == "ok", answer
        return next(e for e in self.seen if e.get("ref") == ref and e is not answer)

    def close(self) -> None:
        self._stack.close()


class PollClient:
    """A long-poll user: one session, polling from its cursor."""

    def __init__(self, base: str, nick: Optional[str] = None, room: Optional[str] = None) -> None:
        self.base = base
        self.http = requests.Session()
        r = self.http.post(f"{base}/api/sessions", timeout=5)
        assert r.status_code == 201, r.text
        self.token = r.json()["session"]
        self.url = f"{base}/api/sessions/{self.token}"
        self.last = 0
        self.seen: List[Event] = []
        if nick:
            assert self.command(type="nick", nick=nick)["type"] == "ok"
        if room:
            assert self.command(type="join", room=room)["type"] == "ok"

    def command(self, **command) -> dict:
        r = self.http.post(f"{self.url}/commands", data=json.dumps(command), timeout=5)
        assert r.status_code == 200, r.text
        return r.json()

    def poll(self, timeout: float = 5, after: Optional[int] = None) -> requests.Response:
        after = self.last if after is None else after
        return self.http.get(f"{self.url}/events", params={"after": after, "timeout": timeout}, timeout=timeout + 5)

    def expect(self, match: Callable[[Event], bool], timeout: float = 5.0) -> Event:
        """Poll on until an event matches; return it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.poll(timeout=min(2.0, max(0.0, deadline - time.monotonic())))
            assert r.status_code == 200, r.text
            body = r.json()
            self.last = body["last"]
            for event in body["events"]:
                self.seen.append(event)
                if match(event):
                    return event
        raise AssertionError(f"no matching event; saw {self.seen[-10:]!r}")

    def delete(self) -> requests.Response:
        return self.http.delete(self.url, timeout=5)

    def login(self, account: Optional[str] = None, password: Optional[str] = None, **fields) -> dict:
        """Log in (by password, or C{token=T}); return the C{ok} (with its token) or the C{error}."""
        if account is not None:
            fields["account"] = account
        if password is not None:
            fields["password"] = password
        return self.command(type="login", **fields)

    def wait(self, match: Callable[[Event], bool], timeout: float = 5.0) -> Event:
        """
        Like L{expect}, but the events of a batch that came after the one
        that matched are kept for the next call, as a WebSocket would
        still have them (L{expect} drops them).
        """
        kept: List[Event] = self.__dict__.setdefault("kept", [])
        deadline = time.monotonic() + timeout
        while True:
            while kept:
                event = kept.pop(0)
                if match(event):
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching event; saw {self.seen[-10:]!r}")
            r = self.poll(timeout=min(2.0, remaining))
            assert r.status_code == 200, r.text
            body = r.json()
            self.last = body["last"]
            self.seen.extend(body["events"])
            kept.extend(body["events"])

    def ask(self, **command) -> dict:
        """Send a command that reads (who, bans, gbans, mode, whois, history) and return the data it answers."""
        ref = f"ask{len(self.seen)}-{time.monotonic()}"
        answer = self.command(ref=ref, **command)
        assert answer["type"] == "ok", answer
        return self.wait(lambda e: e.get("ref") == ref)


def outside_address() -> Optional[str]:
    """An address of this machine that is not loopback (connecting to it is not from the same machine), or None."""
    for probe in ("192.0.2.1", "198.51.100.1", "10.255.255.1"):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.connect((probe, 9))  # a UDP connect sends nothing: it only picks the route
            except OSError:
                continue
            address = s.getsockname()[0]
            if not address.startswith("127.") and address != "0.0.0.0":
                return address
    return None


def need_outside_address() -> str:
    """In CI a machine without one fails the test; elsewhere it skips with the reason."""
    address = outside_address()
    if address is None:
        message = "needs an address of this machine that is not loopback, to connect from"
        lacking(message)
    return address
