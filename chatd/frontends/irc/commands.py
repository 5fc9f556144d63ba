# -*- test-case-name: tests.frontends.test_irc_protocol -*-
"""
IRC commands of a registered client, as core commands.

Each handler reads an IRC message, hands the core the command that means
the same (L{chatd.frontends.irc.connection.IrcConnection.core}), and
answers in IRC's numerics.  No chat rule is decided here: who may join,
speak, kick or set a mode is the core's answer, told in IRC's words.
"""

from typing import List

from chatd.core import commands as cmd
from chatd.core import events as ev
from chatd.core.text import fold
from chatd.frontends.irc import replies as r
from chatd.frontends.irc import welcome
from chatd.frontends.irc.chathistory import chathistory
from chatd.frontends.irc.events import joined
from chatd.frontends.irc.markers import markread
from chatd.frontends.irc.messages import batch, privmsg, tagmsg
from chatd.frontends.irc.modes import room_mode
from chatd.frontends.irc.render import user_host
from chatd.wire import irc


def _need(conn, message, count: int) -> bool:
    if len(message.params) < count:
        conn.reply(message, [conn.replies.numeric(conn.me, r.ERR_NEEDMOREPARAMS, message.command,
                                                   "Not enough parameters")])
        return False
    return True


def _text(raw: str) -> str:
    """What an IRC client typed, as chatd text: mIRC formatting stripped (the core refuses control characters)."""
    return irc.strip_formatting(raw)


# -- rooms ------------------------------------------------------------------------------------------


def join(conn, message) -> None:
    if not _need(conn, message, 1):
        return
    if message.params[0] == "0":  # JOIN 0: part every room
        for room in list(conn.session.rooms.values()):
            conn.core(cmd.Part(room=room.name), "PART", room.name)
        return
    keys = message.params[1].split(",") if len(message.params) > 1 else []
    for n, room in enumerate(message.params[0].split(",")):
        if not room:
            continue
        key = fold(room)
        if key in conn.joining or key in conn.session.rooms:
            continue  # already there (or on the way): IRC servers say nothing
        d = conn.core(cmd.Join(room=room, key=keys[n] if n < len(keys) and keys[n] else None), "JOIN", room)
        # The core delivers the room's members event while joining; if it
        # did not reach this connection, its answer does the same.
        d.addCallback(lambda members, key=key: joined(conn, key, members) if members is None or key in conn.joining
                      else None)


def part(conn, message) -> None:
    if not _need(conn, message, 1):
        return
    reason = _text(message.params[1]) if len(message.params) > 1 else None
    for room in message.params[0].split(","):
        if room:
            conn.core(cmd.Part(room=room, reason=reason or None), "PART", room)


def topic(conn, message) -> None:
    if not _need(conn, message, 1):
        return
    room = message.params[0]
    if len(message.params) == 1:
        d = conn.core(cmd.Topic(room=room), "TOPIC", room)
        d.addCallback(lambda event: event and conn.reply(message, conn.replies.topic(conn.me, event)))
        return
    conn.core(cmd.Topic(room=room, topic=_text(message.params[1])), "TOPIC", room)


def names(conn, message) -> None:
    if not message.params:
        conn.reply(message, [conn.replies.numeric(conn.me, r.RPL_ENDOFNAMES, "*", "End of /NAMES list.")])
        return
    room = message.params[0].split(",")[0]
    d = conn.core(cmd.Who(room=room), "NAMES", room)
    d.addCallback(lambda members: members and conn.reply(message, conn.replies.names(
        conn.me, members, "multi-prefix" in conn.caps, "userhost-in-names" in conn.caps)))


def who(conn, message) -> None:
    if not _need(conn, message, 1):
        return
    mask = message.params[0]
    whox = None
    if len(message.params) > 1 and message.params[1].startswith("%"):
        fields, _, token = message.params[1][1:].partition(",")
        whox = (fields, token or "0")
    hub = conn.session.hub

    def account_of(nick: str):
        session = hub.find(nick)
        return session.user.account_name if session is not None and session.user.account else None

    if mask.startswith("#"):
        d = conn.core(cmd.Who(room=mask), "WHO", mask)
        d.addCallback(lambda members: conn.reply(message, conn.replies.who(conn.me, members, whox, mask,
                                                                            members.away, account_of))
                      if members is not None else None)
        return

    def found(whois):
        if whois is None:
            conn.reply(message, [conn.replies.numeric(conn.me, r.RPL_ENDOFWHO, mask, "End of /WHO list.")])
            return
        members = ev.Members(room=whois.rooms[0] if whois.rooms else "*", nicks=(whois.nick,), ts=whois.ts)
        away = (whois.nick,) if whois.away else ()
        conn.reply(message, conn.replies.who(conn.me, members, whox, mask, away, account_of))

    conn.core(cmd.Whois(nick=mask), "WHO", mask).addCallback(found)


def whois(conn, message) -> None:
    if not _need(conn, message, 1):
        return
    target = message.params[-1].split(",")[0]

    def found(event):
        if event is None:
            conn.lines([conn.replies.numeric(conn.me, r.RPL_ENDOFWHOIS, target, "End of /WHOIS list.")])
            return
        conn.reply(message, conn.replies.whois(conn.me, event, event.away))

    conn.core(cmd.Whois(nick=target), "WHOIS", target).addCallback(found)


def list_rooms(conn, message) -> None:
    d = conn.core(cmd.Rooms(), "LIST")
    d.addCallback(lambda rooms: rooms and conn.reply(message, conn.replies.rooms(conn.me, rooms)))


