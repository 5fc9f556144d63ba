"""
The cluster benchmark (bench/run.py cluster, bench/cluster_servers.py): chatd on
Redis with its clients spread over two nodes, its CPU summed over every
node and Redis, set against one SQLite node of the same run.

The end-to-end run is a few seconds on tiny rooms and judges no speed: it
checks that every message reached every member across the nodes and that
the ratios are printed.  It fails until chatd runs as a cluster.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import run  # noqa: E402


def row(nodes, cost, rate, fe="lines", db="file", scenario="cluster"):
    case = run.Case(scenario, "chatd", fe, per_room=1000, nodes=nodes, db=db)
    return {"case": run.asdict(case), "label": case.label(), "server_us_per_delivery": cost,
            "deliveries_per_s": rate}


def test_cluster_rows_are_set_against_one_sqlite_node_and_one_redis_node():
    """2 nodes: CPU per delivery over the SQLite node's, deliveries per second over one Redis node's."""
    rows = [row(0, 2.0, 400000), row(1, 2.6, 380000), row(2, 2.9, 600000), row(2, 9.9, 1, fe="ws")]
    ratios = run.ratio_map(rows)
    assert ratios[id(rows[1])] == "1.30x one SQLite node"
    assert ratios[id(rows[2])] == "1.45x one SQLite node, deliv/s 1.58x 1 node on Redis"
    assert ratios[id(rows[3])] == ""  # no WebSocket baseline in this run
    assert [run.server_name(r["case"]) for r in rows] == ["chatd", "chatd 1 node+Redis", "chatd 2 nodes+Redis",
                                                          "chatd 2 nodes+Redis"]
    # --compare groups runs by label: each node count is its own row.
    assert [r["label"] for r in rows] == ["cluster lines 1000 flat out", "cluster lines 1000 flat out, 1 node",
                                          "cluster lines 1000 flat out, 2 nodes", "cluster WS 1000 flat out, 2 nodes"]


def test_the_standard_set_takes_its_baseline_from_the_fanout_rows():
    """make bench runs 1 and 2 nodes; the 1,000-member fanout rows of the same run are the SQLite baseline."""
    cases = run.standard(run.parse([]))
    clustered = [(c.fe, c.per_room, c.load, c.nodes) for c in cases if c.nodes]
    assert clustered == [("lines", 1000, "flat", 1), ("lines", 1000, "flat", 2),
                         ("ws", 1000, "flat", 1), ("ws", 1000, "flat", 2)]
    baseline = row(0, 2.0, 1, scenario="fanout")
    two = row(2, 3.0, 1)
    assert run.ratio_map([baseline, two])[id(two)] == "1.50x one SQLite node"


def test_two_nodes_deliver_everything_across_the_cluster(tmp_path):
    out = tmp_path / "cluster.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "cluster", "--members", "20", "--fe", "lines,ws",
         "--nodes", "2", "--load", "100", "--seconds", "1", "--warmup", "0.5", "--senders", "2",
         "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    rows = json.loads(out.read_text())["rows"]
    assert [(r["case"]["fe"], r["case"]["nodes"]) for r in rows] == [("lines", 0), ("lines", 2), ("ws", 0), ("ws", 2)]
    for r in rows:
        assert not r.get("skipped") and not r.get("loss"), (r.get("skipped"), r.get("failures"), proc.stdout[-3000:])
        assert r["deliveries"] > 0 and r["lost_deliveries"] == 0 and r["duplicates"] == 0
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "x one SQLite node" in proc.stdout
