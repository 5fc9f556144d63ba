"""
chatd's WebSocket front end in the benchmarks has two references, run in
the same run and on the same shapes: Twisted + Autobahn
(bench/references/autobahn_broadcast.py) and Python C{websockets}
(bench/references/websockets_broadcast.py).

The end-to-end run is a few seconds on a tiny room and judges no speed: it
checks that each reference speaks the bench's room protocol, so that every
message reached every member, its sender's echo included.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import run  # noqa: E402

WS_REFERENCES = {"autobahn_broadcast", "websockets_broadcast"}


def test_every_websocket_shape_of_the_standard_set_runs_both_references():
    cases = run.standard(run.parse([]))
    # A WebSocket run beside a long-poll run of the same shape is the poll's measure, not a contest.
    polled = {c.key[:1] + c.key[2:] for c in cases if c.fe == "poll"}
    assert len(polled) == 1  # 333 members at 50 msg/s, the mixed room's pollers
    shapes = {c.label() for c in cases if c.server == "chatd" and c.fe == "ws" and c.scenario in ("fanout", "rooms", "idle")
              and c.key[:1] + c.key[2:] not in polled}
    assert len(shapes) == 6  # fan-out of 100, 1,000 (flat and 50 msg/s) and 5,000; 500 small rooms; idle
    for label in shapes:
        refs = {c.server for c in cases if c.label() == label and c.server != "chatd"}
        assert refs == WS_REFERENCES, label


def test_members_of_each_websocket_reference_get_every_message(tmp_path):
    out = tmp_path / "ws.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "fanout", "--fe", "ws", "--members", "20",
         "--load", "100", "--seconds", "1", "--warmup", "0.5", "--senders", "2", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    rows = {r["case"]["server"]: r for r in json.loads(out.read_text())["rows"]}
    assert set(rows) == {"chatd"} | WS_REFERENCES
    for name in WS_REFERENCES:
        r = rows[name]
        assert not r.get("skipped") and not r.get("loss"), (name, r.get("failures"), proc.stdout[-3000:])
        assert r["receivers"] == 20 and r["deliveries"] > 0
        assert r["lost_deliveries"] == 0 and r["duplicates"] == 0 and r["unexpected"] == 0
        assert r["receivers_short"] == 0
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "x autobahn_broadcast, " in proc.stdout and "x websockets_broadcast" in proc.stdout
