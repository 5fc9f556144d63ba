"""Persistence behind L{chatd.core.interfaces.IStore}: memory and SQLite."""
