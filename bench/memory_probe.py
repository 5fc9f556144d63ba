"""
Where an idle connection's memory goes, measured inside the real daemon.

    python bench/memory_probe.py --fe lines --conns 1000,5000,10000
    python bench/memory_probe.py --fe ws --conns 2000 --trace 1 --top 30
    python bench/memory_probe.py --fe lines --conns 10000 --trim --env MALLOC_ARENA_MAX=2

chatd runs as C{twistd -n chatd} with bench/servers.py's settings, inside a
small wrapper that, on C{SIGUSR1}, writes down what the process holds:
RSS and its anonymous and huge pages, glibc's heap (C{mallinfo2}),
pymalloc's arenas, SQLite's own allocator, the live Python objects by type
(count and shallow size) and, with C{--trace}, a tracemalloc snapshot.
This script opens the connections the way C{bench/run.py idle}'s clients
do (a nick, then C{/join} or the JSON C{nick} and C{join}; members of rooms
of 10, client i in room i mod N/10), waits until nothing more arrives, asks
for a reading at each checkpoint, and prints the growth per connection.

tracemalloc itself costs memory per allocation: read RSS from a run
without C{--trace}, and allocations by source line from one with it.
The kernel's socket buffers are not in RSS: C{/proc/net/sockstat} counts
them for both ends (client and server here share the machine).
"""

import argparse
import base64
import json
import os
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))


# -- inside the daemon ----------------------------------------------------------


