"""
A real redis-server for tests: started on 127.0.0.1 on a free port, in its
own directory, with AOF on by default, and always stopped by its PID.

    with RedisServer(tmp_path / "redis") as redis:
        redis.port, redis.endpoint       # tcp:host=127.0.0.1:port=N
        redis.cli("INFO", "persistence")  # a command through redis-cli
        redis.kill()                      # kill -9
        redis.start()                     # again, on the same directory
        redis.pause(); redis.resume()     # SIGSTOP, SIGCONT

In CI (CI=true) a missing redis-server fails the test; elsewhere it skips.
"""

import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import List, Optional

import pytest

from lacking import lacking


def need_redis() -> str:
    """The path of redis-server; a missing one fails in CI and skips elsewhere."""
    path = shutil.which("redis-server")
    if path is None:
        message = "redis-server is not installed (Debian: apt-get install redis-server; .ci/run installs it)"
        lacking(message)
    return path


#: Ports are picked below Linux's ephemeral range (32768-60999): a port the
#: kernel hands out (bind to 0) can be taken by any outgoing connection of
#: the suite before its server binds it again ("Address already in use").
_LOW, _HIGH = 20000, 32000


def free_port() -> int:
    """A port free now, that no outgoing connection will take meanwhile."""
    while True:
        port = random.randrange(_LOW, _HIGH)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


class RedisServer:
    """
    @param directory: where its AOF and logs live (kept across L{kill} and L{start}).
    @param aof: run with C{appendonly yes} (C{appendfsync everysec}).
    """

    def __init__(self, directory: Path, aof: bool = True, port: Optional[int] = None) -> None:
        self.binary = need_redis()
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.aof = aof
        self.port = port or free_port()
        self.process: Optional[subprocess.Popen] = None

    @property
    def endpoint(self) -> str:
        """The Twisted client endpoint string chatd's [cluster] redis takes."""
        return f"tcp:host=127.0.0.1:port={self.port}"

    def arguments(self) -> List[str]:
        return [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
            "--save", "", "--appendonly", "yes" if self.aof else "no", "--appendfsync", "everysec",
            "--daemonize", "no", "--logfile", str(self.directory / "redis.log"), "--protected-mode", "no",
        ]

    def start(self, timeout: float = 10.0) -> "RedisServer":
        """Start it (again, on the same directory and port) and wait until it answers PING."""
        self.process = subprocess.Popen(self.arguments(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}; see "
                                   f"{self.directory / 'redis.log'}")
            try:
                if self.cli("PING", timeout=1.0) == "PONG":
                    return self
            except (OSError, subprocess.SubprocessError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout} seconds")

    def cli(self, *args: str, timeout: float = 5.0) -> str:
        """Run one command with redis-cli and return its output, stripped."""
        cli = shutil.which("redis-cli") or "redis-cli"
        out = subprocess.run([cli, "-h", "127.0.0.1", "-p", str(self.port), *args], capture_output=True,
                             text=True, timeout=timeout, check=True)
        return out.stdout.strip()

    def kill(self) -> None:
        """kill -9, and wait for it to be gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """Stop it for good (SIGCONT first, in case it was paused)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def __enter__(self) -> "RedisServer":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture
def redis_server(tmp_path):
    """A running redis-server with AOF on, stopped when the test ends."""
    server = RedisServer(tmp_path / "redis")
    try:
        yield server.start()
    finally:
        server.stop()
