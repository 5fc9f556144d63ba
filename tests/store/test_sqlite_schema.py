# -*- test-case-name: tests.store.test_sqlite_schema -*-
"""
Tests for L{chatd.store.schema}: a file written by an older chatd opens,
keeps its messages, topics and ids, and is brought to the current schema;
a file that cannot be migrated is left as it was.
"""

import sqlite3
from contextlib import closing

import pytest
import pytest_twisted
from store_contract import ids, say
from sqlite_files import change, query

from chatd.store.records import RoomRecord
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


def columns(path, table):
    return sorted(row[1:] for row in query(path, f"PRAGMA table_info({table})"))


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
def test_migrated_is_like_new(open_store, tmp_path):
    """A migrated file has the tables, columns and defaults of a new one."""
    write_version_1(tmp_path / "old.db")
    yield open_store("old.db")
    yield open_store("new.db")
    for table in ("rooms", "messages", "cids"):
        assert columns(tmp_path / "old.db", table) == columns(tmp_path / "new.db", table)


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
def test_damaged_settings_refused(open_store, tmp_path):
    """Settings that are not a JSON object stop the store opening, naming the room."""
    path = tmp_path / "chat.sqlite3"
    yield (yield open_store()).save_room(RoomRecord("#Den", settings={"limit": 3}))
    change(path, "UPDATE rooms SET settings = '[1, 2' WHERE key = '#den'")
    with pytest.raises(StoreError, match="the settings of room #Den cannot be read"):
        yield open_store()
