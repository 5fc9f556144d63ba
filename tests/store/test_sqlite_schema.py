# -*- test-case-name: tests.store.test_sqlite_schema -*-
"""
Tests for L{chatd.store.schema}: a file written by an older chatd opens,
keeps its messages, topics, settings and ids, and is brought to the current
schema (and can then keep accounts, roles, bans, room marks, replies,
reactions, read markers and preferences);
a file that cannot be migrated is left as it was.
"""

import sqlite3
from contextlib import closing

import pytest
import pytest_twisted
from account_contract import account, privates
from sqlite_files import change, query
from store_contract import ids, say

from chatd.store.records import AccountRecord, BanRecord, MarkRecord, RoomRecord
from chatd.store.sqlite import SCHEMA_VERSION, StoreError

#: The schema chatd wrote as version 1, as it was (chatd/store/sqlite.py
#: before rooms had settings).
V1_SCHEMA = """
CREATE TABLE rooms (
    rid INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,                -- chatd.core.text.fold(name)
    name TEXT NOT NULL,                      -- display name
    topic TEXT NOT NULL DEFAULT '',
    setter TEXT NOT NULL DEFAULT '',
    last_id INTEGER NOT NULL DEFAULT 0,      -- the room's id counter
    pruned_below INTEGER NOT NULL DEFAULT 1  -- every id below it is deleted
);
CREATE TABLE messages (
    rid INTEGER NOT NULL, id INTEGER NOT NULL, type TEXT NOT NULL,
    nick TEXT NOT NULL, text TEXT NOT NULL, ts REAL NOT NULL, cid TEXT,
    PRIMARY KEY (rid, id)
) WITHOUT ROWID;
CREATE TABLE cids (
    identity TEXT NOT NULL, cid TEXT NOT NULL, id INTEGER NOT NULL, ts REAL NOT NULL,
    PRIMARY KEY (identity, cid)
);
CREATE INDEX cids_by_ts ON cids (ts);
"""


def write_version_1(path):
    """
    A file as chatd 1 left it: #Lobby with a topic, messages 3 to 5 (1 and
    2 pruned), one remembered client message id; #Quiet with a topic only.
    """
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(V1_SCHEMA)
        conn.executemany(
            "INSERT INTO rooms (rid, key, name, topic, setter, last_id, pruned_below) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(1, "#lobby", "#Lobby", "Welcome", "alice", 5, 3), (2, "#quiet", "#Quiet", "Shh", "bob", 0, 1)],
        )
        conn.executemany(
            "INSERT INTO messages (rid, id, type, nick, text, ts, cid) VALUES (1, ?, ?, ?, ?, ?, ?)",
            [(3, "message", "alice", "three", 103.0, None), (4, "action", "bob", "waves", 104.0, None),
             (5, "message", "alice", "five", 105.0, "c5")],
        )
        conn.execute("INSERT INTO cids (identity, cid, id, ts) VALUES ('alice', 'c5', 5, 105.0)")
        conn.execute("PRAGMA user_version = 1")
        conn.commit()


#: The schema chatd wrote as version 2, as it was (chatd/store/schema.py
#: before accounts, roles and bans).
V2_SCHEMA = """
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
    PRIMARY KEY (rid, id)
) WITHOUT ROWID;
CREATE TABLE cids (
    identity TEXT NOT NULL, cid TEXT NOT NULL, id INTEGER NOT NULL, ts REAL NOT NULL,
    PRIMARY KEY (identity, cid)
);
CREATE INDEX cids_by_ts ON cids (ts);
"""


