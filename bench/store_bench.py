"""
How much group commit buys: append messages to L{SQLiteStore} as fast as
possible, with many in flight, once with group commit and once committing
each message on its own, in the same run on the same machine.

    python bench/store_bench.py [--messages N] [--durability normal|full|both]

Each run stops sending after C{--max-seconds} (so one fsync per message on a
slow disk cannot make it drag on) and reports the rate of what it did send,
and the CPU time per message of the whole process (both threads): on a
shared machine the rate swings with the load, the CPU time much less.
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from twisted.internet.defer import Deferred, ensureDeferred  # noqa: E402
from twisted.internet.task import react  # noqa: E402

from chatd.store.sqlite import SQLiteStore  # noqa: E402


async def run(reactor, path: str, count: int, inflight: int, limit: float, **options) -> float:
    """Append C{count} messages, at most C{inflight} at a time; messages per second."""
    store = SQLiteStore(path, reactor, **options)
    await store.open()
    done: Deferred = Deferred()
    state = {"sent": 0, "acked": 0}

    def send() -> None:
        i = state["sent"]
        state["sent"] += 1
        d = store.append(f"#room{i % 10}", "message", f"nick{i % 50}", f"message number {i}",
                         1_000_000.0 + i, f"nick{i % 50}", f"cid-{i}")
        d.addCallbacks(acked, done.errback)

    def acked(_) -> None:
        state["acked"] += 1
        if state["sent"] < count and time.perf_counter() < deadline:
            send()
        elif state["acked"] == state["sent"]:
            done.callback(None)

    started, cpu = time.perf_counter(), time.process_time()
    deadline = started + limit
    for _ in range(min(inflight, count)):
        send()
    await done
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    count, commits = state["acked"], store.commits
    await store.close()
    print(f"  {options['group_commit'] and 'group ' or 'single'}: {count} messages in "
          f"{elapsed:.2f} s, {count / elapsed:,.0f} messages/s, {cpu / count * 1e6:.1f} µs CPU per message,"
          f" {commits} transactions")
    return count / elapsed


async def main(reactor, args) -> None:
    for durability in ["normal", "full"] if args.durability == "both" else [args.durability]:
        print(f"SQLite store, durability={durability}, {args.inflight} appends in flight")
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            rates = [
                await run(reactor, os.path.join(tmp, f"{group}.db"), args.messages, args.inflight,
                          args.max_seconds, durability=durability, group_commit=group)
                for group in (True, False)
            ]
        print(f"  group/single: {rates[0] / rates[1]:.1f}x")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000, help="messages per run (20000)")
    parser.add_argument("--max-seconds", type=float, default=10.0,
                        help="stop sending after this long in each run (10)")
    parser.add_argument("--inflight", type=int, default=1000, help="appends in flight (1000)")
    parser.add_argument("--durability", choices=["normal", "full", "both"], default="both")
    parser.add_argument("--dir", default=None, help="where to put the database files (a temp dir)")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse()
    react(lambda reactor: ensureDeferred(main(reactor, arguments)))
