"""Indexing documents in the background: one job at a time works through the queue kept in the index, so a
pause, a quit or a crash loses nothing — the queue continues where it stopped.

Each queued file becomes searchable by keywords first (progress "searchable": its text and keywords are committed,
a question finds it), then its vectors fill in ("embed" ... "indexed"); see :mod:`engine.documents.pipeline`.
The job reads, chunks and stores on its own thread; the embedding model itself belongs to the process's model host
(:class:`engine.documents.embed.HostedEmbedder`), so indexing and the chat's retrieval share one loaded embedder and
idle unload frees it like any other model."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop.workers import BackgroundJobs, GeneratorWorker
from engine.documents.embed import HostedEmbedder
from engine.documents.index import DocumentIndex
from engine.documents.pipeline import IndexProgress, embedder_folder, index_pending, queue_paths
from engine.runtime.host import ModelHost
from engine.system.cancel import CancelToken


class DocumentIndexer(QObject):
    """Queues files, runs the indexing job, and reports progress (``progress``) and changes of state
    (``changed``: started, paused, finished, failed with ``error`` set)."""

    progress = Signal(object)  # IndexProgress, with the collection in ``current_collection``
    changed = Signal()

    def __init__(self, index: DocumentIndex, jobs: BackgroundJobs, host: ModelHost) -> None:
        super().__init__()
        self.index, self.jobs, self.host = index, jobs, host
        self._lock = threading.Lock()
        self._adds: list[tuple[str, list[Path]]] = []
        self._recheck = False  # compare every collection's embedder with the one in use (it changed)
        self._worker: GeneratorWorker | None = None
        self._token: CancelToken | None = None
        self.paused = False
        self.error = ""
        self.current: IndexProgress | None = None
        self.current_collection = ""

    @property
    def running(self) -> bool:
        """An indexing job is working."""
        return self._worker is not None

    def add(self, collection: str, paths: Sequence[Path]) -> None:
        """Queue files and folders for ``collection`` and start (or keep) indexing, unless paused."""
        with self._lock:
            self._adds.append((collection, [Path(p) for p in paths]))
        if not self.paused:
            self._start()
        self.changed.emit()

    def pause(self) -> None:
        """Stop after the current batch; what is indexed stays, the rest waits in the queue."""
        self.paused = True
        if self._token is not None:
            self._token.cancel()
        self.changed.emit()

    def resume(self) -> None:
        """Continue the queue (also what was left waiting by an earlier run of the app)."""
        self.paused = False
        self.error = ""
        self._start()
        self.changed.emit()

    def embedder_changed(self) -> None:
        """Documents use another embedding model now: index every collection again with it, in the background."""
        with self._lock:
            self._recheck = True
        if not self.paused:
            self._start()

    def has_work(self) -> bool:
        """Files wait in the queue, or are about to be queued."""
        with self._lock:
            if self._adds or self._recheck:
                return True
        return any(self.index.pending(c) for c in self.index.collections())

    def stop(self) -> None:
        """Cancel the job (at quit); the queue is kept for next time."""
        self.paused = True
        if self._token is not None:
            self._token.cancel()

    def _start(self) -> None:
        if self._worker is not None:
            return
        token = CancelToken()
        worker = GeneratorWorker(lambda: self._work(token), interval_s=0.1, on_cancel=token.cancel)
        self._worker, self._token, self.error = worker, token, ""
        worker.yielded.connect(self._on_progress)
        worker.failed.connect(self._on_failed)
        for signal in (worker.finished, worker.failed, worker.cancelled):
            signal.connect(self._on_done)
        self.jobs.start(worker)

    def _work(self, token: CancelToken) -> Iterator[tuple[str, IndexProgress]]:
        """Runs on the job's thread: queue what was added, then index every collection's queue."""
        embedder: HostedEmbedder | None = None
        while True:
            with self._lock:
                adds, self._adds = self._adds, []
            for collection, paths in adds:
                for decided in queue_paths(self.index, paths, collection):
                    yield collection, decided
            with self._lock:
                recheck, self._recheck = self._recheck, False
            if recheck:
                embedder = HostedEmbedder(self.host, embedder_folder(), token)
                for collection in self.index.collections():
                    if self.index.embedder_of(collection) not in ("", embedder.identity):
                        self.index.requeue_all(collection)
            todo = [c for c in self.index.collections() if self.index.pending(c)]
            if not todo:
                with self._lock:
                    if not self._adds:
                        return
                continue
            if embedder is None:
                embedder = HostedEmbedder(self.host, embedder_folder(), token)
            for collection in todo:
                for p in index_pending(self.index, embedder, collection, cancel=token):
                    yield collection, p

    def _on_progress(self, batch: list[Any]) -> None:
        for collection, p in batch:
            self.current_collection, self.current = collection, p
            self.progress.emit(p)

    def _on_failed(self, message: str) -> None:
        self.error = message
        self.paused = True  # nothing more can be done until the person fixes the cause; resume retries

    def _on_done(self, *_: Any) -> None:
        self._worker, self._token, self.current = None, None, None
        if not self.paused and not self.error and self.has_work():
            self._start()  # files were added after the job looked for the last time
        self.changed.emit()
