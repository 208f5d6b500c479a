"""Engine generators turned into Qt signals, off the GUI thread.

``GeneratorWorker`` runs any engine generator (a download, a conversion, a reply) and reports it with signals:
``started``, ``yielded`` (batched: at most one emission per ``interval_s``, so 60 tokens/s never floods the
event loop), ``finished`` (the generator's return value), ``failed`` (the error, in words) and ``cancelled``.
An error that is not a :class:`PonderError` is a bug: it is logged with its traceback (the log file under the data
folder) and shown in words.

``InferenceThread`` runs workers on the engine's :class:`~engine.runtime.host.ModelHost`, the one owner of loaded
models (the API server started from Settings uses the same host, so a model is loaded once). ``BackgroundJobs``
runs everything else, each job on a thread of its own that ends with it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from engine.errors import Cancelled, PonderError
from engine.runtime.host import ModelHost

log = logging.getLogger(__name__)
GeneratorFactory = Callable[[], Iterator[Any] | Generator[Any, None, Any]]


class GeneratorWorker(QObject):
    """Runs one generator on whatever thread it is moved to; signals arrive on the GUI thread (queued)."""

    started = Signal()
    yielded = Signal(list)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, factory: GeneratorFactory, *, interval_s: float = 1 / 30,
                 on_cancel: Callable[[], None] | None = None) -> None:
        super().__init__()
        self._factory = factory
        self._interval = interval_s
        self._on_cancel = on_cancel
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Ask the work to stop (it ends with ``cancelled``); safe from any thread."""
        self._cancel.set()
        if self._on_cancel is not None:
            self._on_cancel()

    @property
    def is_cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancel.is_set()

    @Slot()
    def run(self) -> None:
        """Drive the generator to its end (call on the worker's thread)."""
        self.started.emit()
        batch: list[Any] = []
        last = 0.0
        result: Any = None
        try:
            gen = self._factory()
            while True:
                if self._cancel.is_set() and self._on_cancel is None:
                    close = getattr(gen, "close", None)
                    if close is not None:
                        close()
                    raise Cancelled()
                try:
                    item = next(gen)
                except StopIteration as stop:
                    result = stop.value
                    break
                batch.append(item)
                now = time.monotonic()
                if now - last >= self._interval:
                    self.yielded.emit(batch)
                    batch, last = [], now
        except Cancelled:
            if batch:
                self.yielded.emit(batch)
            self.cancelled.emit()
            return
        except PonderError as err:
            self.failed.emit(str(err))
            return
        except Exception as err:  # a bug: logged with its traceback, shown in words instead of crashing the window
            log.exception("A background job failed")
            self.failed.emit(f"{type(err).__name__}: {err}")
            return
        if batch:
            self.yielded.emit(batch)
        if self._cancel.is_set():
            self.cancelled.emit()
        else:
            self.finished.emit(result)


class InferenceThread(QObject):
    """Runs workers that use loaded models on the model host's thread, one after another. ``host_event`` carries
    the host's :class:`~engine.runtime.host.HostEvent` (loading, loaded, unloaded, refused) to the GUI thread."""

    host_event = Signal(object)

    def __init__(self, host: ModelHost | None = None) -> None:
        super().__init__()
        self.host = host or ModelHost()
        self.host.subscribe(self.host_event.emit)

    def submit(self, worker: GeneratorWorker) -> GeneratorWorker:
        """Queue ``worker`` to run on the model host's thread; returns it for connecting signals (they arrive
        queued on the GUI thread)."""
        self.host.submit(worker.run)
        return worker

    def stop(self) -> None:
        """Finish queued work, release the models and end the host's thread."""
        self.host.close()


class BackgroundJobs(QObject):
    """Work that does not touch a model session (downloads, conversions, hardware probes), each on its own
    thread. Keeps the threads alive until their worker ends."""

    def __init__(self) -> None:
        super().__init__()
        self._threads: set[QThread] = set()

    def start(self, worker: GeneratorWorker) -> GeneratorWorker:
        """Run ``worker`` on a new thread; returns it for connecting signals (connect before the event loop runs
        again: the signals are queued)."""
        thread = QThread()
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        for signal in (worker.finished, worker.failed, worker.cancelled):
            signal.connect(thread.quit)
        thread.finished.connect(lambda: self._threads.discard(thread))
        self._threads.add(thread)
        thread.start()
        return worker

    def stop_all(self, timeout_ms: int = 5000) -> None:
        """Wait for running jobs to end (after cancelling them)."""
        for thread in list(self._threads):
            thread.quit()
            thread.wait(timeout_ms)