def kick(conn, message) -> None:
    if not _need(conn, message, 2):
        return
    room = message.params[0]
    reason = _text(message.params[2]) if len(message.params) > 2 else None
    for nick in message.params[1].split(","):
        if nick:
            d = conn.session.handle(cmd.Kick(room=room, nick=nick, reason=reason or None), conn.size)
            d.addErrback(_kick_refused, conn, room, nick)


def _kick_refused(failure, conn, room: str, nick: str):
    """Not in the room: the kicker is (so it is the target that is not: 441), or it is not (442)."""
    error = failure.value
    if getattr(error, "code", None) == "not-in-room" and fold(room) in conn.session.rooms:
        conn.lines([conn.replies.numeric(conn.me, r.ERR_USERNOTINCHANNEL, nick, room, "They aren't on that channel")])
        return None
    return conn._refused(failure, "KICK", room, nick)


def invite(conn, message) -> None:
    if not _need(conn, message, 2):
        return
    nick, room = message.params[0], message.params[1]
    d = conn.core(cmd.Invite(room=room, nick=nick), "INVITE", room, nick)
    d.addCallback(lambda result: conn.reply(message, [conn.replies.numeric(conn.me, r.RPL_INVITING, nick, room)])
                  if result is not None else None)


# -- talking --------------------------------------------------------------------------------------------


# PRIVMSG, NOTICE, TAGMSG and BATCH: L{chatd.frontends.irc.messages}.


# -- who I am ---------------------------------------------------------------------------------------------


def nick(conn, message) -> None:
    if not message.params or not message.params[0]:
        conn.reply(message, [conn.replies.numeric(conn.me, r.ERR_NONICKNAMEGIVEN, "No nickname given")])
        return
    new = message.params[0]
    conn.core(cmd.Nick(nick=new), "NICK", new)


def away(conn, message) -> None:
    """AWAY [:text]: chatd's away, the same for every front end and node (305, 306)."""
    text = _text(message.params[0]) if message.params else ""

    def answered(event) -> None:
        if event is None:
            return
        if event.away:
            conn.reply(message, [conn.replies.numeric(conn.me, r.RPL_NOWAWAY, "You have been marked as being away")])
        else:
            conn.reply(message, [conn.replies.numeric(conn.me, r.RPL_UNAWAY, "You are no longer marked as being away")])

    conn.core(cmd.Away(text=text or None), "AWAY").addCallback(answered)


def user_mode(conn, message) -> None:
    target = message.params[0]
    if fold(target) != fold(conn.me):
        conn.reply(message, [conn.replies.numeric(conn.me, r.ERR_USERSDONTMATCH, "Can't change mode for other users")])
        return
    if len(message.params) == 1:
        conn.reply(message, [conn.replies.numeric(conn.me, r.RPL_UMODEIS, "+" + "".join(sorted(conn.umodes)))])
        return
    sign, changed, last = "+", "", None
    for flag in message.params[1]:
        if flag in "+-":
            sign = flag
        elif flag in "iwB":
            before = flag in conn.umodes
            modes = set(conn.umodes)
            (modes.add if sign == "+" else modes.discard)(flag)
            conn.umodes = "".join(sorted(modes))
            if before != (flag in conn.umodes):
                changed += (sign if sign != last else "") + flag
                last = sign
        else:
            conn.lines([conn.replies.numeric(conn.me, r.ERR_UMODEUNKNOWNFLAG, "Unknown MODE flag")])
    if changed:
        conn.reply(message, [irc.line("MODE", conn.me, changed, source=conn.renderer.source(conn.me))])


def mode(conn, message) -> None:
    if not _need(conn, message, 1):
        return
    if not message.params[0].startswith("#"):
        user_mode(conn, message)
        return
    room_mode(conn, message)


def lusers(conn, message) -> None:
    conn.reply(message, welcome.lusers(conn))


def motd(conn, message) -> None:
    conn.reply(message, welcome.motd(conn))


def userhost(conn, message) -> None:
    hub = conn.session.hub
    found: List[str] = []
    for nick in message.params[:5]:
        session = hub.find(nick)
        if session is not None and session.nick:
            away = "-" if session.user.away else "+"
            found.append(f"{session.nick}={away}~{session.nick}@{user_host(session.nick)}")
    conn.reply(message, [conn.replies.numeric(conn.me, r.RPL_USERHOST, " ".join(found))])


def ison(conn, message) -> None:
    hub = conn.session.hub
    words = " ".join(message.params).split()
    online = [hub.find(nick).nick for nick in words if hub.find(nick) is not None]
    conn.reply(message, [conn.replies.numeric(conn.me, r.RPL_ISON, " ".join(online))])


#: Answered by the front end itself (charged one flood token and run in
#: order); every other handler hands the core commands that charge their own cost.
LOCAL = frozenset({"LUSERS", "MOTD", "USERHOST", "ISON", "MARKREAD"})

HANDLERS = {
    "JOIN": join,
    "PART": part,
    "TOPIC": topic,
    "NAMES": names,
    "WHO": who,
    "WHOIS": whois,
    "LIST": list_rooms,
    "KICK": kick,
    "INVITE": invite,
    "PRIVMSG": privmsg,
    "NOTICE": privmsg,
    "TAGMSG": tagmsg,
    "NICK": nick,
    "AWAY": away,
    "MODE": mode,
    "LUSERS": lusers,
    "MOTD": motd,
    "USERHOST": userhost,
    "ISON": ison,
    "CHATHISTORY": chathistory,
    "BATCH": batch,
    "MARKREAD": markread,
}

