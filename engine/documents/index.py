"""The document index: SQLite (files, chunks, FTS5 keywords) plus exact vector search in NumPy, fused by
reciprocal rank.

A file's chunks are replaced in one transaction, so a kill during indexing leaves each file either fully indexed
or not at all; files record size, mtime and a content hash so only changed files are indexed again.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.documents.chunk import Chunk
from engine.system.errors import PonderError
from engine.system.paths import ponder_home
from engine.system.sqlite_db import Database

RRF_K = 60
_SCHEMA = """
CREATE TABLE IF NOT EXISTS collections (name TEXT PRIMARY KEY, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    collection TEXT NOT NULL REFERENCES collections(name) ON DELETE CASCADE,
    path TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    mtime_ns INTEGER NOT NULL DEFAULT 0,
    sha256 TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'indexed', 'failed')),
    error TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    chunks INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    UNIQUE (collection, path)
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    page INTEGER,
    heading TEXT NOT NULL DEFAULT '[]',
    embedding BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_file ON chunks (file_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(text, content='chunks', content_rowid='id',
    tokenize='trigram');
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
"""


@dataclass(frozen=True)
class FileState:
    """What the index knows about a file."""

    path: str
    status: str
    error: str
    size: int
    mtime_ns: int
    sha256: str
    chunks: int
    title: str


def _file_state(r: sqlite3.Row) -> FileState:
    return FileState(r["path"], r["status"], r["error"], r["size"], r["mtime_ns"], r["sha256"], r["chunks"], r["title"])


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with where it comes from and its fused score (vector and keyword ranks)."""

    chunk_id: int
    path: str
    title: str
    text: str
    start: int
    end: int
    page: int | None
    heading: tuple[str, ...]
    score: float
    vector_rank: int | None
    keyword_rank: int | None
    similarity: float  # cosine between the query and the chunk


_WORD = re.compile(r"[^\W_]+(?:[-'._][^\W_]+)*")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+")
# words too common to say what a question is about (they match nearly every passage and drown the ones that do)
_COMMON_WORDS = """
a about above after again against all also am an and any are aren't as at be because been before being below
between both but by can can't cannot could did didn't do does doesn't doing don't down during each few for from
further get gets got had has have having he her here hers herself him himself his how i if in into is isn't it
it's its itself just let me more most my myself no nor not now of off on once only or other ought our ours
ourselves out over own same she should so some such than that the their theirs them themselves then there these
they this those through to too under until up use used using very was wasn't way we were what when where which
while who whom why will with would you your yours yourself yourselves tell explain describe mean means happen
happens need needs want say says said give show find much many kind
"""
STOPWORDS = frozenset(_COMMON_WORDS.split())
MAX_TERMS = 16


def keyword_terms(text: str) -> list[str]:
    """The search terms of a question for the trigram keyword index: words of 3+ characters without punctuation
    or very common words, and runs of Chinese/Japanese/Korean (written without spaces) as overlapping 3-character
    pieces; at most :data:`MAX_TERMS`, longest first."""
    terms: list[str] = []
    for run in _CJK.findall(text):
        terms.extend(run[i:i + 3] for i in range(max(1, len(run) - 2)) if len(run[i:i + 3]) == 3)
    for word in _WORD.findall(_CJK.sub(" ", text)):
        if len(word) >= 3 and word.lower().split("'")[0] not in STOPWORDS:
            terms.append(word)
    unique = list(dict.fromkeys(terms))
    return sorted(unique, key=len, reverse=True)[:MAX_TERMS]


class DocumentIndex:
    """All collections of one data folder. Safe to use from several threads."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or ponder_home() / "documents.db"
        self._database = Database(self.path, _SCHEMA)
        self._lock, self._db = self._database.lock, self._database.conn
        if "embedder" not in self._database.columns("collections"):  # indexes made before it was recorded
            with self._lock:
                self._db.execute("ALTER TABLE collections ADD COLUMN embedder TEXT NOT NULL DEFAULT ''")
        self._matrix: dict[str, tuple[int, np.ndarray, np.ndarray]] = {}  # collection -> (generation, ids, vectors)
        self._generation = 0

    def close(self) -> None:
        """Close the database."""
        self._database.close()

    def _tx(self, statements: Sequence[tuple[str, Sequence[object]]]) -> None:
        with self._database.transaction() as db:
            for sql, args in statements:
                db.execute(sql, args)
        self._generation += 1  # cached search matrices are stale after the commit

    def create_collection(self, name: str) -> None:
        """Create a collection (no error if it exists)."""
        if not name.strip() or len(name) > 200:
            raise PonderError(f"Invalid collection name {name!r}.", "Use 1 to 200 characters.")
        self._tx([("INSERT OR IGNORE INTO collections (name, created_at) VALUES (?, ?)", (name, time.time()))])

    def embedder_of(self, collection: str) -> str:
        """The identity of the embedder a collection's vectors come from ("" before its first file)."""
        with self._lock:
            row = self._db.execute("SELECT embedder FROM collections WHERE name = ?", (collection,)).fetchone()
        return str(row[0]) if row else ""

    def set_embedder(self, collection: str, identity: str) -> None:
        """Record the embedder a collection is indexed with."""
        self._tx([("UPDATE collections SET embedder = ? WHERE name = ?", (identity, collection))])

    def requeue_all(self, collection: str) -> None:
        """Queue every file of a collection to be indexed again from its text (e.g. with a new embedder)."""
        self._tx([("UPDATE files SET status = 'pending', sha256 = '', error = '' WHERE collection = ?",
                   (collection,))])

    def collections(self) -> list[str]:
        """Collection names."""
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT name FROM collections ORDER BY name")]

    def files(self, collection: str) -> list[FileState]:
        """Files of a collection with their status (indexed, failed with the reason, pending)."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM files WHERE collection = ? ORDER BY path", (collection,)).fetchall()
        return [_file_state(r) for r in rows]

    def file_state(self, collection: str, path: str) -> FileState | None:
        """One file's state, or None (one row: queueing a folder asks this once per file)."""
        with self._lock:
            r = self._db.execute("SELECT * FROM files WHERE collection = ? AND path = ?", (collection, path)).fetchone()
        return None if r is None else _file_state(r)

    def put_file(self, collection: str, path: str, *, size: int, mtime_ns: int, sha256: str, kind: str, title: str,
                 chunks: Sequence[Chunk], embeddings: np.ndarray) -> None:
        """Replace a file's chunks in one transaction (all or nothing)."""
        if len(chunks) != len(embeddings):
            raise ValueError("one embedding per chunk")
        vectors = np.ascontiguousarray(embeddings, dtype=np.float32)
        now = time.time()
        with self._database.transaction() as db:
            db.execute(
                "INSERT INTO files (collection, path, size, mtime_ns, sha256, status, error, kind, title, chunks, "
                "updated_at) VALUES (?, ?, ?, ?, ?, 'indexed', '', ?, ?, ?, ?) ON CONFLICT (collection, path) "
                "DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256, "
                "status = 'indexed', error = '', kind = excluded.kind, title = excluded.title, "
                "chunks = excluded.chunks, updated_at = excluded.updated_at",
                (collection, path, size, mtime_ns, sha256, kind, title, len(chunks), now))
            (file_id,) = db.execute("SELECT id FROM files WHERE collection = ? AND path = ?",
                                    (collection, path)).fetchone()
            db.execute("DELETE FROM chunks WHERE file_id = ?", (file_id,))
            db.executemany(
                "INSERT INTO chunks (file_id, text, start, end, page, heading, embedding) VALUES (?, ?, ?, ?, ?, "
                "?, ?)", [(file_id, c.text, c.start, c.end, c.page, json.dumps(list(c.heading), ensure_ascii=False),
                           vectors[i].tobytes()) for i, c in enumerate(chunks)])
        self._generation += 1

    def add_pending(self, collection: str, path: str, size: int, mtime_ns: int) -> bool:
        """Queue a file for indexing unless it is indexed (or failed) as it is now; returns True when queued.

        A changed file keeps its old chunks (still searchable) until its new ones replace them.
        """
        state = self.file_state(collection, path)
        if state is not None and state.status != "pending" and state.size == size and state.mtime_ns == mtime_ns:
            return False
        self._tx([("INSERT INTO files (collection, path, size, mtime_ns, status, updated_at) VALUES "
                   "(?, ?, 0, 0, 'pending', ?) ON CONFLICT (collection, path) DO UPDATE SET status = 'pending', "
                   "error = '', updated_at = excluded.updated_at", (collection, path, time.time()))])
        return True

    def confirm_unchanged(self, collection: str, path: str, size: int, mtime_ns: int, sha256: str) -> bool:
        """A queued file whose content hash matches its indexed chunks: mark it indexed again without re-embedding
        (e.g. it was only touched). Returns False when its content is new."""
        with self._lock:
            row = self._db.execute("SELECT sha256, chunks FROM files WHERE collection = ? AND path = ?",
                                   (collection, path)).fetchone()
        if row is None or not sha256 or row["sha256"] != sha256 or row["chunks"] == 0:
            return False
        self._tx([("UPDATE files SET status = 'indexed', size = ?, mtime_ns = ?, updated_at = ? WHERE "
                   "collection = ? AND path = ?", (size, mtime_ns, time.time(), collection, path))])
        return True

    def pending(self, collection: str) -> list[str]:
        """Files queued for indexing, in the order they were queued."""
        with self._lock:
            return [r[0] for r in self._db.execute(
                "SELECT path FROM files WHERE collection = ? AND status = 'pending' ORDER BY updated_at, id",
                (collection,))]

    def mark_failed(self, collection: str, path: str, error: str, *, size: int = 0, mtime_ns: int = 0) -> None:
        """Record that a file could not be indexed, and why (its old chunks, if any, are removed)."""
        self._tx([
            ("INSERT INTO files (collection, path, size, mtime_ns, status, error, updated_at) VALUES "
             "(?, ?, ?, ?, 'failed', ?, ?) ON CONFLICT (collection, path) DO UPDATE SET status = 'failed', "
             "error = excluded.error, size = excluded.size, mtime_ns = excluded.mtime_ns, chunks = 0, "
             "updated_at = excluded.updated_at", (collection, path, size, mtime_ns, error, time.time())),
            ("DELETE FROM chunks WHERE file_id = (SELECT id FROM files WHERE collection = ? AND path = ?)",
             (collection, path)),
        ])

    def remove_file(self, collection: str, path: str) -> None:
        """Forget a file and its chunks."""
        self._tx([("DELETE FROM files WHERE collection = ? AND path = ?", (collection, path))])

    def _vectors(self, collection: str) -> tuple[np.ndarray, np.ndarray]:
        cached = self._matrix.get(collection)
        if cached is not None and cached[0] == self._generation:
            return cached[1], cached[2]
        with self._lock:
            rows = self._db.execute("SELECT c.id, c.embedding FROM chunks c JOIN files f ON f.id = c.file_id WHERE "
                                    "f.collection = ?", (collection,)).fetchall()
            generation = self._generation
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        matrix = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows]) if rows else np.zeros((0, 1),
                                                                                                       np.float32)
        self._matrix[collection] = (generation, ids, matrix)
        return ids, matrix

    def search(self, collection: str, query_vector: np.ndarray, query_text: str, top_k: int = 5,
               candidates: int = 50) -> list[Hit]:
        """Best chunks for a query: exact cosine ranking and FTS5 keyword ranking, fused by reciprocal rank."""
        ids, matrix = self._vectors(collection)
        vector_rank: dict[int, int] = {}
        similarity: dict[int, float] = {}
        if len(ids):
            scores = matrix @ np.asarray(query_vector, dtype=np.float32)
            similarity = dict(zip(ids.tolist(), scores.tolist(), strict=True))
            n = min(candidates, len(ids))
            top = np.argpartition(-scores, n - 1)[:n]
            for rank, i in enumerate(top[np.argsort(-scores[top])]):
                vector_rank[int(ids[i])] = rank
        keyword_rank = {cid: rank for rank, cid in enumerate(self._keyword(collection, query_text, candidates))}
        fused = {cid: sum(1 / (RRF_K + r + 1) for r in (vector_rank.get(cid), keyword_rank.get(cid)) if r is not None)
                 for cid in set(vector_rank) | set(keyword_rank)}
        best = sorted(fused, key=lambda c: -fused[c])[:top_k]
        return [self._hit(cid, fused[cid], vector_rank.get(cid), keyword_rank.get(cid), similarity.get(cid, 0.0))
                for cid in best]

    def _keyword(self, collection: str, text: str, limit: int) -> list[int]:
        terms = keyword_terms(text)
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        with self._lock:
            rows = self._db.execute(
                "SELECT c.id FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid JOIN files f ON f.id = c.file_id"
                " WHERE chunks_fts MATCH ? AND f.collection = ? ORDER BY bm25(chunks_fts) LIMIT ?",
                (match, collection, limit)).fetchall()
        return [r[0] for r in rows]

    def _hit(self, chunk_id: int, score: float, vector_rank: int | None, keyword_rank: int | None,
             similarity: float) -> Hit:
        with self._lock:
            r = self._db.execute("SELECT c.*, f.path, f.title FROM chunks c JOIN files f ON f.id = c.file_id WHERE "
                                 "c.id = ?", (chunk_id,)).fetchone()
        return Hit(chunk_id, r["path"], r["title"], r["text"], r["start"], r["end"], r["page"],
                   tuple(json.loads(r["heading"])), score, vector_rank, keyword_rank, similarity)
