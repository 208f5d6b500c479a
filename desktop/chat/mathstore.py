"""Math typeset off the GUI thread: a formula seen for the first time shows as its source text, is typeset by a
background job (desktop/jobs.py), and ``ready`` asks the transcript to draw it again as an image. mathtext takes
tens of milliseconds per formula (hundreds on a busy machine): done while painting, a streaming reply would stall."""

from __future__ import annotations

import logging
from collections import OrderedDict

from PySide6.QtCore import QObject, QTimer, Signal

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

    def __init__(self, jobs: BackgroundJobs, parent: QObject | None = None, keep: int = 2000) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.epoch = 0  # counts the batches typeset: pieces with math are cached per epoch
        self.missing = MISSING
        self._done: OrderedDict[MathKey, Result] = OrderedDict()
        self._pending: set[MathKey] = set()
        self._running = False
        self._keep = keep

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
        run_background(self.jobs, self, call(typeset_all, keys), self._finished, self._failed)

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
