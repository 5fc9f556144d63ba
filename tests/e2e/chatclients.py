"""
Real clients for end-to-end tests: a raw-socket line client (what nc
does), with a little help for waiting on expected lines.
"""

import re
import socket
import time
from typing import List, Optional


class LineClient:
    """A telnet/nc user: raw TCP, UTF-8 lines."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 5.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
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

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
