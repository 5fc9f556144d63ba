"""
chatd benchmarks: chatd against reference servers, in the same run.

    python bench/run.py                     # = --standard (make bench)
    python bench/run.py --standard          # the standard set, about 10 minutes
    python bench/run.py --smoke             # 5-second check that the generator works
    python bench/run.py fanout --members 100,1000,5000 --fe lines,ws --load flat,50
    python bench/run.py mixed --members 999 --load flat,50
    python bench/run.py rooms --rooms 500 --per-room 10 --load 500 --fe lines,ws
    python bench/run.py fanout --fe irc --load flat,50   # chatd's IRC front end against ngIRCd
    python bench/run.py idle --conns 1000,5000,10000 --fe lines,ws
    python bench/run.py history --members 1000 --fe lines,ws --load flat
    python bench/run.py cluster --members 1000 --fe lines,ws --nodes 1,2   # chatd on Redis against one SQLite node
    python bench/run.py --profile           # py-spy on chatd, saturated lines and WS fan-out
    python bench/run.py --compare fe6b1c4   # before/after: chatd at a revision against the installed one
    python bench/run.py --quick --compare HEAD~5 --to HEAD --repeat 5   # two revisions, the quick set

Each measurement starts the server fresh on 127.0.0.1, drives it from the
Node.js load generator (bench/node/loadgen.js), reads the server's CPU and
memory from /proc, and kills it.  --load takes "flat" (saturated: a window
of messages in flight) or a number of messages per second in total.
--compare runs the chosen scenarios against two chatd builds, interleaved
(bench/compare.py), instead of against the reference servers.
bench/README.md explains every number printed.
"""

import argparse
import importlib.util
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cluster_servers as cluster_bench  # noqa: E402
import compare  # noqa: E402
from servers import Chatd, NgIRCd, Reference  # noqa: E402

BENCH = Path(__file__).resolve().parent
NODE_DIR = BENCH / "node"
RESULTS = BENCH / "results"

#: Which servers speak which front end, and whether they send a room
#: message back to its sender (the generator must know who should get what).
#: Front end "irc" is IRC (NICK, USER, JOIN, PRIVMSG) on the server's IRC
#: port, whatever the server's dialect: chatd's [irc] listener and ngIRCd.
SERVERS = {
    "chatd": {"fes": ("lines", "ws", "poll", "irc"), "dialect": "chatd",
              "echo": {"lines": False, "ws": True, "poll": True, "irc": False}},
    "lines_broadcast": {"fes": ("lines",), "dialect": "ref", "echo": {"lines": False}},
    "autobahn_broadcast": {"fes": ("ws",), "dialect": "ref", "echo": {"ws": True}},
    "websockets_broadcast": {"fes": ("ws",), "dialect": "ref", "echo": {"ws": True}},
    "ngircd": {"fes": ("irc",), "dialect": "irc", "echo": {"irc": False}},
}
#: The references of each front end.  ngIRCd speaks IRC only: its runs are
#: IRC runs, and the one run of a shape is the reference for chatd's lines
#: and IRC rows of that shape alike.
REFERENCES = {"lines": ("lines_broadcast", "ngircd"), "ws": ("autobahn_broadcast", "websockets_broadcast"),
              "poll": (), "irc": ("ngircd",)}
FE_NAMES = {"lines": "lines", "ws": "WS", "poll": "poll", "irc": "IRC", "mixed": "mixed"}

#: Generator CPU (share of a core) above which a run is flagged: the
#: generator may have been what limited it.
GEN_BUSY = 0.85
#: Other processes' CPU (share of a core) above which a run is flagged noisy.
NOISY = 0.25

#: Deliveries in flight that a saturated ("flat") run aims for.
FLAT_INFLIGHT = 100000


@dataclass
class Case:
    scenario: str
    server: str
    fe: str  # lines | ws | poll | mixed (receivers spread over all three)
    rooms: int = 1
    per_room: int = 1000
    load: str = "flat"  # flat | idle | messages per second
    senders: int = 4
    db: str = "file"  # chatd's store: file (SQLite) | memory
    checkpoints: List[int] = field(default_factory=list)
    note: str = ""
    build: str = ""  # --compare: which chatd build (A or B)
    nodes: int = 0  # chatd as a cluster of this many nodes on one Redis (bench/cluster_servers.py); 0: one node
    rep: int = 0  # --compare: which repetition

    @property
    def members(self) -> int:
        return self.rooms * self.per_room

    @property
    def key(self) -> tuple:
        """What a chatd row and its reference rows share."""
        scenario = self.scenario if self.scenario not in ("history", "cluster") else "fanout"
        return (scenario, self.fe, self.rooms, self.per_room, self.load, tuple(self.checkpoints))

    def label(self) -> str:
        if self.scenario == "idle":
            return f"idle {self.fe} {'/'.join(str(c) for c in self.checkpoints)} conns"
        load = "flat out" if self.load == "flat" else f"{self.load} msg/s"
        shape = f"{self.rooms}x{self.per_room}" if self.rooms > 1 else f"{self.per_room}"
        fe = "lines+WS+poll" if self.fe == "mixed" else FE_NAMES[self.fe]
        # Each node count its own row (--compare groups runs by label).
        nodes = f", {self.nodes} node{'s' if self.nodes > 1 else ''}" if self.nodes else ""
        return f"{self.scenario} {fe} {shape} {load}{nodes}"


