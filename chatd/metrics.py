# -*- test-case-name: tests.test_metrics -*-
"""
Prometheus metrics on their own listener: C{makeMetricsSite(hub, reactor)}.

Almost everything is read from the hub when Prometheus scrapes, by
L{ChatCollector}: the sessions, rooms and members the hub already holds,
and the counters in C{hub.stats} (a L{collections.Counter} the core and
front ends bump).  So the chat path pays nothing for metrics beyond a
dictionary increment.  The exceptions are the event-loop lag, measured by
L{LagMonitor} once a second, and the process metrics prometheus_client
reads from C{/proc} at scrape time.

Everything lives on a private L{CollectorRegistry}, not the global one, so
tests build as many as they like.  The page is rendered in the reactor
thread (no thread pool: a scrape is cheap, and reading the hub from
another thread would not be safe); C{prometheus_client.twisted} is not
used, since it imports the global reactor.

Room names, nicks and addresses are never labels: they are unbounded.
"""

from collections import Counter
from typing import Iterator, Mapping, Tuple

from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client import GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from twisted.web import pages
from twisted.web.resource import Resource
from chatd import __version__
from chatd.frontends.gate import GatedFactory, http_refusal
from chatd.frontends.httpbounds import IDLE_TIMEOUT, DeadlineSite, set_deadlines
from chatd.frontends.registry import Built, FrontEnd

#: Front ends always reported, at 0 when idle, so their series never vanish.
FRONTENDS = ("lines", "websocket", "longpoll", "irc", "wamp")

#: hub.stats key -> (metric name without _total, help).
COUNTERS = {
    "messages_received": ("chatd_messages_received", "Room messages and actions accepted from clients."),
    "deliveries": ("chatd_deliveries", "Events handed to sessions (one per recipient)."),
    "slow_dropped": ("chatd_slow_clients_dropped", "Clients disconnected for reading too slowly (send queue over its bound)."),
    "rate_limited": ("chatd_rate_limited", "Commands held by flood control and run late (fakelag)."),
    "flood_disconnects": ("chatd_flood_disconnects", "Clients disconnected for flooding (held input over [limits] recvq)."),
    "bus_repeats": ("chatd_bus_repeats", "Room messages the bus brought again, dropped (each member got them once)."),
    "bus_gaps": ("chatd_bus_gaps", "Gaps in a room's messages on the bus, filled from the store or announced."),
    "redis_reconnects": ("chatd_cluster_reconnects", "Times this node's link to Redis came back (cluster only)."),
    "nodes_reaped": ("chatd_cluster_nodes_reaped", "Dead nodes this node's janitor cleared up after (cluster only)."),
}

#: hub.stats key prefix -> (metric name without _total, label, help).
LABELLED = {
    "bytes_out:": ("chatd_bytes_out", "frontend", "Bytes written to clients, by front end."),
    "error:": ("chatd_errors", "code", "Error replies sent to clients, by error code."),
    "connections_refused:": ("chatd_connections_refused", "reason", "Connections refused before a session began, by reason."),
}

#: Seconds; the lag a healthy loop shows is well under the first bucket.
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ChatCollector:
    """
    Reads the hub (and its store) at scrape time.

    @param hub: a L{chatd.core.hub.Hub}; C{hub.stats} is optional, and a
        missing key reads as 0.
    """

    def __init__(self, hub) -> None:
        self.hub = hub

    def collect(self) -> Iterator[Metric]:
        hub = self.hub
        by_frontend = Counter({name: 0 for name in FRONTENDS})
        by_frontend.update(s.frontend or "unknown" for s in tuple(hub.sessions))
        sessions = GaugeMetricFamily(
            "chatd_sessions", "Open sessions (connections, and long-poll sessions), by front end.",
            labels=["frontend"])
        for name, n in sorted(by_frontend.items()):
            sessions.add_metric([name], n)
        yield sessions
        rooms = tuple(hub.rooms.values())
        yield GaugeMetricFamily("chatd_rooms", "Rooms that exist now (rooms with members).", value=len(rooms))
        yield GaugeMetricFamily("chatd_room_members", "Room memberships: the sum of every room's member count.",
                                value=sum(len(r.members) for r in rooms))
        yield from self._stats(getattr(hub, "stats", None) or {})
        yield from self._store(hub.store)
        link = getattr(getattr(hub, "nodes", None), "link", None)
        if link is not None:
            yield GaugeMetricFamily("chatd_cluster_connected", "1 while this node listens to Redis, 0 while it is cut "
                                    "off (cluster only).", value=1 if link.up else 0)

    def _stats(self, stats: Mapping[str, int]) -> Iterator[Metric]:
        for key, (name, doc) in COUNTERS.items():
            yield CounterMetricFamily(name, doc, value=stats.get(key, 0))
        families = {prefix: CounterMetricFamily(name, doc, labels=[label])
                    for prefix, (name, label, doc) in LABELLED.items()}
        for key, value in tuple(stats.items()):
            prefix, sep, label = key.partition(":")
            family = families.get(prefix + sep)
            if family is not None and label:
                family.add_metric([label], value)
        yield from families.values()

    def _store(self, store) -> Iterator[Metric]:
        """
        What the store exposes.  Today L{chatd.store.sqlite.SQLiteStore}
        counts C{commits}; a C{stats} mapping with C{commits},
        C{write_seconds_sum}/C{write_seconds_count} and
        C{batch_size_sum}/C{batch_size_count} adds latency and batch size.
        """
        stats = getattr(store, "stats", None)
        stats = stats if isinstance(stats, Mapping) else {}
        commits = stats.get("commits", getattr(store, "commits", None))
        if commits is not None:
            yield CounterMetricFamily("chatd_store_commits", "History store transactions committed.", value=commits)
        if "write_seconds_count" in stats:
            yield SummaryMetricFamily(
                "chatd_store_write_seconds", "Time the store spent per committed transaction.",
                count_value=stats["write_seconds_count"], sum_value=stats.get("write_seconds_sum", 0.0))
        if "batch_size_count" in stats:
            yield SummaryMetricFamily(
                "chatd_store_batch_size", "Operations per committed transaction (group commit).",
                count_value=stats["batch_size_count"], sum_value=stats.get("batch_size_sum", 0))


