"""
chatd.metrics: a real Hub over a MemoryStore with recording sinks, scraped
through the real Site over a StringTransport, and the text format parsed
back into numbers.
"""

import pytest
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from zope.interface import implementer

from chatd import __version__
from chatd.core.hub import Hub
from chatd.core.interfaces import ISink
from chatd.core.rules import Rules
from chatd.frontends.httpbounds import IDLE_TIMEOUT
from chatd.metrics import ChatCollector, makeMetricsSite, makeRegistry
from chatd.store.memory import MemoryStore


@implementer(ISink)
class Sink:
    def __init__(self):
        self.events, self.disconnects = [], []

    def deliver(self, event):
        self.events.append(event)

    def disconnect(self, reason):
        self.disconnects.append(reason)


@pytest.fixture
def clock():
    c = Clock()
    c.advance(1_700_000_000)
    return c


@pytest.fixture
def hub(clock):
    return Hub(clock, MemoryStore(), Rules(flood_rate=100000, flood_burst=100000))


def join(hub, nick, frontend, *rooms):
    session = hub.connect(Sink(), peer="192.0.2.10:5000", frontend=frontend)
    session.set_nick(nick)
    for room in rooms:
        session.join(room)
    return session


def get(site, path=b"/metrics", accept=None):
    """One HTTP/1.1 request through the Site; (status, headers, body)."""
    proto = site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
    transport = StringTransport()
    proto.makeConnection(transport)
    head = b"GET " + path + b" HTTP/1.1\r\nHost: localhost\r\n"
    if accept:
        head += b"Accept: " + accept + b"\r\n"
    proto.dataReceived(head + b"Connection: close\r\n\r\n")
    raw = transport.value()
    proto.connectionLost(None)
    headers, _, body = raw.partition(b"\r\n\r\n")
    lines = headers.split(b"\r\n")
    status = int(lines[0].split()[1])
    fields = {k.lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}
    return status, fields, body


def samples(body: bytes) -> dict:
    """{(sample name, frozenset(labels)): value} from the text format."""
    out = {}
    for family in text_string_to_metric_families(body.decode("utf-8")):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(found, name, **labels):
    return found[(name, frozenset(labels.items()))]


def test_scrape_reads_the_hub(hub, clock):
    """Sessions by front end, rooms, members and every hub.stats counter, read at scrape time."""
    join(hub, "alice", "lines", "#lobby", "#ops")
    join(hub, "bob", "lines", "#lobby")
    join(hub, "carol", "websocket", "#lobby")
    hub.connect(Sink(), peer="192.0.2.11:1", frontend="longpoll")  # no nick yet: still a session
    hub.stats.clear()  # the joins counted deliveries; start from known numbers
    hub.stats.update({
        "messages_received": 7, "deliveries": 19, "bytes_out:lines": 1234, "bytes_out:websocket": 99,
        "slow_dropped": 1, "rate_limited": 3, "flood_disconnects": 6, "error:nick-in-use": 2, "error:no-such-room": 1,
        "connections_refused:banned": 4, "connections_refused:per-ip": 5,
    })
    site = makeMetricsSite(hub, clock)
    status, headers, body = get(site)
    assert status == 200
    assert headers[b"content-type"].startswith(b"text/plain; version=")
    found = samples(body)
    assert value(found, "chatd_sessions", frontend="lines") == 2
    assert value(found, "chatd_sessions", frontend="websocket") == 1
    assert value(found, "chatd_sessions", frontend="longpoll") == 1
    assert value(found, "chatd_rooms") == 2
    assert value(found, "chatd_room_members") == 4
    assert value(found, "chatd_messages_received_total") == 7
    assert value(found, "chatd_deliveries_total") == 19
    assert value(found, "chatd_bytes_out_total", frontend="lines") == 1234
    assert value(found, "chatd_bytes_out_total", frontend="websocket") == 99
    assert value(found, "chatd_slow_clients_dropped_total") == 1
    assert value(found, "chatd_rate_limited_total") == 3
    assert value(found, "chatd_flood_disconnects_total") == 6
    assert value(found, "chatd_errors_total", code="nick-in-use") == 2
    assert value(found, "chatd_errors_total", code="no-such-room") == 1
    assert value(found, "chatd_connections_refused_total", reason="banned") == 4
    assert value(found, "chatd_connections_refused_total", reason="per-ip") == 5
    assert value(found, "chatd_build_info", version=__version__) == 1
    assert value(found, "process_resident_memory_bytes") > 0
    # Room names, nicks and addresses are never labels.
    for secret in (b"lobby", b"alice", b"192.0.2"):
        assert secret not in body

    # Live: the next scrape sees the hub as it is then.
    hub.stats["messages_received"] += 1
    next(s for s in hub.sessions if s.nick == "bob").close()
    found = samples(get(site)[2])
    assert value(found, "chatd_messages_received_total") == 8
    assert value(found, "chatd_sessions", frontend="lines") == 1
    assert value(found, "chatd_room_members") == 3


def test_missing_stats_read_as_zero(clock):
    """A hub without stats (or stats without a key) exports zeros, and idle front ends show 0."""
    hub = Hub(clock, MemoryStore())
    del hub.stats
    found = samples(get(makeMetricsSite(hub, clock))[2])
    assert value(found, "chatd_messages_received_total") == 0
    assert value(found, "chatd_rate_limited_total") == 0
    assert value(found, "chatd_sessions", frontend="websocket") == 0
    assert value(found, "chatd_rooms") == 0
    assert not [k for k in found if k[0] == "chatd_errors_total"]