# ---------------------------------------------------------------- plumbing


def raise_nofile(want: int = 65536) -> int:
    """Raise RLIMIT_NOFILE (inherited by the servers and the generator)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for limit in (want, max(hard, 20000), hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, limit), max(hard, limit)))
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def ensure_node(need_ws_package: bool) -> str:
    node = shutil.which("node")
    if node is None:
        raise SystemExit("bench: Node.js (node) is not installed; the load generator needs it (apt-get install nodejs)")
    if need_ws_package and not (NODE_DIR / "node_modules" / "ws").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("bench: npm is not installed; it installs the generator's one package (ws)")
        print("bench: installing the load generator's packages (npm ci in bench/node)", flush=True)
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=NODE_DIR, check=True)
    return node


def machine() -> Dict[str, str]:
    model = "unknown"
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                model = row.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    git = ["git", "-C", str(BENCH.parent)]
    commit = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(git + ["status", "--porcelain", "--untracked-files=no", "--", "chatd"],
                           capture_output=True, text=True).stdout.strip()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": node,
        "commit": (commit or "unknown") + (" with uncommitted changes to chatd/" if dirty else ""),
    }


def start_server(case: Case, builds: Dict[str, "compare.Build"]):
    if case.server == "chatd" and case.nodes:
        server = cluster_bench.ChatdCluster(case.nodes, twistd=builds[case.build].twistd if case.build else None)
    elif case.server == "chatd":
        server = Chatd(db=case.db, twistd=builds[case.build].twistd if case.build else None)
    elif case.server == "ngircd":
        server = NgIRCd()
    else:
        server = Reference(case.server)
    try:
        return server.start()
    except BaseException:
        server.cleanup()
        raise


def flat_window(receivers_per_message: int, inflight: int = FLAT_INFLIGHT) -> int:
    return max(8, min(300, round(inflight / max(1, receivers_per_message))))


def spec_for(case: Case, server, args) -> dict:
    info = SERVERS[case.server]
    fes = ["lines", "ws", "poll"] if case.fe == "mixed" else [case.fe]
    idle = case.scenario == "idle"
    dedicated = case.scenario in ("fanout", "mixed", "history", "cluster")
    return {
        "name": case.label(),
        "dialect": info["dialect"],
        "echo": info["echo"],
        "server_pid": server.pid,
        # A cluster: clients spread over its nodes, CPU summed over the nodes and Redis.
        "server_pids": getattr(server, "pids", [server.pid]),
        "nodes": getattr(server, "nodes", None),
        "lines_port": server.lines_port,
        "web_port": server.web_port,
        "ws_port": server.ws_port,
        "irc_port": getattr(server, "irc_port", None),
        "rooms": case.rooms,
        "per_room": case.per_room,
        "room_prefix": "#bench",
        "receiver_fes": fes,
        "sender_mode": "dedicated" if dedicated else "members",
        "senders": case.senders,
        # Senders talk over lines and WebSocket; a long-poll sender would
        # queue its commands one HTTP request after another in the
        # generator, which is latency the server did not cause.
        "sender_fes": [fe for fe in fes if fe != "poll"] or fes,
        "mode": "idle" if idle else ("flat" if case.load == "flat" else "rate"),
        "rate": None if case.load in ("flat", "idle") else float(case.load),
        # A long-poll session keeps at most [web] backlog (1000) events.
        "window": min(flat_window(case.per_room, args.inflight), 400 if "poll" in fes else 10**6),
        "checkpoints": case.checkpoints,
        "msg_bytes": args.msg_bytes,
        "warmup_s": args.warmup,
        "measure_s": args.seconds,
        "drain_s": 10.0,
        "stall_s": 5.0,
        "concurrency": 64,
        "ws_client": args.ws_client,
    }


class Profiler:
    """py-spy on the server for the measured window (--profile only)."""

    def __init__(self, pid: int, seconds: float, out: Path) -> None:
        self.pid, self.seconds, self.out = pid, seconds, out
        self.proc: Optional[subprocess.Popen] = None

    def start(self) -> None:
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if not os.path.exists(spy):
            print("bench: py-spy is not installed (pip install py-spy); not profiling", flush=True)
            return
        self.proc = subprocess.Popen(
            [spy, "record", "--pid", str(self.pid), "--duration", str(max(1, int(self.seconds))),
             "--rate", "250", "--nonblocking", "--format", "raw", "--output", str(self.out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def wait(self) -> Optional[str]:
        if self.proc is None:
            return None
        _, err = self.proc.communicate(timeout=60)
        if self.proc.returncode != 0:
            print(f"bench: py-spy failed: {err.strip()[-500:]}", flush=True)
            return None
        return str(self.out)


def run_case(case: Case, args, available: Dict[str, Dict[str, str]]) -> dict:
    """Start the server, drive it, collect the numbers, kill it."""
    row = {"case": asdict(case), "label": case.label()}
    needed = ["lines", "ws", "poll"] if case.fe == "mixed" else [case.fe]
    if case.server == "chatd":
        found = available[server_build(row["case"])]
        missing = [f"{fe}: {found[fe]}" for fe in needed if found.get(fe) != "ok"]
        if missing:
            row["skipped"] = "front end not available (" + "; ".join(missing) + ")"
            return row
        if case.nodes and found.get("cluster") != "ok":
            row["skipped"] = f"cluster not available ({found.get('cluster')})"
            return row
    if case.server == "ngircd" and not NgIRCd.available():
        row["skipped"] = "ngIRCd not installed (apt-get install ngircd)"
        return row
    if case.server == "websockets_broadcast" and importlib.util.find_spec("websockets") is None:
        row["skipped"] = "Python websockets not installed (pip install '.[test]', as make bench does)"
        return row
    again = f" (pair {case.rep + 1}/{args.repeat})" if case.build else ""
    print(f"--- {server_name(row['case'])}: {case.label()}{again}", flush=True)
    server = None
    spec_file = None
    try:
        server = start_server(case, args.builds)
        spec = spec_for(case, server, args)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(spec, f)
            spec_file = f.name
        node_flags = os.environ.get("BENCH_NODE_FLAGS", "").split()  # e.g. --cpu-prof, to profile the generator
        gen = subprocess.Popen([args.node, *node_flags, str(NODE_DIR / "loadgen.js"), spec_file], stdout=subprocess.PIPE,
                               stdin=subprocess.PIPE, stderr=None if args.verbose else subprocess.PIPE, text=True)
        if gen.stderr is not None:
            errlines: List[str] = []
            threading.Thread(target=lambda: errlines.extend(gen.stderr), daemon=True).start()
        profiler = None
        result = None
        deadline = time.monotonic() + args.case_timeout
        timer = threading.Timer(args.case_timeout, gen.kill)
        timer.start()
        try:
            for out in gen.stdout:
                if out.startswith("EVENT measure_start") and args.profile_dir:
                    name = f"{case.server}-{case.scenario}-{case.fe}-{case.rooms}x{case.per_room}-{case.load}-{case.db}"
                    name += f"-{case.nodes}nodes" if case.nodes else ""
                    profiler = Profiler(server.pid, args.seconds, Path(args.profile_dir) / f"{name}.raw")
                    profiler.start()
                elif out.startswith("RESULT "):
                    result = json.loads(out[7:])
                    break
        finally:
            timer.cancel()
        row["server_hwm_kib"] = server.hwm_kib()
        server.kill()
        try:
            gen.stdin.close()
            gen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            gen.kill()
        if result is None:
            why = "timed out" if time.monotonic() >= deadline else f"exited with {gen.returncode}"
            row["aborted"] = f"load generator {why} without a result"
            if gen.stderr is not None:
                row["aborted"] += ":\n" + "".join(errlines[-20:])
        else:
            row.update(result)
            if result.get("server_hwm_kib"):
                row["server_hwm_kib"] = result["server_hwm_kib"]
        if profiler is not None:
            row["profile"] = profiler.wait()
        if row.get("failures") or row.get("aborted"):
            tail = server.log()[-2000:]
            row["server_log_tail"] = tail
    finally:
        if server is not None:
            server.cleanup()
        if spec_file:
            os.unlink(spec_file)
    report_loss(row)
    return row


def report_loss(row: dict) -> None:
    """Say it loudly when a message did not reach everyone it should have."""
    lost = row.get("lost_deliveries") or 0
    problems = []
    if lost:
        problems.append(f"{row['lost_messages']} messages lost ({lost} deliveries missing); "
                        f"{row.get('receivers_short')} receivers short, worst {row.get('worst_receiver')}")
    if row.get("duplicates"):
        problems.append(f"{row['duplicates']} duplicate deliveries")
    if row.get("unexpected"):
        problems.append(f"{row['unexpected']} deliveries of unknown messages")
    if row.get("stalled"):
        problems.append("the run stalled: no message completed for 5 s")
    if row.get("failures"):
        problems.append(f"{row.get('lost_connections', 0)} connections lost; first failures: " + "; ".join(row["failures"][:3]))
    if row.get("aborted"):
        problems.append(row["aborted"])
    if problems:
        bar = "!" * 78
        print(f"\n{bar}\n!!! {row['case']['server']} {row['label']}: MESSAGE LOSS OR FAILURE\n"
              + "".join(f"!!!   {p}\n" for p in problems) + f"{bar}\n", flush=True)
        row["loss"] = True


# ---------------------------------------------------------------- scenarios


#: ngIRCd answers every JOIN with the full NAMES list and its main loop
#: visits every connection: a 5,000-member room takes minutes to fill, and
#: 10,000 connections take 90 s to register.  It is left out beyond these.
NGIRCD_MAX_ROOM = 1000
NGIRCD_MAX_CONNS = 5000


def servers_for(fe: str, args, per_room: int = 0, conns: int = 0) -> List[str]:
    names = ["chatd"]
    if fe in REFERENCES and not args.no_references:
        names += [r for r in REFERENCES[fe]
                  if r != "ngircd" or not (args.no_ngircd or per_room > NGIRCD_MAX_ROOM or conns > NGIRCD_MAX_CONNS)]
    return names


def fe_of(server: str, fe: str) -> str:
    """The front end a server is driven over: ngIRCd only ever over IRC."""
    return fe if fe in SERVERS[server]["fes"] else SERVERS[server]["fes"][0]


def unique(cases: List[Case]) -> List[Case]:
    """Each run once: ngIRCd's IRC run is the reference of both chatd lines and chatd IRC."""
    out: List[Case] = []
    for case in cases:
        if case not in out:
            out.append(case)
    return out


