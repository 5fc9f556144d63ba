"""The service tree and what a reload (SIGHUP, chatctl reload) changes live."""

from dataclasses import replace

from twisted.internet.testing import MemoryReactorClock

from chatd import config as cfg
from chatd.service import makeService
from chatd.store.memory import MemoryStore


def build(loader):
    reactor = MemoryReactorClock()
    return makeService(cfg.build({}), reactor, store=MemoryStore(), loader=loader)


def test_reload_applies_live_settings_and_reports_restart_ones():
    """motd, limits, origins, CORS and timeouts change live; listeners and the db need a restart."""
    new = {}
    service = build(lambda: new["config"])
    old = service.config
    new["config"] = replace(
        old,
        motd="Fresh motd",
        db="/elsewhere.sqlite3",
        lines=("tcp:2424",),
        registration_timeout=30,
        web=replace(old.web, allowed_origins=("https://chat.example",), cors_origins=("https://app.example",),
                    header_timeout=4),
        rules=replace(old.rules, max_message=100),
    )
    report = service.reload()
    assert "motd updated" in report and "limits updated" in report
    assert "allowed origins updated" in report and "CORS origins updated" in report
    assert "needs a restart to take effect: [lines] listen, [history] db" in report
    lines = service.frontends["lines"].factory
    assert lines.motd == "Fresh motd" and lines.registration_timeout == 30
    assert service.hub.rules.max_message == 100
    site = service.frontends["web"].factory.wrappedFactory
    assert site.headerTimeout == 4
    assert ("https", "chat.example", 443) in site.websocket.allowed_origins


def test_a_broken_config_on_reload_changes_nothing():
    """A file that does not parse is refused as a whole; the running settings stay."""
    def broken():
        raise cfg.ConfigError("[limits] max_message = 'lots': expected a whole number.")

    service = build(broken)
    before = service.config
    report = service.reload()
    assert report == ["error: [limits] max_message = 'lots': expected a whole number."]
    assert service.config is before


def test_existing_sessions_get_new_flood_limits():
    """Flood limits apply to sessions already connected, not only to new ones."""
    new = {}
    service = build(lambda: new["config"])
    service.hub.rules = replace(service.config.rules, flood_rate=1, flood_burst=1)

    class Sink:
        def deliver(self, event):
            pass

        def disconnect(self, reason):
            pass

    session = service.hub.connect(Sink(), "127.0.0.1:1", "test")
    ran = []
    for n in range(5):
        session.submit(1, 5, lambda n=n: ran.append(n))
    assert ran == [0], "one token: the rest are held"
    new["config"] = replace(service.config, rules=replace(service.config.rules, flood_rate=7, flood_burst=30))
    service.reload()
    service.reactor.advance(1)
    assert ran == [0, 1, 2, 3, 4], "held input runs at the new rate"
    ran.clear()
    service.reactor.advance(10)
    for n in range(30):
        session.submit(1, 5, lambda n=n: ran.append(n))
    assert len(ran) == 30, "the new burst applies to this session"


def test_a_new_sendq_reaches_connections_already_open():
    """sendq changes live for every connection of every front end, without the service reaching into them."""
    from twisted.internet.address import IPv4Address
    from twisted.internet.testing import StringTransport

    new = {}
    service = build(lambda: new["config"])
    lines = service.frontends["lines"].factory
    member = lines.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40001))
    member.makeConnection(StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 40001)))
    assert member.outbox.bound == service.config.sendq
    new["config"] = replace(service.config, sendq=1234)
    service.reload()
    assert member.outbox.bound == 1234
    assert service.frontends["web"].factory.wrappedFactory.websocket.sendq == 1234
