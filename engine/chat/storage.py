"""Conversations on disk: SQLite in WAL mode, so a crash or kill never corrupts them.

A reply being streamed is saved as it grows (state ``streaming``); when the app starts again, any message still
in that state is marked ``interrupted``. Full-text search runs on SQLite FTS5.

A conversation's reasoning controls live in its settings JSON (:data:`REASONING_SETTINGS`): ``thinking_budget``
(tokens, or null for no limit), ``history_thoughts`` ("drop" or "keep") and ``enable_thinking`` (false: "don't
think"). A key that is absent means "the reply's or the model's default".
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.runtime.template import HISTORY_THOUGHTS
from engine.system.errors import PonderError
from engine.system.paths import ponder_home
from engine.system.sqlite_db import Database

STATES = ("complete", "streaming", "interrupted", "cancelled")
REASONING_SETTINGS = ("thinking_budget", "history_thoughts", "enable_thinking")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    system_prompt TEXT NOT NULL DEFAULT '',
    settings TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content TEXT NOT NULL DEFAULT '',
    reasoning TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'complete',
    engine TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    stats TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    UNIQUE (conversation_id, position)
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation_id, position);
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(content, reasoning, content='messages',
    content_rowid='id', tokenize='trigram');
CREATE TRIGGER IF NOT EXISTS messages_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content, reasoning) VALUES (new.id, new.content, new.reasoning);
END;
CREATE TRIGGER IF NOT EXISTS messages_ad AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content, reasoning) VALUES ('delete', old.id, old.content,
        old.reasoning);
END;
CREATE TRIGGER IF NOT EXISTS messages_au AFTER UPDATE OF content, reasoning ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content, reasoning) VALUES ('delete', old.id, old.content,
        old.reasoning);
    INSERT INTO messages_fts(rowid, content, reasoning) VALUES (new.id, new.content, new.reasoning);
END;
"""


@dataclass(frozen=True)
class Conversation:
    """A conversation's header."""

    id: str
    title: str
    model: str
    system_prompt: str
    settings: dict[str, Any]
    created_at: float
    updated_at: float

    def reasoning_settings(self) -> dict[str, Any]:
        """The reasoning controls this conversation sets (a subset of :data:`REASONING_SETTINGS`): they replace
        the reply's own settings when it answers."""
        return {k: self.settings[k] for k in REASONING_SETTINGS if k in self.settings}


def check_reasoning_setting(key: str, value: Any) -> Any:
    """``value`` if it is valid for reasoning setting ``key``, else a clear error."""
    if key == "thinking_budget":
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise PonderError(f"The thinking budget must be a token count (0 or more) or none, not {value!r}.",
                              "Give a whole number of tokens, or none for no limit.")
    elif key == "history_thoughts":
        if value not in HISTORY_THOUGHTS:
            raise PonderError(f"Unknown policy for earlier thoughts: {value!r}.", "Use 'drop' or 'keep'.")
    elif key == "enable_thinking":
        if not isinstance(value, bool):
            raise PonderError(f"'enable_thinking' must be true or false, not {value!r}.", "Give true or false.")
    else:
        raise PonderError(f"Unknown reasoning setting {key!r}.", f"Use one of {', '.join(REASONING_SETTINGS)}.")
    return value


@dataclass(frozen=True)
class StoredMessage:
    """One message; ``engine`` and ``model`` say who answered an assistant message."""

    id: int
    conversation_id: str
    position: int
    role: str
    content: str
    reasoning: str = ""
    state: str = "complete"
    engine: str = ""
    model: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0


