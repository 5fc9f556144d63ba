# -*- test-case-name: tests.core.test_events -*-
"""
Events: the immutable values the core hands to every front end, one small
class per kind of event (as wsproto's events are), each with only the
fields it has.  C{type} is the event's name on the wire (docs/protocol.md
has a table of fields per type); codecs dispatch on it.

An event that is fanned out to a room is encoded once per wire format:
L{Event.encoded} caches each codec's bytes on the event, so ten thousand
members cost one encoding and ten thousand writes.

Numbering: L{Message}, L{Action}, L{React} and L{Unreact} carry an C{id}
handed out by the store, increasing by one per room and across restarts
(the room's stream position).  Presence events (join, part, quit, nick,
topic, kick) and typing are not stored, so they are not numbered.

The wire names and the base class are in L{chatd.core.eventbase}, the
moderation events in L{chatd.core.modevents}; both are re-exported here.
"""

from dataclasses import dataclass
from typing import ClassVar, Dict, Optional, Tuple, Type

from chatd.core.eventbase import *  # noqa: F401,F403 (the wire names, Event)
from chatd.core.eventbase import (
    ACCOUNT, ACTION, AWAY, HISTORY, JOIN, KICK, MEMBERS, MESSAGE, NICK, NOTICE, PART, PRIVATE, PRIVATES, QUIT,
    REACT, READ, ROOMS, TOPIC, TYPING, UNREACT, Event, _event,
)
from chatd.core.modevents import (  # noqa: F401 (re-exported)
    BanInfo, BanLifted, BanList, BanSet, Deleted, Invited, ModeChange, Modes, Muted, Role, RoomChanged, Unmuted,
    WhoIs,
)


# -- stored and numbered -------------------------------------------------------


@_event
class Message(Event):
    """
    Said in a room.  C{cid} is its sender's own id for it, if given;
    C{account} the account its sender was logged in to (as registered),
    None for a guest and for messages read back from a store.
    """

    type: ClassVar[str] = MESSAGE
    room: str
    nick: str
    text: str
    id: Optional[int] = None
    cid: Optional[str] = None
    account: Optional[str] = None
    #: The serial of the connection that sent it, on this node (not on
    #: the wire): a terminal does not echo what it typed itself, but shows
    #: what its user typed on another connection.
    via: Optional[int] = None
    #: The id of the message of the same room it answers, who wrote that
    #: one and an excerpt of it (stored with the reply, so history and
    #: resume show the quote without looking the original up).
    reply_to: Optional[int] = None
    reply_nick: Optional[str] = None
    reply_text: Optional[str] = None
    #: On a history page only: C{((reaction, (nick, ...)), ...)}, in the
    #: order each reaction was first added.  Live messages and resumes
    #: carry none: the C{react} and C{unreact} events that follow them in
    #: the room's stream do.
    reactions: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()


@_event
class Action(Message):
    """Acted in a room (C{/me waves}); the same fields as L{Message}."""

    type: ClassVar[str] = ACTION


@_event
class React(Event):
    """
    C{nick} reacted with C{reaction} (an emoji or a short word) to the
    message C{message} (its id) of C{room}.  Stored and numbered in the
    room's stream like a message, so a resume replays it exactly once.
    """

    type: ClassVar[str] = REACT
    room: str
    nick: str
    message: int
    reaction: str
    id: Optional[int] = None
    cid: Optional[str] = None
    account: Optional[str] = None
    via: Optional[int] = None


@_event
class Unreact(React):
    """C{nick} took its C{reaction} back from C{message}; the same fields as L{React}."""

    type: ClassVar[str] = UNREACT


@_event
class Typing(Event):
    """
    C{nick} is typing (C{state} C{active}), stopped for a while
    (C{paused}) or gave up (C{done}), in C{room} or in a private
    conversation with C{to}.  Never stored: receivers forget an C{active}
    after 6 seconds and a C{paused} after 30 without a newer one.
    """

    type: ClassVar[str] = TYPING
    nick: str
    state: str
    room: Optional[str] = None
    to: Optional[str] = None


@_event
class ReadMarker(Event):
    """
    The account has read up to C{message} (an id; 0: nothing yet) in
    C{room}, or in its private conversation with C{to}.  Sent to every
    connection of the account, so each of its devices knows.
    """

    type: ClassVar[str] = READ
    message: int
    room: Optional[str] = None
    to: Optional[str] = None


# -- presence in a room ----------------------------------------------------------


@_event
class Join(Event):
    """C{nick} joined C{room}; C{account}: the account it is logged in to (as registered), or None."""

    type: ClassVar[str] = JOIN
    room: str
    nick: str
    account: Optional[str] = None


@_event
class Departure(Event):
    """C{nick} left C{room}, for C{reason} if it gave one."""

    room: str
    nick: str
    reason: Optional[str] = None


