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


@pytest.fixture
def make_cluster(tmp_path):
    """
    Start clusters (cluster.py): C{make_cluster(3)} is one redis-server
    with AOF and nodes n1..n3; C{start=False} leaves them to the test.
    Every node and Redis is stopped by its PID when the test ends.
    """
    from cluster import Cluster

    made = []

    def make(size=3, settings=None, aof=True, start=True, **kw):
        c = Cluster(tmp_path / f"cluster{len(made)}", size, aof=aof, settings=settings, **kw)
        made.append(c)
        return c.start() if start else c

    try:
        yield make
    finally:
        for c in made:
            c.stop()


@pytest.fixture
def cluster(make_cluster):
    """Three chatd nodes (n1, n2, n3) on one redis-server with AOF."""
    return make_cluster(3)


@pytest.fixture
def opened():
    """Clients to close when the test ends, whatever happened."""
    clients = []
    yield clients
    for c in clients:
        c.close()


@pytest.fixture
def irc(daemon, opened):
    """Make IRC clients on the daemon's IRC port: C{irc("ivan", "#lobby")} registers and joins."""
    from ircclient import IRCClient

    def make(nick=None, room=None, **register):
        c = IRCClient(daemon.irc_port)
        opened.append(c)
        if nick:
            c.register(nick, **register)
        if room:
            c.join(room)
        return c

    return make


@pytest.fixture
def tel(daemon, opened):
    """Make telnet users: C{tel("tom", "#lobby")}."""
    from chatclients import LineClient

    def make(nick, room=None):
        c = LineClient(daemon.lines_port)
        opened.append(c)
        return c.login(nick, room)

    return make
