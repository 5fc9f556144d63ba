"""Fixtures that start the real daemon on 127.0.0.1 (see daemon.py)."""

import pytest

from daemon import Daemon


@pytest.fixture
def make_daemon(tmp_path):
    """Start daemons with custom settings: C{make_daemon({("web","session_idle"): "2"})}."""
    started = []

    def make(settings=None, args=(), env=None, name="chatd", start=True):
        d = Daemon(tmp_path / f"{name}{len(started)}", settings, args, env)
        started.append(d)
        return d.start() if start else d

    yield make
    for d in started:
        d.stop()


@pytest.fixture
def daemon(make_daemon):
    """A daemon on its defaults, with lines and web on free ports."""
    return make_daemon()


@pytest.fixture
def line_client(daemon):
    """Make logged-in line clients: C{line_client("alice", "#lobby")}."""
    from chatclients import LineClient

    clients = []

    def make(nick=None, room=None):
        c = LineClient(daemon.lines_port)
        clients.append(c)
        return c.login(nick, room) if nick else c

    yield make
    for c in clients:
        c.close()
