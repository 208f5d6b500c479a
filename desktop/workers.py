"""Engine generators turned into Qt signals, off the GUI thread.

``GeneratorWorker`` runs any engine generator (a download, a conversion, a reply) and reports it with signals:
``started``, ``yielded`` (batched: at most one emission per ``interval_s``, so 60 tokens/s never floods the
event loop), ``finished`` (the generator's return value), ``failed`` (the error, in words) and ``cancelled``.
An error that is not a :class:`PonderError` is a bug: it is logged with its traceback (the log file under the data
folder) and shown in words.

``InferenceThread`` runs workers on the engine's :class:`~engine.runtime.host.ModelHost`, the one owner of loaded
models (the API server started from Settings uses the same host, so a model is loaded once). ``BackgroundJobs``
runs everything else, each job on a thread of its own that ends with it.

Releasing a job: both runners keep a worker (and its QThread) until its work has ended on the other thread, then
delete them with ``deleteLater`` on the GUI thread, and hold them without reference cycles. A QObject must never be
destroyed by Python's garbage collector, which can run on any thread: a QObject destructor on a worker thread,
holding the GIL, waits for a Qt lock the GUI thread holds while it waits for the GIL, and the window hangs. Once the
C++ object is gone, the last Python reference may drop anywhere.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Signal, Slot

from engine.runtime.host import ModelHost
from engine.system.errors import Cancelled, PonderError

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
        self._ended = threading.Event()

    def cancel(self) -> None:
        """Ask the work to stop (it ends with ``cancelled``); safe from any thread."""
        self._cancel.set()
        if self._on_cancel is not None:
            self._on_cancel()

    @property
    def is_cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancel.is_set()

    @property
    def is_ended(self) -> bool:
        """True once the work has sent its final signal (finished, failed or cancelled)."""
        return self._ended.is_set()

    @Slot()
    def run(self) -> None:
        """Drive the generator to its end (call on the worker's thread)."""
        try:
            self._run()
        finally:
            # A worker moved to a job's QThread goes home when its work ends: deleteLater needs a running event
            # loop in the object's thread, and the job's thread is about to end. (Only the current thread may push.)
            app = QCoreApplication.instance()
            if app is not None and self.thread() is QThread.currentThread() and app.thread() is not self.thread():
                self.moveToThread(app.thread())

    def _run(self) -> None:
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
            self._end(self.cancelled)
            return
        except PonderError as err:
            self._end(self.failed, str(err))
            return
        except Exception as err:  # a bug: logged with its traceback, shown in words instead of crashing the window
            log.exception("A background job failed")
            self._end(self.failed, f"{type(err).__name__}: {err}")
            return
        if batch:
            self.yielded.emit(batch)
        if self._cancel.is_set():
            self._end(self.cancelled)
        else:
            self._end(self.finished, result)

    def _end(self, signal: Any, *args: Any) -> None:
        self._ended.set()
        signal.emit(*args)


class InferenceThread(QObject):
    """Runs workers that use loaded models on the model host's thread, one after another. ``host_event`` carries
    the host's :class:`~engine.runtime.host.HostEvent` (loading, loaded, unloaded, refused) to the GUI thread."""

    host_event = Signal(object)

    def __init__(self, host: ModelHost | None = None) -> None:
        super().__init__()
        self.host = host or ModelHost()
        self.host.subscribe(self.host_event.emit)
        self._running: dict[GeneratorWorker, Future[None]] = {}

    def submit(self, worker: GeneratorWorker) -> GeneratorWorker:
        """Queue ``worker`` to run on the model host's thread (connect its signals first: it may end before this
        returns; they arrive queued on the GUI thread). The worker is deleted (``deleteLater``) once its run has
        returned."""
        for signal in (worker.finished, worker.failed, worker.cancelled):
            signal.connect(self._sweep)
        self._running[worker] = self.host.submit(worker.run)
        return worker

    @property
    def running(self) -> int:
        """Workers queued or running, not yet released."""
        return len(self._running)

    @Slot()
    def _sweep(self) -> None:
        # The final signal is emitted just before run() returns on the host thread: release what has returned,
        # and look again shortly for the rest.
        for worker, future in list(self._running.items()):
            if future.done():
                del self._running[worker]
                worker.deleteLater()
        if self._running and any(w.is_ended for w in self._running):
            QTimer.singleShot(5, self._sweep)

    def stop(self) -> None:
        """Finish queued work, release the models and end the host's thread."""
        self.host.close()


class BackgroundJobs(QObject):
    """Work that does not touch a model session (downloads, conversions, hardware probes), each on its own
    thread. Keeps the threads alive until their worker ends."""

    def __init__(self) -> None:
        super().__init__()
        self._threads: dict[QThread, GeneratorWorker] = {}

    def start(self, worker: GeneratorWorker) -> GeneratorWorker:
        """Run ``worker`` on a new thread (connect its signals first: it may end before this returns). Worker and
        thread are deleted (``deleteLater``) when the thread has ended."""
        thread = QThread()
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        for signal in (worker.finished, worker.failed, worker.cancelled):
            signal.connect(thread.quit)
        thread.finished.connect(self._reap)  # a bound method of this long-lived object: no cycle through the thread
        self._threads[thread] = worker
        thread.start()
        return worker

    @property
    def running(self) -> int:
        """Jobs whose thread has not been released yet."""
        return len(self._threads)

    @Slot()
    def _reap(self) -> None:
        thread = self.sender()
        if not isinstance(thread, QThread) or thread not in self._threads:
            return
        thread.wait()  # ``finished`` is emitted just before the thread ends
        worker = self._threads.pop(thread)
        worker.deleteLater()
        thread.deleteLater()

    def stop_all(self, timeout_ms: int = 5000) -> None:
        """Wait for running jobs to end (after cancelling them)."""
        for thread in list(self._threads):
            thread.quit()
            thread.wait(timeout_ms)
