# -*- test-case-name: tests.cluster.test_cluster_link -*-
"""
A node's link to Redis: the connection commands go over (the store's,
L{chatd.store.redis_connect}), and one more for the channels it listens
to (rooms, its directive channel, long-poll wake-ups).

Redis forgets a subscriber's channels when its connection drops, and
does not keep what was published meanwhile.  The link subscribes again to
every channel on every reconnect, then calls each L{Link.on_reconnect}
callback, so that what was missed is read back from the store.
"""

from typing import Callable, Dict, List, Optional

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.endpoints import clientFromString
from twisted.logger import Logger
from txredisapi import ConnectionHandler, RedisFactory, SubscriberProtocol

from chatd.store.redis_connect import RedisUnavailable

log = Logger(namespace="chatd.cluster")

Handler = Callable[[bytes], None]


class _Listener(SubscriberProtocol):
    """A subscriber connection handing each message to the link."""

    def connectionMade(self):
        d = super().connectionMade()
        self.whenConnected().addCallback(self.factory.link._connected)
        return d

    def messageReceived(self, pattern, channel, message) -> None:
        self.factory.link._message(channel, message)

    def connectionLost(self, why) -> None:
        self.factory.link._lost(why)
        super().connectionLost(why)


class _Commands:
    """
    The command connection, as the link's users hold it from the start
    (front ends are built before the node connects): calls go to the
    connection once it is attached, and fail plainly before.
    """

    def __init__(self) -> None:
        self.real = None

    def execute_command(self, *args, **kwargs) -> Deferred:
        if self.real is None:
            return fail(RedisUnavailable("This node is not connected to Redis yet."))
        return self.real.execute_command(*args, **kwargs)

    def disconnect(self) -> Deferred:
        return self.real.disconnect() if self.real is not None else succeed(None)


class Link:
    """
    @param conn: the command connection (a txredisapi handler, answers as
        bytes), or None to L{attach} it later.
    @param endpoint: the Twisted client endpoint string of Redis ([cluster] redis).
    """

    def __init__(self, conn, endpoint: str, password: Optional[str] = None, username: Optional[str] = None,
                 db: int = 0, reactor=None) -> None:
        if reactor is None:
            from twisted.internet import reactor
        #: The command connection (C{execute_command}).
        self.conn = _Commands()
        if conn is not None:
            self.attach(conn)
        self.endpoint = endpoint
        self.reactor = reactor
        self._handlers: Dict[bytes, Handler] = {}
        self._reconnected: List[Callable[[], object]] = []
        self._factory = RedisFactory(endpoint, db or None, 1, False, ConnectionHandler, None, password, None,
                                     False, username)
        self._factory.protocol = _Listener
        self._factory.link = self
        self._factory.initialDelay, self._factory.maxDelay = 0.2, 5.0
        self._listener: Optional[_Listener] = None
        self._ever = False
        self._started: Optional[Deferred] = None
        #: Whether the listening connection is up (for metrics and chatctl status).
        self.up = False

    def attach(self, conn) -> None:
        """Commands go over C{conn} from now on."""
        self.conn.real = conn

    def start(self) -> Deferred:
        """Connect the listening connection; fires once it is up."""
        self._started = Deferred()
        self._factory.startConnecting(clientFromString(self.reactor, self.endpoint))
        return self._started

    def stop(self) -> Deferred:
        """Close the listening connection for good (the node is stopping: no loss to warn of)."""
        self.up = False
        return self._factory.disconnect()

    # -- channels -------------------------------------------------------------------------

    def subscribe(self, channel: str, handler: Handler) -> Deferred:
        """
        Listen to C{channel}: C{handler(message)} for each message.  Fires
        once Redis confirms (what is published from then on arrives).
        """
        name = channel.encode()
        self._handlers[name] = handler
        if self._listener is None:
            return succeed(None)  # subscribed when it connects
        return self._listener.execute_command("SUBSCRIBE", name, apply_timeout=False).addErrback(self._no_answer)

    def unsubscribe(self, channel: str) -> None:
        name = channel.encode()
        if self._handlers.pop(name, None) is not None and self._listener is not None:
            self._listener.execute_command("UNSUBSCRIBE", name).addErrback(self._no_answer)

    def publish(self, channel: str, data: bytes) -> Deferred:
        return self.conn.execute_command("PUBLISH", channel, data)

    def on_reconnect(self, callback: Callable[[], object]) -> None:
        """Call C{callback()} each time the listening connection is back after it was lost."""
        self._reconnected.append(callback)

    # -- the listening connection -------------------------------------------------------------

    def _connected(self, listener: _Listener) -> None:
        self._listener = listener
        channels = list(self._handlers)
        d = listener.execute_command("SUBSCRIBE", *channels, apply_timeout=False) if channels else succeed(None)
        d.addCallbacks(self._listening, self._no_answer)

    def _listening(self, _) -> None:
        self.up = True
        if self._ever:
            log.info("Listening to Redis at {where} again; every room catches up from the store",
                     where=self.endpoint)
            for callback in self._reconnected:
                try:
                    callback()
                except Exception:
                    log.failure("Catching up after a Redis reconnect failed")
        self._ever = True
        if self._started is not None and not self._started.called:
            self._started.callback(None)

    def _lost(self, why) -> None:
        if self.up:
            log.warn("Lost the connection to Redis at {where} ({why}); reconnecting. Members on this node see "
                     "nothing from other nodes until it is back.", where=self.endpoint, why=why.getErrorMessage())
        self.up = False
        self._listener = None

    def _message(self, channel: bytes, message: bytes) -> None:
        handler = self._handlers.get(channel)
        if handler is None:
            return
        try:
            handler(message)
        except Exception:
            log.failure("Handling a message on {channel} failed", channel=channel.decode("utf-8", "replace"))

    def _no_answer(self, failure) -> None:
        log.debug("A subscription command got no answer: {why}", why=failure.getErrorMessage())
