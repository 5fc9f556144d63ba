"""
chatd's IRC front end in the benchmarks (bench/run.py --fe irc): the load
generator's IRC clients on chatd's [irc] port, with ngIRCd, driven the same
way, as the reference.

The end-to-end run is a few seconds on a tiny room and judges no speed: it
checks that every message reached every IRC member.  ngIRCd is an optional
reference (bench/README.md): when it is not installed its row says so and
chatd's row still runs.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import run  # noqa: E402
from servers import NgIRCd  # noqa: E402


def row(server, fe, cost, scenario="fanout", **shape):
    case = run.Case(scenario, server, fe, **shape)
    return {"case": run.asdict(case), "label": case.label(), "server_us_per_delivery": cost}


def test_one_ngircd_run_is_the_reference_of_chatd_lines_and_irc():
    """ngIRCd speaks IRC only: its run of a shape sets the ratio of chatd's lines and IRC rows, not WebSocket's."""
    rows = [row("chatd", "lines", 0.3), row("lines_broadcast", "lines", 0.6), row("ngircd", "irc", 0.25),
            row("chatd", "irc", 0.5), row("chatd", "ws", 0.5), row("chatd", "irc", 2.0, load="50")]
    ratios = run.ratio_map(rows)
    assert ratios[id(rows[0])] == "0.50x lines_broadcast, 1.20x ngircd"
    assert ratios[id(rows[3])] == "2.00x ngircd"
    assert ratios[id(rows[4])] == ""
    assert ratios[id(rows[5])] == ""  # no ngIRCd run at 50 msg/s here
    assert rows[2]["label"] == "fanout IRC 1000 flat out"


def test_the_standard_set_has_three_irc_cases_each_against_one_ngircd_run():
    cases = run.standard(run.parse([]))
    irc = [(c.server, c.label()) for c in cases if c.fe == "irc"]
    assert irc == [("ngircd", "fanout IRC 1000 flat out"), ("chatd", "fanout IRC 1000 flat out"),
                   ("ngircd", "fanout IRC 1000 50 msg/s"), ("chatd", "fanout IRC 1000 50 msg/s"),
                   ("ngircd", "fanout IRC 100 flat out"),
                   ("ngircd", "rooms IRC 500x10 1000 msg/s"), ("chatd", "rooms IRC 500x10 1000 msg/s")]
    assert len(cases) == len(set((c.server, c.label()) for c in cases))  # no run twice


def test_an_unknown_front_end_is_named():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "fanout", "--fe", "irc,xmpp"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "--fe xmpp: no such front end (lines, ws, poll, irc)" in proc.stderr


def test_irc_members_of_chatd_and_ngircd_get_every_message(tmp_path):
    out = tmp_path / "irc.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "fanout", "--fe", "irc", "--members", "20",
         "--load", "100", "--seconds", "1", "--warmup", "0.5", "--senders", "2", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    rows = {r["case"]["server"]: r for r in json.loads(out.read_text())["rows"]}
    assert set(rows) == {"chatd", "ngircd"}
    runs = [rows["chatd"]]
    if NgIRCd.available():
        runs.append(rows["ngircd"])
    else:
        assert rows["ngircd"]["skipped"] == "ngIRCd not installed (apt-get install ngircd)"
    for r in runs:
        assert not r.get("skipped") and not r.get("loss"), (r.get("skipped"), r.get("failures"), proc.stdout[-3000:])
        assert r["case"]["fe"] == "irc" and r["receivers"] == 20
        assert r["deliveries"] > 0 and r["lost_deliveries"] == 0 and r["duplicates"] == 0
        assert r["unexpected"] == 0 and r["receivers_short"] == 0
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    if NgIRCd.available():
        assert "x ngircd" in proc.stdout
