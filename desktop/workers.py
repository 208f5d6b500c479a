"""Engine generators turned into Qt signals, off the GUI thread.

``GeneratorWorker`` runs any engine generator (a download, a conversion, a reply) and reports it with signals:
``started``, ``yielded`` (batched: at most one emission per ``interval_s``, so 60 tokens/s never floods the
event loop), ``finished`` (the generator's return value), ``failed`` (the error, in words) and ``cancelled``.
``InferenceThread`` is the one thread that owns ONNX Runtime sessions: every job that touches a loaded model runs
there, one after another, so a session is never used from two threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from engine.errors import Cancelled, PonderError

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
        except Exception as err:  # shown to the person instead of crashing the window; the type names the bug
            self.failed.emit(f"{type(err).__name__}: {err}")
            return
        if batch:
            self.yielded.emit(batch)
        if self._cancel.is_set():
            self.cancelled.emit()
        else:
            self.finished.emit(result)


class InferenceThread(QObject):
    """The single thread that owns model sessions; jobs run on it in order."""

    _submit = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self._thread = QThread()
        self._thread.setObjectName("ponder-inference")
        self._runner = _Runner()
        self._runner.moveToThread(self._thread)
        self._submit.connect(self._runner.execute)
        self._thread.start()
        self.state: dict[str, Any] = {}  # owned by the inference thread: loaded models and the like

    def submit(self, worker: GeneratorWorker) -> GeneratorWorker:
        """Queue ``worker`` to run on the inference thread; returns it for connecting signals."""
        self._submit.emit(worker)
        return worker

    def stop(self) -> None:
        """Finish queued work and end the thread."""
        self._thread.quit()
        self._thread.wait()

    @property
    def qthread(self) -> QThread:
        """The QThread jobs run on."""
        return self._thread


class _Runner(QObject):
    @Slot(object)
    def execute(self, worker: GeneratorWorker) -> None:
        worker.run()


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