class LagMonitor:
    """
    How late the reactor runs a timer: a stall in the reactor thread (a
    slow callback, a blocking call, CPU starvation) delays every client.

    A chain of C{callLater}s rather than a C{LoopingCall}: C{LoopingCall}
    skips the intervals it missed, so a stall longer than the interval
    would be measured modulo the interval.

    @param clock: an C{IReactorTime}.
    """

    def __init__(self, clock, histogram: Histogram, last: Gauge, interval: float = 1.0) -> None:
        self.clock = clock
        self.histogram = histogram
        self.last = last
        self.interval = interval
        self._call = None
        self._due = 0.0

    @property
    def running(self) -> bool:
        return self._call is not None

    def start(self) -> None:
        if self._call is None:
            self._schedule()

    def stop(self) -> None:
        if self._call is not None:
            if self._call.active():
                self._call.cancel()
            self._call = None

    def _schedule(self) -> None:
        self._due = self.clock.seconds() + self.interval
        self._call = self.clock.callLater(self.interval, self._tick)

    def _tick(self) -> None:
        lag = max(0.0, self.clock.seconds() - self._due)
        self.histogram.observe(lag)
        self.last.set(lag)
        self._schedule()


class MetricsResource(Resource):
    """C{GET /metrics}: the registry in the format the scraper asks for."""

    isLeaf = True

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__()
        self.registry = registry

    def render_GET(self, request) -> bytes:
        if request.postpath not in ([], [b""]):
            return pages.notFound().render(request)
        accept = request.getHeader(b"accept") or b""
        encode, content_type = choose_encoder(accept.decode("latin-1"))
        request.setHeader(b"content-type", content_type.encode("ascii"))
        request.setHeader(b"cache-control", b"no-store")
        return encode(self.registry)


class _Root(Resource):
    """C{/metrics} and nothing else."""

    def __init__(self, metrics: Resource) -> None:
        super().__init__()
        self.metrics = metrics

    def getChild(self, path: bytes, request) -> Resource:
        return self.metrics if path == b"metrics" else pages.notFound()

    def render(self, request) -> bytes:
        return pages.notFound().render(request)


class MetricsSite(DeadlineSite):
    """
    The metrics listener's site.  The lag monitor runs while a port
    serves it (C{startFactory}/C{stopFactory}), so stopping the listener
    leaves no timer behind.  Scrapes are not access-logged: one every
    15 seconds would drown the log.

    Its connections have the web listener's deadlines (L{DeadlineSite}; the
    service applies C{[web] header_timeout} and C{request_timeout}) and
    its idle timeout, not twisted.web's 12 hours.
    """

    def __init__(self, resource: Resource, registry: CollectorRegistry, lag: LagMonitor, reactor) -> None:
        super().__init__(resource, reactor=reactor, timeout=IDLE_TIMEOUT)
        self.registry = registry
        self.lag = lag
        self.displayTracebacks = False

    def startFactory(self) -> None:
        super().startFactory()
        self.lag.start()

    def stopFactory(self) -> None:
        self.lag.stop()
        super().stopFactory()

    def log(self, request) -> None:
        pass


def makeRegistry(hub, clock, process: bool = True) -> Tuple[CollectorRegistry, LagMonitor]:
    """
    A fresh registry with chatd's metrics (and, if C{process}, the
    process, platform and garbage collector metrics), and the lag monitor
    feeding it (not started).
    """
    registry = CollectorRegistry()
    registry.register(ChatCollector(hub))
    info = Gauge("chatd_build_info", "Always 1; the version is a label.", ["version"], registry=registry)
    info.labels(__version__).set(1)
    histogram = Histogram("chatd_event_loop_lag_seconds", "How late the reactor ran a timer due every second.",
                          buckets=LAG_BUCKETS, registry=registry)
    last = Gauge("chatd_event_loop_lag_last_seconds", "The latest event-loop lag measurement.", registry=registry)
    if process:
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
    return registry, LagMonitor(clock, histogram, last)


def makeMetricsSite(hub, reactor) -> MetricsSite:
    """
    The site to listen on with the C{[metrics] listen} endpoint: C{/metrics}
    and a 404 everywhere else.

    @param reactor: the reactor (C{IReactorTime}), or a Clock in tests.
    """
    registry, lag = makeRegistry(hub, reactor)
    return MetricsSite(_Root(MetricsResource(registry)), registry, lag, reactor)


def build(config, shared):
    """
    The metrics front end on the C{[metrics] listen} endpoint: an HTTP
    listener like the web one, behind the connection gate, with its
    deadlines.
    """
    site = makeMetricsSite(shared.hub, shared.reactor)
    set_deadlines(site, config.web)
    return Built(GatedFactory(shared.gate, site, http_refusal, "metrics"),
                 lambda old, new: set_deadlines(site, new.web) or [])


FRONT_END = FrontEnd("metrics", lambda config: (config.metrics,) if config.metrics else (), build)

__all__ = ["makeMetricsSite", "makeRegistry", "ChatCollector", "LagMonitor", "MetricsResource", "MetricsSite"]
