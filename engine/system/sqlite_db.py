"""One SQLite database file shared by several threads: the conversations (engine/chat/storage.py) and the
documents' index (engine/documents/index.py) both open theirs here.

WAL journal (readers never wait for a writer), ``synchronous=NORMAL`` (a power cut may lose the last commit, never
corrupt the file), foreign keys on; one re-entrant lock serialises use of the one connection; a transaction is
``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any exception (Ctrl+C included), so a write is all or nothing.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Database:
    """``path`` opened with ``schema`` applied (statements that are safe to run again: CREATE … IF NOT EXISTS)."""

    def __init__(self, path: Path, schema: str) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            self.conn.execute(f"PRAGMA {pragma}")
        with self.lock:
            self.conn.executescript(schema)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and run the block as one transaction: committed at its end, rolled back if it raises."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def columns(self, table: str) -> set[str]:
        """The column names of ``table`` (for adding columns to files made by older versions)."""
        with self.lock:
            return {r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")}

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self.conn.close()
