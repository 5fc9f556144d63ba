"""
Reference: the best plain Twisted line broadcast server, in a few lines.

The first line a client sends names its room (the server answers "ok");
every later line is written to every other member of that room, as is.
No nicks, no history, no flood control, no bound on what a slow reader
queues: it is the floor a Twisted line server cannot go below.

    python bench/references/lines_broadcast.py [PORT]   # prints "listening on PORT"
"""

import sys

from twisted.internet import endpoints, reactor
from twisted.internet.protocol import Factory
from twisted.protocols.basic import LineReceiver


class Member(LineReceiver):
    delimiter = b"\n"
    MAX_LENGTH = 16384
    room = None

    def lineReceived(self, line: bytes) -> None:
        if self.room is None:
            self.room = self.factory.rooms.setdefault(line.strip(), set())
            self.room.add(self)
            self.transport.write(b"ok\n")
            return
        data = line + b"\n"  # built once, written to every member
        for member in self.room:
            if member is not self:
                member.transport.write(data)

    def connectionLost(self, reason) -> None:
        if self.room is not None:
            self.room.discard(self)


class Broadcast(Factory):
    protocol = Member
    noisy = False

    def __init__(self) -> None:
        self.rooms = {}


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    endpoint = endpoints.TCP4ServerEndpoint(reactor, port, backlog=1024, interface="127.0.0.1")
    d = endpoint.listen(Broadcast())
    d.addCallback(lambda p: print(f"listening on {p.getHost().port}", flush=True))
    reactor.run()


if __name__ == "__main__":
    main()
