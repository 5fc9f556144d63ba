"""
Two chatd builds in one run: bench/run.py --compare BASE [--to NEW].

A change to chatd is judged by the server's CPU per delivery before and
after it, measured on the same machine in the same run: each scenario runs
against build A (BASE) and build B (NEW, by default the chatd installed
beside this Python) in turn, A B, B A, A B ... for --repeat pairs, so that
whatever else the machine does, and any drift over the run, falls on both.
Each pair gives a ratio B/A; the report gives, per scenario, the median of
each build, the ratio of the medians and the range of the pair ratios.

A build is a git revision (built from C{git archive REV} into
bench/.venvs/SHA, kept for the next run; its dependencies pinned to the
versions installed here, so only chatd differs) or a venv directory that
has chatd installed.
"""

import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from statistics import median
from typing import Dict, List, Optional

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENVS = BENCH / ".venvs"

#: B/A above this is a regression (issue 12: "no scenario more than 5% worse").
LIMIT = 1.05
#: The two builds' names in rows and tables.
A, B = "A", "B"


@dataclass
class Build:
    name: str  # A or B
    twistd: str
    what: str  # for the report: where this chatd came from

    def describe(self) -> str:
        return f"{self.name} = {self.what}"


def git(*argv: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(ROOT), *argv], capture_output=True, **kw)


def resolve(name: str, spec: Optional[str]) -> Build:
    """A revision, a venv directory, or (None) the chatd installed here."""
    if spec is None:
        twistd = Path(sys.executable).with_name("twistd")
        if not twistd.exists():
            raise SystemExit("bench: no twistd beside this Python: run bench/run.py with the venv chatd is installed in")
        return Build(name, str(twistd), f"chatd installed in {Path(sys.prefix)} (this Python's venv)")
    venv = Path(spec).expanduser()
    if venv.is_dir():
        twistd = venv / "bin" / "twistd"
        if not twistd.exists():
            raise SystemExit(f"bench: {venv} is a directory but not a venv with chatd installed (no bin/twistd)")
        return Build(name, str(twistd), f"chatd installed in {venv.resolve()}")
    return build_revision(name, spec)


def build_revision(name: str, rev: str) -> Build:
    """Install chatd at git revision C{rev} into bench/.venvs/SHA (once)."""
    found = git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", text=True)
    sha = found.stdout.strip()
    if found.returncode != 0 or not sha:
        raise SystemExit(f"bench: {rev!r} is neither a venv directory nor a git revision of this repository")
    subject = git("log", "-1", "--format=%s", sha, text=True).stdout.strip()
    venv = VENVS / sha[:12]
    twistd = venv / "bin" / "twistd"
    marker = venv / ".chatd-bench-built"
    if not (marker.exists() and twistd.exists()):
        print(f"bench: building chatd at {rev} ({sha[:12]}) into {venv} ...", flush=True)
        shutil.rmtree(venv, ignore_errors=True)
        VENVS.mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="chatd-bench-src-") as src:
            extract(sha, Path(src))
            install(Path(src), venv)
        marker.write_text(sha + "\n")
    if len(subject) > 72:
        subject = subject[:70] + "..."
    named = rev if sha.startswith(rev) else f"{rev} = {sha[:7]}"
    return Build(name, str(twistd), f"{named}: {subject} (built into {venv.relative_to(ROOT)})")


def extract(sha: str, into: Path) -> None:
    archive = subprocess.Popen(["git", "-C", str(ROOT), "archive", "--format=tar", sha], stdout=subprocess.PIPE)
    with tarfile.open(fileobj=archive.stdout, mode="r|") as tar:
        tar.extractall(into, filter="data")
    if archive.wait() != 0:
        raise SystemExit(f"bench: git archive {sha} failed")


