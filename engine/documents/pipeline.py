"""Indexing files and folders: extract (sandboxed) → chunk → embed → index, one file at a time, with progress.

Cancelling stops between files or embedding batches; files already indexed stay, and running again continues:
unchanged files are skipped, changed ones re-indexed. A file that fails is recorded with its reason and the rest go
on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from engine.documents.chunk import chunk_sections, embedding_text
from engine.documents.embed import TextEmbedder
from engine.documents.embedders import embedder_folder
from engine.documents.extract import SUPPORTED, DocumentError, Limits
from engine.documents.index import DocumentIndex
from engine.documents.sandbox import extract_in_sandbox
from engine.system.cancel import CancelToken
from engine.system.verify import file_digests

__all__ = ["DEFAULT_COLLECTION", "IndexProgress", "IndexStage", "embedder_folder", "index_paths", "index_pending",
           "queue_paths"]
DEFAULT_COLLECTION = "default"
BATCH = 32


class IndexStage(StrEnum):
    """Where one file is in indexing (a StrEnum: equal to these strings)."""

    EXTRACT = "extract"
    EMBED = "embed"
    INDEXED = "indexed"
    SKIPPED = "skipped"  # unchanged since it was indexed
    FAILED = "failed"  # ``message`` says why


@dataclass(frozen=True)
class IndexProgress:
    """One step of one file: its :class:`IndexStage`; ``file_index`` counts from 1 of ``files``; ``done``/``total``
    are chunks embedded in this file."""

    path: str
    file_index: int
    files: int
    stage: IndexStage
    done: int = 0
    total: int = 0
    message: str = ""


def discover(paths: Sequence[Path]) -> list[tuple[Path, str]]:
    """Files to index from files and folders (recursively), each with "" or the reason it is refused."""
    out: list[tuple[Path, str]] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
                if child.suffix.lower() in SUPPORTED:
                    out.append((child.resolve(), ""))
        elif path.is_file():
            reason = "" if path.suffix.lower() in SUPPORTED else (
                f"{path.name}: unsupported file type {path.suffix or '(none)'!r}; Ponder reads PDF, DOCX, TXT, "
                "Markdown and HTML.")
            out.append((path.resolve(), reason))
        else:
            out.append((path, f"{path}: no such file or folder."))
    return out


def queue_paths(index: DocumentIndex, paths: Sequence[Path], collection: str = DEFAULT_COLLECTION
                ) -> list[IndexProgress]:
    """Record the files under ``paths`` as waiting to be indexed (new or changed ones only) and refuse the ones
    Ponder cannot read, with the reason. The queue lives in the index, so it survives a restart. Returns what
    was decided now: refused files ("failed") and unchanged ones ("skipped")."""
    index.create_collection(collection)
    decided: list[IndexProgress] = []
    files = discover(paths)
    for number, (path, reason) in enumerate(files, 1):
        if reason:
            index.mark_failed(collection, str(path), reason)
            decided.append(IndexProgress(str(path), number, len(files), IndexStage.FAILED, message=reason))
            continue
        stat = path.stat()
        if not index.add_pending(collection, str(path), stat.st_size, stat.st_mtime_ns):
            decided.append(IndexProgress(str(path), number, len(files), IndexStage.SKIPPED))
    return decided


def index_pending(index: DocumentIndex, embedder: TextEmbedder, collection: str = DEFAULT_COLLECTION, *,
                  cancel: CancelToken | None = None, limits: Limits | None = None, timeout_s: float = 120
                  ) -> Iterator[IndexProgress]:
    """Index the files queued in ``collection``, yielding progress; see the module doc for cancel and resume.

    A collection indexed with another embedding model is indexed again from the start (vectors of two models
    cannot be compared)."""
    if index.embedder_of(collection) not in ("", embedder.identity):
        index.requeue_all(collection)
    index.set_embedder(collection, embedder.identity)
    files = index.pending(collection)
    max_tokens = max(32, min(224, embedder.max_seq_length - 32))  # room for the heading path in front
    for number, key in enumerate(files, 1):
        if cancel:
            cancel.raise_if_cancelled("Indexing")
        path = Path(key)
        try:
            stat = path.stat()
        except OSError as err:
            reason = f"{path.name}: the file can no longer be read ({err.strerror or err})."
            index.mark_failed(collection, key, reason)
            yield IndexProgress(key, number, len(files), IndexStage.FAILED, message=reason)
            continue
        sha, _ = file_digests(path, sha256=True, git_sha1=False, cancel=cancel, what="Indexing")
        if index.confirm_unchanged(collection, key, stat.st_size, stat.st_mtime_ns, sha or ""):
            yield IndexProgress(key, number, len(files), IndexStage.SKIPPED)
            continue
        yield IndexProgress(key, number, len(files), IndexStage.EXTRACT)
        try:
            doc = extract_in_sandbox(path, limits, timeout_s=timeout_s)
        except DocumentError as err:
            index.mark_failed(collection, key, str(err), size=stat.st_size, mtime_ns=stat.st_mtime_ns)
            yield IndexProgress(key, number, len(files), IndexStage.FAILED, message=str(err))
            continue
        chunks = chunk_sections(doc.sections, embedder.count_tokens, max_tokens=max_tokens)
        if not chunks:
            reason = f"{path.name}: no text to index."
            index.mark_failed(collection, key, reason, size=stat.st_size, mtime_ns=stat.st_mtime_ns)
            yield IndexProgress(key, number, len(files), IndexStage.FAILED, message=reason)
            continue
        texts = [embedding_text(c) for c in chunks]
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # batches of similar length pad less
        vectors = np.zeros((len(texts), embedder.dims), dtype=np.float32)
        for start in range(0, len(texts), BATCH):
            if cancel:
                cancel.raise_if_cancelled("Indexing")
            batch = order[start:start + BATCH]
            vectors[batch] = embedder.embed_passages([texts[i] for i in batch])
            yield IndexProgress(key, number, len(files), IndexStage.EMBED, min(start + BATCH, len(chunks)), len(chunks))
        index.put_file(collection, key, size=stat.st_size, mtime_ns=stat.st_mtime_ns, sha256=sha or "",
                       kind=doc.kind, title=doc.title, chunks=chunks, embeddings=vectors)
        yield IndexProgress(key, number, len(files), IndexStage.INDEXED, len(chunks), len(chunks))


def index_paths(index: DocumentIndex, paths: Sequence[Path], embedder: TextEmbedder, *,
                collection: str = DEFAULT_COLLECTION, cancel: CancelToken | None = None,
                limits: Limits | None = None, timeout_s: float = 120) -> Iterator[IndexProgress]:
    """Queue ``paths`` and index everything queued in ``collection`` (earlier interrupted work included)."""
    yield from queue_paths(index, paths, collection)
    yield from index_pending(index, embedder, collection, cancel=cancel, limits=limits, timeout_s=timeout_s)
