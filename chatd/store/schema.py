# -*- test-case-name: tests.store.test_sqlite_schema -*-
"""
The SQLite file's layout, and how an older file is brought up to date.

The version is kept in C{PRAGMA user_version}.  A new file gets the newest
schema at once; an older one gets each migration in turn, in the same
transaction that opens it, so a file is never left half migrated.  A file
from a newer chatd is refused rather than changed: an older chatd cannot
know what the newer columns mean.
"""

import sqlite3
from typing import Dict, NamedTuple, Tuple

#: The version this chatd writes; each older one has a migration below.
SCHEMA_VERSION = 5

#: Rooms and their messages: the tables of version 2 (with the columns of 5).
_CREATE = """
CREATE TABLE rooms (
    rid INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,                -- chatd.core.text.fold(name)
    name TEXT NOT NULL,                      -- display name
    topic TEXT NOT NULL DEFAULT '',
    topic_by TEXT NOT NULL DEFAULT '',
    last_id INTEGER NOT NULL DEFAULT 0,      -- the room's id counter
    pruned_below INTEGER NOT NULL DEFAULT 1, -- every id below it is deleted
    settings TEXT NOT NULL DEFAULT '{}'      -- a JSON object
);
CREATE TABLE messages (
    rid INTEGER NOT NULL, id INTEGER NOT NULL, type TEXT NOT NULL,
    nick TEXT NOT NULL, text TEXT NOT NULL, ts REAL NOT NULL, cid TEXT,
    extra TEXT, ref INTEGER,                 -- version 5 (below)
    PRIMARY KEY (rid, id)
) WITHOUT ROWID;
CREATE TABLE cids (
    identity TEXT NOT NULL, cid TEXT NOT NULL, id INTEGER NOT NULL, ts REAL NOT NULL,
    PRIMARY KEY (identity, cid)
);
CREATE INDEX cids_by_ts ON cids (ts);
"""

#: What version 3 added: accounts with their tokens and private messages,
#: and roles and bans.  Rooms are named by their key, not their rid, so that
#: a role or a ban never creates a room record as a side effect.
_ACCOUNTS = """
CREATE TABLE accounts (
    key TEXT PRIMARY KEY,                    -- chatd.core.text.fold(name)
    look TEXT NOT NULL UNIQUE,               -- chatd.core.text.skeleton(name)
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    last_private INTEGER NOT NULL DEFAULT 0,      -- the private stream's id counter
    privates_pruned_below INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE tokens (
    digest TEXT PRIMARY KEY,                 -- SHA-256 of the token, hex
    key TEXT NOT NULL, expires REAL NOT NULL
);
CREATE INDEX tokens_by_key ON tokens (key);
CREATE INDEX tokens_by_expiry ON tokens (expires);
CREATE TABLE privates (
    key TEXT NOT NULL, id INTEGER NOT NULL,
    nick TEXT NOT NULL, recipient TEXT NOT NULL, text TEXT NOT NULL, ts REAL NOT NULL,
    PRIMARY KEY (key, id)
) WITHOUT ROWID;
CREATE TABLE roles (
    room TEXT NOT NULL, key TEXT NOT NULL, role TEXT NOT NULL,
    PRIMARY KEY (room, key)
) WITHOUT ROWID;
CREATE INDEX roles_by_key ON roles (key);
CREATE TABLE bans (
    seq INTEGER PRIMARY KEY,                 -- setting order
    scope TEXT NOT NULL,                     -- the room's key, '' for the server
    mask_key TEXT NOT NULL,                  -- chatd.core.text.fold(mask)
    mask TEXT NOT NULL, by TEXT NOT NULL, since REAL NOT NULL,
    reason TEXT NOT NULL DEFAULT '', until REAL,
    UNIQUE (scope, mask_key)
);
CREATE INDEX bans_by_until ON bans (until) WHERE until IS NOT NULL;
"""

#: What version 4 added: room marks (mutes and invitations), kept in the
#: store so that a restarted chatd, or every node of a cluster, knows them.
#: Named by the room's key like roles and bans, for the same reason.
_MARKS = """
CREATE TABLE marks (
    seq INTEGER PRIMARY KEY,                 -- setting order
    room TEXT NOT NULL,                      -- the room's key
    kind TEXT NOT NULL,                      -- chatd.store.records.MARKS
    who TEXT NOT NULL,                       -- ~a:ACCOUNT, ~u:UID or ~n:NICK, folded
    by TEXT NOT NULL, since REAL NOT NULL, until REAL,
    UNIQUE (room, kind, who)
);
CREATE INDEX marks_by_until ON marks (until) WHERE until IS NOT NULL;
"""

