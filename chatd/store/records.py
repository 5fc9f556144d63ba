# -*- test-case-name: tests.store.test_records -*-
"""
What a store keeps besides messages: rooms, accounts and bans, as values.

A room is a record that exists while nobody is in it, so that what belongs
to the room (its topic, founder and modes) outlives its members and can be
read by any process sharing the store.  Records are frozen so that one
handed to a caller can never change under another.
"""

import dataclasses
from typing import Dict, Iterator, Mapping, Optional, Union

from chatd.core.errors import AccountExists, NoSuchAccount

#: A setting's value: text, a whole number, or true/false.
SettingValue = Union[str, int, bool]


class Settings(Mapping[str, SettingValue]):
    """
    A room's settings: an immutable mapping of names to values.

    Immutable so that a L{RoomRecord} handed to one caller can never change
    under another, and hashable so that records compare and hash like the
    values they are.  Values are limited to what every store can keep and
    give back unchanged (JSON, a Redis hash, a database column).
    """

    __slots__ = ("_items",)

    def __init__(self, items: Optional[Mapping[str, SettingValue]] = None) -> None:
        checked: Dict[str, SettingValue] = {}
        for name, value in dict(items or {}).items():
            if not isinstance(name, str):
                raise TypeError(f"A room setting needs a name in text, not {type(name).__name__}.")
            if not name:
                raise ValueError("A room setting needs a name.")
            if not isinstance(value, (str, int)):  # bool is an int
                raise TypeError(
                    f"Room setting {name!r} must be text, a whole number or true/false,"
                    f" not {type(value).__name__}."
                )
            checked[name] = value
        self._items = checked

    def __getitem__(self, name: str) -> SettingValue:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._items == dict(other.items())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(frozenset((k, type(v), v) for k, v in self._items.items()))

    def __repr__(self) -> str:
        return f"Settings({self._items!r})"


@dataclasses.dataclass(frozen=True)
class RoomRecord:
    """
    One room as the store keeps it.

    @ivar name: the display name, as first stored (or as last saved with
        L{chatd.core.interfaces.IStore.save_room}).
    @ivar topic: the topic, C{""} if none.
    @ivar topic_by: the nick that set the topic, C{""} if unknown.
    @ivar settings: a L{Settings} mapping (for modes and owners).
    @ivar last_id: the newest message id ever given out in the room, kept
        when that message is pruned, so ids are never handed out twice.
    @ivar pruned_below: retention may have deleted every message with an
        id below this; C{0} when nothing was ever pruned.
    """

    name: str
    topic: str = ""
    topic_by: str = ""
    settings: Settings = Settings()
    last_id: int = 0
    pruned_below: int = 0

    def __post_init__(self) -> None:
        for field in ("name", "topic", "topic_by"):
            if not isinstance(getattr(self, field), str):
                raise TypeError(f"A room's {field} must be text, not {type(getattr(self, field)).__name__}.")
        if not self.name:
            raise ValueError("A room record needs a name.")
        if not isinstance(self.settings, Settings):
            object.__setattr__(self, "settings", Settings(self.settings))
        for field in ("last_id", "pruned_below"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"A room's {field} must be a whole number, 0 or more, not {value}.")


#: The roles an account can hold in a registered room, strongest first.
ROLES = ("founder", "operator", "voice")


@dataclasses.dataclass(frozen=True)
class AccountRecord:
    """
    An account as the store keeps it.

    The store trusts C{key} and C{look} as given (the core computes them):
    it looks accounts up by them, and never recomputes them, so that a
    change to chatd's folding can never make an account unreachable.

    @ivar name: the account name as registered (PRECIS UsernameCaseMapped).
    @ivar key: the folded name (L{chatd.core.text.fold}): unique.
    @ivar look: the look-alike key (L{chatd.core.text.skeleton}): unique.
    @ivar password_hash: argon2's encoded hash of the password.
    @ivar email: the address given at registration, or C{""}.
    @ivar created: when, in POSIX seconds.
    """

    name: str
    key: str
    look: str
    password_hash: str
    email: str = ""
    created: float = 0.0

    def __post_init__(self) -> None:
        for field in ("name", "key", "look", "password_hash"):
            _need_text(self, field, "An account", empty=False)
        _need_text(self, "email", "An account")
        _need_time(self, "created", "An account")


@dataclasses.dataclass(frozen=True)
class BanRecord:
    """
    A ban: C{mask} is C{~a:ACCOUNT}, a nick pattern or an address/network;
    set by C{by} at C{since}, for C{reason}, until C{until} (None: for ever).

    The store compares masks by their fold (L{chatd.core.text.fold}), so
    C{~a:Alice} and C{~a:alice} are one ban, and keeps the spelling last set.
    """

    mask: str
    by: str
    since: float
    reason: str = ""
    until: Optional[float] = None

    def __post_init__(self) -> None:
        _need_text(self, "mask", "A ban", empty=False)
        _need_text(self, "by", "A ban")
        _need_text(self, "reason", "A ban")
        _need_time(self, "since", "A ban")
        if self.until is not None:
            _need_time(self, "until", "A ban")


#: The kinds of L{MarkRecord}.
MARKS = ("mute", "invite")


@dataclasses.dataclass(frozen=True)
class MarkRecord:
    """
    Something a room holds about one member: a C{mute} (it may read, not
    speak) or an C{invite} (it may join past C{+i}), set by C{by} at
    C{since}, until C{until} (None: for ever).

    C{who} says whom it is about, folded, as the core spells it:
    C{~a:ACCOUNT} for an account, C{~u:UID} for one user that is not logged
    in (a nick change does not escape it), C{~n:NICK} for a nick.
    """

    kind: str
    who: str
    by: str
    since: float
    until: Optional[float] = None

    def __post_init__(self) -> None:
        if self.kind not in MARKS:
            raise ValueError(f"A room mark is one of {', '.join(MARKS)}; not {self.kind}.")
        _need_text(self, "who", "A room mark", empty=False)
        _need_text(self, "by", "A room mark")
        _need_time(self, "since", "A room mark")
        if self.until is not None:
            _need_time(self, "until", "A room mark")


def check_role(role: Optional[str]) -> None:
    """Refuse a role no store keeps: only L{ROLES}, or None for none."""
    if role is not None and role not in ROLES:
        raise ValueError(f"A role is one of {', '.join(ROLES)}, or none; not {role}.")


def taken(record: AccountRecord, existing: AccountRecord) -> AccountExists:
    """The refusal of C{record}: C{existing} has its name or its look."""
    if existing.key == record.key:
        return AccountExists(f"An account called {existing.name} exists already; choose another nick.")
    return AccountExists(f"{record.name} looks like the account {existing.name}; choose another nick.")


def no_account(key: str) -> NoSuchAccount:
    """The refusal of something for an account that is not (or no longer) there."""
    return NoSuchAccount(f"There is no account {key}; it may have been dropped.")


def _need_text(record: object, field: str, what: str, empty: bool = True) -> None:
    """Refuse a field that is not text (or is empty, unless C{empty}), naming it."""
    value = getattr(record, field)
    if not isinstance(value, str):
        raise TypeError(f"{what}'s {field} must be text, not {type(value).__name__}.")
    if not empty and not value:
        raise ValueError(f"{what} needs a {field}.")


def _need_time(record: object, field: str, what: str) -> None:
    """Refuse a time that is not a number of seconds: every store keeps it as one."""
    value = getattr(record, field)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what}'s {field} must be POSIX seconds, not {type(value).__name__}.")
