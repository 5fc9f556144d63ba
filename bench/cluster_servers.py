"""
chatd as a cluster for the benchmarks (issue 14): one redis-server with
AOF (tests/redisserver.py, the one the cluster tests start) and N chatd
nodes on it, all on this host, each started like L{servers.Chatd} with a
C{[cluster]} section.  The load generator spreads its clients over the
nodes (client i on node i mod N) and sums the server CPU of every node and
of Redis, so "µs CPU/deliv" is what the whole cluster spends per delivery.
"""

import shutil
import sys
from typing import Dict, List, Optional

from servers import ROOT, Chatd, Server, proc_status

sys.path.insert(0, str(ROOT / "tests"))

from redisserver import RedisServer  # noqa: E402


def available() -> Optional[str]:
    """None if a cluster can run here, else why not."""
    if shutil.which("redis-server") is None:
        return "redis-server not installed (apt-get install redis-server)"
    return None


class ChatdCluster(Server):
    """C{nodes} chatd nodes named b1..bN on one Redis; the first node stands for the server (its pid, its ports)."""

    name = "chatd-cluster"

    def __init__(self, nodes: int, twistd: Optional[str] = None) -> None:
        super().__init__()
        self.redis = RedisServer(self.workdir / "redis")
        self.members: List[Chatd] = []
        for i in range(nodes):
            node = Chatd(db="memory", twistd=twistd, extra={
                ("cluster", "redis"): self.redis.endpoint,
                ("cluster", "node"): f"b{i + 1}",
            })
            node.settings.pop(("history", "db"))  # the history is in Redis
            self.members.append(node)

    @property
    def pid(self) -> int:
        return self.members[0].pid

    @property
    def pids(self) -> List[int]:
        """Every process whose CPU counts: the nodes, then Redis."""
        return [node.pid for node in self.members] + [self.redis.process.pid]

    @property
    def nodes(self) -> List[Dict[str, int]]:
        """Each node's ports, for the load generator."""
        return [{"lines_port": node.lines_port, "web_port": node.web_port} for node in self.members]

    @property
    def lines_port(self) -> Optional[int]:
        return self.members[0].lines_port if self.members else None

    @property
    def web_port(self) -> Optional[int]:
        return self.members[0].web_port if self.members else None

    def start(self, timeout: float = 30.0) -> "ChatdCluster":
        self.redis.start()
        for node in self.members:
            node.start(timeout)
        return self

    def log(self) -> str:
        return "\n".join(f"--- node b{i + 1}\n{node.log()}" for i, node in enumerate(self.members))

    def hwm_kib(self) -> Optional[int]:
        """Peak RSS summed over the nodes and Redis."""
        peaks = [proc_status(pid, "VmHWM") for pid in self.pids]
        return sum(peaks) if all(p is not None for p in peaks) else None

    def kill(self) -> None:
        for node in self.members:
            node.kill()
        self.redis.kill()

    def cleanup(self) -> None:
        try:
            for node in self.members:
                node.cleanup()
        finally:
            self.redis.stop()
            shutil.rmtree(self.workdir, ignore_errors=True)

    def frontends(self) -> Dict[str, str]:
        return self.members[0].frontends()


def probe(twistd: Optional[str] = None) -> Optional[str]:
    """Start a one-node cluster once: None if it works, else the reason its runs are skipped."""
    why = available()
    if why:
        return why
    cluster = ChatdCluster(1, twistd)
    try:
        cluster.start()
    except (RuntimeError, OSError) as e:
        last = [line.strip() for line in str(e).splitlines() if line.strip()][-1:]
        return "chatd does not start as a cluster node" + (f": {last[0][:160]}" if last else "")
    finally:
        cluster.cleanup()
    return None

