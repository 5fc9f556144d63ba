# -*- test-case-name: tests.frontends.test_irc_protocol -*-
"""
Room MODE: IRC's one command for what chatd says with several.

  - C{MODE #room}: the room's modes (324, 329);
  - C{MODE #room b} (or C{+b} alone): its bans (367, 368); C{e} and C{I}
    lists are empty (chatd has neither);
  - C{+o}/C{-o}, C{+v}/C{-v} NICK: chatd's op, deop, voice, devoice;
  - C{+b}/C{-b} MASK: chatd's ban and unban (masks mapped by
    L{chatd_mask});
  - C{+i +m +t +k KEY +l N} and their removals: chatd's room modes;
    C{n} is always on (only members speak in a chatd room).
"""

from dataclasses import replace

from chatd.core import commands as cmd
from chatd.core.errors import ChatError, InvalidMask
from chatd.frontends.irc import replies as r

#: Modes taking an argument when set (and, for o v b, when removed).
_ARG_SET = set("ovbkl")
_ARG_UNSET = set("ovbk")


def room_mode(conn, message) -> None:
    room = message.params[0]
    if len(message.params) == 1:
        d = conn.core(cmd.Mode(room=room), "MODE", room)
        d.addCallback(lambda modes: modes and conn.reply(message, conn.replies.modes(conn.me, _with_n(modes))))
        return
    changes = message.params[1]
    args = list(message.params[2:])
    sign = "+"
    for flag in changes:
        if flag in "+-":
            sign = flag
            continue
        takes = flag in (_ARG_SET if sign == "+" else _ARG_UNSET)
        arg = args.pop(0) if takes and args else None
        if flag in "bIe" and arg is None:
            _list(conn, message, room, flag)
        elif flag in "ov":
            if arg is None:
                continue
            kind = {("+", "o"): cmd.Op, ("-", "o"): cmd.Deop, ("+", "v"): cmd.Voice, ("-", "v"): cmd.Devoice}
            conn.core(kind[sign, flag](room=room, nick=arg), "MODE", room, arg)
        elif flag == "b":
            try:
                mask = chatd_mask(arg)
            except ChatError as e:
                conn.fail("MODE", e, room)
                continue
            kind = cmd.Ban if sign == "+" else cmd.Unban
            conn.core(kind(room=room, mask=mask), "MODE", room)
        elif flag == "n":
            continue
        elif flag in "imtkl":
            if flag in "kl" and sign == "+" and arg is None:
                conn.lines([conn.replies.numeric(conn.me, r.ERR_NEEDMOREPARAMS, "MODE", "Not enough parameters")])
                continue
            conn.core(cmd.Mode(room=room, modes=sign + flag, arg=arg if sign == "+" else None), "MODE", room)
        else:
            conn.lines([conn.replies.numeric(conn.me, r.ERR_UNKNOWNMODE, flag, "is an unknown mode char to me")])


def _list(conn, message, room: str, flag: str) -> None:
    if flag == "b":
        d = conn.core(cmd.Bans(room=room), "MODE", room)
        d.addCallback(lambda bans: bans and conn.reply(message, conn.replies.bans(conn.me, room, bans)))
    elif flag == "e":
        conn.reply(message, [conn.replies.numeric(conn.me, "349", room, "End of channel exception list")])
    else:
        conn.reply(message, [conn.replies.numeric(conn.me, "347", room, "End of channel invite list")])


def _with_n(modes):
    """chatd rooms take no messages from outside: C{+n} is always on."""
    flags = modes.modes.lstrip("+")
    return replace(modes, modes="+n" + flags)


def chatd_mask(mask: str) -> str:
    """
    An IRC ban mask as chatd's.  chatd shows every user as
    C{nick!~nick@user/nick} (L{chatd.frontends.irc.render.user_host}), so
    whichever part a client's mask names, it names a nick: C{nick!*@*},
    C{*!*nick@*} or C{*!~nick@*}, and C{*!*@user/nick} all ban the nick
    pattern C{nick}.  C{$a:account} or C{~a:account} bans the account, an
    address the address.

    @raise InvalidMask: a mask that names no one (it would ban everyone).
    """
    if mask[:3].lower() in ("$a:", "~a:"):
        return "~a:" + mask[3:]
    if "!" not in mask and "@" not in mask:
        return mask
    nick, _, rest = mask.partition("!")
    user, _, host = rest.partition("@")
    if nick and set(nick) - set("*?"):
        return nick
    user = user.lstrip("*~")
    if user and set(user) - set("*?"):
        return user
    if host.startswith("user/") and set(host[5:]) - set("*?"):
        return host[5:]
    if host and any(c.isdigit() for c in host) and any(c in host for c in ".:") and "*" not in host:
        return host
    raise InvalidMask(f"{mask} would ban everyone: ban a nick (nick!*@*), an account ($a:account) or an address.")
