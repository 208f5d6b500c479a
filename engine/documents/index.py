"""The document index: SQLite (files, chunks, two FTS5 keyword indexes) plus exact vector search in NumPy, fused
by reciprocal rank.

The keyword indexes: ``chunk_words`` holds each chunk's words (segmented by rjieba, Chinese included; see
:mod:`engine.documents.segment`) and ``chunks_fts`` its 3-character pieces. Both are searched and fused with the
vectors. bench/retrieval_quality.py (all-MiniLM-L6-v2 int8, 48 English and 25 Chinese questions; recall@5 / MRR):
vectors + pieces (before) en 0.833/0.692, zh 0.600/0.277; vectors + words en 0.854/0.655, zh 0.440/0.219; all
three (now) en 0.833/0.690, zh 0.600/0.364, and the keyword side alone (a file before its vectors exist) recall@5
en 0.854, zh 0.640 where pieces alone had 0.771, 0.480. One question is 0.02 (en) or 0.04 (zh) of a score.

Indexing a file has two stages. Its chunks and their keywords are committed first, in one transaction (a kill
leaves the file either searchable as a whole or as it was), and the file stays queued ("pending") with its new
content hash; its vectors then fill in, a batch per commit (a chunk without one is stored with an empty blob and
found by keywords only), and the file is "indexed" once every chunk has one. Files record size, mtime and a content
hash so only changed files are indexed again, and a file interrupted while embedding resumes at its missing
vectors.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.documents.chunk import Chunk
from engine.documents.segment import FTS_TOKENIZER, index_text, keyword_terms, match_query, trigram_terms
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
    embedding BLOB NOT NULL  -- float32 vector; empty until the second stage computes it
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
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_words USING fts5(words, tokenize=%TOKENIZER%);
CREATE TRIGGER IF NOT EXISTS chunk_words_ad AFTER DELETE ON chunks BEGIN
    DELETE FROM chunk_words WHERE rowid = old.id;
END;
""".replace("%TOKENIZER%", '"' + FTS_TOKENIZER + '"')


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
    embedded: int = 0  # chunks that have their vector; fewer than ``chunks``: searchable by keywords, vectors coming

    @property
    def searchable(self) -> bool:
        """Its chunks are searchable by keywords while their vectors are still being computed."""
        return self.status == "pending" and self.chunks > 0 and self.embedded < self.chunks


_FILE_COLUMNS = ("*, (SELECT COUNT(*) FROM chunks c WHERE c.file_id = files.id AND length(c.embedding) > 0) "
                 "AS embedded")