def write_version_2(path):
    """
    A file as chatd 2 left it: #Den with a topic and settings (founder
    alice, moderated), messages 2 and 3 (1 pruned), one client message id;
    #Empty with settings only.
    """
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(V2_SCHEMA)
        conn.executemany(
            "INSERT INTO rooms (rid, key, name, topic, topic_by, last_id, pruned_below, settings)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(1, "#den", "#Den", "Quiet", "alice", 3, 2, '{"founder": "alice", "moderated": true}'),
             (2, "#empty", "#Empty", "", "", 0, 1, '{"limit": 5}')],
        )
        conn.executemany(
            "INSERT INTO messages (rid, id, type, nick, text, ts, cid) VALUES (1, ?, ?, ?, ?, ?, ?)",
            [(2, "message", "alice", "two", 102.0, "c2"), (3, "action", "bob", "waves", 103.0, None)],
        )
        conn.execute("INSERT INTO cids (identity, cid, id, ts) VALUES ('alice', 'c2', 2, 102.0)")
        conn.execute("PRAGMA user_version = 2")
        conn.commit()


#: The tables version 3 added, as they were (chatd/store/schema.py before
#: room marks).
V3_ACCOUNTS = """
CREATE TABLE accounts (
    key TEXT PRIMARY KEY,
    look TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    last_private INTEGER NOT NULL DEFAULT 0,
    privates_pruned_below INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE tokens (digest TEXT PRIMARY KEY, key TEXT NOT NULL, expires REAL NOT NULL);
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
    seq INTEGER PRIMARY KEY,
    scope TEXT NOT NULL,
    mask_key TEXT NOT NULL,
    mask TEXT NOT NULL, by TEXT NOT NULL, since REAL NOT NULL,
    reason TEXT NOT NULL DEFAULT '', until REAL,
    UNIQUE (scope, mask_key)
);
CREATE INDEX bans_by_until ON bans (until) WHERE until IS NOT NULL;
"""


def write_version_3(path):
    """
    A file as chatd 3 left it: #Den as in L{write_version_2}, the account
    alice (founder of #Den, one login token, private messages 2 and 3 of
    3, 1 pruned), a ban in #Den and one on the server.
    """
    write_version_2(path)
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(V3_ACCOUNTS)
        conn.execute("INSERT INTO accounts VALUES ('alice', 'alice', 'Alice', 'hash', 'a@example.org', 5.0, 3, 2)")
        conn.execute("INSERT INTO tokens VALUES ('d1', 'alice', 9e9)")
        conn.executemany("INSERT INTO privates VALUES ('alice', ?, 'bob', 'alice', ?, ?)",
                         [(2, "two", 202.0), (3, "three", 203.0)])
        conn.execute("INSERT INTO roles VALUES ('#den', 'alice', 'founder')")
        conn.executemany(
            "INSERT INTO bans (scope, mask_key, mask, by, since, reason, until) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [("#den", "spam*", "Spam*", "alice", 7.0, "spam", 9e9), ("", "~a:eve", "~a:eve", "root", 8.0, "", None)],
        )
        conn.execute("PRAGMA user_version = 3")
        conn.commit()


#: The table version 4 added, as it was (chatd/store/schema.py before
#: replies, reactions and read markers).
V4_MARKS = """
CREATE TABLE marks (
    seq INTEGER PRIMARY KEY,
    room TEXT NOT NULL,
    kind TEXT NOT NULL,
    who TEXT NOT NULL,
    by TEXT NOT NULL, since REAL NOT NULL, until REAL,
    UNIQUE (room, kind, who)
);
CREATE INDEX marks_by_until ON marks (until) WHERE until IS NOT NULL;
"""


def write_version_4(path):
    """A file as chatd 4 left it: L{write_version_3}'s, and a mute in #Den."""
    write_version_3(path)
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(V4_MARKS)
        conn.execute("INSERT INTO marks (room, kind, who, by, since, until) VALUES"
                     " ('#den', 'mute', '~a:bob', 'alice', 9.0, NULL)")
        conn.execute("PRAGMA user_version = 4")
        conn.commit()


def columns(path, table):
    return sorted(row[1:] for row in query(path, f"PRAGMA table_info({table})"))


def layout(path):
    """Every table and index, with each table's columns, types, defaults and keys."""
    names = query(path, "SELECT type, name, tbl_name FROM sqlite_master ORDER BY name")
    return names, {name: columns(path, name) for kind, name, _ in names if kind == "table"}


