"""
The benchmark harness keeps working: a 5-second smoke run of the load
generator (bench/run.py --smoke) against the real daemon.

It checks that the generator connects, joins, sends and receives, and that
no message was lost.  It asserts nothing about speed: benchmarks are run by
hand or by `make bench`, never judged by CI.  The generator is Node.js;
bench/run.py installs its one npm package (ws) into bench/node on first use.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_smoke_run_loses_nothing(tmp_path):
    out = tmp_path / "smoke.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, f"smoke run failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    assert "smoke: OK" in proc.stdout
    rows = json.loads(out.read_text())["rows"]
    assert len(rows) == 1
    row = rows[0]
    assert not row.get("loss"), row
    assert row["deliveries"] > 0
    assert row["lost_deliveries"] == 0 and row["duplicates"] == 0 and row["unexpected"] == 0
    assert row["receivers_short"] == 0
    assert row["failures"] == []
