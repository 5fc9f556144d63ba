# -*- test-case-name: tests.frontends.test_jsonapi -*-
"""
Run JSON protocol commands against a core session: shared by the WebSocket
and long-poll front ends so both answer every command identically.

Each command gets exactly one C{ok} or C{error}.  A command that reads
(C{who}, C{rooms}, C{history}, C{topic} without a value) first yields its
data event carrying the command's C{ref}, then its C{ok}.
"""

from typing import Callable, Dict, List

from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.logger import Logger

from chatd.core.errors import ChatError
from chatd.core.events import Event
from chatd.wire import jsonproto
from chatd.wire.jsonproto import Command

log = Logger(namespace="chatd.jsonapi")

Reply = List[bytes]


def _ok_after(ref, extra: Callable[[object], Dict] = lambda result: {}):
    def reply(result) -> Reply:
        return [jsonproto.encode(jsonproto.ok(ref, **extra(result)))]

    return reply


def _data_then_ok(ref):
    def reply(event: Event) -> Reply:
        return [
            jsonproto.encode(jsonproto.event_object(event, ref)),
            jsonproto.encode(jsonproto.ok(ref)),
        ]

    return reply


def _posted(event: Event) -> Dict:
    fields = {"id": event.id, "room": event.room}
    if event.cid is not None:
        fields["cid"] = event.cid
    return fields


def _call(session, command: Command) -> Deferred:
    a = command.args
    kind, ref = command.type, command.ref
    if kind == "nick":
        return maybeDeferred(session.set_nick, a["nick"]).addCallback(_ok_after(ref))
    if kind == "join":
        return maybeDeferred(session.join, a["room"], a.get("since")).addCallback(
            _ok_after(ref, lambda members: {"room": members.room})
        )
    if kind == "part":
        return maybeDeferred(session.part, a["room"], a.get("reason")).addCallback(_ok_after(ref))
    if kind == "say":
        return maybeDeferred(session.say, a["room"], a["text"], a.get("cid")).addCallback(_ok_after(ref, _posted))
    if kind == "action":
        return maybeDeferred(session.act, a["room"], a["text"], a.get("cid")).addCallback(_ok_after(ref, _posted))
    if kind == "msg":
        return maybeDeferred(session.private, a["to"], a["text"]).addCallback(_ok_after(ref))
    if kind == "topic":
        if "topic" in a:
            return maybeDeferred(session.set_topic, a["room"], a["topic"]).addCallback(_ok_after(ref))
        return maybeDeferred(session.topic, a["room"]).addCallback(_data_then_ok(ref))
    if kind == "who":
        return maybeDeferred(session.who, a["room"]).addCallback(_data_then_ok(ref))
    if kind == "rooms":
        return maybeDeferred(session.list_rooms).addCallback(_data_then_ok(ref))
    if kind == "history":
        return maybeDeferred(session.history, a["room"], a.get("limit"), a.get("before")).addCallback(
            _data_then_ok(ref)
        )
    raise AssertionError(f"decode_command accepted unknown type {kind!r}")  # pragma: no cover


def run(session, data: bytes) -> Deferred:
    """
    Decode C{data} as one command and run it under flood control
    (L{chatd.core.session.Session.submit}): now, or late when the client
    goes faster than the flood rate.

    @return: a Deferred firing with the list of encoded replies to send,
        in order.  It never fails: every problem becomes an C{error} reply,
        and a command that never runs (the session ended while it was
        held) gets C{unavailable}.
    """
    try:
        command = jsonproto.decode_command(data)
    except ChatError as e:
        error = e  # the except clause unbinds e; the refusal may run later
        return _submit(session, "invalid", len(data), lambda: refuse(session, error), getattr(e, "ref", None))
    return submit(session, command, len(data))


def submit(session, command: Command, size: int) -> Deferred:
    """Like L{run}, for a command that is already decoded (long-poll decodes first, to answer 400)."""
    return _submit(session, command.type, size, lambda: execute(session, command), command.ref)


def run_refusal(session, size: int, reply: bytes) -> Deferred:
    """Input refused before decoding (a binary frame): it waits its turn like any command, then gets C{reply}."""
    return _submit(session, "invalid", size, lambda: succeed([reply]), None)


def _submit(session, name: str, size: int, work: Callable[[], Deferred], ref) -> Deferred:
    result: Deferred = Deferred()

    def dropped(reason: str) -> None:
        result.callback([jsonproto.encode(jsonproto.error("unavailable", reason, ref))])

    session.submit(name, size, lambda: maybeDeferred(work).chainDeferred(result), dropped)
    return result


def refuse(session, e: ChatError) -> Deferred:
    """The C{error} reply to input that never became a command."""
    session.hub.count_error(e.code)
    return _fail(e, getattr(e, "ref", None))


def execute(session, command: Command) -> Deferred:
    """Run a decoded command now; a Deferred firing with its encoded replies."""
    d = maybeDeferred(_call, session, command)
    d.addErrback(_error_reply, command.ref, session)
    return d


def _fail(e: ChatError, ref) -> Deferred:
    return succeed([jsonproto.encode(jsonproto.error(e.code, e.message, ref))])


def _error_reply(failure, ref, session) -> Reply:
    if failure.check(ChatError):
        e = failure.value
        session.hub.count_error(e.code)
        return [jsonproto.encode(jsonproto.error(e.code, e.message, ref))]
    session.hub.count_error("internal")
    log.failure(
        "Unexpected error running a command for {session}; the client got an 'internal' error",
        failure,
        session=session,
    )
    return [
        jsonproto.encode(
            jsonproto.error("internal", "The server failed to run this command; it has been logged.", ref)
        )
    ]
