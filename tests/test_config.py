"""Configuration: defaults, tap.cfg, command-line overrides, and clear errors."""

import subprocess
import sys
from pathlib import Path

import pytest

from chatd import config as cfg

ROOT = Path(__file__).resolve().parent.parent
TWISTD = str(Path(sys.executable).with_name("twistd"))


def test_shipped_tap_cfg_holds_exactly_the_defaults():
    """tap.cfg documents the defaults: loading it changes nothing."""
    loaded = cfg.load(str(ROOT / "tap.cfg"), {})
    defaults = cfg.build({})
    assert loaded.rules == defaults.rules
    assert loaded.web == cfg.WebConfig(listen=(cfg.DEFAULT_WEB,))
    assert loaded.lines_listeners() == defaults.lines_listeners() == (cfg.DEFAULT_LINES,)
    assert (loaded.db, loaded.max_line, loaded.sendq) == (defaults.db, defaults.max_line, defaults.sendq)


def test_command_line_listeners_replace_the_files(tmp_path):
    """A listener kind given on the command line replaces the file's listeners of that kind."""
    path = tmp_path / "c.cfg"
    path.write_text("[lines]\nlisten =\n    tcp:1111\n    tcp:2222\n[web]\nlisten = tcp:3333\n")
    c = cfg.load(str(path), {("lines", "listen"): ("tcp:4444",)})
    assert c.lines_listeners() == ("tcp:4444",)
    assert c.web_listeners() == ("tcp:3333",)


def test_inline_comments_and_percent_signs(tmp_path):
    """'  # comment' after a value is a comment; '%' needs no escaping."""
    path = tmp_path / "c.cfg"
    path.write_text("[server]\nmotd = 100% uptime  # not part of it\n[limits]\nmax_message = 500 # chars\n")
    c = cfg.load(str(path), {})
    assert c.motd == "100% uptime"
    assert c.rules.max_message == 500


@pytest.mark.parametrize(
    "text, message",
    [
        ("[limits]\nmax_message = lots\n", "[limits] max_message = 'lots': expected a whole number."),
        ("[web]\nmax_frame = 0\n", "[web] max_frame = 0: must be at least 1 (0 would switch the limit off)."),
        ("[limits]\nmax_mesage = 5\n", "unknown setting [limits] max_mesage"),
        ("[nosuch]\nx = 1\n", "unknown setting [nosuch] x"),
        ("[history]\ndurability = maybe\n", "durability = 'maybe'"),
        ("no section header\n", "not a valid INI file"),
    ],
)
def test_bad_values_name_the_problem(tmp_path, text, message):
    """Every bad value is one ConfigError naming section, key and value."""
    path = tmp_path / "c.cfg"
    path.write_text(text)
    with pytest.raises(cfg.ConfigError) as e:
        cfg.load(str(path), {})
    assert message in str(e.value)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--config", "/nonexistent/tap.cfg"], "cannot read config file /nonexistent/tap.cfg"),
        (["--lines", "tcpx:1"], "[lines] listen: cannot use endpoint 'tcpx:1'"),
        (["--web", "ssl:0:privateKey=/nonexistent.pem"], "[web] listen: cannot use endpoint"),
    ],
)
def test_daemon_refuses_bad_config_with_one_line(tmp_path, args, message):
    """twistd chatd with a bad config exits non-zero with one clear line, no traceback."""
    proc = subprocess.run(
        [TWISTD, "--nodaemon", "--pidfile=", "chatd", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode != 0
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1


def test_check_config_prints_effective_settings(tmp_path):
    """--check-config prints the merged settings and exits 0 without listening."""
    proc = subprocess.run(
        [TWISTD, "--nodaemon", "--pidfile=", "chatd", "--config", str(ROOT / "tap.cfg"), "--db", ":memory:", "--check-config"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "db = ':memory:'" in proc.stdout
    assert "chatd: configuration OK" in proc.stdout
