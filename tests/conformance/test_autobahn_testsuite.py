"""
WebSocket conformance: the Autobahn|Testsuite cases, run under Python 3 by
PyPI C{kosoku}, against an echo endpoint built from chatd's production
WebSocket protocol class and options (L{echo_server}, mounted only here).

  - Categories 1 to 7 and 10, production limits: 0 FAILED (NON-STRICT and
    INFORMATIONAL are fine).
  - Category 9.1/9.2 (messages of 64 KiB to 16 MiB), production limits:
    every message over C{[web] max_message} is refused with close code
    1009 at once; nothing hangs.
  - Category 9 in full, with the limits raised, is run by hand (it takes
    minutes): see docs/security.md.
"""

import collections
import json
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import kosoku  # noqa: F401  a test dependency (pyproject's test extras): fail loudly if missing
import pytest

ECHO_SERVER = Path(__file__).resolve().with_name("echo_server.py")
CATEGORIES = ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "10.*"]
#: Autobahn's verdicts that are not failures.
ACCEPTABLE = {"OK", "NON-STRICT", "INFORMATIONAL"}


@pytest.fixture
def echo_url():
    """Start the echo server in a subprocess on a free port; yield its ws:// URL."""
    proc = subprocess.Popen(
        [sys.executable, str(ECHO_SERVER)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        line = proc.stdout.readline()  # "LISTENING <port>", or "" if it died
        if not line.startswith("LISTENING "):
            proc.kill()
            raise RuntimeError(f"echo server did not start: {line!r} {proc.stderr.read()}")
        yield f"ws://127.0.0.1:{int(line.split()[1])}/ws"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


#: Runs kosoku in its own process: in-process, autobahn as imported by the
#: rest of the suite (Twisted flavour) trips kosoku's use of its UTF-8
#: validator.
_RUNNER = """
import asyncio, json, sys
import kosoku
url, cases, exclude, concurrency, timeout = json.loads(sys.argv[1])
async def go():
    try:
        return await asyncio.wait_for(kosoku.run_fuzzingclient(url, cases, exclude, concurrency=concurrency), timeout)
    except kosoku.FailureError as e:
        return e.results
sys.stdout.write(json.dumps([
    dict(case_id=r.case_id, behavior=r.behavior.value, behavior_close=r.behavior_close.value,
         result=r.result, result_close=r.result_close, duration=r.duration, remote_close_code=r.remote_close_code)
    for r in asyncio.run(go())
]))
sys.stdout.flush()
# kosoku 0.1.0's native runtime can abort while the interpreter shuts down
# (seen once, after all results were printed): leave without that teardown.
import os
os._exit(0)
"""


def run(url, cases, exclude=(), concurrency=4, timeout=120.0):
    """Run kosoku; return every case's result (failed ones included)."""
    args = json.dumps([url, list(cases), list(exclude), concurrency, timeout])
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER, args], capture_output=True, text=True, timeout=timeout + 30
    )
    assert proc.returncode == 0, proc.stderr
    return [types.SimpleNamespace(**r) for r in json.loads(proc.stdout)]


def verdicts(results):
    return collections.Counter(f"{r.behavior}/{r.behavior_close}" for r in results)


def test_categories_1_to_7_and_10_pass_with_production_limits(echo_url):
    started = time.monotonic()
    results = run(echo_url, CATEGORIES, exclude=["9.*"])
    elapsed = time.monotonic() - started
    assert len(results) >= 240, f"only {len(results)} cases ran"  # 247 in kosoku 0.1.0
    failed = [
        f"{r.case_id}: {r.behavior}/{r.behavior_close}: {r.result} {r.result_close}"
        for r in results
        if r.behavior not in ACCEPTABLE or r.behavior_close not in ACCEPTABLE
    ]
    print(f"\nkosoku {len(results)} cases in {elapsed:.1f}s: {dict(verdicts(results))}")
    assert failed == [], "\n".join(failed)
    assert elapsed < 60, "a case hung"


def test_oversized_messages_close_with_1009_and_nothing_hangs(echo_url):
    """
    Category 9.1 (text) and 9.2 (binary): one message of 64 KiB, 256 KiB,
    1, 4, 8 and 16 MiB.  chatd's default max_message is 65536, so the first
    echoes and every other one is refused with 1009 (message too big) as
    soon as its frame header is read: Autobahn reports those as FAILED
    (category 9 measures throughput), which is the point here.
    """
    results = run(echo_url, ["9.1.*", "9.2.*"], concurrency=2)
    assert len(results) == 12
    for r in results:
        assert r.duration < 5000, f"{r.case_id} took {r.duration} ms"
        if r.case_id in ("9.1.1", "9.2.1"):  # 64 KiB: within the limit
            assert r.behavior == "OK" and r.behavior_close == "OK", (r.case_id, r.result)
        else:
            assert r.remote_close_code == 1009, (r.case_id, r.remote_close_code, r.result_close)