@_event
class Part(Departure):
    type: ClassVar[str] = PART


@_event
class Quit(Departure):
    """A member left the server; sent to each room it was in."""

    type: ClassVar[str] = QUIT


@_event
class Kick(Departure):
    """C{nick} was put out of C{room} by C{by} (an operator, or the server)."""

    type: ClassVar[str] = KICK
    by: str


@_event
class Topic(Event):
    """A room's topic: set (broadcast) or read (a reply); C{nick} set it."""

    type: ClassVar[str] = TOPIC
    room: str
    topic: str
    nick: Optional[str] = None


@_event
class Nick(Event):
    """C{old} is now known as C{nick}; C{old} is None for a first nick."""

    type: ClassVar[str] = NICK
    nick: str
    old: Optional[str] = None


@_event
class AccountChanged(Event):
    """
    C{nick} logged in to C{account} (its name as registered), or out of
    its account (C{account} None: logged out, or the account was dropped).
    Told like a nick change: to everyone who shares a room with C{nick}.
    """

    type: ClassVar[str] = ACCOUNT
    nick: str
    account: Optional[str] = None


@_event
class AwayChanged(Event):
    """
    C{nick} is now away, with C{away} (its away message), or back
    (C{away} None).  Told like a nick change: to everyone who shares a
    room with C{nick}, and to its own connections; only when it changes.
    """

    type: ClassVar[str] = AWAY
    nick: str
    away: Optional[str] = None


# -- to one or two sessions --------------------------------------------------------


@_event
class Private(Event):
    """
    A private message from C{nick} to C{to}.  C{id}: its position in the
    stored private messages of the account it is delivered to (only
    between accounts; each account numbers its own).
    """

    type: ClassVar[str] = PRIVATE
    nick: str
    to: str
    text: str
    id: Optional[int] = None
    #: On the sender's copy only: the recipient is away, with this message.
    away: Optional[str] = None


@_event
class Notice(Event):
    """A server notice (an operator's broadcast), from C{nick}."""

    type: ClassVar[str] = NOTICE
    nick: str
    text: str


@_event
class Members(Event):
    """
    A room's members and its topic; C{nick} set the topic.  C{roles}: the
    members with a role (C{founder}, C{operator}, C{voice}), by nick.
    """

    type: ClassVar[str] = MEMBERS
    room: str
    nicks: Tuple[str, ...]
    topic: str = ""
    nick: Optional[str] = None
    roles: Tuple[Tuple[str, str], ...] = ()
    #: The members that are away, by nick.
    away: Tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RoomInfo:
    """One row of a room listing."""

    name: str
    members: int
    topic: str


@_event
class Rooms(Event):
    type: ClassVar[str] = ROOMS
    rooms: Tuple[RoomInfo, ...] = ()


@_event
class History(Event):
    """
    Stored messages of a room, oldest first.  C{truncated}: some that were
    asked for are not here (older than the page, pruned, or more than a
    resume replays).
    """

    type: ClassVar[str] = HISTORY
    room: str
    messages: Tuple[Event, ...] = ()
    truncated: bool = False


@_event
class Privates(Event):
    """Stored private messages of the logged-in account, oldest first (a login's replay)."""

    type: ClassVar[str] = PRIVATES
    messages: Tuple[Event, ...] = ()
    truncated: bool = False


#: Event classes by wire type.
BY_TYPE: Dict[str, Type[Event]] = {
    cls.type: cls
    for cls in (Message, Action, Join, Part, Quit, Kick, Topic, Nick, Private, Notice, Members, Rooms, History,
                Privates, Role, ModeChange, BanSet, BanLifted, Muted, Unmuted, Invited, Deleted, RoomChanged, Modes,
                BanList, WhoIs, AccountChanged, AwayChanged, React, Unreact, Typing, ReadMarker)
}


def stored(type: str, room: str, nick: str, text: str, id: int, ts: float, cid: Optional[str] = None,
           extra: Optional[dict] = None) -> Event:
    """
    A stored row of a room as the store hands it back: a message or an
    action (C{extra}: its reply fields, if it is a reply), or a reaction
    (C{text} the reaction, C{extra["message"]} the message it is on).
    """
    if type == REACT or type == UNREACT:
        cls = React if type == REACT else Unreact
        return cls(room=room, nick=nick, reaction=text, message=(extra or {}).get("message", 0), id=id, ts=ts,
                   cid=cid)
    cls = Action if type == ACTION else Message
    if extra:
        return cls(room=room, nick=nick, text=text, id=id, ts=ts, cid=cid, reply_to=extra.get("reply_to"),
                   reply_nick=extra.get("reply_nick"), reply_text=extra.get("reply_text"))
    return cls(room=room, nick=nick, text=text, id=id, ts=ts, cid=cid)
