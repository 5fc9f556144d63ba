"""
A WebSocket echo endpoint for the Autobahn|Testsuite (run by kosoku), built
from chatd's PRODUCTION WebSocket protocol class and factory options.

Only the chat part is swapped out: L{EchoMember} is a L{WebSocketMember}
(same connection set-up, same origin check, same L{Outbox} with the same
C{sendq} bound and per-turn write coalescing, same in-order command queue) whose frames are echoed back
instead of being run as chat commands, and which sends no welcome.  The
factory is L{WebSocketMemberFactory} itself, so every Autobahn option
(frame and message limits, compression refused, timeouts, pings, origin
policy, failByDrop) is exactly what the daemon sets from a L{Config}.  It
is served like in production: a twisted.web L{Site} with Autobahn's
L{WebSocketResource} at C{/ws}.

Never mounted by the daemon.  Run it:

    python tests/conformance/echo_server.py            # production limits
    python tests/conformance/echo_server.py --raise-limits --port 9001   # category 9, by hand

It prints C{LISTENING <port>} on stdout once it accepts connections, and
runs until killed (SIGTERM / Ctrl-C).
"""

import argparse
import sys
from dataclasses import replace

from autobahn.twisted.resource import WebSocketResource
from autobahn.websocket.protocol import PreparedMessage
from twisted.internet.defer import succeed
from twisted.web.resource import Resource
from twisted.web.server import Site

from chatd.config import Config, WebConfig
from chatd.core.hub import Hub
from chatd.frontends.outbox import Turn
from chatd.frontends.web import REQUEST_TIMEOUT
from chatd.frontends.websocket import WebSocketMember, WebSocketMemberFactory
from chatd.store.memory import MemoryStore

#: Category 9 sends messages of up to 16 MiB (and reads them back).
RAISED_MESSAGE = 32 * 1024 * 1024


class EchoMember(WebSocketMember):
    """The production protocol, echoing each message instead of chatting."""

    def onOpen(self) -> None:
        # No core session and no welcome: the test suite expects pure echo.
        pass

    def _handle(self, payload: bytes, isBinary: bool):
        # Through the production output path (the Outbox, bounded by sendq).
        self._write(PreparedMessage(payload, isBinary, False, True).payloadHybi)
        return succeed(None)


class EchoFactory(WebSocketMemberFactory):
    protocol = EchoMember


def make_config(raise_limits: bool = False) -> Config:
    """chatd's defaults; with C{raise_limits}, big enough for category 9."""
    config = Config(db=":memory:")
    if raise_limits:
        config = replace(
            config,
            sendq=4 * RAISED_MESSAGE,
            web=replace(WebConfig(), max_frame=RAISED_MESSAGE, max_message=RAISED_MESSAGE),
        )
    return config


def make_site(reactor, config: Config) -> Site:
    hub = Hub(reactor, MemoryStore(), config.rules, name=config.name)
    root = Resource()
    # As chatd.service.makeService does: one Turn coalesces every connection's writes per reactor turn.
    factory = EchoFactory(hub, config, reactor=reactor, turn=Turn(reactor))
    root.putChild(b"ws", WebSocketResource(factory))
    site = Site(root, timeout=REQUEST_TIMEOUT, reactor=reactor)
    site.displayTracebacks = False
    return site


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default: any free one)")
    parser.add_argument("--raise-limits", action="store_true",
                        help=f"max_frame = max_message = {RAISED_MESSAGE} and a matching sendq (category 9)")
    args = parser.parse_args(argv)

    from twisted.internet import reactor

    config = make_config(args.raise_limits)
    port = reactor.listenTCP(args.port, make_site(reactor, config), interface="127.0.0.1")
    web = config.web
    print(f"LISTENING {port.getHost().port}", flush=True)
    print(
        f"limits: max_frame={web.max_frame} max_message={web.max_message} sendq={config.sendq} "
        f"open_handshake_timeout={web.open_handshake_timeout} close_handshake_timeout={web.close_handshake_timeout}",
        file=sys.stderr, flush=True,
    )
    reactor.run()


if __name__ == "__main__":
    main()
