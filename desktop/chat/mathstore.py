"""Math typeset off the GUI thread: a formula seen for the first time shows as its source text, is typeset by a
child process (desktop/chat/math_worker.py; a background job of desktop/jobs.py if that cannot run), and ``ready``
asks the transcript to draw it again as an image. mathtext takes tens of milliseconds per formula (hundreds on a
busy machine) and holds the interpreter lock meanwhile: done while painting, or on a thread of the window's
process, a streaming reply would stall."""

from __future__ import annotations

import logging
from collections import OrderedDict

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from desktop.chat.math_worker import MathProcess
from desktop.chat.typeset import Formula, MathKey, typeset
from desktop.jobs import call, run_background
from desktop.workers import BackgroundJobs

log = logging.getLogger(__name__)
MISSING = object()  # not typeset yet
Result = tuple[Formula, ...] | None


def typeset_all(keys: list[MathKey]) -> dict[MathKey, Result]:
    """Typeset every formula of ``keys`` (on a background thread)."""
    return {key: typeset(*key) for key in keys}


class MathStore(QObject):
    """Typeset formulas by their key (TeX, colours, size); asks for the missing ones in batches, one job at a time."""

    ready = Signal()  # new formulas were typeset: draw the messages again

    def __init__(self, jobs: BackgroundJobs, parent: QObject | None = None, keep: int = 2000,
                 process: bool = True) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.epoch = 0  # counts the batches typeset: pieces with math are cached per epoch
        self.missing = MISSING
        self._done: OrderedDict[MathKey, Result] = OrderedDict()
        self._pending: set[MathKey] = set()
        self._running = False
        self._keep = keep
        self._process = MathProcess(self._finished, self._worker_failed, self) if process else None
        app = QCoreApplication.instance()
        if self._process is not None and app is not None:
            app.aboutToQuit.connect(self._process.close)

    @property
    def idle(self) -> bool:
        """Nothing is waiting to be typeset."""
        return not self._running and not self._pending

    def get(self, key: MathKey) -> Result | object:
        """The typeset formula, None when it cannot be typeset, or :data:`MISSING` while it is not done yet."""
        return self._done.get(key, MISSING)

    def request(self, key: MathKey) -> None:
        """Typeset ``key`` soon (in the background)."""
        if key in self._done or key in self._pending:
            return
        self._pending.add(key)
        if not self._running:
            self._running = True
            QTimer.singleShot(0, self._start)

    def _start(self) -> None:
        keys = sorted(self._pending)
        self._pending.clear()
        if not keys:
            self._running = False
            return
        if self._process is not None and not self._process.broken:
            self._process.typeset(keys)
        else:
            run_background(self.jobs, self, call(typeset_all, keys), self._finished, self._failed)

    def _worker_failed(self, keys: list[MathKey]) -> None:
        """The worker could not answer: these formulas are typeset on a thread instead."""
        run_background(self.jobs, self, call(typeset_all, keys), self._finished, self._failed)

    def close(self) -> None:
        """Stop the worker process (the window is closing)."""
        if self._process is not None:
            self._process.close()

    def _finished(self, results: dict[MathKey, Result]) -> None:
        self._done.update(results)
        while len(self._done) > self._keep:
            self._done.popitem(last=False)
        self.epoch += 1
        self._running = False
        if self._pending:
            self._running = True
            QTimer.singleShot(0, self._start)
        self.ready.emit()

    def _failed(self, message: str) -> None:  # a bug, not bad TeX (that returns None): the source text stays
        log.error("Typesetting math failed: %s", message)
        self._running = False
        if self._pending:
            self._running = True
            QTimer.singleShot(0, self._start)