def fanout(members, fes, loads, args, scenario="fanout") -> List[Case]:
    return unique([Case(scenario, s, fe_of(s, fe), per_room=n, load=load, senders=args.senders)
                   for n in members for load in loads for fe in fes for s in servers_for(fe, args, n)])


def mixed(members, loads, args) -> List[Case]:
    return [Case("mixed", "chatd", "mixed", per_room=n, load=load, senders=max(3, args.senders))
            for n in members for load in loads]


def rooms(nrooms, per_room, loads, fes, args) -> List[Case]:
    return unique([Case("rooms", s, fe_of(s, fe), rooms=nrooms, per_room=per_room, load=load)
                   for load in loads for fe in fes for s in servers_for(fe, args, conns=nrooms * per_room)])


def idle(conns, fes, args) -> List[Case]:
    per_room = 10
    top = max(conns)
    return unique([Case("idle", s, fe_of(s, fe), rooms=top // per_room, per_room=per_room, load="idle",
                        checkpoints=sorted(conns))
                   for fe in fes for s in servers_for(fe, args, per_room, top)])


def history(members, fes, loads, args) -> List[Case]:
    return [Case("history", "chatd", fe, per_room=n, load=load, senders=args.senders, db=db,
                 note="SQLite file" if db == "file" else ":memory:")
            for n in members for load in loads for fe in fes for db in ("file", "memory")]


