"""
The Makefile as a newcomer uses it: `make run` installs only what the daemon
needs and ends quietly on Ctrl-C; `make test` adds the test extras.

Each test works on a copy of the Makefile in a scratch directory whose
.venv/bin holds links to this venv's python and twistd, so nothing is ever
installed (the shared venv is never touched): the install steps are read
from make's dry run, and Ctrl-C is sent to a real `make run` of the
installed chatd, as a terminal sends it (SIGINT to the whole process group).
"""

import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAKE = shutil.which("make")


@pytest.fixture
def scratch(tmp_path):
    if MAKE is None:
        pytest.fail("make is not installed (apt-get install make)")
    shutil.copy(ROOT / "Makefile", tmp_path)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    (bin_dir / "twistd").symlink_to(Path(sys.executable).with_name("twistd"))
    return tmp_path


def installs(directory: Path, target: str, *stamps: str):
    """The pip commands `make -n TARGET` would run, with these stamps fresh."""
    for stamp in stamps:
        (directory / ".venv" / stamp).touch()
    dry = subprocess.run([MAKE, "-n", target], cwd=directory, capture_output=True, text=True, timeout=30)
    assert dry.returncode == 0, dry.stderr
    return [line.split("pip ", 1)[1] for line in dry.stdout.splitlines() if "/pip " in line]


def test_make_run_installs_only_what_the_daemon_needs(scratch):
    assert installs(scratch, "run") == ["install --quiet .", "install --quiet --no-deps --force-reinstall ."]


def test_switching_between_run_and_test_installs_what_is_missing(scratch):
    """After `make run`, `make test` adds the extras; after `make test`, `make run` needs nothing more."""
    assert installs(scratch, "test", ".installed-daemon")[0] == "install --quiet '.[test]'"
    assert installs(scratch, "run", ".installed-test") == ["install --quiet --no-deps --force-reinstall ."]
    assert installs(scratch, "test") == ["install --quiet --no-deps --force-reinstall ."]
    time.sleep(0.05)
    (scratch / "pyproject.toml").touch()  # new dependencies: both installs are stale again
    assert installs(scratch, "run")[0] == "install --quiet ."
    assert installs(scratch, "test")[0] == "install --quiet '.[test]'"


def test_ctrl_c_ends_make_run_quietly(scratch):
    """Ctrl-C stops chatd cleanly, and make adds no '*** [run] Interrupt' line."""
    for stamp in (".installed-daemon", ".installed-test"):
        (scratch / ".venv" / stamp).touch()
    # An SQLite file, not :memory:: it opens once the reactor runs, so
    # "chatd is ready" means Ctrl-C now meets chatd's own shutdown.
    (scratch / "tap.cfg").write_text(
        "[lines]\nlisten = tcp:0:interface=127.0.0.1\n[web]\nlisten = tcp:0:interface=127.0.0.1\n"
        "[irc]\nlisten = tcp:0:interface=127.0.0.1\n"
        "[history]\ndb = chatd.sqlite3\n"
    )
    # install-chatd= : the scratch copy reinstalls nothing; the run recipe is the Makefile's own.
    # A terminal's foreground job takes SIGINT's default action, even where
    # this test runs in the background (which ignores SIGINT).
    proc = subprocess.Popen([MAKE, "run", "install-chatd="], cwd=scratch, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    out = b""
    try:
        deadline = time.monotonic() + 30
        while b"chatd is ready" not in out:
            assert time.monotonic() < deadline and proc.poll() is None, out.decode()
            if select.select([proc.stdout], [], [], 0.2)[0]:
                out += os.read(proc.stdout.fileno(), 65536)
        os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        out += proc.communicate(timeout=20)[0]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = out.decode("utf-8", "replace")
    assert "Received SIGINT, shutting down." in text
    assert "Server Shut Down." in text
    assert "***" not in text and "Interrupt" not in text, text
