# -*- test-case-name: tests.wire.test_slash -*-
"""
What a terminal user types: slash commands (and plain lines) into core
commands, sans IO.

A room command acts on the current room (C{room=None}) unless its first
argument names a room (C{/kick #den bob spam}).  Durations are typed as
C{30s}, C{10m}, C{2h} or C{7d}, or as a plain number of minutes, and
handed to the core in seconds.  A command typed wrong never raises: it
becomes a L{chatd.core.commands.Refused} carrying the C{usage} error that
shows the right form.
"""

from typing import Callable, Dict, List, Optional, Tuple

from chatd.core import commands as cmd
from chatd.core.errors import UnknownCommand, Usage
from chatd.wire.helptext import DURATIONS, HELP_TOPICS, USAGE


def _usage(word: str) -> cmd.Refused:
    usage = f"Usage: {USAGE[word]}"
    if "duration" in USAGE[word]:
        usage += f" ({DURATIONS})"
    return cmd.Refused(error=Usage(usage))


def _split(rest: str) -> Tuple[str, str]:
    head, _, tail = rest.strip().partition(" ")
    return head, tail.strip()


def _words(rest: str) -> List[str]:
    """The arguments, split at runs of spaces."""
    return [word for word in rest.strip().split(" ") if word]


def _room(rest: str) -> Tuple[Optional[str], str]:
    """The room named first (None: the current room), and the arguments after it."""
    head, tail = _split(rest)
    if head.startswith("#"):
        return head, tail
    return None, rest.strip()


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: Most digits a duration may have (a million days is long enough).
_DURATION_DIGITS = 6


def parse_duration(text: str) -> Optional[int]:
    """
    C{30s}, C{10m}, C{2h}, C{7d}, or a number of minutes, as seconds;
    None for anything else (zero included: a ban or mute for no time is
    a mistake, and leaving the duration out means for ever).
    """
    unit = 60
    if text[-1:] in _UNITS:
        text, unit = text[:-1], _UNITS[text[-1]]
    if not (text.isascii() and text.isdigit()) or len(text) > _DURATION_DIGITS:
        return None
    return int(text) * unit or None


def _is_duration(word: str) -> bool:
    """Whether C{word} is meant as a duration (it starts with a digit), right or wrong."""
    return word[:1].isascii() and word[:1].isdigit()


# -- the commands, one small function each: (the arguments after the word) -> command ----------


def _join(rest):
    words = _words(rest)
    if len(words) == 1:
        return cmd.Join(room=words[0])
    if len(words) == 2:
        return cmd.Join(room=words[0], key=words[1])
    return None


def _part(rest):
    room, reason = _split(rest)
    if room and not room.startswith("#"):
        return cmd.Part(room=None, reason=rest.strip())
    return cmd.Part(room=room or None, reason=reason or None)


def _msg(rest):
    to, text = _split(rest)
    return cmd.Msg(to=to, text=text) if to and text else None


def _topic(rest):
    room, text = _split(rest)
    if room.startswith("#"):
        return cmd.Topic(room=room, topic=text or None)
    return cmd.Topic(room=None, topic=rest or None)


def _history(rest):
    if rest and (not rest.isdecimal() or len(rest) > 9):
        return None
    return cmd.History(room=None, limit=int(rest) if rest else None)


def _help(rest):
    topic = rest.strip().lower() or None
    if topic is not None and topic not in HELP_TOPICS:
        return None
    return cmd.Help(topic=topic)


def _register(rest):
    words = _words(rest)
    if len(words) in (1, 2):
        return cmd.Register(password=words[0], email=words[1] if len(words) == 2 else None)
    return None


def _login(rest):
    words = _words(rest)
    return cmd.Login(account=words[0], password=words[1]) if len(words) == 2 else None


def _identify(rest):
    words = _words(rest)
    if len(words) == 1:
        return cmd.Login(password=words[0])
    return _login(rest)


def _passwd(rest):
    words = _words(rest)
    return cmd.Passwd(old=words[0], new=words[1]) if len(words) == 2 else None


def _one(make: Callable[[str], cmd.Command]) -> Callable[[str], Optional[cmd.Command]]:
    """A command of exactly one argument (a nick, a password, a mask)."""
    def parse_one(rest):
        words = _words(rest)
        return make(words[0]) if len(words) == 1 else None
    return parse_one


def _no_arguments(make: Callable[[], cmd.Command]) -> Callable[[str], cmd.Command]:
    return lambda rest: make()


def _text(make: Callable[[str, Optional[str]], cmd.Command]) -> Callable[[str], Optional[cmd.Command]]:
    """A command of a nick (or mask) and, optionally, text after it (a reason)."""
    def parse_text(rest):
        head, tail = _split(rest)
        return make(head, tail or None) if head else None
    return parse_text


# -- room commands: (room, the arguments after it) -> command ----------------------------------


def _room_action(room, rest):
    words = _words(rest)
    action = words[0].lower() if words else ""
    if action in ("register", "drop") and len(words) == 1:
        return cmd.Room(room=room, action=action)
    if action == "transfer" and len(words) == 2:
        return cmd.Room(room=room, action=action, account=words[1])
    return None


def _on_nick(cls):
    def parse_nick(room, rest):
        words = _words(rest)
        return cls(room=room, nick=words[0]) if len(words) == 1 else None
    return parse_nick


def _kick(room, rest):
    nick, reason = _split(rest)
    return cmd.Kick(room=room, nick=nick, reason=reason or None) if nick else None


def _banning(make):
    """C{MASK [duration] [reason]}: a word starting with a digit after the mask is the duration."""
    def parse_ban(room, rest):
        mask, tail = _split(rest)
        if not mask:
            return None
        duration = None
        first, after = _split(tail)
        if _is_duration(first):
            duration = parse_duration(first)
            if duration is None:
                return None
            tail = after
        return make(room, mask, duration, tail or None)
    return parse_ban