class ConversationStore:
    """All conversations of one data folder. Safe to use from several threads."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or ponder_home() / "conversations.db"
        self._database = Database(self.path, _SCHEMA)
        self._lock, self._db = self._database.lock, self._database.conn
        self._tx = self._database.transaction

    def close(self) -> None:
        """Close the database."""
        self._database.close()

    # conversations -------------------------------------------------------------------------------------------

    def create(self, title: str = "New conversation", model: str = "", system_prompt: str = "",
               settings: dict[str, Any] | None = None) -> Conversation:
        """Start a conversation."""
        now = time.time()
        conv = Conversation(uuid.uuid4().hex, title, model, system_prompt, settings or {}, now, now)
        with self._tx() as db:
            db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (conv.id, title, model, system_prompt, json.dumps(conv.settings), now, now))
        return conv

    def get(self, conversation_id: str) -> Conversation:
        """A conversation by id; PonderError if it does not exist."""
        with self._lock:
            row = self._db.execute("SELECT * FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        if row is None:
            raise PonderError(f"No conversation {conversation_id!r}.", "It may have been deleted.")
        return _conversation(row)

    def conversations(self, query: str = "") -> list[Conversation]:
        """Conversations, most recently active first; with ``query``, only those whose title or messages contain
        it (case-insensitive; any language)."""
        with self._lock:
            if not query.strip():
                rows = self._db.execute("SELECT * FROM conversations ORDER BY updated_at DESC").fetchall()
            elif len(query.strip()) >= 3:
                rows = self._db.execute(
                    "SELECT * FROM conversations WHERE title LIKE ? ESCAPE '\\' OR id IN (SELECT m.conversation_id "
                    "FROM messages_fts f JOIN messages m ON m.id = f.rowid WHERE messages_fts MATCH ?) "
                    "ORDER BY updated_at DESC", (_like(query), _fts_phrase(query))).fetchall()
            else:  # trigram FTS needs 3 characters; short queries (e.g. two Chinese characters) scan
                rows = self._db.execute(
                    "SELECT * FROM conversations WHERE title LIKE ? ESCAPE '\\' OR id IN (SELECT conversation_id "
                    "FROM messages WHERE content LIKE ? ESCAPE '\\' OR reasoning LIKE ? ESCAPE '\\') "
                    "ORDER BY updated_at DESC", (_like(query),) * 3).fetchall()
        return [_conversation(r) for r in rows]

    def update(self, conversation_id: str, *, title: str | None = None, model: str | None = None,
               system_prompt: str | None = None, settings: dict[str, Any] | None = None) -> Conversation:
        """Change a conversation's title, model, system prompt or settings."""
        conv = self.get(conversation_id)
        new = (title if title is not None else conv.title, model if model is not None else conv.model,
               system_prompt if system_prompt is not None else conv.system_prompt,
               json.dumps(settings if settings is not None else conv.settings), time.time(), conversation_id)
        with self._tx() as db:
            db.execute("UPDATE conversations SET title = ?, model = ?, system_prompt = ?, settings = ?, "
                       "updated_at = ? WHERE id = ?", new)
        return self.get(conversation_id)

    def set_reasoning(self, conversation_id: str, values: dict[str, Any],
                      clear: tuple[str, ...] = ()) -> Conversation:
        """Set a conversation's reasoning controls (keys of :data:`REASONING_SETTINGS`, checked) and remove those
        in ``clear`` (back to the default); its other settings stay."""
        for key, value in values.items():
            check_reasoning_setting(key, value)
        for key in clear:
            if key not in REASONING_SETTINGS:
                check_reasoning_setting(key, None)  # names the unknown key
        with self._tx() as db:  # read and write in one transaction: concurrent changes of other keys survive
            row = db.execute("SELECT settings FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
            if row is None:
                raise PonderError(f"No conversation {conversation_id!r}.", "It may have been deleted.")
            settings = {k: v for k, v in json.loads(row["settings"]).items() if k not in clear} | values
            db.execute("UPDATE conversations SET settings = ?, updated_at = ? WHERE id = ?",
                       (json.dumps(settings), time.time(), conversation_id))
        return self.get(conversation_id)

    def delete(self, conversation_id: str) -> None:
        """Delete a conversation and its messages."""
        with self._tx() as db:
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    # messages ------------------------------------------------------------------------------------------------

    def messages(self, conversation_id: str) -> list[StoredMessage]:
        """All messages of a conversation in order."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM messages WHERE conversation_id = ? ORDER BY position",
                                    (conversation_id,)).fetchall()
        return [_message(r) for r in rows]

    def append(self, conversation_id: str, role: str, content: str = "", *, reasoning: str = "",
               state: str = "complete", engine: str = "", model: str = "",
               stats: dict[str, Any] | None = None) -> StoredMessage:
        """Add a message at the end of a conversation."""
        if state not in STATES:
            raise ValueError(f"unknown message state {state!r}")
        now = time.time()
        with self._tx() as db:
            (position,) = db.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM messages WHERE conversation_id = ?",
                                     (conversation_id,)).fetchone()
            cur = db.execute("INSERT INTO messages (conversation_id, position, role, content, reasoning, state, "
                             "engine, model, stats, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (conversation_id, position, role, content, reasoning, state, engine, model,
                              json.dumps(stats or {}), now, now))
            db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))
            message_id = int(cur.lastrowid or 0)
        return self.message(message_id)

    def message(self, message_id: int) -> StoredMessage:
        """One message by id."""
        with self._lock:
            row = self._db.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise PonderError(f"No message {message_id}.", "It may have been deleted.")
        return _message(row)

    def save_progress(self, message_id: int, *, content: str, reasoning: str, state: str = "streaming",
                      stats: dict[str, Any] | None = None) -> None:
        """Save a message's text so far (called while it streams, and once more at the end)."""
        if state not in STATES:
            raise ValueError(f"unknown message state {state!r}")
        with self._tx() as db:
            db.execute("UPDATE messages SET content = ?, reasoning = ?, state = ?, stats = COALESCE(?, stats), "
                       "updated_at = ? WHERE id = ?",
                       (content, reasoning, state, json.dumps(stats) if stats is not None else None, time.time(),
                        message_id))

    def truncate(self, conversation_id: str, from_position: int) -> None:
        """Delete the messages at ``from_position`` and after (regenerate, edit and resend)."""
        with self._tx() as db:
            db.execute("DELETE FROM messages WHERE conversation_id = ? AND position >= ?",
                       (conversation_id, from_position))

    def mark_interrupted(self) -> int:
        """After a restart: messages still marked ``streaming`` were cut off. Returns how many."""
        with self._tx() as db:
            return db.execute("UPDATE messages SET state = 'interrupted' WHERE state = 'streaming'").rowcount

    # export --------------------------------------------------------------------------------------------------

    def export_json(self, conversation_id: str) -> str:
        """The conversation and its messages as JSON."""
        conv = self.get(conversation_id)
        data = {"conversation": asdict(conv), "messages": [asdict(m) for m in self.messages(conversation_id)]}
        return json.dumps(data, ensure_ascii=False, indent=2)

    def export_markdown(self, conversation_id: str) -> str:
        """The conversation as Markdown: reasoning as a quoted block above each answer."""
        conv = self.get(conversation_id)
        lines = [f"# {conv.title}", ""]
        if conv.system_prompt:
            lines += ["**System:** " + conv.system_prompt, ""]
        for m in self.messages(conversation_id):
            who = "You" if m.role == "user" else (f"Assistant ({m.model})" if m.model else "Assistant")
            lines += [f"## {who}", ""]
            if m.reasoning:
                lines += ["> **Reasoning**", ">"] + [f"> {line}" if line else ">" for line in
                                                     m.reasoning.strip().splitlines()] + [""]
            lines += [m.content, ""]
            if m.state != "complete":
                lines += [f"*({m.state})*", ""]
        return "\n".join(lines)


def _like(query: str) -> str:
    escaped = query.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fts_phrase(query: str) -> str:
    return '"' + query.strip().replace('"', '""') + '"'


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(row["id"], row["title"], row["model"], row["system_prompt"], json.loads(row["settings"]),
                        row["created_at"], row["updated_at"])


def _message(row: sqlite3.Row) -> StoredMessage:
    return StoredMessage(row["id"], row["conversation_id"], row["position"], row["role"], row["content"],
                         row["reasoning"], row["state"], row["engine"], row["model"], json.loads(row["stats"]),
                         row["created_at"], row["updated_at"])