def cluster(members, fes, loads, args, nodes=(1, 2), baseline: bool = True) -> List[Case]:
    """
    chatd on Redis with 1 and 2 nodes on this host (clients spread over
    them), and one SQLite node as the baseline (leave it out where the
    fanout rows of the same run are the baseline).
    """
    counts = ([0] if baseline else []) + [n for n in nodes if n > 0]
    return [Case("cluster", "chatd", fe, per_room=n, load=load, senders=args.senders, nodes=k,
                 note=f"{k} node{'s' if k > 1 else ''} on Redis" if k else "1 node on SQLite")
            for n in members for load in loads for fe in fes for k in counts]


def standard(args) -> List[Case]:
    """
    The standard set (make bench): 47 runs (4 of them a cluster), about 10
    minutes on 2 cores.  IRC in the three cases that tell most (the
    1,000-member room saturated and at 50 msg/s, the 500 small rooms),
    each against the ngIRCd run that is also the lines rows' reference.
    """
    cases: List[Case] = []
    cases += fanout([1000], ["lines", "irc", "ws"], ["flat", "50"], args)
    cases += fanout([100, 5000], ["lines", "ws"], ["flat"], args)
    # A long-poll delivery against a WebSocket one, as the mixed room's third of pollers (issue 17).
    cases += [c for c in fanout([333], ["poll", "ws"], ["50"], args) if c.server == "chatd"]
    cases += mixed([999], ["flat", "50"], args)
    cases += rooms(500, 10, ["1000"], ["lines", "irc", "ws"], args)
    cases += history([1000], ["lines", "ws"], ["flat"], args)
    cases += idle([1000, 5000, 10000], ["lines", "ws"], args)
    cases += cluster([1000], ["lines", "ws"], ["flat"], args, baseline=False)  # the fanout rows are the baseline
    return [c for c in cases if not (c.scenario == "history" and c.db == "file")]  # fanout rows are the SQLite ones


def quick(args) -> List[Case]:
    """A quick subset (about a third of the standard set's time): the 1,000-member
    fan-out, the busy mixed room and the many small rooms."""
    cases: List[Case] = []
    cases += fanout([1000], ["lines", "ws"], ["flat", "50"], args)
    cases += mixed([999], ["flat"], args)
    cases += rooms(500, 10, ["1000"], ["lines", "ws"], args)
    return cases


# ---------------------------------------------------------------- report


