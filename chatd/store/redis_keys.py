# -*- test-case-name: tests.store.test_redis -*-
"""
Where the Redis store keeps things: every key name, in one place
(docs/cluster.md lists them for operators).

A room is named by its key, the folded name (L{chatd.core.text.fold}),
and an account by its key likewise.  Those may hold any character but
control characters, C{:} included, so every key is a fixed kind prefix
followed by one name, never a name followed by more: C{chatd:room:#a:b}
is the room C{#a:b}, and nothing else.

Nothing here expires but client message ids: room records, histories,
accounts, tokens, roles, bans and marks stay until chatd deletes them, so
Redis must not evict them (C{maxmemory-policy noeviction}).
"""

from typing import Optional

#: Every key starts with this.
PREFIX = "chatd:"

#: Hash: C{epoch} (made once, random hex) and C{floor} (ids of rooms made
#: from now on start above it; 0 until Redis loses data).
CLUSTER = "chatd:cluster"
#: Set of the keys of every room with a record (for pruning).
STORED_ROOMS = "chatd:stored-rooms"
#: Set of the keys of every account (for pruning).
ACCOUNTS = "chatd:accounts"
#: Sorted set: every client message id's key, scored by its message's time.
CIDS = "chatd:cids"
#: Sorted set: login token digests by expiry.
TOKEN_EXPIRY = "chatd:token-expiry"
#: Sorted sets: C{"<hash key>\\n<field>"} of bans and marks with an end, by it.
BAN_EXPIRY = "chatd:ban-expiry"
MARK_EXPIRY = "chatd:mark-expiry"
#: Counter giving bans and marks their setting order.
SEQUENCE = "chatd:sequence"
#: Hash: the server's bans (mask key -> C{"<seq> <JSON>"}).
SERVER_BANS = "chatd:server-bans"

ROOM = "chatd:room:"
HISTORY = "chatd:history:"
ACCOUNT = "chatd:account:"
LOOK = "chatd:look:"
TOKEN = "chatd:token:"
ACCOUNT_TOKENS = "chatd:account-tokens:"
PRIVATES = "chatd:privates:"
ROLES = "chatd:roles:"
ACCOUNT_ROLES = "chatd:account-roles:"
BANS = "chatd:bans:"
MARKS = "chatd:marks:"
REACTIONS = "chatd:reactions:"
READS = "chatd:reads:"
PREFERENCES = "chatd:preferences:"


def room(key: str) -> str:
    """Hash: a room's record (C{name}, C{topic}, C{topic_by}, C{settings}
    as JSON, C{last}, C{pruned_below}, C{epoch}).  Never expires.  The
    room's bus channel has the same name (channels are apart from keys)."""
    return ROOM + key


def channel(key: str) -> str:
    """The pub/sub channel of a room: its messages, as the append script publishes them."""
    return ROOM + key


def history(key: str) -> str:
    """Stream: a room's messages, entry id C{<id>-0}, fields C{t} (time) and C{v} (the event, MessagePack)."""
    return HISTORY + key


def reactions(key: str) -> str:
    """Sorted set: the ids of a room's reactions, each scored by the id of the
    message it is on (a history page's reactions without reading the stream)."""
    return REACTIONS + key


def cid(identity: str, cid: str) -> str:
    """String C{"<id> <ts>"}: a client message id, kept for the window (PX).
    The identity's length comes first, so no two (identity, cid) share a key."""
    return f"chatd:cid:{len(identity)}:{identity}:{cid}"


def account(key: str) -> str:
    """Hash: an account (C{name}, C{key}, C{look}, C{password_hash}, C{email},
    C{created}, C{last_private}, C{privates_pruned_below})."""
    return ACCOUNT + key


def reads(key: str) -> str:
    """Hash: an account's read markers, target (a room's key, or C{@} and a folded nick) -> id."""
    return READS + key


def preferences(key: str) -> str:
    """Hash: an account's preferences, name -> value."""
    return PREFERENCES + key


def look(look: str) -> str:
    """String: the key of the account that looks like this."""
    return LOOK + look


def token(digest: str) -> str:
    """String C{"<expires> <account key>"}: a login token, by its digest."""
    return TOKEN + digest


def account_tokens(key: str) -> str:
    """Set: the digests of an account's tokens (to drop them with it)."""
    return ACCOUNT_TOKENS + key


def privates(key: str) -> str:
    """Stream: an account's private messages, entry id C{<id>-0},
    fields C{t}, C{nick}, C{to}, C{text}."""
    return PRIVATES + key


def roles(room_key: str) -> str:
    """Hash: account key -> role in a room."""
    return ROLES + room_key


def account_roles(key: str) -> str:
    """Set: the keys of the rooms where an account has a role (to drop them with it)."""
    return ACCOUNT_ROLES + key


def bans(scope_key: Optional[str]) -> str:
    """Hash: folded mask -> C{"<seq> <JSON>"}, a room's bans or (None) the server's."""
    return SERVER_BANS if scope_key is None else BANS + scope_key


def marks(room_key: str) -> str:
    """Hash: C{"<kind> <who>"} -> C{"<seq> <JSON>"}, a room's mutes and invitations."""
    return MARKS + room_key
