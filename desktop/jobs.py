"""The one way the window runs work off the GUI thread: :func:`run_background` (downloads, probes, file work, each
on a thread of its own that ends with it) and :func:`run_inference` (anything that uses a loaded model, on the model
host's thread); results come back on the GUI thread.

Each job keeps its worker alive until the worker ends (a worker dropped while its thread runs would crash), calls
back only while the widget that asked for it still exists, and is released when it ends: the runners delete the
worker and its thread, and the job deletes itself, with ``deleteLater`` on the GUI thread (see desktop.workers for
why no QObject may be left to the garbage collector). Long jobs with their own controls (pulls, indexing, chat
replies) use desktop.workers' ``GeneratorWorker`` directly on the same runners, and are released the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Slot

from desktop.workers import BackgroundJobs, GeneratorFactory, GeneratorWorker, InferenceThread

_LIVE: set[_Job] = set()


def call(fn: Callable[..., Any], *args: Any) -> GeneratorFactory:
    """A generator factory whose generator yields nothing and returns ``fn(*args)``."""

    def gen() -> Generator[Any, None, Any]:
        yield from ()
        return fn(*args)

    return gen


class _Job(QObject):
    """Lives on the GUI thread, so the worker's queued signals land here and reach the callbacks there."""

    def __init__(self, worker: GeneratorWorker, owner: QObject, on_done: Callable[[Any], None],
                 on_fail: Callable[[str], None], on_items: Callable[[list[Any]], None] | None) -> None:
        super().__init__()
        self.worker = worker
        self._owner = owner
        self._on_done, self._on_fail, self._on_items = on_done, on_fail, on_items
        worker.yielded.connect(self._items)
        worker.finished.connect(self._finished)
        worker.failed.connect(self._failed)
        worker.cancelled.connect(self._cancelled)

    def _alive(self) -> bool:
        return shiboken6.isValid(self._owner)

    @Slot(list)
    def _items(self, items: list[Any]) -> None:
        if self._on_items is not None and self._alive():
            self._on_items(items)

    @Slot(object)
    def _finished(self, result: Any) -> None:
        try:
            if self._alive():
                self._on_done(result)
        finally:
            self.deleteLater()

    @Slot(str)
    def _failed(self, message: str) -> None:
        try:
            if self._alive():
                self._on_fail(message)
        finally:
            self.deleteLater()

    @Slot()
    def _cancelled(self) -> None:
        self.deleteLater()


def _keep(job: _Job) -> None:
    """Hold ``job`` until it has deleted itself; dropping the wrappers of deleted jobs here is safe on any thread."""
    for done in [j for j in _LIVE if not shiboken6.isValid(j)]:
        _LIVE.discard(done)
    _LIVE.add(job)


def run_background(jobs: BackgroundJobs, owner: QObject, factory: GeneratorFactory,
                   on_done: Callable[[Any], None], on_fail: Callable[[str], None] = lambda _: None,
                   on_items: Callable[[list[Any]], None] | None = None) -> GeneratorWorker:
    """Run ``factory``'s generator on a background thread (work that opens no model session)."""
    job = _Job(GeneratorWorker(factory), owner, on_done, on_fail, on_items)
    _keep(job)
    return jobs.start(job.worker)


def run_inference(inference: InferenceThread, owner: QObject, factory: GeneratorFactory,
                  on_done: Callable[[Any], None], on_fail: Callable[[str], None],
                  on_items: Callable[[list[Any]], None] | None = None) -> GeneratorWorker:
    """Run ``factory``'s generator on the inference thread (anything that opens an ONNX Runtime session)."""
    job = _Job(GeneratorWorker(factory), owner, on_done, on_fail, on_items)
    _keep(job)
    return inference.submit(job.worker)