def fmt(v, spec: str, none: str = "-") -> str:
    return none if v is None else format(v, spec)


def render(head: List[str], body: List[list], markdown: bool) -> str:
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(str(x) for x in r) + " |" for r in body]
        return "\n".join(out)
    widths = [max(len(str(r[i])) for r in [head] + body) for i in range(len(head))]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(head, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip() for r in body]
    return "\n".join(lines)


def server_build(c: dict) -> str:
    """The server, and which build of it under --compare ("chatd A")."""
    return c["server"] + (f" {c['build']}" if c.get("build") else "")


def server_name(c: dict) -> str:
    if c.get("nodes"):
        return server_build(c) + f" {c['nodes']} node{'s' if c['nodes'] > 1 else ''}+Redis"
    return server_build(c) + (" :memory:" if c["server"] == "chatd" and c["db"] == "memory" else "")


def loss_cell(row: dict) -> str:
    if not row.get("loss"):
        return "0"
    return f"LOST {row['lost_deliveries']}" if row.get("lost_deliveries") else "FAILED"


def table(rows: List[dict], markdown: bool = False) -> str:
    """The load runs, then the idle runs, then mixed latency by front end."""
    ratios = ratio_map(rows)
    out = []
    head = ["scenario", "server", "deliv/s", "µs CPU/deliv", "srv CPU", "p50 ms", "p99 ms", "max ms",
            "peak RSS MiB", "gen CPU", "gen µs/deliv", "other CPU", "loss", "vs ref (µs CPU/deliv)"]
    body = []
    for row in rows:
        c = row["case"]
        if c["scenario"] == "idle":
            continue
        if row.get("skipped"):
            body.append([row["label"], server_name(c), row["skipped"]] + [""] * (len(head) - 3))
            continue
        body.append([
            row["label"], server_name(c),
            fmt(row.get("deliveries_per_s"), ",.0f"),
            fmt(row.get("server_us_per_delivery"), ".2f"),
            fmt((row.get("server_cpu_util") or 0) * 100, ".0f") + "%",
            fmt(row.get("lat_p50_ms"), ".2f"), fmt(row.get("lat_p99_ms"), ".2f"), fmt(row.get("lat_max_ms"), ".1f"),
            fmt((row.get("server_hwm_kib") or 0) / 1024, ".0f"),
            fmt((row.get("gen_cpu_util") or 0) * 100, ".0f") + "%" + (" *" if (row.get("gen_cpu_util") or 0) > GEN_BUSY else ""),
            fmt(row.get("gen_us_per_delivery"), ".2f"),
            fmt((row.get("other_cpu_util") or 0) * 100, ".0f") + "%" + (" !" if (row.get("other_cpu_util") or 0) > NOISY else ""),
            loss_cell(row), ratios.get(id(row), ""),
        ])
    if body:
        out.append(render(head, body, markdown))

    idle = [r for r in rows if r["case"]["scenario"] == "idle"]
    if idle:
        points = sorted({p["connections"] for r in idle for p in (r.get("points") or [])})
        head = ["idle (rooms of 10)", "server", "RSS before MiB"] + [f"KiB/conn at {n}" for n in points] + \
               ["RSS at end MiB", "loss", "vs ref (KiB/conn)"]
        body = []
        for row in idle:
            c = row["case"]
            if row.get("skipped"):
                body.append([row["label"], server_name(c), row["skipped"]] + [""] * (len(head) - 3))
                continue
            per = {p["connections"]: p["per_conn_kib"] for p in (row.get("points") or [])}
            body.append([f"idle {FE_NAMES[c['fe']]}", server_name(c), fmt((row.get("base_rss_kib") or 0) / 1024, ".1f")]
                        + [fmt(per.get(n), ".1f") for n in points]
                        + [fmt((row.get("server_rss_kib") or 0) / 1024, ".0f"), loss_cell(row), ratios.get(id(row), "")])
        out.append(render(head, body, markdown))

    mixed = [r for r in rows if r.get("by_fe")]
    if mixed:
        head = ["mixed: latency by front end", "lines p50/p99 ms", "WS p50/p99 ms", "poll p50/p99 ms"]
        body = []
        for row in mixed:
            cells = []
            for fe in ("lines", "ws", "poll"):
                lat = row["by_fe"].get(fe) or {}
                cells.append(f"{fmt(lat.get('p50_ms'), '.2f')} / {fmt(lat.get('p99_ms'), '.2f')}")
            body.append([row["label"]] + cells)
        out.append(render(head, body, markdown))
    return "\n\n".join(out)


def cost(row: dict) -> Optional[float]:
    if row.get("skipped") or row.get("aborted"):
        return None
    if row["case"]["scenario"] == "idle":
        pts = row.get("points") or []
        return pts[-1]["per_conn_kib"] if pts else None
    return row.get("server_us_per_delivery")