_ban = _banning(lambda room, mask, duration, reason: cmd.Ban(room=room, mask=mask, duration=duration, reason=reason))
_gban = _banning(lambda _, mask, duration, reason: cmd.ServerBan(mask=mask, duration=duration, reason=reason))


def _unban(room, rest):
    words = _words(rest)
    return cmd.Unban(room=room, mask=words[0]) if len(words) == 1 else None


def _bans(room, rest):
    return cmd.Bans(room=room) if not rest.strip() else None


def _mute(room, rest):
    words = _words(rest)
    if len(words) == 1:
        return cmd.Mute(room=room, nick=words[0])
    if len(words) == 2:
        duration = parse_duration(words[1])
        return cmd.Mute(room=room, nick=words[0], duration=duration) if duration else None
    return None


def _mode(room, rest):
    words = _words(rest)
    if not words:
        return cmd.Mode(room=room)
    if words[0][:1] not in ("+", "-") or len(words) > 2:
        return None
    return cmd.Mode(room=room, modes=words[0], arg=words[1] if len(words) == 2 else None)


def _message_id(word: str) -> Optional[int]:
    """A message id as typed (C{41}), or None for anything else."""
    if not (word.isascii() and word.isdigit()) or len(word) > 18:
        return None
    return int(word)


def _delete(room, rest):
    words = _words(rest)
    id = _message_id(words[0]) if len(words) == 1 else None
    return cmd.Delete(room=room, id=id) if id is not None else None


def _reply(room, rest):
    """C{ID text}: the text may go on over several lines (L{says})."""
    head, text = _split(rest)
    id = _message_id(head)
    return cmd.Say(room=room, text=text, reply_to=id) if id is not None and text else None


def _reacting(cls):
    def parse_react(room, rest):
        words = _words(rest)
        id = _message_id(words[0]) if len(words) == 2 else None
        return cls(room=room, id=id, reaction=words[1]) if id is not None else None
    return parse_react


def _set(rest):
    words = _words(rest)
    return cmd.Set(option=words[0].lower(), value=words[1].lower()) if len(words) == 2 else None


_PLAIN: Dict[str, Callable[[str], Optional[cmd.Command]]] = {
    "nick": lambda rest: cmd.Nick(nick=rest) if rest else None,
    "join": _join,
    "part": _part,
    "msg": _msg,
    "away": lambda rest: cmd.Away(text=rest.strip() or None),
    "me": lambda rest: cmd.Action(room=None, text=rest) if rest else None,
    "topic": _topic,
    "who": lambda rest: cmd.Who(room=_split(rest)[0] or None),
    "rooms": _no_arguments(cmd.Rooms),
    "list": _no_arguments(cmd.Rooms),
    "history": _history,
    "help": _help,
    "quit": lambda rest: cmd.Quit(reason=rest or None),
    "register": _register,
    "login": _login,
    "identify": _identify,
    "logout": _no_arguments(cmd.Logout),
    "passwd": _passwd,
    "ghost": _one(lambda nick: cmd.Ghost(nick=nick)),
    "drop": _one(lambda password: cmd.Drop(password=password)),
    "whois": _one(lambda nick: cmd.Whois(nick=nick)),
    "kill": _text(lambda nick, reason: cmd.Kill(nick=nick, reason=reason)),
    "announce": lambda rest: cmd.Announce(text=rest) if rest else None,
    "gban": lambda rest: _gban(None, rest),
    "gunban": _one(lambda mask: cmd.ServerUnban(mask=mask)),
    "gbans": _no_arguments(cmd.ServerBans),
    "set": _set,
}

_IN_ROOM: Dict[str, Callable[[Optional[str], str], Optional[cmd.Command]]] = {
    "room": _room_action,
    "op": _on_nick(cmd.Op),
    "deop": _on_nick(cmd.Deop),
    "voice": _on_nick(cmd.Voice),
    "devoice": _on_nick(cmd.Devoice),
    "kick": _kick,
    "ban": _ban,
    "unban": _unban,
    "bans": _bans,
    "mute": _mute,
    "unmute": _on_nick(cmd.Unmute),
    "invite": _on_nick(cmd.Invite),
    "mode": _mode,
    "delete": _delete,
    "reply": _reply,
    "react": _reacting(cmd.React),
    "unreact": _reacting(cmd.Unreact),
}

#: The commands whose text is a message, which may go on over several lines.
_SAYING = frozenset({"me", "reply"})


def says(line: str) -> bool:
    """
    Whether C{line} says something in a room (a plain line, C{/me},
    C{/reply}): only such a line may go on in the next one when it ends
    in a backslash, so a password that ends in one stays as typed.
    """
    if not line.startswith("/") or line.startswith("//"):
        return True
    return _split(line[1:])[0].lower() in _SAYING


def parse(line: str) -> Optional[cmd.Command]:
    """
    Turn one line into a core command, C{None} for a blank line.  A
    command typed wrong, or one that does not exist, becomes a
    L{chatd.core.commands.Refused} carrying the error to answer with.
    A room left out means the current room.
    """
    if not line.strip():
        return None
    if not line.startswith("/") or line.startswith("//"):
        return cmd.Line(text=line[1:] if line.startswith("//") else line)
    word, rest = _split(line[1:])
    word = word.lower()
    plain = _PLAIN.get(word)
    if plain is not None:
        command = plain(rest)
    elif word in _IN_ROOM:
        command = _IN_ROOM[word](*_room(rest))
    else:
        return cmd.Refused(error=UnknownCommand(f"There is no /{word[:32]} command; /help lists them."))
    return command if command is not None else _usage(word)
