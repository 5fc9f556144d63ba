# -*- test-case-name: tests.frontends.test_irc_protocol -*-
"""
The server's replies to an IRC client: numerics, standard replies, and
the few answers built from core events (names, who, whois, list, modes,
bans).

chatd's error registry (L{chatd.core.errors}) says what went wrong once;
L{NUMERICS} says which numeric an IRC client expects for it.  An error with
no numeric is a standard reply (C{FAIL <command> <CODE>}), or a NOTICE for
a client that did not negotiate C{standard-replies}.
"""

from typing import Dict, Iterable, List, Optional, Tuple

from chatd.frontends.irc.render import source, user_host
from chatd.wire import irc

RPL_WELCOME = "001"
RPL_YOURHOST = "002"
RPL_CREATED = "003"
RPL_MYINFO = "004"
RPL_ISUPPORT = "005"
RPL_UMODEIS = "221"
RPL_LUSERCLIENT = "251"
RPL_LUSEROP = "252"
RPL_LUSERCHANNELS = "254"
RPL_LUSERME = "255"
RPL_LOCALUSERS = "265"
RPL_GLOBALUSERS = "266"
RPL_AWAY = "301"
RPL_USERHOST = "302"
RPL_ISON = "303"
RPL_UNAWAY = "305"
RPL_NOWAWAY = "306"
RPL_WHOISUSER = "311"
RPL_WHOISSERVER = "312"
RPL_WHOISOPERATOR = "313"
RPL_ENDOFWHO = "315"
RPL_WHOISIDLE = "317"
RPL_ENDOFWHOIS = "318"
RPL_WHOISCHANNELS = "319"
RPL_LISTSTART = "321"
RPL_LIST = "322"
RPL_LISTEND = "323"
RPL_CHANNELMODEIS = "324"
RPL_CREATIONTIME = "329"
RPL_WHOISACCOUNT = "330"
RPL_NOTOPIC = "331"
RPL_TOPIC = "332"
RPL_TOPICWHOTIME = "333"
RPL_INVITING = "341"
RPL_WHOREPLY = "352"
RPL_NAMREPLY = "353"
RPL_WHOSPCRPL = "354"
RPL_ENDOFNAMES = "366"
RPL_BANLIST = "367"
RPL_ENDOFBANLIST = "368"
RPL_MOTD = "372"
RPL_MOTDSTART = "375"
RPL_ENDOFMOTD = "376"
ERR_NOSUCHNICK = "401"
ERR_NOSUCHCHANNEL = "403"
ERR_CANNOTSENDTOCHAN = "404"
ERR_TOOMANYCHANNELS = "405"
ERR_TOOMANYTARGETS = "407"
ERR_NORECIPIENT = "411"
ERR_NOTEXTTOSEND = "412"
ERR_INPUTTOOLONG = "417"
ERR_UNKNOWNCOMMAND = "421"
ERR_NOMOTD = "422"
ERR_NONICKNAMEGIVEN = "431"
ERR_ERRONEUSNICKNAME = "432"
ERR_NICKNAMEINUSE = "433"
ERR_USERNOTINCHANNEL = "441"
ERR_NOTONCHANNEL = "442"
ERR_NOTREGISTERED = "451"
ERR_NEEDMOREPARAMS = "461"
ERR_ALREADYREGISTERED = "462"
ERR_CHANNELISFULL = "471"
ERR_UNKNOWNMODE = "472"
ERR_INVITEONLYCHAN = "473"
ERR_BANNEDFROMCHAN = "474"
ERR_BADCHANNELKEY = "475"
ERR_BADCHANNAME = "479"
ERR_CHANOPRIVSNEEDED = "482"
ERR_UMODEUNKNOWNFLAG = "501"
ERR_USERSDONTMATCH = "502"
RPL_LOGGEDIN = "900"
RPL_LOGGEDOUT = "901"
RPL_SASLSUCCESS = "903"
ERR_SASLFAIL = "904"
ERR_SASLTOOLONG = "905"
ERR_SASLABORTED = "906"
ERR_SASLALREADY = "907"
RPL_SASLMECHS = "908"