def ratio_map(rows: List[dict]) -> Dict[int, str]:
    """chatd row -> "1.9x lines_broadcast, 1.2x ngircd" (its cost / the reference's)."""
    out: Dict[int, str] = {}
    refs = [r for r in rows if r["case"]["server"] != "chatd"]
    for row in rows:
        if row["case"]["server"] != "chatd" or cost(row) is None:
            continue
        key = Case(**row["case"]).key
        parts = []
        for ref in refs:
            if refers_to(ref["case"], key) and cost(ref):
                parts.append(f"{cost(row) / cost(ref):.2f}x {ref['case']['server']}")
        if row["case"].get("nodes"):
            parts += cluster_ratios(row, rows, key)
        if row["case"]["fe"] == "poll":
            ws = [r for r in rows if r["case"]["server"] == "chatd" and cost(r) and not r["case"].get("build")
                  and Case(**r["case"]).key == key[:1] + ("ws",) + key[2:]]
            if ws:
                parts.append(f"{cost(row) / cost(ws[0]):.2f}x a WebSocket delivery")
        if row["case"]["scenario"] == "history" and row["case"]["db"] == "memory":
            for other in rows:
                oc = other["case"]
                if (other is not row and oc["server"] == "chatd" and oc["db"] == "file" and cost(other)
                        and Case(**oc).key == key):
                    parts.append(f"SQLite costs {cost(other) / cost(row):.2f}x :memory:")
                    break
        out[id(row)] = ", ".join(parts)
    return out


def refers_to(ref: dict, key: tuple) -> bool:
    """Whether a reference run is the reference of chatd's rows with C{key} (ngIRCd's IRC runs: lines and IRC)."""
    ref_key = Case(**ref).key
    if ref_key == key:
        return True
    fe = key[1]
    return ref_key[:1] + ref_key[2:] == key[:1] + key[2:] and fe in REFERENCES and ref["server"] in REFERENCES[fe]


def cluster_ratios(row: dict, rows: List[dict], key: tuple) -> List[str]:
    """
    A cluster row against one SQLite node in the same run (CPU per
    delivery, every node and Redis counted), and against the cluster of
    one node (deliveries per second: what a second node adds).
    """
    parts = []
    same = [r for r in rows if r is not row and r["case"]["server"] == "chatd" and not r["case"].get("build")
            and Case(**r["case"]).key == key and cost(r)]
    single = [r for r in same if not r["case"].get("nodes") and r["case"]["db"] == "file"]
    if single:
        parts.append(f"{cost(row) / cost(single[0]):.2f}x one SQLite node")
    one = [r for r in same if r["case"].get("nodes") == 1 and r.get("deliveries_per_s")]
    if row["case"]["nodes"] > 1 and one and row.get("deliveries_per_s"):
        parts.append(f"deliv/s {row['deliveries_per_s'] / one[0]['deliveries_per_s']:.2f}x 1 node on Redis")
    each = row.get("server_cpu_each_s")
    if each and sum(each) > 0:  # the nodes, then Redis
        parts.append(f"Redis {each[-1] / sum(each):.0%} of the CPU")
    return parts


def generator_summary(rows: List[dict]) -> str:
    """The generator's own ceiling per front end, from the saturated runs."""
    out = []
    for fe in ("lines", "irc", "ws"):
        runs = [r for r in rows if r["case"]["load"] == "flat" and r["case"]["fe"] == fe
                and r.get("gen_us_per_delivery") and r.get("deliveries_per_s")]
        if not runs:
            continue
        cheapest = min(r["gen_us_per_delivery"] for r in runs)
        dearest = max(runs, key=lambda r: r["gen_us_per_delivery"])
        fastest = max(runs, key=lambda r: r["deliveries_per_s"])
        out.append(
            f"Load generator, {FE_NAMES[fe]}: {cheapest:.2f} to {dearest['gen_us_per_delivery']:.2f} µs of its CPU per delivery "
            f"in saturated runs (dearest: {dearest['case']['server']} {dearest['label']}), so one core of it carries "
            f"{1e6 / dearest['gen_us_per_delivery']:,.0f} to {1e6 / cheapest:,.0f} deliveries/s; the fastest server here "
            f"delivered {fastest['deliveries_per_s']:,.0f}/s ({fastest['case']['server']} {fastest['label']}).")
    if out:
        out.append("At fixed rates each delivery is its own read event and costs the generator more (gen µs/deliv); "
                   "gen CPU shows how much of a core it used in every run.")
    return "\n".join(out)