@pytest_twisted.inlineCallbacks
def test_version_1_opens(open_store, tmp_path, logged):
    """A version 1 file keeps its messages, topics, ids and client ids, and is migrated once."""
    path = tmp_path / "chat.sqlite3"
    write_version_1(path)
    store = yield open_store()
    assert query(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert [e["migrated"] for e in logged if "migrated" in e] == [" (migrated from version 1)"]
    assert (yield store.room("#LOBBY")) == RoomRecord("#Lobby", "Welcome", "alice", last_id=5, pruned_below=3)
    assert (yield store.room("#quiet")) == RoomRecord("#Quiet", "Shh", "bob")
    rows, more = yield store.recent("#lobby", 10, after=1)
    assert more
    assert [(e.type, e.room, e.nick, e.text, e.id, e.ts, e.cid) for e in rows] == [
        ("message", "#Lobby", "alice", "three", 3, 103.0, None),
        ("action", "#Lobby", "bob", "waves", 4, 104.0, None),
        ("message", "#Lobby", "alice", "five", 5, 105.0, "c5"),
    ]
    assert (yield say(store, "#lobby", "five", ts=110.0, cid="c5")) == (5, 105.0, False)
    assert (yield say(store, "#lobby", "six", ts=110.0))[0] == 6
    yield store.save_room(RoomRecord("#Lobby", "Welcome", "alice", {"moderated": True}))

    yield store.close()
    logged.clear()
    store = yield open_store()
    assert [e["migrated"] for e in logged if "migrated" in e] == [""]
    assert (yield store.room("#lobby")).settings == {"moderated": True}
    assert ids((yield store.recent("#lobby", 10))[0]) == [3, 4, 5, 6]


@pytest_twisted.inlineCallbacks
def test_version_2_opens(open_store, tmp_path, logged):
    """
    A version 2 file keeps its rooms, settings, messages, ids and client
    ids, and can keep accounts, roles, bans and private messages at once.
    """
    path = tmp_path / "chat.sqlite3"
    write_version_2(path)
    store = yield open_store()
    assert query(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert [e["migrated"] for e in logged if "migrated" in e] == [" (migrated from version 2)"]
    den = RoomRecord("#Den", "Quiet", "alice", {"founder": "alice", "moderated": True}, last_id=3, pruned_below=2)
    assert (yield store.room("#DEN")) == den
    assert (yield store.room("#empty")) == RoomRecord("#Empty", settings={"limit": 5})
    rows, more = yield store.recent("#den", 10, after=0)
    assert more
    assert [(e.type, e.room, e.nick, e.text, e.id, e.ts, e.cid) for e in rows] == [
        ("message", "#Den", "alice", "two", 2, 102.0, "c2"),
        ("action", "#Den", "bob", "waves", 3, 103.0, None),
    ]
    assert (yield say(store, "#den", "two", ts=110.0, cid="c2")) == (2, 102.0, False)
    assert (yield store.delete_message("#den", 3)) is True
    assert (yield say(store, "#den", "four", ts=110.0))[0] == 4
    yield store.create_account(account("alice"))
    yield store.set_role("#den", "alice", "founder")
    yield store.add_ban("#den", BanRecord("spam*", "alice", 111.0))
    assert (yield store.append_private("alice", "bob", "alice", "hi", 112.0)) == 1

    yield store.close()
    logged.clear()
    store = yield open_store()
    assert [e["migrated"] for e in logged if "migrated" in e] == [""]
    assert (yield store.room("#den")).settings == {"founder": "alice", "moderated": True}
    assert ids((yield store.recent("#den", 10))[0]) == [2, 4]
    assert (yield store.roles("#den")) == {"alice": "founder"}
    assert [b.mask for b in (yield store.bans("#den"))] == ["spam*"]
    assert (yield privates(store, "alice", 10)) == ([1], False)


@pytest_twisted.inlineCallbacks
def test_version_3_opens(open_store, tmp_path, logged):
    """
    A version 3 file keeps its rooms, messages, client ids, accounts,
    tokens, private messages, roles and bans, and can keep room marks at once.
    """
    path = tmp_path / "chat.sqlite3"
    write_version_3(path)
    store = yield open_store()
    assert query(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert [e["migrated"] for e in logged if "migrated" in e] == [" (migrated from version 3)"]
    den = RoomRecord("#Den", "Quiet", "alice", {"founder": "alice", "moderated": True}, last_id=3, pruned_below=2)
    assert (yield store.room("#DEN")) == den
    assert ids((yield store.recent("#den", 10))[0]) == [2, 3]
    assert (yield say(store, "#den", "two", ts=110.0, cid="c2")) == (2, 102.0, False)
    assert (yield store.account("alice")) == AccountRecord("Alice", "alice", "alice", "hash", "a@example.org", 5.0)
    assert (yield store.token_account("d1", 0.0)) == "alice"
    assert (yield privates(store, "alice", 10, after=0)) == ([2, 3], True)
    assert (yield store.roles("#den")) == {"alice": "founder"}
    assert (yield store.bans("#den")) == [BanRecord("Spam*", "alice", 7.0, "spam", 9e9)]
    assert (yield store.bans(None)) == [BanRecord("~a:eve", "root", 8.0)]
    mute = MarkRecord("mute", "~a:bob", "alice", 120.0, 9e9)
    yield store.set_mark("#Den", mute)
    assert (yield store.append_private("alice", "bob", "alice", "four", 204.0)) == 4

    yield store.close()
    logged.clear()
    store = yield open_store()
    assert [e["migrated"] for e in logged if "migrated" in e] == [""]
    assert (yield store.marks("#den")) == [mute]
    assert (yield privates(store, "alice", 10)) == ([2, 3, 4], False)


@pytest_twisted.inlineCallbacks
def test_version_4_opens(open_store, tmp_path, logged):
    """
    A version 4 file keeps its messages, accounts and marks, and can keep
    replies, reactions, read markers and preferences at once.
    """
    path = tmp_path / "chat.sqlite3"
    write_version_4(path)
    store = yield open_store()
    assert query(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert [e["migrated"] for e in logged if "migrated" in e] == [" (migrated from version 4)"]
    rows, more = yield store.recent("#den", 10, after=0)
    assert more
    assert [(e.type, e.nick, e.text, e.id, e.ts, e.cid, e.reply_to) for e in rows] == [
        ("message", "alice", "two", 2, 102.0, "c2", None),
        ("action", "bob", "waves", 3, 103.0, None, None),
    ]
    assert (yield store.message("#den", 3)).text == "waves"
    assert [m.who for m in (yield store.marks("#den"))] == ["~a:bob"]
    assert (yield privates(store, "alice", 10, after=0)) == ([2, 3], True)
    extra = {"reply_to": 2, "reply_nick": "alice", "reply_text": "two"}
    assert (yield store.append("#den", "message", "bob", "yes", 110.0, "bob", None, extra=extra))[0] == 4
    assert (yield store.append("#den", "react", "bob", "👍", 111.0, "bob", None, extra={"message": 2}))[0] == 5
    assert (yield store.set_read("alice", "#den", 4)) == 4
    yield store.set_preference("alice", "timestamps", "on")

    yield store.close()
    logged.clear()
    store = yield open_store()
    assert [e["migrated"] for e in logged if "migrated" in e] == [""]
    assert (yield store.message("#den", 4)).reply_to == 2
    assert [(e.type, e.message, e.reaction) for e in (yield store.reactions("#den", [2, 3]))] == [
        ("react", 2, "👍")]
    assert (yield store.reads("alice")) == {"#den": 4}
    assert (yield store.preferences("alice")) == {"timestamps": "on"}


@pytest.mark.parametrize("write", [write_version_1, write_version_2, write_version_3, write_version_4])
@pytest_twisted.inlineCallbacks
def test_migrated_is_like_new(open_store, tmp_path, write):
    """A migrated file has the tables, indexes, columns and defaults of a new one."""
    write(tmp_path / "old.db")
    yield open_store("old.db")
    yield open_store("new.db")
    assert layout(tmp_path / "old.db") == layout(tmp_path / "new.db")


@pytest_twisted.inlineCallbacks
def test_failed_migration_changes_nothing(open_store, tmp_path):
    """A version 1 file that cannot be migrated is refused and left at version 1, rows and all."""
    path = tmp_path / "chat.sqlite3"
    write_version_1(path)
    change(path, "ALTER TABLE rooms ADD COLUMN settings TEXT")  # what the migration adds
    with pytest.raises(StoreError, match="Opening the store failed .*settings"):
        yield open_store()
    assert query(path, "PRAGMA user_version") == [(1,)]
    assert [name for _, name, *_ in query(path, "PRAGMA table_info(rooms)")].count("setter") == 1
    assert query(path, "SELECT count(*) FROM messages") == [(3,)]


@pytest_twisted.inlineCallbacks
def test_failed_migration_from_2_changes_nothing(open_store, tmp_path):
    """A version 2 file whose migration fails half way keeps none of it: no new table, still version 2."""
    path = tmp_path / "chat.sqlite3"
    write_version_2(path)
    change(path, "CREATE TABLE bans (x)")  # the last table the migration adds
    with pytest.raises(StoreError, match="Opening the store failed .*bans already exists"):
        yield open_store()
    assert query(path, "PRAGMA user_version") == [(2,)]
    assert query(path, "SELECT name FROM sqlite_master WHERE name IN ('accounts', 'tokens', 'roles')") == []
    assert query(path, "SELECT count(*) FROM messages") == [(2,)]


@pytest_twisted.inlineCallbacks
def test_failed_migration_from_3_changes_nothing(open_store, tmp_path):
    """A version 3 file whose migration fails keeps none of it: no marks table, still version 3."""
    path = tmp_path / "chat.sqlite3"
    write_version_3(path)
    change(path, "CREATE INDEX marks_by_until ON bans (until)")  # the last thing the migration adds
    with pytest.raises(StoreError, match="Opening the store failed .*marks_by_until already exists"):
        yield open_store()
    assert query(path, "PRAGMA user_version") == [(3,)]
    assert query(path, "SELECT name FROM sqlite_master WHERE name = 'marks'") == []
    assert query(path, "SELECT count(*) FROM accounts") == [(1,)]


@pytest_twisted.inlineCallbacks
def test_failed_migration_from_4_changes_nothing(open_store, tmp_path):
    """A version 4 file whose migration fails keeps none of it: no new column nor table, still version 4."""
    path = tmp_path / "chat.sqlite3"
    write_version_4(path)
    change(path, "CREATE TABLE preferences (x)")  # the last thing the migration adds
    with pytest.raises(StoreError, match="Opening the store failed .*preferences already exists"):
        yield open_store()
    assert query(path, "PRAGMA user_version") == [(4,)]
    assert "extra" not in [name for _, name, *_ in query(path, "PRAGMA table_info(messages)")]
    assert query(path, "SELECT name FROM sqlite_master WHERE name = 'reads'") == []
    assert query(path, "SELECT count(*) FROM messages") == [(2,)]


@pytest_twisted.inlineCallbacks
def test_damaged_settings_refused(open_store, tmp_path):
    """Settings that are not a JSON object stop the store opening, naming the room."""
    path = tmp_path / "chat.sqlite3"
    yield (yield open_store()).save_room(RoomRecord("#Den", settings={"limit": 3}))
    change(path, "UPDATE rooms SET settings = '[1, 2' WHERE key = '#den'")
    with pytest.raises(StoreError, match="the settings of room #Den cannot be read"):
        yield open_store()