def test_store_commits_and_optional_stats(hub, clock):
    """The SQLite store's commits counter; summaries when the store keeps write stats."""
    hub.store.commits = 41
    found = samples(get(makeMetricsSite(hub, clock))[2])
    assert value(found, "chatd_store_commits_total") == 41
    assert not [k for k in found if k[0].startswith("chatd_store_write_seconds")]

    hub.store.stats = {"commits": 42, "write_seconds_sum": 0.5, "write_seconds_count": 40,
                       "batch_size_sum": 90, "batch_size_count": 40}
    found = samples(get(makeMetricsSite(hub, clock))[2])
    assert value(found, "chatd_store_commits_total") == 42
    assert value(found, "chatd_store_write_seconds_count") == 40
    assert value(found, "chatd_store_write_seconds_sum") == 0.5
    assert value(found, "chatd_store_batch_size_sum") == 90


def test_memory_store_has_no_store_metrics(hub, clock):
    """MemoryStore counts nothing; the SQLite store's real counter is read from a real store."""
    assert not [m for m in ChatCollector(hub).collect() if m.name.startswith("chatd_store")]
    registry, _ = makeRegistry(hub, clock, process=False)
    assert "process_cpu_seconds" not in {m.name for m in registry.collect()}


def test_event_loop_lag(hub, clock):
    """
    The monitor runs while the site is served, and records how late each
    one-second timer fired, including stalls longer than the interval.
    """
    site = makeMetricsSite(hub, clock)
    assert not site.lag.running
    site.doStart()  # what listening on a port does
    assert site.lag.running
    clock.advance(1.0)    # on time
    clock.advance(1.25)   # due at +2.0, ran at +2.25
    clock.advance(3.5)    # due at +3.25, ran at +5.75: a 2.5 s stall
    found = samples(get(site)[2])
    assert value(found, "chatd_event_loop_lag_seconds_count") == 3
    assert value(found, "chatd_event_loop_lag_seconds_sum") == pytest.approx(2.75)
    assert value(found, "chatd_event_loop_lag_last_seconds") == pytest.approx(2.5)
    assert value(found, "chatd_event_loop_lag_seconds_bucket", le="0.001") == 1
    assert value(found, "chatd_event_loop_lag_seconds_bucket", le="0.25") == 2
    assert value(found, "chatd_event_loop_lag_seconds_bucket", le="2.5") == 3
    site.doStop()
    assert not site.lag.running
    clock.advance(10.0)  # stopped: no timer is left to fire and measure
    assert value(samples(get(site)[2]), "chatd_event_loop_lag_seconds_count") == 3


def test_only_metrics_is_served(hub, clock):
    site = makeMetricsSite(hub, clock)
    assert get(site, b"/")[0] == 404
    assert get(site, b"/api/")[0] == 404
    assert get(site, b"/metrics/extra")[0] == 404
    assert get(site, b"/metrics/")[0] == 200


def test_openmetrics_negotiated(hub, clock):
    """choose_encoder answers what the scraper asks for (Prometheus asks for OpenMetrics)."""
    status, headers, body = get(makeMetricsSite(hub, clock),
                                accept=b"application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
    assert status == 200
    assert headers[b"content-type"].startswith(b"application/openmetrics-text")
    assert body.endswith(b"# EOF\n")


def test_registries_are_private(hub, clock):
    """Two sites, two registries, no global state: names never clash."""
    a, b = makeMetricsSite(hub, clock), makeMetricsSite(hub, clock)
    assert a.registry is not b.registry
    from prometheus_client import REGISTRY
    assert "chatd_sessions" not in {m.name for m in REGISTRY.collect()}


def connect(site):
    proto = site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
    transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 40000))
    proto.makeConnection(transport)
    return proto, transport


@pytest.mark.parametrize("send, closed_after", [
    (b"GET /metrics HTTP/1.1\r\nHost: x\r\n", 5),  # headers never end: the header deadline
    (b"POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 12),  # the request deadline
])
def test_a_slow_request_is_cut_at_the_web_deadlines(hub, clock, send, closed_after):
    """A byte a second keeps twisted.web's idle timer alive; the deadlines close it anyway."""
    site = makeMetricsSite(hub, clock)
    site.headerTimeout, site.requestTimeout = 5, 12
    proto, transport = connect(site)
    proto.dataReceived(send)
    seconds = 0
    while not transport.disconnecting and seconds < 100:
        clock.advance(1)
        seconds += 1
        proto.dataReceived(b"X-Slow: 1\r\n" if b"chunked" not in send else b"1\r\nx\r\n")
    assert seconds == closed_after


def test_an_idle_connection_is_closed_like_a_web_one(hub, clock):
    """The web listener's idle timeout (30 s), not twisted.web's default."""
    _, transport = connect(makeMetricsSite(hub, clock))
    clock.advance(IDLE_TIMEOUT - 1)
    assert not transport.disconnecting
    clock.advance(1)
    assert transport.disconnecting


def test_the_bus_counts_repeats_and_gaps_a_feed_dropped_or_filled(hub, clock):
    """A feed that drops a message the bus brought twice, and fills a gap, is counted at scrape time."""
    from chatd.core import events as ev

    alice = join(hub, "alice", "lines", "#r")
    alice.say("#r", "one")
    feed = hub.rooms["#r"].feed
    feed.receive(ev.Message(room="#r", nick="alice", text="one", id=1))  # again
    hub.store.append("#r", "message", "bob", "two", clock.seconds(), "bob #r", None)
    hub.store.append("#r", "message", "bob", "three", clock.seconds(), "bob #r", None)
    feed.receive(ev.Message(room="#r", nick="bob", text="three", id=3))  # id 2 never came: a gap
    found = samples(get(makeMetricsSite(hub, clock))[2])
    assert value(found, "chatd_bus_repeats_total") == 1
    assert value(found, "chatd_bus_gaps_total") == 1
    assert not [k for k in found if k[0] == "chatd_cluster_connected"]  # one node: no cluster gauge
