# -*- test-case-name: tests.frontends.test_irc_protocol -*-
"""
The commands of IRC registration: CAP, NICK, USER, PASS, AUTHENTICATE
(SASL PLAIN), and PING, PONG and QUIT, which work before and after it.
"""

from chatd.core import commands as cmd
from chatd.frontends.irc import caps as capabilities
from chatd.frontends.irc import multiline
from chatd.frontends.irc.replies import (ERR_ALREADYREGISTERED, ERR_NEEDMOREPARAMS, ERR_NONICKNAMEGIVEN,
                                         ERR_SASLABORTED, ERR_SASLALREADY, ERR_SASLFAIL, RPL_SASLMECHS)
from chatd.wire import irc

# -- the registration commands ------------------------------------------------------------------------


def _cap(conn, message) -> None:
    params = message.params
    sub = params[0].upper() if params else ""
    nick = conn.session.nick if conn.registered else "*"
    server = conn.settings.server
    if sub == "LS":
        conn.cap_version = max(conn.cap_version, int(params[1]) if len(params) > 1 and params[1].isdigit() else 0)
        if not conn.registered:
            conn.negotiating = True
        lines = capabilities.ls_lines(conn.cap_version,
                                      {"draft/multiline": multiline.limits(conn.session.hub.rules)})
        out = [irc.line("CAP", nick, "LS", "*", text, source=server) for text in lines[:-1]]
        out.append(irc.line("CAP", nick, "LS", lines[-1], source=server))
        conn.lines(out)
    elif sub == "LIST":
        conn.lines([irc.line("CAP", nick, "LIST", " ".join(sorted(conn.caps)), source=server)])
    elif sub == "REQ":
        if not conn.registered:
            conn.negotiating = True
        wanted = params[1] if len(params) > 1 else ""
        ok, caps = capabilities.request(wanted, conn.caps)
        if ok:
            conn.set_caps(caps)
        conn.lines([irc.line("CAP", nick, "ACK" if ok else "NAK", wanted, source=server)])
    elif sub == "END":
        if not conn.registered:
            conn.negotiating = False
            conn.try_register()
    else:
        conn.numeric("410", sub[:32] or "*", "Invalid CAP command")


def _nick(conn, message) -> None:
    if not message.params or not message.params[0]:
        conn.numeric(ERR_NONICKNAMEGIVEN, "No nickname given")
        return
    if conn.registered:
        from chatd.frontends.irc.commands import nick

        nick(conn, message)
        return
    conn.nick_wanted = message.params[0]
    conn.try_register()


def _user(conn, message) -> None:
    if conn.registered:
        conn.numeric(ERR_ALREADYREGISTERED, "You may not reregister")
        return
    if len(message.params) < 4:
        conn.numeric(ERR_NEEDMOREPARAMS, "USER", "Not enough parameters")
        return
    conn.user_given = True
    conn.try_register()


def _pass(conn, message) -> None:
    if conn.registered:
        conn.numeric(ERR_ALREADYREGISTERED, "You may not reregister")
        return
    if not message.params:
        conn.numeric(ERR_NEEDMOREPARAMS, "PASS", "Not enough parameters")
        return
    conn.password = message.params[0]


def _authenticate(conn, message) -> None:
    if "sasl" not in conn.caps:
        conn.numeric(ERR_SASLFAIL, "SASL authentication failed: request the sasl capability first")
        return
    if conn.session.user.account is not None and conn.sasl is None and conn.logging_in is None:
        conn.numeric(ERR_SASLALREADY, "You have already authenticated using SASL")
        return
    arg = message.params[0] if message.params else ""
    if arg == "*":
        conn.sasl = None
        conn.numeric(ERR_SASLABORTED, "SASL authentication aborted")
        return
    if conn.sasl is None:
        if arg.upper() != "PLAIN":
            conn.numeric(RPL_SASLMECHS, "PLAIN", "are available SASL mechanisms")
            conn.numeric(ERR_SASLFAIL, "SASL authentication failed")
            return
        conn.sasl = capabilities.PlainExchange()
        conn.lines([irc.line("AUTHENTICATE", "+")])
        return
    try:
        credentials = conn.sasl.feed(arg)
    except capabilities.SaslError as e:
        conn.sasl = None
        conn.numeric(ERR_SASLFAIL, f"SASL authentication failed: {e}")
        return
    if credentials is None:
        return
    conn.sasl = None
    account, password = credentials
    conn.logging_in = conn.core(cmd.Login(account=account, password=password), "AUTHENTICATE")
    conn.logging_in.addCallback(conn._logged_in, True).addBoth(conn._login_done)


def _ping(conn, message) -> None:
    token = message.params[0] if message.params else ""
    conn.reply(message, [irc.line("PONG", conn.settings.server, token, source=conn.settings.server)])


def _pong(conn, message) -> None:
    conn._awaiting_pong = False


def _quit(conn, message) -> None:
    reason = message.params[0] if message.params else None
    conn.session.close(reason or "Quit")
    conn.lines([irc.line("ERROR", "Closing link: Quit" + (f": {reason}" if reason else ""))])
    conn.close_connection()


#: Not charged: a keep-alive answer, and leaving.
UNCHARGED = frozenset({"PONG", "QUIT"})

REGISTRATION = {
    "CAP": _cap,
    "NICK": _nick,
    "USER": _user,
    "PASS": _pass,
    "AUTHENTICATE": _authenticate,
    "PING": _ping,
    "PONG": _pong,
    "QUIT": _quit,
}