#: chatd error code -> (numeric, whether the numeric names the target first).
NUMERICS: Dict[str, str] = {
    "no-nick": ERR_NOTREGISTERED,
    "invalid-nick": ERR_ERRONEUSNICKNAME,
    "nick-in-use": ERR_NICKNAMEINUSE,
    "nick-registered": ERR_NICKNAMEINUSE,
    "invalid-room": ERR_BADCHANNAME,
    "not-in-room": ERR_NOTONCHANNEL,
    "no-such-room": ERR_NOSUCHCHANNEL,
    "no-such-nick": ERR_NOSUCHNICK,
    "empty": ERR_NOTEXTTOSEND,
    "too-many-rooms": ERR_TOOMANYCHANNELS,
    "not-operator": ERR_CHANOPRIVSNEEDED,
    "muted": ERR_CANNOTSENDTOCHAN,
    "invite-only": ERR_INVITEONLYCHAN,
    "bad-key": ERR_BADCHANNELKEY,
    "room-full": ERR_CHANNELISFULL,
    "banned": ERR_BANNEDFROMCHAN,
}


def standard_code(code: str) -> str:
    """A chatd error code as a standard-reply code: C{rate-limited} -> C{RATE_LIMITED}."""
    return code.upper().replace("-", "_")


class Replies:
    """
    Builds the server's lines to one client: numerics carry the client's
    nick (C{*} before it has one) as their first parameter.
    """

    def __init__(self, server: str) -> None:
        self.server = server

    def numeric(self, nick: Optional[str], number: str, *params: str, tags=None) -> str:
        return irc.line(number, nick or "*", *params, source=self.server, tags=tags)

    def error(self, nick: Optional[str], command: str, code: str, message: str, target: Optional[str],
              standard: bool, who: Optional[str] = None) -> List[str]:
        """
        A chatd error as IRC says it: its numeric, naming what the numeric
        names (the room C{target}, or the nick C{who} the command was
        about); else C{FAIL} (or a NOTICE to a client that did not ask
        for standard replies).
        """
        number = NUMERICS.get(code)
        if command == "PRIVMSG" and code == "not-in-room":
            number = ERR_CANNOTSENDTOCHAN  # what clients expect for a message to a room one is not in
        if number is not None:
            if number in (ERR_NOSUCHNICK, ERR_NICKNAMEINUSE, ERR_ERRONEUSNICKNAME) and who is not None:
                target = who
            if number in (ERR_NOTREGISTERED, ERR_NOTEXTTOSEND) or target is None:
                return [self.numeric(nick, number, message)]
            return [self.numeric(nick, number, target, message)]
        if standard:
            return [irc.line("FAIL", command or "*", standard_code(code), *([target] if target else []), message,
                             source=self.server)]
        return [irc.line("NOTICE", nick or "*", f"{command or 'Error'}: {message}", source=self.server)]

    # -- listings built from core events -----------------------------------------------

    def names(self, nick: str, members, multi_prefix: bool, userhost: bool) -> List[str]:
        """353s (as many as 512 bytes allow) and 366 for a C{members} event."""
        roles = dict(members.roles)
        entries = []
        for member in members.nicks:
            role = roles.get(member)
            prefix = "@" if role in ("founder", "operator") else "+" if role == "voice" else ""
            entries.append(prefix + (source(member, self.server) if userhost else member))
        head = f":{self.server} 353 {nick} = {members.room} :"
        out, batch, size = [], [], len(head.encode()) + 2
        for entry in entries:
            n = len(entry.encode()) + 1
            if batch and size + n > 512:
                out.append(self.numeric(nick, RPL_NAMREPLY, "=", members.room, " ".join(batch)))
                batch, size = [], len(head.encode()) + 2
            batch.append(entry)
            size += n
        if batch:
            out.append(self.numeric(nick, RPL_NAMREPLY, "=", members.room, " ".join(batch)))
        out.append(self.numeric(nick, RPL_ENDOFNAMES, members.room, "End of /NAMES list."))
        return out

    def who(self, nick: str, members, whox: Optional[Tuple[str, str]], mask: str,
            away: Iterable[str] = (), account_of=lambda nick: None) -> List[str]:
        """
        352s, or 354s with the fields a WHOX query asked for, then 315.
        C{account_of(nick)}: a member's account, when this node knows it.
        """
        roles = dict(members.roles)
        away = set(away)
        out = []
        for member in members.nicks:
            role = roles.get(member)
            flags = ("G" if member in away else "H") + (
                "@" if role in ("founder", "operator") else "+" if role == "voice" else "")
            if whox is None:
                out.append(self.numeric(nick, RPL_WHOREPLY, members.room, "~" + member, user_host(member), self.server,
                                        member, flags, f"0 {member}"))
            else:
                fields, token = whox
                values = {"t": token, "c": members.room, "u": "~" + member, "i": "255.255.255.255",
                          "h": user_host(member), "s": self.server, "n": member, "f": flags, "d": "0", "l": "0",
                          "a": account_of(member) or "0", "o": "n/a", "r": member}
                params = [values[f] for f in "tcuihsnfdlaor" if f in fields]
                out.append(self.numeric(nick, RPL_WHOSPCRPL, *params))
        out.append(self.numeric(nick, RPL_ENDOFWHO, mask, "End of /WHO list."))
        return out

    def whois(self, nick: str, whois, away: Optional[str]) -> List[str]:
        target = whois.nick
        out = [self.numeric(nick, RPL_WHOISUSER, target, "~" + target, user_host(target), "*", target)]
        if whois.rooms:
            out.append(self.numeric(nick, RPL_WHOISCHANNELS, target, " ".join(whois.rooms)))
        out.append(self.numeric(nick, RPL_WHOISSERVER, target, self.server, "chatd"))
        if away:
            out.append(self.numeric(nick, RPL_AWAY, target, away))
        if whois.operator:
            out.append(self.numeric(nick, RPL_WHOISOPERATOR, target, "is a server operator"))
        if whois.account:
            out.append(self.numeric(nick, RPL_WHOISACCOUNT, target, whois.account, "is logged in as"))
        if whois.address:
            out.append(irc.line("378", nick, target, f"is connecting from {whois.address}", source=self.server))
        out.append(self.numeric(nick, RPL_ENDOFWHOIS, target, "End of /WHOIS list."))
        return out

    def rooms(self, nick: str, rooms) -> List[str]:
        out = [self.numeric(nick, RPL_LISTSTART, "Channel", "Users  Name")]
        for info in rooms.rooms:
            out.append(self.numeric(nick, RPL_LIST, info.name, str(info.members), info.topic or ""))
        out.append(self.numeric(nick, RPL_LISTEND, "End of /LIST"))
        return out

    def modes(self, nick: str, modes) -> List[str]:
        params = [modes.modes or "+"]
        if modes.key:
            params.append(modes.key)
        if modes.limit:
            params.append(str(modes.limit))
        return [self.numeric(nick, RPL_CHANNELMODEIS, modes.room, *params),
                self.numeric(nick, RPL_CREATIONTIME, modes.room, str(int(modes.ts)))]

    def bans(self, nick: str, room: str, bans) -> List[str]:
        from chatd.frontends.irc.render import ban_mask

        out = [self.numeric(nick, RPL_BANLIST, room, ban_mask(b.mask), b.by, str(int(b.since))) for b in bans.bans]
        out.append(self.numeric(nick, RPL_ENDOFBANLIST, room, "End of channel ban list"))
        return out

    def topic(self, nick: str, topic) -> List[str]:
        if not topic.topic:
            return [self.numeric(nick, RPL_NOTOPIC, topic.room, "No topic is set")]
        out = [self.numeric(nick, RPL_TOPIC, topic.room, topic.topic)]
        if topic.nick:
            out.append(self.numeric(nick, RPL_TOPICWHOTIME, topic.room, topic.nick, str(int(topic.ts))))
        return out


_shared: Dict[str, Replies] = {}


def replies_of(server: str) -> Replies:
    """The one L{Replies} of a server name, shared by its connections (it keeps nothing else)."""
    found = _shared.get(server)
    if found is None:
        found = _shared[server] = Replies(server)
    return found
