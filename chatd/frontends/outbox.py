# -*- test-case-name: tests.frontends.test_outbox -*-
"""
A bounded outgoing buffer for one connection.

Twisted's C{transport.write} never refuses data: a client that stops
reading makes the server buffer without limit.  An L{Outbox} registers as
the transport's streaming producer, so it learns when the transport's own
buffer is full (C{pauseProducing}); from then on it queues, counting
bytes, and once the queue passes its bound it gives up on the client and
aborts the connection.  A slow reader therefore costs at most the
transport's buffer plus the bound, and never delays anyone else.
"""

from collections import deque
from typing import Callable, Deque

from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer


@implementer(IPushProducer)
class Outbox:
    """
    @param transport: the connection's transport.
    @param bound: most bytes queued while the transport is paused.
    @param on_overflow: called once, with the queued byte count, just
        before the connection is aborted.
    """

    def __init__(self, transport, bound: int, on_overflow: Callable[[int], None]) -> None:
        self.transport = transport
        self.bound = bound
        self.on_overflow = on_overflow
        self.paused = False
        self.overflowed = False
        self.queued = 0
        self._queue: Deque[bytes] = deque()
        transport.registerProducer(self, True)

    def write(self, data: bytes) -> None:
        if not self.paused:
            self.transport.write(data)
            return
        if self.overflowed:
            return
        self._queue.append(data)
        self.queued += len(data)
        if self.queued > self.bound:
            self.overflowed = True
            self.on_overflow(self.queued)
            self._queue.clear()
            self.transport.abortConnection()

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        if self._queue and not self.overflowed:
            data = b"".join(self._queue)
            self._queue.clear()
            self.queued = 0
            self.transport.write(data)

    def stopProducing(self) -> None:
        self._queue.clear()
        self.queued = 0
