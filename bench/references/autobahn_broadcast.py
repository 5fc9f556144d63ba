"""
Reference: the best Twisted + Autobahn WebSocket broadcast server, in a few
lines.

The first text message a client sends names its room (the server answers
"ok"); every later message is framed once (C{prepareMessage}) and the same
frame is sent to every member of the room, the sender included (as chatd's
WebSocket front end echoes a message to its sender).  No JSON, no nicks, no
history, no flood control, no bound on what a slow reader queues.

    python bench/references/autobahn_broadcast.py [PORT]   # prints "listening on PORT"
"""

import sys

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from twisted.internet import endpoints, reactor


class Member(WebSocketServerProtocol):
    room = None

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        if self.room is None:
            self.room = self.factory.rooms.setdefault(payload, set())
            self.room.add(self)
            self.sendMessage(b"ok")
            return
        prepared = self.factory.prepareMessage(payload, isBinary)  # framed once
        for member in self.room:
            member.sendPreparedMessage(prepared)

    def onClose(self, wasClean, code, reason) -> None:
        if self.room is not None:
            self.room.discard(self)


class Broadcast(WebSocketServerFactory):
    protocol = Member
    noisy = False

    def __init__(self) -> None:
        super().__init__()
        self.rooms = {}
        self.setProtocolOptions(perMessageCompressionAccept=lambda offers: None)


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    endpoint = endpoints.TCP4ServerEndpoint(reactor, port, backlog=1024, interface="127.0.0.1")
    d = endpoint.listen(Broadcast())
    d.addCallback(lambda p: print(f"listening on {p.getHost().port}", flush=True))
    reactor.run()


if __name__ == "__main__":
    main()