def install(src: Path, venv: Path) -> None:
    """A fresh venv with chatd from C{src}, its dependencies pinned to ours."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    frozen = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
                            capture_output=True, text=True, check=True).stdout.splitlines()
    pins = venv / "constraints.txt"
    pins.write_text("".join(p + "\n" for p in frozen if "==" in p and not p.lower().startswith("chatd==")))
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run(pip + ["--constraint", str(pins), str(src)], capture_output=True, text=True)
    if done.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        raise SystemExit(f"bench: installing chatd from {src} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    # Twisted writes its plugin cache on first use: do it now, not inside a measured run.
    subprocess.run([str(venv / "bin" / "python"), "-c",
                    "from twisted.plugin import IPlugin, getPlugins; list(getPlugins(IPlugin))"], check=True)


def builds(args) -> Dict[str, Build]:
    found = {A: resolve(A, args.compare), B: resolve(B, args.to)}
    for build in found.values():
        print(f"bench: {build.describe()}", flush=True)
    return found


def interleave(cases: list, repeat: int) -> list:
    """Each chatd case as A B, B A, A B, ...: pairs back to back."""
    out = []
    for case in cases:
        if case.server != "chatd":
            continue
        for rep in range(repeat):
            for name in ((A, B) if rep % 2 == 0 else (B, A)):
                out.append(replace(case, build=name, rep=rep))
    return out


# ---------------------------------------------------------------- report


def spread(values: List[float]) -> Optional[float]:
    """(max - min) / median: how far repeated runs of one build disagree."""
    return (max(values) - min(values)) / median(values) if len(values) > 1 else None


def verdict(ratio: float, lo: float, hi: float) -> str:
    if ratio > LIMIT:
        return "WORSE" if lo > LIMIT else "worse? (pairs disagree: repeat)"
    if hi > LIMIT:
        return "same (one pair over 5%)"
    if ratio < 1 / LIMIT and hi < 1:
        return "better"
    return "same"


def added_conn_kib(row: dict) -> Optional[float]:
    """Idle: KiB per connection between the first and the last count, so
    a fixed cost (a table loaded at the first login) does not count."""
    points = row.get("points") or []
    if len(points) < 2 or row.get("skipped") or row.get("aborted"):
        return None
    first, last = points[0], points[-1]
    grown = last["per_conn_kib"] * last["connections"] - first["per_conn_kib"] * first["connections"]
    return grown / (last["connections"] - first["connections"])


def measures(label: str, cost) -> List[tuple]:
    """What is compared for a scenario: (label, unit, row -> number)."""
    if not label.startswith("idle"):
        return [(label, "µs CPU/deliv", cost)]
    return [(label, "KiB/conn", cost), (label + ", each added", "KiB/conn", added_conn_kib)]


def summarize(rows: List[dict], cost) -> List[dict]:
    """Per scenario: each build's runs, the pair ratios, the verdict."""
    groups: Dict[str, Dict[str, Dict[int, dict]]] = {}
    for row in rows:
        build = row["case"].get("build")
        if build:
            groups.setdefault(row["label"], {A: {}, B: {}})[build][row["case"]["rep"]] = row
    out = []
    for scenario, runs in groups.items():
        every = list(runs[A].values()) + list(runs[B].values())
        for label, unit, measure in measures(scenario, cost):
            out.append(compare_one(label, unit, runs, every, measure))
    return out


def compare_one(label: str, unit: str, runs: Dict[str, Dict[int, dict]], every: List[dict], measure) -> dict:
    values = {b: {rep: measure(r) for rep, r in runs[b].items() if measure(r) and not r.get("loss")} for b in (A, B)}
    pairs = [values[B][rep] / values[A][rep] for rep in sorted(values[A]) if rep in values[B]]
    item = {
        "scenario": label,
        "unit": unit,
        "runs": len(every),
        "failed": sum(1 for r in every if r.get("loss") or r.get("skipped") or not measure(r)),
        "other_cpu_max": max((r.get("other_cpu_util") or 0) for r in every),
        "pairs": pairs,
    }
    for b in (A, B):
        found = list(values[b].values())
        item[b] = median(found) if found else None
        item[f"{b}_spread"] = spread(found) if found else None
    if item[A] and item[B] and pairs:
        item["ratio"] = item[B] / item[A]
        item["verdict"] = verdict(item["ratio"], min(pairs), max(pairs))
    else:
        item["ratio"], item["verdict"] = None, "no result: see the runs above"
    return item


def percent(share: Optional[float]) -> str:
    return "-" if share is None else f"{share * 100:.1f}%"


def table(summary: List[dict], fmt, render, markdown: bool = False) -> str:
    head = ["scenario", "unit", "A median", "B median", "B/A", "pairs B/A min-max", "A runs spread",
            "B runs spread", "other CPU max", "verdict"]
    body = []
    for s in summary:
        pairs = s["pairs"]
        body.append([
            s["scenario"], s["unit"], fmt(s[A], ".3f"), fmt(s[B], ".3f"), fmt(s["ratio"], ".3f"),
            f"{min(pairs):.3f}-{max(pairs):.3f} ({len(pairs)})" if pairs else "-",
            percent(s["A_spread"]), percent(s["B_spread"]),
            f"{s['other_cpu_max'] * 100:.0f}%", s["verdict"] + (f", {s['failed']} run(s) failed" if s["failed"] else ""),
        ])
    return render(head, body, markdown)


def report(summary: List[dict], found: Dict[str, Build], repeat: int, fmt, render, markdown: bool = False) -> str:
    lines = [
        f"Before/after: {found[A].describe()}; {found[B].describe()}.",
        f"Each scenario ran {repeat} pair(s), interleaved A B, B A, ...; B/A is the ratio of the medians "
        f"(above 1: B costs more); 'pairs' is the range of B/A over the back-to-back pairs; "
        f"'spread' is (max - min) / median of one build's runs; 'other CPU' is the most any other process "
        f"used during a measured window (share of a core).",
        "",
        table(summary, fmt, render, markdown),
    ]
    worse = [s["scenario"] for s in summary if s["verdict"] == "WORSE"]
    unsure = [s["scenario"] for s in summary if s["verdict"].startswith("worse?")]
    if worse:
        lines.append(f"\nB is more than {LIMIT - 1:.0%} worse than A, in every pair, in: " + "; ".join(worse))
    if unsure:
        lines.append(f"\nB's median is more than {LIMIT - 1:.0%} worse, but not in every pair (noise?): "
                     + "; ".join(unsure) + ". Run those again with more --repeat.")
    if not worse and not unsure:
        lines.append(f"\nNo scenario is more than {LIMIT - 1:.0%} worse in B.")
    return "\n".join(lines)
