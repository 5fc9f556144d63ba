"""
A WAMP client on Autobahn|Python (asyncio), in its own process, for
tests/e2e/test_wamp_*.py: a test drives it line by line.

    python wamp_py_client.py URL SERIALIZER [AUTHID TICKET]

SERIALIZER is json or msgpack (or their batched forms: Python only); with AUTHID and TICKET it authenticates by
ticket, else it joins anonymously.  It reads commands as JSON lines on
stdin and writes what happens as JSON lines on stdout, the same protocol
as node/wamp_client.mjs (autobahn-js):

  {"op": "call", "id": I, "procedure": P, "args": [...], "kwargs": {...}, "timeout": MS (optional)}
      -> {"event": "result", "id": I, "args": [...], "kwargs": {...}}
  {"op": "subscribe", "id": I, "topic": T}
      -> {"event": "subscribed", "id": I}, then for each EVENT
         {"event": "event", "topic": T, "publication": N, "args": [...], "kwargs": {...}}
  {"op": "publish", "id": I, "topic": T, "args": [...], "kwargs": {...}, "acknowledge": true}
      -> {"event": "published", "id": I, "publication": N} (when acknowledged)
  {"op": "register", "id": I, "procedure": P, "error": URI (optional), "hold": true (optional)}
      -> {"event": "registered", "id": I}; each INVOCATION prints
         {"event": "invoked", "procedure": P, "args": [...], "kwargs": {...}}
         and answers its string arguments upper-cased, with kwargs
         {"by": "autobahn-python", "got": KWARGS}, or fails with URI, or
         (hold) never answers
  {"op": "leave"} -> GOODBYE; the process exits when the session ends.

Any refusal is {"event": "error", "id": I, "error": URI, "args": [...], "kwargs": {...}};
a command the client could not even send is {"event": "failed", "id": I, "error": TEXT}.
The session's start and end are {"event": "open", "session": N, "authid": ...,
"authrole": ..., "authmethod": ..., "authextra": {...}} and
{"event": "closed", "reason": URI, "message": TEXT}; {"event": "disconnected"}
follows when the connection is gone.  Autobahn's own log goes to stderr,
so a failing test can show it.
"""

import asyncio
import json
import sys
import traceback

from autobahn.asyncio.wamp import ApplicationSession
from autobahn.asyncio.websocket import WampWebSocketClientFactory
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.serializer import JsonSerializer, MsgPackSerializer
from autobahn.wamp.types import CallOptions, CallResult, ComponentConfig, PublishOptions, SubscribeOptions
from autobahn.websocket.util import parse_url

LIB = "autobahn-python"
SERIALIZERS = {
    "json": JsonSerializer,
    "msgpack": MsgPackSerializer,
    "json.batched": lambda: JsonSerializer(batched=True),
    "msgpack.batched": lambda: MsgPackSerializer(batched=True),
}


def out(**event) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def refusal(op_id, error: ApplicationError) -> None:
    out(event="error", id=op_id, error=error.error, args=list(error.args), kwargs=error.kwargs or {})


class Driven(ApplicationSession):
    """A session that does what stdin says and tells stdout what happened."""

    authid = None
    ticket = None

    def __init__(self, config) -> None:
        super().__init__(config)
        self.tasks = set()

    def onConnect(self):
        if self.authid is None:
            self.join(self.config.realm)
        else:
            self.join(self.config.realm, authmethods=["ticket"], authid=self.authid)

    def onChallenge(self, challenge):
        return self.ticket

    async def onJoin(self, details):
        out(event="open", session=details.session, authid=details.authid, authrole=details.authrole,
            authmethod=details.authmethod, authextra=details.authextra or {})
        self.keep(self.read_commands())

    def onLeave(self, details):
        out(event="closed", reason=details.reason, message=details.message)
        self.disconnect()

    def onDisconnect(self):
        out(event="disconnected")
        asyncio.get_event_loop().stop()

    def keep(self, coroutine) -> None:
        """Run C{coroutine}, holding on to its task: asyncio keeps only weak references to tasks."""
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def read_commands(self):
        loop = asyncio.get_event_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = await reader.readline()
            if not line:
                self.leave()
                return
            self.keep(self.run(json.loads(line)))

    async def run(self, command: dict) -> None:
        op, op_id = command["op"], command.get("id")
        args, kwargs = command.get("args") or [], command.get("kwargs") or {}
        try:
            if op == "call":
                options = CallOptions(timeout=command["timeout"]) if command.get("timeout") else None
                got = await self.call(command["procedure"], *args, options=options, **kwargs)
                if isinstance(got, CallResult):
                    out(event="result", id=op_id, args=list(got.results), kwargs=got.kwresults)
                else:
                    out(event="result", id=op_id, args=[] if got is None else [got], kwargs={})
            elif op == "subscribe":
                topic = command["topic"]
                await self.subscribe(lambda *a, **kw: self.on_event(topic, a, kw), topic,
                                     options=SubscribeOptions(details_arg="details"))
                out(event="subscribed", id=op_id)
            elif op == "publish":
                acknowledge = bool(command.get("acknowledge"))
                options = PublishOptions(acknowledge=acknowledge, exclude_me=command.get("exclude_me"))
                published = self.publish(command["topic"], *args, options=options, **kwargs)
                if acknowledge:  # else Autobahn returns None: nothing comes back
                    out(event="published", id=op_id, publication=(await published).id)
            elif op == "register":
                endpoint = callee(command["procedure"], command.get("error"), command.get("hold"))
                await self.register(endpoint, command["procedure"])
                out(event="registered", id=op_id)
            elif op == "leave":
                self.leave()
        except ApplicationError as e:
            refusal(op_id, e)
        except Exception as e:  # a bug here, or Autobahn refusing what the test asked: say so
            traceback.print_exc()
            out(event="failed", id=op_id, op=op, error=f"{type(e).__name__}: {e}")

    def on_event(self, topic, args, kwargs):
        details = kwargs.pop("details")
        out(event="event", topic=topic, publication=details.publication, args=list(args), kwargs=kwargs)


def callee(procedure: str, error=None, hold=False):
    """A registered procedure: string arguments upper-cased, or the error asked for, or no answer."""

    def endpoint(*args, **kwargs):
        out(event="invoked", procedure=procedure, args=list(args), kwargs=kwargs)
        if hold:
            return asyncio.get_event_loop().create_future()
        if error:
            raise ApplicationError(error, f"{LIB} refuses {procedure}", by=LIB)
        return CallResult(*[a.upper() if isinstance(a, str) else a for a in args], by=LIB, got=kwargs)

    return endpoint


def main(url: str, serializer: str, authid=None, ticket=None) -> None:
    def make():
        session = Driven(ComponentConfig("chatd", {}))
        session.authid, session.ticket = authid, ticket
        return session

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    factory = WampWebSocketClientFactory(make, url=url, serializers=[SERIALIZERS[serializer]()], loop=loop)
    factory.setProtocolOptions(openHandshakeTimeout=5, closeHandshakeTimeout=1)
    _secure, host, port = parse_url(url)[:3]
    try:
        loop.run_until_complete(loop.create_connection(factory, host, port))
    except OSError as e:
        out(event="closed", reason="unreachable", message=str(e))
        return
    loop.run_forever()


if __name__ == "__main__":
    main(*sys.argv[1:])
