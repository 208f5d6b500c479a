"""Indexing files and folders in two stages, with progress. First every queued file is extracted (sandboxed),
chunked and committed with its keywords: it is then "searchable" (a question finds it by keywords) within seconds
of the drop. Then each file's vectors are computed, a batch per commit, and retrieval fuses them as they arrive;
the file is "indexed" when all are there.

Cancelling stops between files or embedding batches; what was committed stays, and running again continues:
unchanged files are skipped, a file whose vectors were being computed continues with the missing ones only, a
changed file is extracted again. A file that fails is recorded with its reason and the rest go on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from engine.documents.chunk import Chunk, chunk_sections, embedding_text
from engine.documents.embed import TextEmbedder
from engine.documents.embedders import embedder_folder
from engine.documents.extract import SUPPORTED, DocumentError, Limits
from engine.documents.index import DocumentIndex
from engine.documents.sandbox import extract_steps
from engine.system.cancel import CancelToken
from engine.system.verify import file_digests

__all__ = ["DEFAULT_COLLECTION", "IndexProgress", "IndexStage", "embedder_folder", "index_paths", "index_pending",
           "queue_paths"]
DEFAULT_COLLECTION = "default"
BATCH = 32


class IndexStage(StrEnum):
    """Where one file is in indexing (a StrEnum: equal to these strings)."""

    EXTRACT = "extract"
    OCR = "ocr"  # reading scanned pages (or pictures) by OCR: ``done`` of ``total`` pages read
    SEARCHABLE = "searchable"  # keywords committed: questions find it now; its vectors are coming (``total`` chunks)
    EMBED = "embed"
    INDEXED = "indexed"
    SKIPPED = "skipped"  # unchanged since it was indexed
    FAILED = "failed"  # ``message`` says why


@dataclass(frozen=True)
class IndexProgress:
    """One step of one file: its :class:`IndexStage`; ``file_index`` counts from 1 of ``files``; ``done``/``total``
    are chunks embedded in this file (at "searchable", those that already have vectors: 0 for a new file)."""

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
                f"{path.name}: unsupported file type {path.suffix or '(none)'!r}; Ponder reads "
                f"{', '.join(sorted(SUPPORTED))}.")
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
    """Index the files queued in ``collection``, yielding progress; see the module doc for the two stages, cancel
    and resume.

    A collection indexed with another embedding model is indexed again from the start (vectors of two models
    cannot be compared)."""
    if index.embedder_of(collection) not in ("", embedder.identity):
        index.requeue_all(collection)
    index.set_embedder(collection, embedder.identity)
    files = index.pending(collection)
    searchable: list[tuple[int, str]] = []
    for number, key in enumerate(files, 1):
        if cancel:
            cancel.raise_if_cancelled("Indexing")
        for p in _make_searchable(index, embedder, collection, key, number, len(files), cancel, limits, timeout_s):
            if p.stage == IndexStage.SEARCHABLE:
                searchable.append((number, key))
            yield p
    for number, key in searchable:
        yield from _embed_file(index, embedder, collection, key, number, len(files), cancel)


def _make_searchable(index: DocumentIndex, embedder: TextEmbedder, collection: str, key: str, number: int,
                     files: int, cancel: CancelToken | None, limits: Limits | None, timeout_s: float
                     ) -> Iterator[IndexProgress]:
    """Stage one for a queued file: skipped (unchanged), searchable (its keywords committed now, or earlier by a run
    that stopped while embedding it), or failed."""
    path = Path(key)
    try:
        stat = path.stat()
    except OSError as err:
        reason = f"{path.name}: the file can no longer be read ({err.strerror or err})."
        index.mark_failed(collection, key, reason)
        yield IndexProgress(key, number, files, IndexStage.FAILED, message=reason)
        return
    sha, _ = file_digests(path, sha256=True, git_sha1=False, cancel=cancel, what="Indexing")
    if index.confirm_unchanged(collection, key, stat.st_size, stat.st_mtime_ns, sha or ""):
        yield IndexProgress(key, number, files, IndexStage.SKIPPED)
        return
    state = index.file_state(collection, key)
    if state is not None and state.searchable and sha and state.sha256 == sha:  # stopped while embedding it
        yield IndexProgress(key, number, files, IndexStage.SEARCHABLE, state.embedded, state.chunks)
        return
    yield IndexProgress(key, number, files, IndexStage.EXTRACT)
    try:
        steps = extract_steps(path, limits, timeout_s=timeout_s, cancel=cancel)
        while True:
            try:
                done, total = next(steps)
            except StopIteration as stop:
                doc = stop.value
                break
            yield IndexProgress(key, number, files, IndexStage.OCR, done, total)
    except DocumentError as err:
        index.mark_failed(collection, key, str(err), size=stat.st_size, mtime_ns=stat.st_mtime_ns)
        yield IndexProgress(key, number, files, IndexStage.FAILED, message=str(err))
        return
    max_tokens = max(32, min(224, embedder.max_seq_length - 32))  # room for the heading path in front
    chunks = chunk_sections(doc.sections, embedder.count_tokens, max_tokens=max_tokens,
                            count_batch=embedder.count_tokens_batch)
    if not chunks:
        reason = f"{path.name}: no text to index."
        index.mark_failed(collection, key, reason, size=stat.st_size, mtime_ns=stat.st_mtime_ns)
        yield IndexProgress(key, number, files, IndexStage.FAILED, message=reason)
        return
    index.put_file(collection, key, size=stat.st_size, mtime_ns=stat.st_mtime_ns, sha256=sha or "", kind=doc.kind,
                   title=doc.title, chunks=chunks)
    yield IndexProgress(key, number, files, IndexStage.SEARCHABLE, 0, len(chunks))


def _embed_file(index: DocumentIndex, embedder: TextEmbedder, collection: str, key: str, number: int, files: int,
                cancel: CancelToken | None) -> Iterator[IndexProgress]:
    """Stage two for a searchable file: the vectors of its chunks that have none, a batch per commit."""
    missing = index.unembedded(collection, key)
    state = index.file_state(collection, key)
    total = state.chunks if state is not None else len(missing)
    done = total - len(missing)
    missing.sort(key=lambda row: len(row[1]))  # batches of similar length pad less
    for start in range(0, len(missing), BATCH):
        if cancel:
            cancel.raise_if_cancelled("Indexing")
        batch = missing[start:start + BATCH]
        texts = [embedding_text(Chunk(text, 0, 0, None, heading)) for _, text, heading in batch]
        index.put_vectors(collection, key, [cid for cid, _, _ in batch], embedder.embed_passages(texts))
        done += len(batch)
        yield IndexProgress(key, number, files, IndexStage.EMBED, done, total)
    if not missing:  # every vector was there (a run stopped right after the last batch)
        index.put_vectors(collection, key, [], np.zeros((0, embedder.dims), dtype=np.float32))
    yield IndexProgress(key, number, files, IndexStage.INDEXED, total, total)


def index_paths(index: DocumentIndex, paths: Sequence[Path], embedder: TextEmbedder, *,
                collection: str = DEFAULT_COLLECTION, cancel: CancelToken | None = None,
                limits: Limits | None = None, timeout_s: float = 120) -> Iterator[IndexProgress]:
    """Queue ``paths`` and index everything queued in ``collection`` (earlier interrupted work included)."""
    yield from queue_paths(index, paths, collection)
    yield from index_pending(index, embedder, collection, cancel=cancel, limits=limits, timeout_s=timeout_s)
