"""
The browser client's state logic (web/js/conversation.js, outbox.js,
state.js, persist.js: no DOM) under Node's own test runner: resuming after
a reconnect, each message shown once, the outbox and its retries, gap
markers, unread counts. The tests are tests/web/client/*.test.mjs; each
file runs here as one pytest test, so `make test` runs them all.

Node.js is needed: without it these skip, except under CI=true, where
they fail.
"""

import subprocess
from pathlib import Path

import pytest

from test_client_static import _node

CLIENT_TESTS = sorted((Path(__file__).parent / "client").glob("*.test.mjs"))


def test_there_are_client_tests():
    assert len(CLIENT_TESTS) >= 5, CLIENT_TESTS


@pytest.mark.parametrize("path", CLIENT_TESTS, ids=lambda p: p.name)
def test_node_test_file(path):
    node = _node()
    run = subprocess.run([node, "--test", str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"node --test {path.name} failed:\n{run.stdout}\n{run.stderr}"
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout, run.stdout
