# -*- test-case-name: tests.wire.test_slash -*-
"""
What C{/help} shows a terminal user, and the right form of every slash
command (the C{usage} error's message): one table, so the two agree.
"""

from typing import List, Optional

USAGE = {
    "nick": "/nick NAME",
    "join": "/join #room [KEY]",
    "part": "/part [#room] [reason]",
    "msg": "/msg NICK text",
    "away": "/away [text]",
    "me": "/me text",
    "reply": "/reply [#room] ID text",
    "react": "/react [#room] ID REACTION",
    "unreact": "/unreact [#room] ID REACTION",
    "set": "/set timestamps on|off",
    "topic": "/topic [#room] [text]",
    "who": "/who [#room]",
    "rooms": "/rooms",
    "history": "/history [N]",
    "help": "/help [accounts|moderation]",
    "quit": "/quit [reason]",
    # accounts
    "register": "/register PASSWORD [EMAIL]",
    "login": "/login ACCOUNT PASSWORD",
    "identify": "/identify [ACCOUNT] PASSWORD",
    "logout": "/logout",
    "passwd": "/passwd OLD NEW",
    "ghost": "/ghost NICK",
    "drop": "/drop PASSWORD",
    "whois": "/whois NICK",
    # moderation
    "room": "/room [#room] register|transfer ACCOUNT|drop",
    "op": "/op [#room] NICK",
    "deop": "/deop [#room] NICK",
    "voice": "/voice [#room] NICK",
    "devoice": "/devoice [#room] NICK",
    "kick": "/kick [#room] NICK [reason]",
    "ban": "/ban [#room] MASK [duration] [reason]",
    "unban": "/unban [#room] MASK",
    "bans": "/bans [#room]",
    "mute": "/mute [#room] NICK [duration]",
    "unmute": "/unmute [#room] NICK",
    "invite": "/invite [#room] NICK",
    "mode": "/mode [#room] [+FLAGS|-FLAGS [ARG]]",
    "delete": "/delete [#room] ID",
    # server operators
    "kill": "/kill NICK [reason]",
    "announce": "/announce text",
    "gban": "/gban MASK [duration] [reason]",
    "gunban": "/gunban MASK",
    "gbans": "/gbans",
}

#: Said after the usage of a command that takes a duration.
DURATIONS = "durations: 30s, 10m, 2h, 7d, or a number of minutes"

HELP = [
    "Commands:",
    "  /nick NAME             change your nick",
    "  /join #room [KEY]      join a room and make it your current room",
    "  /part [#room] [why]    leave a room (default: the current one)",
    "  /msg NICK text         send a private message",
    "  /away [text]           mark yourself away (no text: back)",
    "  /me text               act in the current room (/me waves)",
    "  /reply ID text         answer message ID of the current room (/history shows ids)",
    "  /react ID REACTION     react to message ID (/react 41 👍); /unreact ID REACTION takes it back",
    "  /topic [#room] [text]  show or set a room's topic",
    "  /who [#room]           list a room's members (~founder @operator +voice)",
    "  /rooms                 list rooms",
    "  /history [N]           show the last N messages of the current room, with their ids: (41)",
    "  /set timestamps on|off start every line with its time, [HH:MM] in UTC (kept with your account)",
    "  /whois NICK            who a nick is",
    "  /quit [reason]         leave chatd",
    "  /help accounts         /register, /login, /logout and the rest of accounts",
    "  /help moderation       registered rooms, /op, /kick, /ban, /mute, /mode, /delete",
    "Anything else is said in your current room; start a line with // to say something beginning with /.",
    "A message (a plain line, /me, /reply) goes on in the next line when its line ends in \\;",
    "the first line that does not sends it, as one message.  End a line with \\\\ to send a \\ there.",
]

HELP_TOPICS = {
    "accounts": [
        "Accounts (your nick is your account's; only you may use it):",
        "  /register PASSWORD [EMAIL]    register your current nick, and log in",
        "  /login ACCOUNT PASSWORD       log in (also /identify [ACCOUNT] PASSWORD)",
        "  /logout                       log out",
        "  /passwd OLD NEW               change your password",
        "  /ghost NICK                   disconnect a connection holding your nick",
        "  /drop PASSWORD                delete your account",
        "  /whois NICK                   who a nick is: its account and rooms",
    ],
    "moderation": [
        "Moderation (on the current room; put #room first to name another: /kick #den bob):",
        "  /room register                register the room, you its founder",
        "  /room transfer ACCOUNT        give it to another account; /room drop unregisters it",
        "  /op NICK, /deop NICK          give or take operator (the founder)",
        "  /voice NICK, /devoice NICK    let a member speak in a moderated room",
        "  /kick NICK [reason]           put a member out",
        "  /ban MASK [duration] [why]    ban ~a:ACCOUNT, a nick pattern (spam*) or an address",
        "  /unban MASK, /bans            lift a ban, list bans",
        "  /mute NICK [duration]         the member reads but cannot speak; /unmute NICK",
        "  /invite NICK                  let a nick into an invite-only room",
        "  /mode [+FLAGS|-FLAGS [ARG]]   show or set modes: +m +i +t +k KEY +l N",
        "  /delete ID                    delete a message",
        "  Durations: 30s, 10m, 2h, 7d, or a number of minutes.",
        "Server operators:",
        "  /kill NICK [reason]           disconnect a user",
        "  /announce text                a notice to everyone",
        "  /gban MASK [duration] [why]   ban an account or address from the server",
        "  /gunban MASK, /gbans          lift a server ban, list them",
    ],
}


def help_text(topic: Optional[str] = None) -> List[str]:
    """The lines of C{/help}, or of C{/help TOPIC}."""
    return HELP_TOPICS[topic] if topic else HELP
