"""
Several real chatd nodes on one real redis-server, for end-to-end tests.

    with Cluster(tmp_path, size=3) as cluster:     # or the make_cluster / cluster fixtures
        n1, n2, n3 = cluster.nodes
        n2.kill()                                   # kill -9
        n2.start()                                  # again: same directory, ports and name
        cluster.redis.kill(); cluster.redis.start() # kill -9 Redis, restart on the same directory
        cluster.redis.pause(); cluster.redis.resume()

Each node is a L{daemon.Daemon} (composition: its own directory and
tap.cfg) with a C{[cluster]} section naming the shared Redis, its node name
(n1, n2, ...) and a short C{node_timeout}.  Its listeners are on ports
chosen once, so a node restarted after C{kill -9} is where its clients (and
an nginx upstream) expect it.  Everything started is stopped by its PID in
L{Cluster.stop}, which the fixtures call in C{finally}.
"""

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from daemon import Daemon
from redisserver import RedisServer, free_port

CHATCTL = str(Path(sys.executable).with_name("chatctl"))

#: Seconds without a heartbeat after which the test nodes count a node as dead.
NODE_TIMEOUT = 3

Settings = Dict[Tuple[str, str], str]

_handed_out = set()


def fresh_port() -> int:
    """A free port never handed out before in this run: nodes started together cannot get the same one."""
    while True:
        port = free_port()
        if port not in _handed_out:
            _handed_out.add(port)
            return port


class Node:
    """
    One chatd node of a test cluster.

    @param name: its C{[cluster] node} name.
    @param settings: more tap.cfg settings; they win over the cluster's.
    """

    def __init__(self, workdir: Path, name: str, redis: RedisServer, node_timeout: int = NODE_TIMEOUT,
                 settings: Optional[Settings] = None) -> None:
        self.name = name
        self.lines_port, self.web_port, self.admin_port = fresh_port(), fresh_port(), fresh_port()
        mine: Settings = {
            ("lines", "listen"): f"tcp:{self.lines_port}:interface=127.0.0.1",
            ("web", "listen"): f"tcp:{self.web_port}:interface=127.0.0.1",
            ("irc", "listen"): "tcp:0:interface=127.0.0.1",
            ("admin", "listen"): self.admin_endpoint,
            ("cluster", "redis"): redis.endpoint,
            ("cluster", "node"): name,
            ("cluster", "node_timeout"): str(node_timeout),
        }
        mine.update(settings or {})
        self.daemon = Daemon(workdir, mine)

    def __repr__(self) -> str:
        return f"<node {self.name} lines {self.lines_port} web {self.web_port}>"

    @property
    def settings(self) -> Settings:
        """The tap.cfg settings; a change shows at the next L{start}."""
        return self.daemon.settings

    @property
    def admin_endpoint(self) -> str:
        return f"tcp:{self.admin_port}:interface=127.0.0.1"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.web_port}/ws"

    @property
    def config_path(self) -> Path:
        return self.daemon.config_path

    @property
    def alive(self) -> bool:
        return self.daemon.alive

    @property
    def pid(self) -> int:
        assert self.daemon.proc is not None, f"{self.name} was never started"
        return self.daemon.proc.pid

    def start(self, timeout: float = 30.0) -> "Node":
        """Start it (again), on the same directory, ports and name; wait until it is ready."""
        self.daemon.start(timeout)
        return self

    def stop(self, timeout: float = 10.0) -> Optional[int]:
        """SIGTERM, then SIGKILL after C{timeout}; the exit status."""
        return self.daemon.stop(timeout=timeout)

    def kill(self) -> Optional[int]:
        """kill -9: no goodbye to Redis, its clients or the other nodes."""
        return self.daemon.kill()

    def log(self, since_start: bool = False) -> str:
        return self.daemon.log(since_start)

    def exits(self, timeout: float = 30.0) -> Tuple[int, str]:
        """
        Start it expecting it to give up: its exit status and what it
        logged.  Fails if it becomes ready instead.
        """
        try:
            self.daemon.start(timeout)
        except RuntimeError:
            assert self.daemon.proc is not None
            self.daemon.stop(timeout=5)
            return self.daemon.proc.returncode, self.log(since_start=True)
        raise AssertionError(f"{self.name} started, but it should have refused to:\n{self.log(since_start=True)}")

    def chatctl(self, *args: str, timeout: float = 20.0) -> subprocess.CompletedProcess:
        """Run chatctl against this node's admin listener (read from its tap.cfg)."""
        return subprocess.run([CHATCTL, "--config", str(self.config_path), *args], capture_output=True, text=True,
                              timeout=timeout)


class Cluster:
    """
    One redis-server (AOF on unless C{aof=False}) and C{size} chatd nodes
    named n1..nN.

    @param settings: tap.cfg settings for every node.
    """

    def __init__(self, directory: Path, size: int = 3, aof: bool = True, node_timeout: int = NODE_TIMEOUT,
                 settings: Optional[Settings] = None) -> None:
        self.directory = Path(directory)
        self.redis = RedisServer(self.directory / "redis", aof=aof)
        self.node_timeout = node_timeout
        self.settings = dict(settings or {})
        self.nodes: List[Node] = []
        for _ in range(size):
            self.add_node()

    def add_node(self, settings: Optional[Settings] = None) -> Node:
        """One more node (not started), named after the last."""
        name = f"n{len(self.nodes) + 1}"
        node = Node(self.directory / name, name, self.redis, self.node_timeout, {**self.settings, **(settings or {})})
        self.nodes.append(node)
        return node

    def __getitem__(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"no node {name} in {self.nodes}")

    def __iter__(self):
        return iter(self.nodes)

    def live(self) -> List[Node]:
        return [node for node in self.nodes if node.alive]

    def start(self, nodes: Optional[List[Node]] = None) -> "Cluster":
        """Start Redis (if it is not running), then the nodes, side by side."""
        if self.redis.process is None or self.redis.process.poll() is not None:
            self.redis.start()
        nodes = self.nodes if nodes is None else nodes
        with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
            for future in [pool.submit(node.start) for node in nodes]:
                future.result()
        return self

    def stop(self) -> None:
        """Stop every node, then Redis: each by its PID, whatever state the test left them in."""
        if self.redis.process is not None:
            self.redis.resume()  # a paused Redis would hold up the nodes' goodbyes
        try:
            with ThreadPoolExecutor(max_workers=max(1, len(self.nodes))) as pool:
                list(pool.map(lambda node: node.stop(), self.nodes))
        finally:
            self.redis.stop()

    def __enter__(self) -> "Cluster":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


def eventually(check, timeout: float, what: str, step: float = 0.1):
    """Call C{check()} until it returns something true; fail naming C{what} after C{timeout} seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(step)