def _file_state(r: sqlite3.Row) -> FileState:
    return FileState(r["path"], r["status"], r["error"], r["size"], r["mtime_ns"], r["sha256"], r["chunks"], r["title"],
                     r["embedded"])


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
        self._fill_words()

    def _fill_words(self) -> None:
        """Segment the chunks an earlier version indexed with trigrams only (once, when ``chunk_words`` is new)."""
        with self._lock:
            has_chunks = self._db.execute("SELECT 1 FROM chunks LIMIT 1").fetchone() is not None
            has_words = self._db.execute("SELECT 1 FROM chunk_words LIMIT 1").fetchone() is not None
        if has_chunks and not has_words:
            with self._database.transaction() as db:
                rows = db.execute("SELECT id, text FROM chunks").fetchall()
                db.executemany("INSERT INTO chunk_words (rowid, words) VALUES (?, ?)",
                               [(r[0], index_text(r[1])) for r in rows])

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
            rows = self._db.execute(f"SELECT {_FILE_COLUMNS} FROM files WHERE collection = ? ORDER BY path",
                                    (collection,)).fetchall()
        return [_file_state(r) for r in rows]

    def file_state(self, collection: str, path: str) -> FileState | None:
        """One file's state, or None (one row: queueing a folder asks this once per file)."""
        with self._lock:
            r = self._db.execute(f"SELECT {_FILE_COLUMNS} FROM files WHERE collection = ? AND path = ?",
                                 (collection, path)).fetchone()
        return None if r is None else _file_state(r)

    def put_file(self, collection: str, path: str, *, size: int, mtime_ns: int, sha256: str, kind: str, title: str,
                 chunks: Sequence[Chunk], embeddings: np.ndarray | None = None) -> None:
        """Replace a file's chunks and their keywords in one transaction (all or nothing).

        With ``embeddings`` (one per chunk) the file is indexed; without, it is searchable by keywords and stays
        queued until :meth:`put_vectors` has given every chunk its vector."""
        if embeddings is not None and len(chunks) != len(embeddings):
            raise ValueError("one embedding per chunk")
        blobs = [b""] * len(chunks) if embeddings is None else [
            v.tobytes() for v in np.ascontiguousarray(embeddings, dtype=np.float32)]
        status = "pending" if embeddings is None else "indexed"
        words = [index_text(c.text) for c in chunks]  # outside the lock: segmenting a book takes a while
        now = time.time()
        with self._database.transaction() as db:
            db.execute(
                "INSERT INTO files (collection, path, size, mtime_ns, sha256, status, error, kind, title, chunks, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?) ON CONFLICT (collection, path) "
                "DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256, "
                "status = excluded.status, error = '', kind = excluded.kind, title = excluded.title, "
                "chunks = excluded.chunks, updated_at = excluded.updated_at",
                (collection, path, size, mtime_ns, sha256, status, kind, title, len(chunks), now))
            (file_id,) = db.execute("SELECT id FROM files WHERE collection = ? AND path = ?",
                                    (collection, path)).fetchone()
            db.execute("DELETE FROM chunks WHERE file_id = ?", (file_id,))
            for c, blob, text in zip(chunks, blobs, words, strict=True):
                cursor = db.execute(
                    "INSERT INTO chunks (file_id, text, start, end, page, heading, embedding) VALUES (?, ?, ?, ?, ?, "
                    "?, ?)", (file_id, c.text, c.start, c.end, c.page, json.dumps(list(c.heading), ensure_ascii=False),
                              blob))
                db.execute("INSERT INTO chunk_words (rowid, words) VALUES (?, ?)", (cursor.lastrowid, text))
        self._generation += 1

    def unembedded(self, collection: str, path: str) -> list[tuple[int, str, tuple[str, ...]]]:
        """A file's chunks that have no vector yet, in document order: (chunk id, text, heading path)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT c.id, c.text, c.heading FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.collection = ?"
                " AND f.path = ? AND length(c.embedding) = 0 ORDER BY c.id", (collection, path)).fetchall()
        return [(r[0], r[1], tuple(json.loads(r[2]))) for r in rows]

    def put_vectors(self, collection: str, path: str, chunk_ids: Sequence[int], vectors: np.ndarray) -> bool:
        """Store the vectors of some of a file's chunks (one commit); when none is missing any more the file is
        indexed. Returns True when it is. Chunks replaced meanwhile (the file changed) are ignored."""
        if len(chunk_ids) != len(vectors):
            raise ValueError("one vector per chunk")
        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        with self._database.transaction() as db:
            row = db.execute("SELECT id FROM files WHERE collection = ? AND path = ?", (collection, path)).fetchone()
            if row is None:
                return False
            file_id = row[0]
            updated = db.executemany(
                "UPDATE chunks SET embedding = ? WHERE id = ? AND file_id = ? AND length(embedding) = 0",
                [(v.tobytes(), int(cid), file_id) for cid, v in zip(chunk_ids, matrix, strict=True)]).rowcount
            missing = db.execute("SELECT COUNT(*) FROM chunks WHERE file_id = ? AND length(embedding) = 0",
                                 (file_id,)).fetchone()[0]
            if not missing:
                db.execute("UPDATE files SET status = 'indexed', updated_at = ? WHERE id = ?", (time.time(), file_id))
        if updated == len(chunk_ids):
            self._append_vectors(collection, chunk_ids, matrix)
        else:  # some chunks were replaced or had a vector already: read the vectors again at the next search
            self._generation += 1
        return not missing

    def _append_vectors(self, collection: str, chunk_ids: Sequence[int], matrix: np.ndarray) -> None:
        """After new vectors of chunks already in the index: extend the cached search matrix instead of reading
        every vector again (the second stage commits a batch at a time while questions are asked)."""
        generation, self._generation = self._generation, self._generation + 1
        cached = self._matrix.get(collection)
        if cached is None or cached[0] != generation or (len(cached[1]) and cached[2].shape[1] != matrix.shape[1]):
            return
        ids = np.concatenate([cached[1], np.asarray(chunk_ids, dtype=np.int64)])
        stack = np.vstack([cached[2], matrix]) if len(cached[1]) else matrix
        self._matrix[collection] = (self._generation, ids, stack)

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
        """A queued file whose content hash matches its indexed chunks, every one with its vector: mark it indexed
        again without re-embedding (e.g. it was only touched). Returns False when its content is new or its vectors
        are not all there (see :meth:`unembedded`)."""
        with self._lock:
            row = self._db.execute(f"SELECT {_FILE_COLUMNS} FROM files WHERE collection = ? AND path = ?",
                                   (collection, path)).fetchone()
        if (row is None or not sha256 or row["sha256"] != sha256 or row["chunks"] == 0
                or row["embedded"] < row["chunks"]):
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
                                    "f.collection = ? AND length(c.embedding) > 0", (collection,)).fetchall()
            generation = self._generation
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        matrix = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows]) if rows else np.zeros((0, 1),
                                                                                                       np.float32)
        self._matrix[collection] = (generation, ids, matrix)
        return ids, matrix

    def search(self, collection: str, query_vector: np.ndarray, query_text: str, top_k: int = 5,
               candidates: int = 50) -> list[Hit]:
        """Best chunks for a query: exact cosine ranking (of the chunks that have vectors) and two FTS5 keyword
        rankings (of all: by words, and by 3-character pieces), fused by reciprocal rank. A hit's ``keyword_rank`` is
        its better rank of the two keyword lists."""
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
        by_words = {cid: r for r, cid in enumerate(self.keyword_search(collection, query_text, candidates))}
        by_pieces = {cid: r for r, cid in enumerate(self.trigram_search(collection, query_text, candidates))}
        keyword_rank = {cid: min(r for r in (by_words.get(cid), by_pieces.get(cid)) if r is not None)
                        for cid in set(by_words) | set(by_pieces)}
        fused = {cid: sum(1 / (RRF_K + r + 1) for r in (vector_rank.get(cid), by_words.get(cid), by_pieces.get(cid))
                          if r is not None)
                 for cid in set(vector_rank) | set(keyword_rank)}
        best = sorted(fused, key=lambda c: -fused[c])[:top_k]
        return [self._hit(cid, fused[cid], vector_rank.get(cid), keyword_rank.get(cid), similarity.get(cid, 0.0))
                for cid in best]

    def keyword_search(self, collection: str, text: str, limit: int = 50) -> list[int]:
        """Chunk ids matching any word of ``text`` (segmented, common words dropped), best BM25 first."""
        terms = keyword_terms(text)
        if not terms:
            return []
        with self._lock:
            rows = self._db.execute(
                "SELECT c.id FROM chunk_words w JOIN chunks c ON c.id = w.rowid JOIN files f ON f.id = c.file_id"
                " WHERE chunk_words MATCH ? AND f.collection = ? ORDER BY bm25(chunk_words) LIMIT ?",
                (match_query(terms), collection, limit)).fetchall()
        return [r[0] for r in rows]

    def trigram_search(self, collection: str, text: str, limit: int = 50) -> list[int]:
        """Chunk ids containing any 3-character piece of ``text``'s longer words and Chinese runs (see
        :func:`engine.documents.segment.trigram_terms`), best BM25 first: it finds what segmentation cuts
        differently in the passage and the question, and parts of long words."""
        terms = trigram_terms(text)
        if not terms:
            return []
        with self._lock:
            rows = self._db.execute(
                "SELECT c.id FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid JOIN files f ON f.id = c.file_id"
                " WHERE chunks_fts MATCH ? AND f.collection = ? ORDER BY bm25(chunks_fts) LIMIT ?",
                (match_query(terms), collection, limit)).fetchall()
        return [r[0] for r in rows]

    def _hit(self, chunk_id: int, score: float, vector_rank: int | None, keyword_rank: int | None,
             similarity: float) -> Hit:
        with self._lock:
            r = self._db.execute("SELECT c.*, f.path, f.title FROM chunks c JOIN files f ON f.id = c.file_id WHERE "
                                 "c.id = ?", (chunk_id,)).fetchone()
        return Hit(chunk_id, r["path"], r["title"], r["text"], r["start"], r["end"], r["page"],
                   tuple(json.loads(r["heading"])), score, vector_rank, keyword_rank, similarity)
