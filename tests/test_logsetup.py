"""
chatd.logsetup: flat JSON lines, level filtering (changed live), and the
no-argument factory twistd calls for --logger.
"""

import io
import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from twisted.logger import Logger, LogLevel

import chatd
from chatd import logsetup


@pytest.fixture(autouse=True)
def forget_predicates(monkeypatch):
    """Each test's observers are the only ones set_level changes."""
    monkeypatch.setattr(logsetup, "_predicates", [])


def emit(observer, namespace="chatd.lines"):
    return Logger(namespace=namespace, observer=observer)


def lines_of(out: io.StringIO):
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_json_line_is_flat():
    """One object per line: ts, level, ns, the formatted msg, and the event's own scalar fields."""
    out = io.StringIO()
    log = emit(logsetup.JSONLinesObserver(out))
    log.info("lines connection from {peer} closed: {reason}", peer="192.0.2.7:4242", reason="quit",
             nick="alice", frontend="lines", code=None, port=4242, room_obj=object())
    (line,) = lines_of(out)
    assert line["level"] == "info"
    assert line["ns"] == "chatd.lines"
    assert line["msg"] == "lines connection from 192.0.2.7:4242 closed: quit"
    assert line["peer"] == "192.0.2.7:4242"
    assert line["nick"] == "alice" and line["frontend"] == "lines" and line["port"] == 4242
    assert line["code"] is None
    assert "room_obj" not in line, "non-scalar fields stay out"
    assert not [k for k in line if k.startswith("log_")]
    assert line["ts"].endswith("Z") and line["ts"][10] == "T"
    assert out.getvalue().count("\n") == 1


def test_json_timestamp_is_utc_milliseconds():
    event = {"log_time": 1_700_000_000.25, "log_level": LogLevel.warn, "log_namespace": "x",
             "log_format": "hi"}
    line = json.loads(logsetup.eventAsJSON(event))
    assert line["ts"] == "2023-11-14T22:13:20.250Z"
    assert line["level"] == "warn"


def test_json_traceback_for_failures():
    out = io.StringIO()
    log = emit(logsetup.JSONLinesObserver(out), "chatd.service")
    try:
        1 / 0
    except ZeroDivisionError:
        log.failure("Command failed for {peer}", peer="192.0.2.1:1")
    (line,) = lines_of(out)
    assert line["level"] == "critical"
    assert line["msg"] == "Command failed for 192.0.2.1:1"
    assert "ZeroDivisionError" in line["traceback"]


def test_json_field_named_like_a_core_key_is_kept_aside():
    line = json.loads(logsetup.eventAsJSON(
        {"log_format": "{msg}", "msg": "x", "level": 3, "log_level": LogLevel.info, "log_namespace": "n"}))
    assert line["msg"] == "x" and line["msg_"] == "x" and line["level"] == "info" and line["level_"] == 3


def test_json_legacy_event():
    """twisted.python.log events: their text, none of their legacy keys."""
    event = {"message": ("hello", "world"), "isError": 0, "system": "-", "time": 1.0, "log_time": 1.0,
             "log_text": "hello world", "log_format": "{log_text}", "log_namespace": "log_legacy",
             "log_level": LogLevel.info, "format": None}
    line = json.loads(logsetup.eventAsJSON(event))
    assert line["msg"] == "hello world"
    assert set(line) == {"ts", "level", "ns", "msg"}


def test_json_never_writes_invalid_json():
    line = logsetup.eventAsJSON({"log_format": "{x}", "x": float("nan"), "s": "\u00e9\n\x1b[2J",
                                 "log_level": LogLevel.info, "log_namespace": "n"})
    assert json.loads(line)["x"] == "nan"
    assert "\n" not in line and "\x1b" not in line


