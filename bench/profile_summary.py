"""
Summarize a py-spy "raw" (collapsed stacks) profile: where the time goes.

    python bench/profile_summary.py bench/results/profile/chatd-lines-1000.raw [--top 20]

Each line of the file is "frame;frame;...;leaf COUNT", outermost frame
first, a frame being "function (path/to/file.py:LINE)".  Printed: self
time by function (the leaf of each sample), then inclusive time by
function (every sample the function is on the stack of, counted once),
both as a share of all samples.
"""

import argparse
import re
from collections import Counter
from typing import List, Tuple

LOOP = "ReactorBase.mainLoop ("
FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]*?)(?::(?P<line>\d+))?\)$")


def _name(frame: str) -> str:
    """'Outbox.write (chatd/frontends/outbox.py:41)' -> 'Outbox.write (chatd/frontends/outbox.py)'."""
    m = FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("file")
    for marker in ("site-packages/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{m.group('func')} ({path})"


def load(path: str) -> List[Tuple[List[str], int]]:
    stacks = []
    with open(path) as f:
        for row in f:
            row = row.rstrip("\n")
            if not row:
                continue
            stack, _, count = row.rpartition(" ")
            try:
                n = int(count)
            except ValueError:
                continue
            stacks.append(([_name(fr) for fr in stack.split(";")], n))
    return stacks


def summarize(path: str, top: int = 18) -> str:
    stacks = load(path)
    total = sum(n for _, n in stacks)
    if not total:
        return "(no samples)"
    own: Counter = Counter()
    inclusive: Counter = Counter()
    threads: Counter = Counter()
    for frames, n in stacks:
        own[frames[-1]] += n
        # Drop the frames every reactor sample shares (twistd, app
        # runner, the loop itself); other threads are named by their root.
        loop = [i for i, f in enumerate(frames) if f.startswith(LOOP)]
        if loop:
            threads["reactor thread"] += n
            frames = frames[loop[-1] + 1:]
        elif any(f.startswith("Thread.run (") for f in frames):
            at = max(i for i, f in enumerate(frames) if f.startswith("Thread.run ("))
            root = frames[at + 1].split(" (")[0] if at + 1 < len(frames) else "?"
            threads[f"thread {root}"] += n
        else:
            threads["partial stacks"] += n
        for name in set(frames):
            inclusive[name] += n
    out = [f"{total} samples while the server was busy (py-spy, all threads): "
           + ", ".join(f"{name} {100 * n / total:.1f}%" for name, n in threads.most_common()),
           "", "self time (leaf frame):"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    out += ["", "inclusive time (on the stack, below the reactor loop):"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top + 12)]
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("raw", nargs="+")
    p.add_argument("--top", type=int, default=18)
    args = p.parse_args()
    for path in args.raw:
        print(f"=== {path}")
        print(summarize(path, args.top))
        print()


if __name__ == "__main__":
    main()
