"""
Run the real daemon (C{twistd -n chatd}) for end-to-end tests.

The daemon listens on port 0 on 127.0.0.1; the ports it got are read from
its log ("chatd lines listener ready on 127.0.0.1:PORT"), so tests never
race for a free port.
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

TWISTD = str(Path(sys.executable).with_name("twistd"))
READY = re.compile(r"chatd (\w+) listener ready on ([\d.]+):(\d+) \((.*)\)")

BASE_SETTINGS: Dict[Tuple[str, str], str] = {
    ("lines", "listen"): "tcp:0:interface=127.0.0.1",
    ("web", "listen"): "tcp:0:interface=127.0.0.1",
    ("irc", "listen"): "tcp:0:interface=127.0.0.1",
    ("server", "shutdown_grace"): "3",
    # Tests send commands much faster than people type; flood tests set
    # the real defaults back explicitly.
    ("limits", "flood_rate"): "1000",
    ("limits", "flood_burst"): "1000",
    # Real argon2, at its cheapest: the suite logs in many times.
    ("accounts", "password_hashing"): "test-cheapest",
}


def render_ini(settings: Dict[Tuple[str, str], str]) -> str:
    sections: Dict[str, List[str]] = {}
    for (section, key), value in settings.items():
        value = "\n    ".join(value.split("\n"))
        sections.setdefault(section, []).append(f"{key} = {value}")
    return "".join(f"[{s}]\n" + "\n".join(lines) + "\n\n" for s, lines in sections.items())


class Daemon:
    """One chatd process in its own working directory."""

    def __init__(self, workdir: Path, settings: Optional[Dict[Tuple[str, str], str]] = None, args=(), env=None) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.settings = dict(BASE_SETTINGS)
        self.settings[("history", "db")] = str(self.workdir / "chatd.sqlite3")
        self.settings.update(settings or {})
        self.args = list(args)
        self.env = env
        self.proc: Optional[subprocess.Popen] = None
        self.logpath = self.workdir / "chatd.log"
        self.ports: Dict[str, List[Tuple[int, str]]] = {}

    @property
    def config_path(self) -> Path:
        return self.workdir / "tap.cfg"

    def start(self, timeout: float = 30.0) -> "Daemon":
        self.config_path.write_text(render_ini(self.settings))
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.update(self.env or {})
        self._logfile = open(self.logpath, "ab")
        self._log_offset = self.logpath.stat().st_size
        self.proc = subprocess.Popen(
            [TWISTD, "--nodaemon", "--pidfile=", "chatd", "--config", str(self.config_path), *self.args],
            cwd=self.workdir,
            stdout=self._logfile,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log(since_start=True)
            if "chatd is ready" in text:
                self.ports = {}
                for kind, _host, port, description in READY.findall(text):
                    self.ports.setdefault(kind, []).append((int(port), description))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"chatd exited with {self.proc.returncode} during start-up:\n{text}")
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"chatd did not become ready in {timeout}s:\n{self.log()}")

    def log(self, since_start: bool = False) -> str:
        data = self.logpath.read_bytes()
        if since_start:
            data = data[self._log_offset:]
        return data.decode("utf-8", "replace")

    def port(self, kind: str, scheme: str = "tcp") -> int:
        for port, description in self.ports.get(kind, []):
            if description.startswith(scheme + ":"):
                return port
        raise KeyError(f"no {scheme} {kind} listener in {self.ports}")

    @property
    def lines_port(self) -> int:
        return self.port("lines")

    @property
    def web_port(self) -> int:
        return self.port("web")

    @property
    def irc_port(self) -> int:
        return self.port("irc")

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.web_port}/ws"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> Optional[int]:
        """Stop the daemon; return its exit status (negative: killed by a signal)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._logfile.close()
        return self.proc.returncode

    def kill(self) -> Optional[int]:
        return self.stop(signal.SIGKILL)

    def restart(self, timeout: float = 30.0) -> "Daemon":
        self.stop()
        return self.start(timeout)

    def rss_kib(self) -> int:
        """Resident memory of the daemon, from /proc."""
        assert self.proc is not None
        for row in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if row.startswith("VmRSS:"):
                return int(row.split()[1])
        raise RuntimeError("no VmRSS")
