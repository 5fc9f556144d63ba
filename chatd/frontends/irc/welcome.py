# -*- test-case-name: tests.frontends.test_irc_protocol -*-
"""
What a client is told once it is registered: 001 to 005, LUSERS and the
MOTD.  ISUPPORT states chatd's real limits, from the same constants the
core checks (L{chatd.core.text}, L{chatd.core.rules.Rules}).
"""

import time
from typing import List

import chatd
from chatd.core.away import AWAY_MAX
from chatd.core.text import NICK_MAX, ROOM_MAX
from chatd.frontends.irc import replies as r

#: ISUPPORT tokens per 005 line (the spec allows 13).
TOKENS_PER_LINE = 13


def isupport(settings, rules) -> List[str]:
    """
    The ISUPPORT tokens.  CASEMAPPING=ascii is what chatd applies to
    ASCII names (Unicode names fold further, by NFKC and case folding;
    the server, not the client, decides who holds a nick).
    """
    return [
        "CASEMAPPING=ascii",
        "CHANTYPES=#",
        f"NICKLEN={NICK_MAX}",
        f"CHANNELLEN={ROOM_MAX}",
        f"TOPICLEN={rules.max_topic}",
        "PREFIX=(ov)@+",
        "CHANMODES=b,k,l,imnt",
        "TARGMAX=PRIVMSG:1,NOTICE:1,JOIN:,PART:,NAMES:1,WHOIS:1,KICK:1",
        "LINELEN=512",
        "UTF8ONLY",
        "WHOX",
        f"CHATHISTORY={rules.history_max}",
        "MSGREFTYPES=msgid,timestamp",
        f"NETWORK={settings.network}",
        f"CHANLIMIT=#:{rules.rooms_per_session}",
        "MODES=4",
        f"KICKLEN={rules.max_reason}",
        f"AWAYLEN={AWAY_MAX}",
        "BOT=B",
        # The client-only tags chatd carries (replies, reactions, typing); others are dropped.
        "CLIENTTAGDENY=*,-draft/reply,-draft/react,-draft/unreact,-typing",
    ]


def welcome(conn) -> List[str]:
    settings, hub = conn.settings, conn.session.hub
    nick = conn.session.nick
    num = conn.replies.numeric
    version = f"chatd-{getattr(chatd, '__version__', '0')}"
    out = [
        num(nick, r.RPL_WELCOME, f"Welcome to the {settings.network} IRC network, {nick}"),
        num(nick, r.RPL_YOURHOST, f"Your host is {settings.server}, running version {version}"),
        num(nick, r.RPL_CREATED, "This server was created " + time.strftime(
            "%Y-%m-%d %H:%M:%S UTC", time.gmtime(settings.started))),
        num(nick, r.RPL_MYINFO, settings.server, version, "Biw", "bkilmnotv", "bklov"),
    ]
    tokens = isupport(settings, hub.rules)
    for start in range(0, len(tokens), TOKENS_PER_LINE):
        out.append(num(nick, r.RPL_ISUPPORT, *tokens[start:start + TOKENS_PER_LINE], "are supported by this server"))
    out += lusers(conn)
    out += motd(conn)
    return out


def lusers(conn) -> List[str]:
    hub = conn.session.hub
    nick = conn.session.nick
    num = conn.replies.numeric
    users = len(hub.sessions)
    rooms = len(hub.rooms)
    return [
        num(nick, r.RPL_LUSERCLIENT, f"There are {users} users and 0 invisible on 1 servers"),
        num(nick, r.RPL_LUSERCHANNELS, str(rooms), "channels formed"),
        num(nick, r.RPL_LUSERME, f"I have {users} clients and 0 servers"),
        num(nick, r.RPL_LOCALUSERS, str(users), str(users), f"Current local users {users}"),
        num(nick, r.RPL_GLOBALUSERS, str(users), str(users), f"Current global users {users}"),
    ]


def motd(conn) -> List[str]:
    nick = conn.session.nick
    num = conn.replies.numeric
    text = conn.settings.motd()
    if not text:
        return [num(nick, r.ERR_NOMOTD, "MOTD File is missing")]
    out = [num(nick, r.RPL_MOTDSTART, f"- {conn.settings.server} Message of the day - ")]
    out += [num(nick, r.RPL_MOTD, f"- {line}") for line in text.splitlines() or [""]]
    out.append(num(nick, r.RPL_ENDOFMOTD, "End of /MOTD command."))
    return out
