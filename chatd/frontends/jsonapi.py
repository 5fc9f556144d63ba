# -*- test-case-name: tests.frontends.test_jsonapi -*-
"""
JSON protocol commands on a core session: shared by the WebSocket and
long-poll front ends so both answer every command identically.

Each command gets exactly one C{ok} or C{error}.  A command that reads
(C{who}, C{rooms}, C{history}, C{topic} without a value) first yields its
data event carrying the command's C{ref}, then its C{ok}.  No chat rule
lives here: commands go to L{chatd.core.session.Session.handle}.
"""

from typing import Callable, Dict, List

from twisted.internet.defer import Deferred

from chatd.core import commands as cmd
from chatd.core.errors import ChatError
from chatd.wire import jsonproto
from chatd.wire.jsonproto import Ref

Reply = List[bytes]


def _ok(event, ref) -> Reply:
    return [jsonproto.encode(jsonproto.ok(ref))]


def _data_then_ok(event, ref) -> Reply:
    return [jsonproto.encode(jsonproto.event_object(event, ref)), jsonproto.encode(jsonproto.ok(ref))]


def _joined(members, ref) -> Reply:
    return [jsonproto.encode(jsonproto.ok(ref, room=members.room))]


def _posted(event, ref) -> Reply:
    fields = {"id": event.id, "room": event.room}
    if event.cid is not None:
        fields["cid"] = event.cid
    return [jsonproto.encode(jsonproto.ok(ref, **fields))]


def _read(marker, ref) -> Reply:
    """A read marker that moved was told to every connection of the account: the ok only says where it is now."""
    return [jsonproto.encode(jsonproto.ok(ref, id=marker.message))]


def _logged_in(result, ref) -> Reply:
    """A login's or registration's ok carries the account, the nick and a new login token."""
    return [jsonproto.encode(jsonproto.ok(ref, account=result.account, nick=result.nick, token=result.token))]


#: How each command's result becomes its replies.
_REPLIES: Dict[type, Callable] = {
    cmd.Join: _joined,
    cmd.Say: _posted,
    cmd.Action: _posted,
    cmd.React: _posted,
    cmd.Unreact: _posted,
    cmd.Who: _data_then_ok,
    cmd.Rooms: _data_then_ok,
    cmd.History: _data_then_ok,
    cmd.Bans: _data_then_ok,
    cmd.ServerBans: _data_then_ok,
    cmd.Whois: _data_then_ok,
    cmd.Register: _logged_in,
    cmd.Login: _logged_in,
    cmd.Away: lambda event, ref: [jsonproto.encode(jsonproto.ok(ref, away=event.away))],
    cmd.Read: _read,
    cmd.Mode: lambda event, ref: _data_then_ok(event, ref) if event.type == "modes" else _ok(event, ref),
}


def run(session, data: bytes) -> Deferred:
    """
    Decode C{data} as one command and run it (late, when the client goes
    faster than the flood rate).

    @return: a Deferred firing with the list of encoded replies to send,
        in order.  It never fails: every problem becomes an C{error} reply.
    """
    try:
        command, ref = jsonproto.decode_command(data)
    except ChatError as e:
        command, ref = cmd.Refused(error=e), getattr(e, "ref", None)
    return execute(session, command, ref, len(data))


def execute(session, command: cmd.Command, ref: Ref, size: int = 0) -> Deferred:
    """Like L{run}, for a command that is already decoded (long-poll decodes first, to answer 400)."""
    d = session.handle(command, size)
    if (isinstance(command, cmd.Topic) and command.topic is None) or (isinstance(command, cmd.Read) and
                                                                      command.id is None):
        d.addCallback(_data_then_ok, ref)
    else:
        d.addCallback(_REPLIES.get(type(command), _ok), ref)
    return d.addErrback(_error_reply, ref)


def refusal(code: str, message: str, ref: Ref = None) -> bytes:
    """One encoded C{error} object."""
    return jsonproto.encode(jsonproto.error(code, message, ref))


def _error_reply(failure, ref) -> Reply:
    e = failure.value if failure.check(ChatError) else None
    if e is None:  # the core answers only with ChatErrors; anything else is a bug here
        failure.raiseException()
    return [refusal(e.code, e.message, ref)]
