"""
bench/run.py --compare: two chatd builds in one run, interleaved, judged by
the ratio of their server CPU per delivery.

The end-to-end test compares this venv's chatd with itself (a venv
directory, so nothing is built); the others feed the summary runs with
known costs and read the verdict an engineer would act on.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import compare  # noqa: E402
import run  # noqa: E402


def runs(scenario, costs_a, costs_b, **extra):
    """Rows as bench/run.py records them: one per build and pair."""
    rows = []
    for rep, (a, b) in enumerate(zip(costs_a, costs_b)):
        for build, cost in (("A", a), ("B", b)):
            case = run.Case(scenario, "chatd", "lines", per_room=1000, build=build, rep=rep)
            rows.append({"case": run.asdict(case), "label": case.label(), "server_us_per_delivery": cost,
                         "other_cpu_util": 0.1, **extra})
    return rows


def verdict_of(rows):
    [item] = compare.summarize(rows, run.cost)
    return item


def test_worse_in_every_pair_is_a_regression():
    item = verdict_of(runs("fanout", [1.0, 1.2, 0.9], [1.1, 1.32, 0.99]))
    assert item["verdict"] == "WORSE"
    assert item["ratio"] == pytest.approx(1.1)
    assert item["pairs"] == pytest.approx([1.1, 1.1, 1.1])


def test_a_worse_median_that_one_pair_contradicts_asks_for_more_pairs():
    item = verdict_of(runs("fanout", [1.0, 1.0, 1.0], [1.2, 0.98, 1.1]))
    assert item["verdict"].startswith("worse?")


def test_within_five_percent_is_the_same_and_a_lost_message_is_no_measurement():
    rows = runs("fanout", [1.0, 1.0, 1.0], [1.04, 1.02, 1.5])
    rows[-1]["loss"] = True  # the 1.5 run lost messages: its cost does not count
    item = verdict_of(rows)
    assert item["verdict"] == "same" and item["failed"] == 1
    assert item["pairs"] == pytest.approx([1.04, 1.02])


def test_pairs_are_interleaved_and_alternate_who_goes_first():
    cases = [run.Case("fanout", "chatd", "lines"), run.Case("fanout", "lines_broadcast", "lines"),
             run.Case("rooms", "chatd", "lines", rooms=500, per_room=10, load="1000")]
    order = [(c.scenario, c.build, c.rep) for c in compare.interleave(cases, 3)]
    assert order == [("fanout", "A", 0), ("fanout", "B", 0), ("fanout", "B", 1), ("fanout", "A", 1),
                     ("fanout", "A", 2), ("fanout", "B", 2),
                     ("rooms", "A", 0), ("rooms", "B", 0), ("rooms", "B", 1), ("rooms", "A", 1),
                     ("rooms", "A", 2), ("rooms", "B", 2)]


def test_idle_separates_a_fixed_cost_from_the_cost_per_connection():
    """B loads a 20 MiB table at the first login; each connection costs the same in both."""
    rows = []
    for rep in range(2):
        for build, fixed in (("A", 0), ("B", 20 * 1024)):
            case = run.Case("idle", "chatd", "lines", rooms=1000, per_room=10, load="idle",
                            checkpoints=[1000, 10000], build=build, rep=rep)
            points = [{"connections": n, "per_conn_kib": (fixed + 2.5 * n) / n} for n in (1000, 10000)]
            rows.append({"case": run.asdict(case), "label": case.label(), "points": points})
    total, added = compare.summarize(rows, run.cost)
    assert total["verdict"] == "WORSE" and total["ratio"] == pytest.approx((2.5 + 2.048) / 2.5)
    assert added["scenario"].endswith("each added") and added["verdict"] == "same"
    assert added[compare.A] == pytest.approx(2.5) and added[compare.B] == pytest.approx(2.5)


def test_a_smoke_comparison_of_a_venv_with_itself(tmp_path):
    """The whole mode, end to end, on this venv's chatd (nothing to build)."""
    out = tmp_path / "compare.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--compare", sys.prefix, "--repeat", "1",
         "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, f"compare run failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    assert "smoke: OK" in proc.stdout and "B/A" in proc.stdout
    found = json.loads(out.read_text())
    assert [(r["case"]["build"], r["case"]["rep"]) for r in found["rows"]] == [("A", 0), ("B", 0)]
    assert all(r["deliveries"] > 0 and not r.get("loss") for r in found["rows"])
    [item] = found["comparison"]
    assert item["ratio"] > 0 and len(item["pairs"]) == 1
    assert found["builds"]["A"]["twistd"] == str(Path(sys.prefix) / "bin" / "twistd")
