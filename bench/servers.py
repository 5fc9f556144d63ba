"""
The servers a benchmark run measures, each started fresh for one run on
127.0.0.1 ports chosen by the kernel (port 0), so runs never race for a
port and every run's peak RSS (VmHWM) is its own.

  - L{Chatd}: the installed daemon, C{twistd -n chatd}, ports read from its
    log as tests/e2e/daemon.py does (or another venv's, for --compare).
  - L{Reference}: bench/references/*.py, which print "listening on PORT".
  - L{NgIRCd}: Debian's ngIRCd, when /usr/sbin/ngircd exists (an IRC
    server: its one port is its C{irc_port}, and its C{lines_port} too).
"""

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional, Tuple

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
READY = re.compile(r"chatd (\w+) listener ready on ([\d.]+):(\d+) \((.*)\)")


def twistd() -> str:
    """twistd beside this interpreter, else the repository's venv."""
    for candidate in (Path(sys.executable).with_name("twistd"), ROOT / ".venv" / "bin" / "twistd"):
        if candidate.exists():
            return str(candidate)
    raise SystemExit("twistd not found: run bench/run.py with the venv's python (make bench does)")


def proc_status(pid: int, key: str) -> Optional[int]:
    try:
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith(key + ":"):
                return int(row.split()[1])
    except OSError:
        return None
    return None


def render_ini(settings: Dict[Tuple[str, str], str]) -> str:
    sections: Dict[str, list] = {}
    for (section, key), value in settings.items():
        sections.setdefault(section, []).append(f"{key} = {value}")
    return "".join(f"[{s}]\n" + "\n".join(rows) + "\n\n" for s, rows in sections.items())