def report(rows: List[dict], info: Dict[str, str], elapsed: float) -> str:
    lines = [
        f"chatd benchmark, {info['date']}: {info['nproc']} cores, {info['cpu']}, kernel {info['kernel']}, "
        f"Python {info['python']}, Node.js {info['node']}; chatd at {info['commit']}; {elapsed:.0f} s",
        "",
        table(rows),
        "",
        generator_summary(rows),
    ]
    if any((r.get("gen_cpu_util") or 0) > GEN_BUSY for r in rows):
        lines.append(f"* the generator used over {GEN_BUSY:.0%} of a core: it may have limited that run's throughput "
                     "(its CPU per delivery stays valid when srv CPU is near 100%).")
    if any((r.get("other_cpu_util") or 0) > NOISY for r in rows):
        lines.append(f"! other processes used over {NOISY:.0%} of a core during that run: its numbers are noisy; run again on a quiet machine.")
    lost = [r for r in rows if r.get("loss")]
    if lost:
        lines.append(f"!!! {len(lost)} run(s) LOST MESSAGES OR FAILED: " + "; ".join(f"{r['case']['server']} {r['label']}" for r in lost))
    else:
        lines.append("No message was lost in any run.")
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def csv_ints(text: str) -> List[int]:
    return [int(x) for x in text.split(",") if x]


def csv_words(text: str) -> List[str]:
    return [x for x in text.split(",") if x]


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="chatd benchmarks against reference servers (see bench/README.md)",
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("scenario", nargs="?", choices=["fanout", "mixed", "rooms", "idle", "history", "cluster"],
                   help="one scenario (default: --standard)")
    p.add_argument("--standard", action="store_true", help="the standard set (the default)")
    p.add_argument("--quick", action="store_true",
                   help="a quick subset: fanout 1000 lines/WS flat and 50 msg/s, mixed flat, rooms lines/WS")
    p.add_argument("--compare", metavar="BASE", default=None,
                   help="before/after: run chatd build A (a git revision, built from git archive into "
                        "bench/.venvs/, or a venv directory) against build B (--to), interleaved, "
                        "instead of the reference servers")
    p.add_argument("--to", metavar="NEW", default=None,
                   help="with --compare: build B, a git revision or a venv directory "
                        "(default: the chatd installed beside this Python)")
    p.add_argument("--repeat", type=int, default=3, help="with --compare: A/B pairs per scenario (3)")
    p.add_argument("--smoke", action="store_true", help="5-second check: the generator works, nothing is lost")
    p.add_argument("--profile", action="store_true",
                   help="py-spy on chatd: alone, the 1000-member lines and WS fan-out, flat and 50 msg/s; "
                        "with a scenario, that scenario's chatd runs")
    p.add_argument("--members", type=csv_ints, default=None, help="members per room for fanout/mixed/history (1000)")
    p.add_argument("--fe", type=csv_words, default=None,
                   help="front ends: lines,ws,poll,irc (lines,ws); irc is chatd's [irc] port against ngIRCd")
    p.add_argument("--load", type=csv_words, default=None,
                   help="flat (saturated) and/or messages per second in total, e.g. flat,50")
    p.add_argument("--rooms", type=int, default=500, help="rooms for the rooms scenario (500)")
    p.add_argument("--per-room", type=int, default=10, help="members per room for the rooms scenario (10)")
    p.add_argument("--conns", type=csv_ints, default=[1000, 5000, 10000], help="idle: connection counts")
    p.add_argument("--nodes", type=csv_ints, default=[1, 2],
                   help="cluster: node counts on Redis, each against one SQLite node (1,2)")
    p.add_argument("--senders", type=int, default=4, help="senders in fan-out scenarios (4)")
    p.add_argument("--seconds", type=float, default=5.0, help="measured window of each run (5)")
    p.add_argument("--warmup", type=float, default=1.0, help="unmeasured sending before the window (1)")
    p.add_argument("--inflight", type=int, default=FLAT_INFLIGHT,
                   help=f"flat runs: deliveries in flight to aim for ({FLAT_INFLIGHT})")
    p.add_argument("--ws-client", choices=["raw", "ws"], default="raw",
                   help="the generator's WebSocket client: its own lean one (raw) or the ws package (ws)")
    p.add_argument("--msg-bytes", type=int, default=64, help="message text size in bytes (64)")
    p.add_argument("--no-references", action="store_true", help="measure chatd only")
    p.add_argument("--no-ngircd", action="store_true", help="leave out ngIRCd even if it is installed")
    p.add_argument("--case-timeout", type=float, default=240.0, help="give up on one run after this long (240)")
    p.add_argument("--json", default=str(RESULTS / "latest.json"), help="where to write the results")
    p.add_argument("--markdown", default=None, help="also write the table as Markdown to this file")
    p.add_argument("--verbose", "-v", action="store_true", help="show the generator's progress")
    args = p.parse_args(argv)
    if args.to and not args.compare:
        p.error("--to needs --compare BASE")
    if args.compare and args.profile:
        p.error("--compare and --profile do not mix: profiled runs are slower")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if args.quick and (args.scenario or args.smoke):
        p.error("--quick is a set of its own: leave out the scenario and --smoke")
    unknown = [fe for fe in args.fe or [] if fe not in SERVERS["chatd"]["fes"]]
    if unknown:
        p.error(f"--fe {','.join(unknown)}: no such front end (lines, ws, poll, irc)")
    return args


