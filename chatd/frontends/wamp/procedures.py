# -*- test-case-name: tests.frontends.test_wamp_procedures -*-
"""
Chat commands as WAMP procedures: C{chatd.<command>} for every command of
the JSON protocol, arguments in, result out.

Positional arguments are the command's fields in the order of
L{ORDER} (the JSON protocol's field order unless named there); the same
names are accepted as keyword arguments, which win.  The command is then
checked by the JSON protocol's own decoding (L{jsonproto.command_of}), so
a WAMP caller gets the same refusals, with the same words, as a browser.
Results are keyword arguments: the JSON protocol's C{ok} fields, or the
data event a reading command answers with (without its C{type}).
"""

from typing import Any, Dict, Optional, Tuple

from chatd.core import commands as cmd
from chatd.core.errors import BadCommand
from chatd.wire import jsonproto

PREFIX = "chatd."

#: Positional order where it differs from the JSON protocol's field order.
ORDER: Dict[str, Tuple[str, ...]] = {
    "history": ("room", "before", "limit", "after", "after_ts", "before_ts"),
}


def _order(name: str) -> Tuple[str, ...]:
    found = ORDER.get(name)
    if found is None:
        found = tuple(field for field, _, _ in jsonproto.COMMANDS[name][1])
    return found


def command_of(procedure: str, args, kwargs) -> cmd.Command:
    """
    The core command C{procedure} stands for, with its arguments.

    @raise UnknownType: no such chat procedure.
    @raise BadCommand: an argument is missing, extra or of the wrong type.
    """
    name = procedure[len(PREFIX):]
    if name not in jsonproto.COMMANDS:
        # The JSON protocol's refusal lists the known types.
        jsonproto.command_of({"type": name})
    order = _order(name)
    args = list(args or ())
    if len(args) > len(order):
        raise BadCommand(f"{procedure} takes at most {len(order)} positional arguments ({', '.join(order)}).")
    obj: Dict[str, Any] = dict(zip(order, args))
    for key, value in (kwargs or {}).items():
        if key not in order:
            raise BadCommand(f"{procedure} has no argument {str(key)[:40]!r}; it takes {', '.join(order) or 'none'}.")
        obj[key] = value
    obj["type"] = name
    return jsonproto.command_of(obj)


def _fields(event) -> Dict[str, Any]:
    d = jsonproto.event_object(event)
    d.pop("type", None)
    return d


def result_of(command: cmd.Command, result, session) -> Dict[str, Any]:
    """The keyword arguments of a procedure's RESULT (C{chatd.join}'s are L{joined})."""
    if isinstance(command, (cmd.Say, cmd.Action)):
        d = {"id": result.id, "room": result.room, "ts": jsonproto.iso_ts(result.ts)}
        if result.cid is not None:
            d["cid"] = result.cid
        return d
    if isinstance(command, (cmd.React, cmd.Unreact)):
        return {"id": result.id, "room": result.room, "ts": jsonproto.iso_ts(result.ts)}
    if isinstance(command, cmd.Read):
        return _fields(result)
    if isinstance(command, (cmd.Register, cmd.Login)):
        return {"account": result.account, "nick": result.nick, "token": result.token}
    if isinstance(command, cmd.Nick):
        return {"nick": session.nick}
    if isinstance(command, cmd.Away):
        return {"away": result.away}
    if result is not None and hasattr(result, "type") and isinstance(
            command, (cmd.Who, cmd.Rooms, cmd.History, cmd.Bans, cmd.ServerBans, cmd.Whois, cmd.Topic, cmd.Mode)):
        if not isinstance(command, (cmd.Topic, cmd.Mode)) or result.type in ("topic", "members", "modes"):
            return _fields(result)
    return {}


def joined(members, history: Optional[object]) -> Dict[str, Any]:
    """
    C{chatd.join}'s result: the room, its members and topic, and the
    history the join brought (the last messages, or those after C{since}),
    with C{truncated} when some could not be replayed.
    """
    d = _fields(members)
    d["members"] = d.pop("nicks")
    if history is not None:
        d["history"] = [jsonproto.event_object(m) for m in history.messages]
        d["truncated"] = history.truncated
    else:  # already a member: nothing new to replay
        d["history"] = []
        d["truncated"] = False
    return d