class Server:
    """One server process; subclasses start it and learn its ports."""

    name = "server"
    proc: Optional[subprocess.Popen] = None
    lines_port: Optional[int] = None
    web_port: Optional[int] = None
    ws_port: Optional[int] = None
    irc_port: Optional[int] = None

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix=f"chatd-bench-{self.name}-"))
        self.logpath = self.workdir / "server.log"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log(self) -> str:
        try:
            return self.logpath.read_text(errors="replace")
        except OSError:
            return ""

    def hwm_kib(self) -> Optional[int]:
        return proc_status(self.pid, "VmHWM")

    def kill(self) -> None:
        """SIGKILL: a benchmark keeps nothing, and a clean stop would send
        every member a quit notice (N squared lines) for nothing."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def cleanup(self) -> None:
        self.kill()
        if getattr(self, "_logfile", None) is not None:
            self._logfile.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _spawn(self, argv, cwd=None) -> None:
        self._logfile = open(self.logpath, "ab")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(argv, cwd=cwd or self.workdir, stdout=self._logfile,
                                     stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL)

    def _wait_log(self, pattern: str, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            m = rx.search(self.log())
            if m:
                return m
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} during start-up:\n{self.log()[-3000:]}")
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"{self.name} did not start in {timeout} s:\n{self.log()[-3000:]}")


_IRC: Dict[str, bool] = {}


def _serves_irc(command: str) -> bool:
    """Whether this chatd has the IRC front end (builds before it, compared with --compare, do not)."""
    if command not in _IRC:
        out = subprocess.run([command, "chatd", "--help"], capture_output=True, text=True, timeout=60).stdout
        _IRC[command] = "--irc" in out
    return _IRC[command]


class Chatd(Server):
    """The installed chatd, with bench settings (no flood limit)."""

    name = "chatd"

    def __init__(self, db: str = "file", extra: Optional[Dict[Tuple[str, str], str]] = None,
                 twistd: Optional[str] = None) -> None:
        super().__init__()
        self.db = db
        #: Which chatd: the twistd of the venv it is installed in (default: ours).
        self.twistd = twistd
        listen = "tcp:0:interface=127.0.0.1:backlog=1024"
        self.settings = {
            ("lines", "listen"): listen,
            ("web", "listen"): listen,
            ("server", "shutdown_grace"): "1",
            # Benchmarks talk far faster than people: flood control stays
            # on (its cost is measured) but never refuses.
            ("limits", "flood_rate"): "1000000",
            ("limits", "flood_burst"): "1000000",
            # Every client comes from 127.0.0.1: lift the per-address and
            # total connection caps (the accept-time check still runs).
            ("limits", "connections_per_ip"): "100000",
            ("limits", "max_connections"): "100000",
            ("web", "max_connections"): "100000",
            ("history", "db"): ":memory:" if db == "memory" else str(self.workdir / "chatd.sqlite3"),
        }
        self.settings.update(extra or {})

    def start(self, timeout: float = 30.0) -> "Chatd":
        cfg = self.workdir / "tap.cfg"
        settings = dict(self.settings)
        command = self.twistd or twistd()
        if _serves_irc(command):  # on a free port, not the default 6667 (several chatds run at once)
            settings.setdefault(("irc", "listen"), "tcp:0:interface=127.0.0.1:backlog=1024")
            # Receivers never speak after joining: no PING after 90 s of
            # silence in a long run (ngIRCd's PingTimeout is an hour too).
            settings.setdefault(("irc", "ping_interval"), "3600")
        cfg.write_text(render_ini(settings))
        self._spawn([command, "--nodaemon", "--pidfile=", "chatd", "--config", str(cfg)])
        self._wait_log(r"chatd is ready", timeout)
        for kind, _host, port, _desc in READY.findall(self.log()):
            if kind == "lines":
                self.lines_port = int(port)
            elif kind == "web":
                self.web_port = int(port)
            elif kind == "irc":
                self.irc_port = int(port)
        return self

    def frontends(self) -> Dict[str, str]:
        """Which front ends answer: fe -> "ok" or why not."""
        found = {"lines": "ok" if self.lines_port else "no lines listener"}
        found["ws"] = self._probe_ws()
        found["poll"] = self._probe_api()
        found["irc"] = self._probe_irc()
        return found

    def _probe_irc(self) -> str:
        if not self.irc_port:
            return "no IRC listener (this chatd has no [irc] front end)"
        try:
            with socket.create_connection(("127.0.0.1", self.irc_port), timeout=5) as s:
                s.sendall(b"NICK probe\r\nUSER probe 0 * :bench\r\n")
                seen = b""
                while b" 001 " not in seen and len(seen) < 65536:
                    data = s.recv(4096)
                    if not data:
                        break
                    seen += data
        except OSError as e:
            return f"IRC port: {e}"
        if b" 001 " in seen:
            return "ok"
        first = seen.split(b"\r\n", 1)[0].decode(errors="replace")
        return f'IRC registration answered "{first}"' if first else "IRC port closed without a welcome (001)"

    def _probe_ws(self) -> str:
        if not self.web_port:
            return "no web listener"
        try:
            with socket.create_connection(("127.0.0.1", self.web_port), timeout=5) as s:
                s.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" % self.web_port)
                head = s.recv(4096).split(b"\r\n", 1)[0]
        except OSError as e:
            return f"/ws: {e}"
        return "ok" if b" 101 " in head else f"/ws answered {head.decode(errors='replace')!r}"

    def _probe_api(self) -> str:
        if not self.web_port:
            return "no web listener"
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=5)
            conn.request("POST", "/api/sessions", body=b"")
            r = conn.getresponse()
            body = r.read()
            if r.status != 201:
                return f"POST /api/sessions answered {r.status}"
            import json

            token = json.loads(body)["session"]
            conn.request("DELETE", f"/api/sessions/{token}")
            conn.getresponse().read()
            conn.close()
        except (OSError, ValueError, KeyError) as e:
            return f"/api/: {e}"
        return "ok"


class Reference(Server):
    """bench/references/NAME.py."""

    def __init__(self, script: str) -> None:
        self.name = script
        super().__init__()
        self.script = BENCH / "references" / f"{script}.py"

    def start(self, timeout: float = 20.0) -> "Reference":
        self._spawn([sys.executable, str(self.script), "0"])
        port = int(self._wait_log(r"listening on (\d+)", timeout).group(1))
        if self.name == "lines_broadcast":
            self.lines_port = port
        else:
            self.ws_port = port
        return self


NGIRCD = "/usr/sbin/ngircd"

NGIRCD_CONF = """\
[Global]
    Name = bench.chatd.invalid
    Info = chatd benchmark reference
    Listen = 127.0.0.1
    Ports = {port}
    PidFile = {workdir}/ngircd.pid
    MotdPhrase = bench
[Limits]
    MaxConnections = 0
    MaxConnectionsIP = 0
    MaxJoins = 0
    MaxNickLength = 30
    MaxPenaltyTime = 0
    PingTimeout = 3600
    PongTimeout = 600
[Options]
    DNS = no
    Ident = no
    PAM = no
    SyslogFacility = local1
"""


class NgIRCd(Server):
    """Debian's ngIRCd: penalties off, no per-address or join limits."""

    name = "ngircd"

    @staticmethod
    def available() -> bool:
        return os.access(NGIRCD, os.X_OK)

    def start(self, timeout: float = 20.0) -> "NgIRCd":
        for _attempt in range(5):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            conf = self.workdir / "ngircd.conf"
            conf.write_text(NGIRCD_CONF.format(port=port, workdir=self.workdir))
            self._spawn([NGIRCD, "--nodaemon", "--config", str(conf)])
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    self.irc_port = self.lines_port = port
                    return self
                except OSError:
                    time.sleep(0.05)
            self.kill()
        raise RuntimeError(f"ngIRCd did not start:\n{self.log()[-3000:]}")