def main(argv=None) -> int:
    args = parse(argv)
    started = time.monotonic()
    args.node = ensure_node(args.ws_client == "ws")
    nofile = raise_nofile()
    args.profile_dir = None
    if args.smoke:
        # Every generator path (lines, WebSocket, long-poll) when chatd
        # serves them all; lines alone until the web front ends answer.
        args.seconds, args.warmup = 3.0, 1.0
        cases = [Case("mixed", "chatd", "mixed", per_room=30, load="100", senders=2)]
    elif args.profile and args.scenario is None:
        cases = [Case("fanout", "chatd", fe, per_room=n, load=load, senders=args.senders)
                 for n in (args.members or [1000]) for load in (args.load or ["flat", "50"])
                 for fe in (args.fe or ["lines", "ws"])]
    elif args.quick:
        cases = quick(args)
    elif args.scenario is None:
        cases = standard(args)
    else:
        fes = args.fe or ["lines", "ws"]
        members = args.members or [1000]
        loads = args.load or (["1000"] if args.scenario == "rooms" else ["flat", "50"])
        cases = {
            "fanout": lambda: fanout(members, fes, loads, args),
            "mixed": lambda: mixed(members, loads, args),
            "rooms": lambda: rooms(args.rooms, args.per_room, loads, fes, args),
            "idle": lambda: idle(args.conns, fes, args),
            "history": lambda: history(members, fes, args.load or ["flat"], args),
            "cluster": lambda: cluster(members, fes, args.load or ["flat"], args, args.nodes),
        }[args.scenario]()
    if args.profile:  # chatd only, with py-spy attached
        args.profile_dir = str(RESULTS / "profile")
        os.makedirs(args.profile_dir, exist_ok=True)
        cases = [c for c in cases if c.server == "chatd"]
    if max((c.members + c.senders for c in cases), default=0) + 100 > nofile:
        print(f"bench: warning: RLIMIT_NOFILE is {nofile}; the biggest run needs more descriptors", flush=True)

    args.builds = compare.builds(args) if args.compare else {}
    available: Dict[str, Dict[str, str]] = {}
    if any(c.server == "chatd" for c in cases):
        for name, build in (args.builds.items() or [("", None)]):
            key = server_build({"server": "chatd", "build": name})
            probe = Chatd(db="memory", twistd=build and build.twistd)
            try:
                probe.start()
            except RuntimeError as e:
                probe.cleanup()
                what = f" ({build.what})" if build else ""
                raise SystemExit(f"bench: {key}{what} does not start, so nothing was measured: {e}")
            try:
                available[key] = probe.frontends()
            finally:
                probe.cleanup()
            if any(c.nodes for c in cases):
                available[key]["cluster"] = cluster_bench.probe(build and build.twistd) or "ok"
            for fe, state in available[key].items():
                if state != "ok" and fe == "cluster":
                    print(f"bench: {key} as a cluster: not available ({state}); the cluster runs are skipped", flush=True)
                elif state != "ok":
                    print(f"bench: {key} front end {fe}: front end not available ({state}); its runs are skipped", flush=True)
        if args.smoke and any(state != "ok" for found in available.values() for state in found.values()):
            cases = [Case("fanout", "chatd", "lines", per_room=20, load="100", senders=2)]
    if args.compare:
        cases = compare.interleave(cases, args.repeat)

    info = machine()
    if args.compare:
        info["commit"] = "two builds: " + "; ".join(b.describe() for b in args.builds.values())
    rows = []
    for case in cases:
        try:
            rows.append(run_case(case, args, available))
        except Exception as e:  # a server that would not start, say: report it, go on
            row = {"case": asdict(case), "label": case.label(), "aborted": f"{type(e).__name__}: {e}"}
            report_loss(row)
            rows.append(row)
    elapsed = time.monotonic() - started
    text = report(rows, info, elapsed)
    print("\n" + text, flush=True)
    results = {"machine": info, "elapsed_s": elapsed, "rows": rows}
    if args.compare:
        summary = compare.summarize(rows, cost)
        print("\n" + compare.report(summary, args.builds, args.repeat, fmt, render), flush=True)
        results.update(builds={name: asdict(b) for name, b in args.builds.items()}, comparison=summary)

    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(results, f, indent=1, default=str)
    if args.markdown:
        with open(args.markdown, "w") as f:
            if args.compare:
                f.write(compare.report(summary, args.builds, args.repeat, fmt, render, markdown=True) + "\n\n")
            f.write(table(rows, markdown=True) + "\n")
    if args.profile:
        import profile_summary

        for row in rows:
            if row.get("profile"):
                print(f"\n=== py-spy: chatd {row['label']} ({row.get('deliveries_per_s', 0):,.0f} deliveries/s) ===")
                print(profile_summary.summarize(row["profile"]))
    if args.smoke:
        ok = all(not row.get("loss") and not row.get("skipped") and (row.get("deliveries") or 0) > 0 for row in rows)
        print("smoke: OK" if ok else "smoke: FAILED", flush=True)
        return 0 if ok else 1
    return 1 if any(r.get("loss") for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
