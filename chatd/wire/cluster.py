# -*- test-case-name: tests.wire.test_cluster_wire -*-
"""
The cluster's own wire format: events and directives as nodes pass them
through Redis (docs/cluster.md).  Sans-IO: bytes in, values out.

A value is MessagePack: an event or directive is a map of its fields with
its class named under C{"~"} (C{"e:message"}, C{"d:kick-out"}); tuples
travel as arrays and come back as tuples; the few plain records inside
events (L{RoomInfo}, L{BanInfo}) are maps named the same way.  What a node
keeps only for itself (an event's encoding cache) never travels, nor does
a field left at its default of nothing (C{None}, or an empty tuple such as
a live message's C{reactions}): the other side has the same default.

A room's bus carries frames: C{b"ID\\n" + values} for numbered messages
(the store's script writes them: the values hold no id, the first has ID
and each next one the id after), C{b"\\n" + value} for one unnumbered
event.
"""

import dataclasses
from typing import Dict, FrozenSet, List, Optional, Tuple

import msgpack

from chatd.core import directives
from chatd.core import events as ev

#: Classes by their tag.
_CLASSES: Dict[str, type] = {}
#: Each class's tag, field names (without the cache), and the names of
#: those whose default is an empty tuple.
_SHAPES: Dict[type, Tuple[str, Tuple[str, ...], FrozenSet[str]]] = {}


class ClusterWireError(ValueError):
    """Bytes that are not a value of this format (another program on the channel, or a bug)."""


def register(cls: type, tag: str) -> type:
    """Make a frozen dataclass travel under C{tag} (front ends add their own directives)."""
    fields = [f for f in dataclasses.fields(cls) if f.name != "_cache"]
    empty = frozenset(f.name for f in fields if f.default == ())
    _CLASSES[tag] = cls
    _SHAPES[cls] = (tag, tuple(f.name for f in fields), empty)
    return cls


for _cls in ev.BY_TYPE.values():
    register(_cls, "e:" + _cls.type)
for _cls in directives.BY_KIND.values():
    register(_cls, "d:" + _cls.kind)
register(ev.RoomInfo, "RoomInfo")
register(ev.BanInfo, "BanInfo")


def _plain(value):
    shape = _SHAPES.get(type(value))
    if shape is not None:
        tag, names, empty = shape
        out = {"~": tag}
        for name in names:
            field = getattr(value, name)
            if field is not None and not (field == () and name in empty):
                out[name] = _plain(field)
        return out
    if isinstance(value, (tuple, list)):
        return [_plain(item) for item in value]
    return value


def _value(plain):
    if isinstance(plain, dict):
        tag = plain.pop("~", None)
        cls = _CLASSES.get(tag)
        if cls is None:
            raise ClusterWireError(f"a map of an unknown kind ({str(tag)[:40] if tag is not None else 'none named'})")
        try:
            return cls(**{name: _value(field) for name, field in plain.items()})
        except TypeError as e:
            raise ClusterWireError(f"a {tag} with the wrong fields: {e}") from None
    if isinstance(plain, list):
        return tuple(_value(item) for item in plain)
    return plain


def encode(value) -> bytes:
    """An event, a directive, or plain data, as bytes."""
    return msgpack.packb(_plain(value), use_bin_type=True)


def decode(data: bytes):
    """The value C{encode} made; L{ClusterWireError} for anything else."""
    try:
        plain = msgpack.unpackb(data, raw=False, strict_map_key=False)
    except Exception as e:
        raise ClusterWireError(f"not MessagePack: {e}") from None
    return _value(plain)


def encode_frame(event: ev.Event) -> bytes:
    """A room bus frame for C{event} (numbered or not)."""
    if event.id is None:
        return b"\n" + encode(event)
    return b"%d\n" % event.id + encode(dataclasses.replace(event, id=None))


def frame_prefix(id: Optional[int]) -> bytes:
    """The prefix of a frame for id C{id} (the store's script writes it in front of the value)."""
    return b"\n" if id is None else b"%d\n" % id


def decode_frame(frame: bytes) -> ev.Event:
    """The one event a room bus frame carries, with its id."""
    events = decode_frames(frame)
    if len(events) != 1:
        raise ClusterWireError(f"a bus frame holding {len(events)} events, not one")
    return events[0]


def decode_frames(frame: bytes) -> List[ev.Event]:
    """
    The events a room bus frame carries, with their ids: a numbered frame
    may hold several values one after another (a reactor turn's messages
    of a room, numbered on from its id).
    """
    head, sep, body = frame.partition(b"\n")
    if not sep:
        raise ClusterWireError("a bus frame without its id line")
    if head and (not head.isdigit() or head.startswith(b"0")):
        raise ClusterWireError("a bus frame whose id is not a number from 1 ("
                               + head[:20].decode("ascii", "replace") + ")")
    if not head:
        event = decode(body)
        if not isinstance(event, ev.Event):
            raise ClusterWireError(f"a bus frame holding a {type(event).__name__}, not an event")
        return [event]
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(body)
    events = []
    id = int(head)
    read = 0
    try:
        for plain in unpacker:
            read = unpacker.tell()
            event = _value(plain)
            if not isinstance(event, ev.Event):
                raise ClusterWireError(f"a bus frame holding a {type(event).__name__}, not an event")
            events.append(dataclasses.replace(event, id=id))
            id += 1
    except ClusterWireError:
        raise
    except Exception as e:
        raise ClusterWireError(f"not MessagePack: {e or type(e).__name__}") from None
    if not events or read != len(body):
        raise ClusterWireError("a numbered bus frame whose values are cut short" if events
                               else "a numbered bus frame with no event")
    return events