def _reading(dumpdir: Path, label: str, trace: bool, trim: bool, atoms: bool) -> None:
    """Write what the process holds now to DUMPDIR/LABEL.json (and .tm)."""
    import ctypes
    import gc
    import tracemalloc

    libc = ctypes.CDLL("libc.so.6")
    gc.collect()
    if trim:
        libc.malloc_trim(0)
    out: Dict[str, object] = {"label": label}
    out["status"] = _proc_kv("/proc/self/status", ("VmRSS", "RssAnon", "RssFile", "VmData", "VmHWM"))
    out["smaps"] = _proc_kv("/proc/self/smaps_rollup", ("Rss", "Anonymous", "AnonHugePages", "Private_Dirty"))

    class Mallinfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                     "uordblks", "fordblks", "keepcost")]

    libc.mallinfo2.restype = Mallinfo2
    info = libc.mallinfo2()
    out["malloc"] = {"heap": info.arena // 1024, "in_use": info.uordblks // 1024, "free": info.fordblks // 1024,
                     "mmapped": info.hblkhd // 1024, "top_releasable": info.keepcost // 1024}
    try:
        sqlite = ctypes.CDLL("libsqlite3.so.0")
        sqlite.sqlite3_memory_used.restype = ctypes.c_int64
        out["sqlite_kib"] = sqlite.sqlite3_memory_used() // 1024
    except OSError:
        out["sqlite_kib"] = None
    out["pymalloc"] = _pymalloc()
    counts: Dict[str, List[int]] = {}
    samples: Dict[str, List[str]] = {}
    for obj in gc.get_objects():
        t = type(obj)
        key = f"{t.__module__}.{t.__qualname__}"
        entry = counts.setdefault(key, [0, 0])
        entry[0] += 1
        entry[1] += sys.getsizeof(obj, 0)
        if entry[0] == 100 and key.startswith(("chatd.", "twisted.", "autobahn.")) and hasattr(obj, "__dict__"):
            samples[key] = sorted(vars(obj))  # one instance's attributes (its dict is made for it)
    out["types"] = counts
    out["samples"] = samples
    out["sockstat"] = _sockstat()
    if atoms:
        out["atoms"] = _atoms()
    (dumpdir / f"{label}.json").write_text(json.dumps(out))
    if trace and tracemalloc.is_tracing():
        tracemalloc.take_snapshot().dump(str(dumpdir / f"{label}.tm"))
    (dumpdir / f"{label}.done").write_text("")


def _atoms() -> Dict[str, object]:
    """Objects gc does not track (str, bytes, int, float, atomic dicts and tuples), found through their holders."""
    import gc
    import re

    seen = set()
    kinds: Dict[str, int] = {}
    shapes: Dict[str, int] = {}
    for holder in gc.get_objects():
        for obj in gc.get_referents(holder):
            if gc.is_tracked(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            name = type(obj).__name__
            kinds[name] = kinds.get(name, 0) + 1
            if name in ("str", "bytes", "dict", "tuple"):
                text = re.sub(r"[0-9]+", "9", repr(obj)[:48])
                key = f"{name}<{type(holder).__name__}>:{text}"
                shapes[key] = shapes.get(key, 0) + 1
    top = sorted(shapes.items(), key=lambda kv: -kv[1])[:40]
    return {"kinds": kinds, "shapes": top}


def _proc_kv(path: str, keys) -> Dict[str, int]:
    found = {}
    try:
        for row in Path(path).read_text().splitlines():
            name, _, rest = row.partition(":")
            if name in keys:
                found[name] = int(rest.split()[0])
    except OSError:
        pass
    return found


def _pymalloc() -> Dict[str, int]:
    """pymalloc's arenas and blocks, from sys._debugmallocstats (it writes to fd 2)."""
    with tempfile.TemporaryFile() as f:
        saved = os.dup(2)
        os.dup2(f.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        f.seek(0)
        text = f.read().decode(errors="replace")
    keys = {"# arenas allocated current": "arenas", "# bytes in allocated blocks": "allocated",
            "# bytes in available blocks": "available", "Total": "total"}
    found = {}
    for row in text.splitlines():
        name, _, value = row.rpartition("=")
        name = name.strip()
        if name in keys and keys[name] not in found:  # the first Total: the arenas', not the arena map's
            found[keys[name]] = int(value.strip().replace(",", "")) // (1 if keys[name] == "arenas" else 1024)
    return found


def _sockstat() -> Dict[str, int]:
    """TCP sockets in use and the pages their buffers take (both ends, every process)."""
    for row in Path("/proc/net/sockstat").read_text().splitlines():
        if row.startswith("TCP:"):
            f = row.split()[1:]
            return {f[i]: int(f[i + 1]) for i in range(0, len(f), 2)}
    return {}


def serve(config: str, dumpdir: Path, trace: int, logger: str = "") -> None:
    """Run chatd (twistd) in this process, answering SIGUSR1 with a reading."""
    import tracemalloc

    if trace:
        tracemalloc.start(trace)

    def on_signal(signum, frame) -> None:
        request = (dumpdir / "request").read_text().split()
        _reading(dumpdir, request[0], bool(trace), "trim" in request[1:], "atoms" in request[1:])

    signal.signal(signal.SIGUSR1, on_signal)
    from twisted.scripts.twistd import run

    sys.argv = ["twistd", "--nodaemon", "--pidfile=", *([f"--logger={logger}"] if logger else []), "chatd", "--config", config]
    run()


# -- the clients ------------------------------------------------------------------


class Client:
    """One idle member: registers, joins its room, then only reads."""

    __slots__ = ("sock", "fe", "nick", "room", "out", "buf", "state", "ready", "failed")

    def __init__(self, fe: str, nick: str, room: str, port: int) -> None:
        self.fe, self.nick, self.room = fe, nick, room
        self.sock = socket.socket()
        self.sock.setblocking(False)
        self.sock.connect_ex(("127.0.0.1", port))
        self.buf = b""
        self.ready = False
        self.failed: Optional[str] = None
        if fe == "lines":
            self.out = f"{nick}\n/join {room}\n".encode()
            self.state = "lines"
        else:
            key = base64.b64encode(os.urandom(16)).decode()
            self.out = (f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
            self.state = "handshake"

    def received(self, data: bytes) -> None:
        if self.ready:
            return
        self.buf += data
        if self.state == "lines":
            if b"Your current room is" in self.buf:
                self.ready, self.buf = True, b""
            elif b"\n! " in self.buf or self.buf.startswith(b"! "):
                self.failed = self.buf.decode(errors="replace")[-200:]
        elif self.state == "handshake":
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if not sep:
                return
            if b" 101 " not in head.split(b"\r\n", 1)[0]:
                self.failed = head.split(b"\r\n", 1)[0].decode(errors="replace")
                return
            self.state, self.buf = "ws", rest
            self.out += _masked(json.dumps({"type": "nick", "nick": self.nick, "ref": 1}).encode())
            self.out += _masked(json.dumps({"type": "join", "room": self.room, "ref": 2}).encode())
            self.received(b"")
        else:
            while len(self.buf) >= 2:
                n, at = self.buf[1] & 0x7F, 2
                if n == 126:
                    n, at = int.from_bytes(self.buf[2:4], "big"), 4
                elif n == 127:
                    n, at = int.from_bytes(self.buf[2:10], "big"), 10
                if len(self.buf) < at + n:
                    return
                text, self.buf = self.buf[at:at + n], self.buf[at + n:]
                if b'"type":"error"' in text:
                    self.failed = text.decode(errors="replace")
                elif b'"type":"ok"' in text and b'"ref":2' in text:
                    self.ready, self.buf = True, b""
                    return


def _masked(payload: bytes) -> bytes:
    mask = os.urandom(4)
    n = len(payload)
    head = bytes((0x81, 0x80 | n)) if n < 126 else bytes((0x81, 0x80 | 126)) + n.to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i & 3] for i, b in enumerate(payload))


def open_all(clients: List[Client], sel: selectors.BaseSelector, todo: List[Client], concurrency: int = 64) -> None:
    """Open C{todo}, C{concurrency} registrations at a time; keep reading everyone."""
    pending = list(reversed(todo))
    opening: List[Client] = []
    last = time.monotonic()
    while pending or opening:
        while pending and len(opening) < concurrency:
            c = pending.pop()
            sel.register(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
            opening.append(c)
            clients.append(c)
        for key, events in sel.select(1.0):
            c = key.data
            if events & selectors.EVENT_WRITE and c.out:
                try:
                    sent = c.sock.send(c.out)
                    c.out = c.out[sent:]
                except BlockingIOError:
                    pass
                except OSError as e:
                    c.failed = str(e)
                if not c.out:
                    sel.modify(c.sock, selectors.EVENT_READ, c)
            if events & selectors.EVENT_READ:
                _read(c)
                if c.out:
                    sel.modify(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
            last = time.monotonic()
        failed = [c for c in opening if c.failed]
        if failed:
            raise SystemExit(f"probe: {len(failed)} clients failed, e.g. {failed[0].nick}: {failed[0].failed}")
        opening = [c for c in opening if not c.ready]
        if time.monotonic() - last > 30:
            raise SystemExit(f"probe: {len(opening)} clients got no answer in 30 s")


def _read(c: Client) -> None:
    try:
        data = c.sock.recv(65536)
    except BlockingIOError:
        return
    except OSError as e:
        c.failed = str(e)
        return
    if not data:
        c.failed = c.failed or "closed by the server"
        return
    c.received(data)


def drain(sel: selectors.BaseSelector, quiet: float = 0.5, limit: float = 20.0) -> None:
    """Read until nothing has arrived for C{quiet} seconds (join notices)."""
    start = last = time.monotonic()
    while time.monotonic() - last < quiet and time.monotonic() - start < limit:
        for key, _ in sel.select(0.1):
            _read(key.data)
            if key.data.failed:
                raise SystemExit(f"probe: {key.data.nick}: {key.data.failed}")
            last = time.monotonic()


# -- the probe --------------------------------------------------------------------


class Daemon:
    def __init__(self, args) -> None:
        from servers import READY, Chatd, render_ini

        self.workdir = Path(tempfile.mkdtemp(prefix="chatd-memprobe-"))
        settings = Chatd(db=args.db).settings
        settings[("irc", "listen")] = "tcp:0:interface=127.0.0.1:backlog=1024"
        settings[("history", "db")] = ":memory:" if args.db == "memory" else str(self.workdir / "chatd.sqlite3")
        for item in args.set or ():
            name, _, value = item.partition("=")
            section, _, key = name.partition(".")
            settings[(section, key)] = value
        cfg = self.workdir / "tap.cfg"
        cfg.write_text(render_ini(settings))
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        for item in args.env or ():
            name, _, value = item.partition("=")
            env[name] = value
        self.log = self.workdir / "chatd.log"
        self.trace = args.trace
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, __file__, "--serve", str(cfg), str(self.workdir), str(args.trace), args.logger or ""],
                                         stdout=out, stderr=subprocess.STDOUT, env=env, cwd=self.workdir)
        deadline = time.monotonic() + 180  # tracemalloc slows start-up down
        while "chatd is ready" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"probe: chatd did not start:\n{self.log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.05)
        self.ports = {kind: int(port) for kind, _, port, _ in READY.findall(self.log.read_text(errors="replace"))}

    def reading(self, label: str, trim: bool = False, atoms: bool = False) -> dict:
        (self.workdir / "request").write_text(label + (" trim" if trim else "") + (" atoms" if atoms else ""))
        self.proc.send_signal(signal.SIGUSR1)
        done = self.workdir / f"{label}.done"
        deadline = time.monotonic() + 120
        while not done.exists():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit("probe: chatd did not answer the reading")
            time.sleep(0.05)
        return json.loads((self.workdir / f"{label}.json").read_text())

    def snapshot(self, label: str):
        import tracemalloc

        path = self.workdir / f"{label}.tm"
        return tracemalloc.Snapshot.load(str(path)) if path.exists() else None

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def report(base: dict, now: dict, n: int, top: int) -> None:
    def per(a, b):
        return (b - a) / n

    st0, st1 = base["status"], now["status"]
    print(f"  RSS {st1['VmRSS'] / 1024:.1f} MiB: {per(st0['VmRSS'], st1['VmRSS']):.2f} KiB per connection "
          f"(anonymous {per(st0['RssAnon'], st1['RssAnon']):.2f}, file {per(st0['RssFile'], st1['RssFile']):.2f}, "
          f"huge pages {per(base['smaps'].get('AnonHugePages', 0), now['smaps'].get('AnonHugePages', 0)):.2f})")
    m0, m1 = base["malloc"], now["malloc"]
    print(f"  glibc malloc: in use {per(m0['in_use'], m1['in_use']):.2f} KiB/conn, free in heap "
          f"{m1['free'] / 1024:.1f} MiB (was {m0['free'] / 1024:.1f}), mmapped {per(m0['mmapped'], m1['mmapped']):.2f}")
    p0, p1 = base["pymalloc"], now["pymalloc"]
    if p0 and p1:
        print(f"  pymalloc: {p1.get('arenas', 0) - p0.get('arenas', 0)} more arenas, allocated blocks "
              f"{per(p0['allocated'], p1['allocated']):.2f} KiB/conn, available blocks "
              f"{per(p0['available'], p1['available']):.2f} KiB/conn, total {per(p0['total'], p1['total']):.2f}")
    if base.get("sqlite_kib") is not None:
        print(f"  SQLite allocator: {now['sqlite_kib']} KiB (was {base['sqlite_kib']})")
    s0, s1 = base["sockstat"], now["sockstat"]
    print(f"  kernel TCP buffers (both ends, not in RSS): {per(s0.get('mem', 0), s1.get('mem', 0)) * 4:.2f} KiB/conn")
    rows = []
    for name, (count, size) in now["types"].items():
        c0, z0 = base["types"].get(name, (0, 0))
        if count - c0 > n * 0.05:
            rows.append((size - z0, count - c0, name))
    rows.sort(reverse=True)
    if "atoms" in now:
        k0 = base.get("atoms", {}).get("kinds", {})
        print("  untracked objects per connection: " + ", ".join(
            f"{k} {(v - k0.get(k, 0)) / n:.2f}" for k, v in sorted(now["atoms"]["kinds"].items()) if v - k0.get(k, 0) > n / 20))
        for shape, count in now["atoms"]["shapes"][:25]:
            print(f"    {count:7d}  {shape}")
    print("  live objects per connection (gc-tracked, shallow size):")
    for size, count, name in rows[:top]:
        print(f"    {count / n:6.2f} x {name:60s} {size / n:8.1f} B")
        if name in now.get("samples", {}) and count > n / 2:
            attrs = now["samples"][name]
            print(f"             {len(attrs)} attributes in its __dict__: {' '.join(attrs)}")


def report_trace(before, after, n: int, top: int) -> None:
    stats = after.compare_to(before, "lineno")
    total = sum(s.size_diff for s in stats)
    print(f"  tracemalloc: {total / n:.0f} B per connection in Python allocations; top lines:")
    for s in stats[:top]:
        frame = s.traceback[0]
        name = frame.filename
        for marker in ("site-packages/", "lib/python3"):
            if marker in name:
                name = name.split(marker, 1)[1]
        print(f"    {s.size_diff / n:7.1f} B {s.count_diff / n:6.2f} blocks  {name}:{frame.lineno}")


def report_stack(before, after, n: int, where: str) -> None:
    name, _, line = where.rpartition(":")
    for s in after.compare_to(before, "traceback")[:400]:
        top = s.traceback[-1]
        if top.filename.endswith(name) and top.lineno == int(line) and s.size_diff > 0:
            print(f"  {s.size_diff / n:.1f} B per connection from:")
            for f in s.traceback.format(most_recent_first=True)[:40]:
                print("    " + f)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    p.add_argument("--fe", choices=["lines", "ws"], default="lines")
    p.add_argument("--conns", default="1000,5000,10000", help="checkpoints: connections open at each reading")
    p.add_argument("--per-room", type=int, default=10)
    p.add_argument("--trace", type=int, default=0, help="tracemalloc frames (0: off, for honest RSS)")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--stack", help="with --trace N: the N-frame tracebacks of allocations made at FILE:LINE")
    p.add_argument("--trim", action="store_true", help="also read after malloc_trim(0) at the last checkpoint")
    p.add_argument("--atoms", action="store_true",
                   help="also count the objects gc does not track (strings, numbers), by shape and holder")
    p.add_argument("--db", choices=["file", "memory"], default="file")
    p.add_argument("--env", action="append", help="NAME=VALUE for the daemon, e.g. MALLOC_ARENA_MAX=2")
    p.add_argument("--set", action="append", help="section.key=value in tap.cfg")
    p.add_argument("--settle", type=float, default=1.0, help="seconds to wait before each reading")
    p.add_argument("--logger", help="twistd --logger, e.g. chatd.logsetup.observer (as the systemd unit runs it)")
    p.add_argument("--serve", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        serve(args.serve[0], Path(args.serve[1]), int(args.serve[2]), args.serve[3])
        return
    checkpoints = sorted(int(x) for x in args.conns.split(","))
    want = checkpoints[-1] * 2 + 100
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), max(hard, want)))
    except (ValueError, OSError):
        pass
    daemon = Daemon(args)
    try:
        port = daemon.ports["lines" if args.fe == "lines" else "web"]
        rooms = max(1, checkpoints[-1] // args.per_room)
        plan = [(f"r{i}", f"#bench{i % rooms}") for i in range(checkpoints[-1])]
        time.sleep(args.settle)
        base = daemon.reading("base", atoms=args.atoms)
        before = daemon.snapshot("base")
        sel = selectors.DefaultSelector()
        clients: List[Client] = []
        print(f"chatd {args.fe}, rooms of {args.per_room} ({rooms} rooms), base RSS {base['status']['VmRSS'] / 1024:.1f} MiB"
              f"{', tracemalloc ' + str(args.trace) + ' frames' if args.trace else ''}")
        for n in checkpoints:
            todo = [Client(args.fe, nick, room, port) for nick, room in plan[len(clients):n]]
            t0 = time.monotonic()
            open_all(clients, sel, todo)
            drain(sel)
            time.sleep(args.settle)
            drain(sel, 0.1)
            now = daemon.reading(f"c{n}", atoms=args.atoms)
            print(f"{n} connections (opened in {time.monotonic() - t0:.1f} s):")
            report(base, now, n, args.top)
            after = daemon.snapshot(f"c{n}")
            if before is not None and after is not None:
                report_trace(before, after, n, args.top)
                if args.stack:
                    report_stack(before, after, n, args.stack)
        if args.trim:
            trimmed = daemon.reading("trim", trim=True)
            print(f"after malloc_trim(0), {checkpoints[-1]} connections:")
            report(base, trimmed, checkpoints[-1], 0)
    finally:
        daemon.stop()
        shutil.rmtree(daemon.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