#: What version 5 added: what a row of a room keeps besides its text (a
#: reply's quote, a reaction's message, as JSON, NULL for a plain message),
#: the message a reaction is on (C{ref}, indexed so that a history page
#: finds its reactions without a scan), and per account read markers and
#: preferences.
_ROWS = """
ALTER TABLE messages ADD COLUMN extra TEXT;
ALTER TABLE messages ADD COLUMN ref INTEGER;
"""
_REACTIONS = """
CREATE INDEX messages_by_ref ON messages (rid, ref) WHERE ref IS NOT NULL;
CREATE TABLE reads (
    key TEXT NOT NULL,                       -- the account's key
    target TEXT NOT NULL,                    -- a room's key, or '@' and a folded nick
    id INTEGER NOT NULL,                     -- the last message read
    PRIMARY KEY (key, target)
) WITHOUT ROWID;
CREATE TABLE preferences (
    key TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (key, name)
) WITHOUT ROWID;
"""

#: From version N to N + 1.
_MIGRATIONS: Dict[int, str] = {
    # Rooms become records with settings (for owners and modes); the
    # topic's setter gets the name the rest of chatd uses.
    1: """
    ALTER TABLE rooms RENAME COLUMN setter TO topic_by;
    ALTER TABLE rooms ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
    """,
    # Accounts, tokens, private messages, roles and bans: new tables only,
    # so every room, message and client id is kept as it was.
    2: _ACCOUNTS,
    # Room marks: a new table only.
    3: _MARKS,
    # Replies and reactions: two columns (NULL in every row kept) and an
    # index; read markers and preferences: new tables.
    4: _ROWS + _REACTIONS,
}

_SYNCHRONOUS = {"normal": "NORMAL", "full": "FULL"}


class Opened(NamedTuple):
    """What opening found, for the operator's log."""

    journal: str
    synchronous: int
    version: int
    migrated_from: int  # 0: created or already current


def check_durability(durability: str) -> None:
    """Refuse an unknown durability before any thread or file is touched."""
    if durability not in _SYNCHRONOUS:
        raise ValueError(f"durability must be 'normal' or 'full', not {durability}")


def connect(path: str, durability: str) -> Tuple[sqlite3.Connection, Opened]:
    """
    Open C{path} in WAL mode with the C{synchronous} level that
    C{durability} names, and create or migrate its schema.

    The connection is left outside any transaction, in autocommit mode, so
    that the writer decides where each transaction begins and ends.
    """
    db = sqlite3.connect(path, isolation_level=None)
    try:
        journal = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if journal.lower() != "wal":
            raise sqlite3.OperationalError(f"journal_mode is {journal}: WAL is not available")
        db.execute(f"PRAGMA synchronous={_SYNCHRONOUS[durability]}")
        db.execute("PRAGMA busy_timeout=5000")
        db.execute("BEGIN IMMEDIATE")
        found = db.execute("PRAGMA user_version").fetchone()[0]
        _upgrade(db, found)
        db.execute("COMMIT")
        synchronous = db.execute("PRAGMA synchronous").fetchone()[0]
    except Exception:
        db.close()  # rolls back
        raise
    migrated = found if 0 < found < SCHEMA_VERSION else 0
    return db, Opened(journal.lower(), synchronous, SCHEMA_VERSION, migrated)


def _upgrade(db: sqlite3.Connection, version: int) -> None:
    """Bring a file at C{version} to L{SCHEMA_VERSION}, inside the open transaction."""
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(
            f"schema version {version}; this chatd knows version {SCHEMA_VERSION}."
            " Run the newer chatd that wrote it, or restore a backup."
        )
    if version == 0:
        _run(db, _CREATE + _ACCOUNTS + _MARKS + _REACTIONS)
    else:
        for step in range(version, SCHEMA_VERSION):
            _run(db, _MIGRATIONS[step])
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _run(db: sqlite3.Connection, script: str) -> None:
    """Run each statement on its own: C{executescript} would commit first."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)
