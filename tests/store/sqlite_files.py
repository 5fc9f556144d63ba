"""
A SQLite store's file seen from outside, as another process (or an
operator with the sqlite3 shell) would see it: what tests use to check what
really is on disk, or to damage it.
"""

import sqlite3
from contextlib import closing


def query(path, sql, *args):
    """Read the file as another process would: only what was committed."""
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, args).fetchall()


def change(path, *statements):
    """Change the file as another process would, one autocommitted statement at a time."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for statement in statements:
            conn.execute(statement)
