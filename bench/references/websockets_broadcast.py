"""
Reference: a Python C{websockets} broadcast server (its asyncio
implementation), in a few lines.

The same protocol as autobahn_broadcast.py: the first text message a client
sends names its room (the server answers "ok"); every later message goes to
every member of the room, the sender included, through
C{websockets.broadcast()}, which the library's docs name the fastest way to
send one message to many clients: it encodes the message once and queues a
frame on every open connection without waiting for any of them.  No JSON, no
nicks, no history, no flood control, no bound on what a slow reader queues
(C{broadcast()} ignores backpressure); permessage-deflate is off, as chatd
refuses it.  Everything else is the library's defaults: the standard asyncio
event loop (uvloop is not a dependency), keepalive pings every 20 s, 1 MiB
messages at most.

    python bench/references/websockets_broadcast.py [PORT]   # prints "listening on PORT"
"""

import asyncio
import sys

from websockets.asyncio.server import broadcast, serve

rooms = {}


async def member(websocket) -> None:
    room = rooms.setdefault(await websocket.recv(), set())
    room.add(websocket)
    try:
        await websocket.send("ok")
        async for message in websocket:
            broadcast(room, message)
    finally:
        room.discard(websocket)


async def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    async with serve(member, "127.0.0.1", port, compression=None, backlog=1024) as server:
        print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
