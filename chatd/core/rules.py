# -*- test-case-name: tests.core.test_hub -*-
"""
The tunable chat rules, one frozen value the hub is built with.

Defaults are the documented defaults of tap.cfg; L{chatd.config} builds a
L{Rules} from the file and command line.
"""

from dataclasses import dataclass
from typing import Tuple


@dataclass(frozen=True)
class Rules:
    #: Longest message or action, in characters.
    max_message: int = 4000
    #: Most lines in one message (line breaks are C{\\n}).
    max_lines: int = 20
    #: Longest topic, in characters.
    max_topic: int = 390
    #: Longest part or quit reason, in characters (longer ones are cut).
    max_reason: int = 200
    #: Messages delivered as scrollback when joining a room.
    scrollback: int = 50
    #: Largest C{history} page a client may ask for (bigger asks are clamped).
    history_max: int = 200
    #: Most messages replayed by a C{since} resume before it is truncated.
    replay_max: int = 1000
    #: Rooms one session may be in at once.
    rooms_per_session: int = 100
    #: Rooms that may exist at once (a room exists while it has members).
    max_rooms: int = 10000
    #: Flood control: commands per second sustained, and burst size.
    flood_rate: int = 3
    flood_burst: int = 12
    #: Bytes of input held for a session going faster than the flood
    #: rate; past this the session is disconnected for flooding.
    recvq: int = 32768
    #: Seconds a connection may hold a registered nick without logging in
    #: to its account before it is renamed to a guest nick.
    nick_grace: int = 30
    #: Days a login token stays valid.
    token_days: int = 30
    #: Accept passwords over connections that are neither TLS nor local.
    allow_cleartext: bool = False
    #: Server operators: folded account names.
    operators: Tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if name in ("allow_cleartext", "operators"):
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, not {value!r}")
        for name in ("max_message", "max_lines", "max_topic", "history_max", "rooms_per_session", "max_rooms",
                     "flood_rate", "flood_burst", "recvq", "nick_grace", "token_days"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