def test_level_filter_and_live_change():
    """set_level changes every observer the factory made, at once; a bad level changes nothing."""
    out = io.StringIO()
    observer = logsetup.makeObserver("json", "info", out)
    log = emit(observer)
    log.debug("hidden {n}", n=1)
    log.info("shown {n}", n=2)
    assert [line["n"] for line in lines_of(out)] == [2]

    assert logsetup.set_level("debug") is LogLevel.debug
    log.debug("now shown {n}", n=3)
    with pytest.raises(ValueError, match="'loud' is not one of"):
        logsetup.set_level("loud")
    log.debug("still shown {n}", n=4)

    logsetup.set_level("error")
    log.warn("hidden {n}", n=5)
    log.error("shown {n}", n=6)
    assert [line["n"] for line in lines_of(out)] == [2, 3, 4, 6]


def test_per_namespace_levels():
    """info by default, but chatd.lines at debug (e.g. to see message traffic while debugging)."""
    out = io.StringIO()
    observer = logsetup.makeObserver("json", "warn, chatd.lines=debug", out)
    emit(observer, "chatd.lines.member").debug("lines debug")
    emit(observer, "chatd.store").info("store info")
    emit(observer, "chatd.store").warn("store warn")
    assert [line["msg"] for line in lines_of(out)] == ["lines debug", "store warn"]
    logsetup.set_level("info")  # replaces the namespace levels too
    emit(observer, "chatd.lines").debug("gone")
    emit(observer, "chatd.store").info("store info 2")
    assert [line["msg"] for line in lines_of(out)][-1] == "store info 2"
    assert len(lines_of(out)) == 3


def test_factory_reads_the_environment():
    out = io.StringIO()
    observer = logsetup.observer(env={"CHATD_LOG_FORMAT": "JSON", "CHATD_LOG_LEVEL": "warning"}, outFile=out)
    emit(observer).info("no")
    emit(observer).warn("yes {nick}", nick="bob")
    assert lines_of(out) == [{**lines_of(out)[0], "msg": "yes bob", "nick": "bob", "level": "warn"}]


def test_factory_defaults_to_text_at_info():
    out = io.StringIO()
    observer = logsetup.observer(env={}, outFile=out)
    emit(observer).debug("no")
    emit(observer).info("hello {nick}", nick="carol")
    text = out.getvalue()
    assert text.endswith("[chatd.lines#info] hello carol\n")
    assert text.count("\n") == 1


@pytest.mark.parametrize("env, word", [
    ({"CHATD_LOG_FORMAT": "xml"}, "'xml'"),
    ({"CHATD_LOG_LEVEL": "verbose"}, "'verbose'"),
])
def test_factory_refuses_bad_settings(env, word):
    """A typo stops the daemon before it starts, with one line naming the variable."""
    with pytest.raises(SystemExit) as e:
        logsetup.observer(env=env, outFile=io.StringIO())
    assert str(e.value).startswith("chatd: CHATD_LOG_FORMAT/CHATD_LOG_LEVEL:")
    assert word in str(e.value)


def test_twistd_logger_option(tmp_path):
    """
    The real twistd accepts the factory, and with CHATD_LOG_FORMAT=json every
    line on stdout is JSON (twistd redirects sys.stdout into the log; the
    observer must keep writing to the real one).
    """
    # chatd from this source tree, without putting its twisted/plugins on the path.
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "chatd").symlink_to(Path(chatd.__file__).parent)
    (tmp_path / "www").mkdir()
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src"), "CHATD_LOG_FORMAT": "json",
           "CHATD_LOG_LEVEL": "info"}
    env.pop("NOTIFY_SOCKET", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
         "--nodaemon", "--pidfile=", "--logger=chatd.logsetup.observer",
         "web", "--listen", "tcp:0:interface=127.0.0.1", "--path", str(tmp_path / "www")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path, text=True,
    )
    try:
        seen = []
        for line in proc.stdout:
            seen.append(json.loads(line))
            if "Site starting" in seen[-1]["msg"]:
                break
        # An answer means the reactor runs, so its SIGTERM handler is in place.
        port = int(re.search(r"Site starting on (\d+)", seen[-1]["msg"]).group(1))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            response.read()
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    seen += [json.loads(line) for line in rest.splitlines()]
    assert any("Site starting" in line["msg"] for line in seen), (seen, err)
    assert any(line["msg"] == "Server Shut Down." for line in seen), (seen, err)
    assert all(line["ts"].endswith("Z") and line["level"] for line in seen)
