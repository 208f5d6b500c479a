"""The Models page's pull and conversion jobs: :class:`Job`, a Qt adapter over an engine job
(:mod:`engine.models.pulljobs`), and :class:`JobPanel`, its progress panel.

The engine keeps everything about a job but its look: its record and lock under the data folder, its stages, the
prebuilt-or-convert choice, resuming and clean-up. So a pull started by ``ponder pull`` shows here too (the page
reads the records every second: its stage and progress, and "running in another process"), and either side resumes
what the other stopped. Pause cancels the engine call, which keeps partial downloads and finished conversion
stages, so Resume runs the same job again; Cancel also discards it (``discard_job``).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Generator
from enum import StrEnum
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QFrame, QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from desktop.workers import BackgroundJobs, GeneratorWorker
from engine.models.pulljobs import (
    JobKind,
    JobState,
    JobStatus,
    PullSpec,
    Stage,
    discard_job,
    list_jobs,
    remember,
    run_job,
)
from engine.models.store import InstalledModel, get_installed
from engine.system.cancel import CancelToken
from engine.system.errors import PonderError
from engine.system.pidlock import LockedError
from engine.system.progress import Progress, format_bytes, run_with_progress
from engine.system.settings import Settings


class Phase(StrEnum):
    """Where a job stands, as its panel shows it."""

    RUNNING = "running"  # here, on BackgroundJobs
    PAUSING = "pausing"
    PAUSED = "paused"
    CANCELLING = "cancelling"
    FAILED = "failed"
    ELSEWHERE = "elsewhere"  # another process runs it (``ponder pull`` in a terminal, another window)
    DONE = "done"
    REMOVED = "removed"


ACTIVE = (Phase.RUNNING, Phase.PAUSING, Phase.CANCELLING)  # a worker of this page is running it
POLL_MS = 1000  # how often the records are read: jobs run by other processes come, progress and go


class Job(QObject):
    """One engine job as the page sees it; ``spec.name`` (the installed name) identifies it."""

    changed = Signal()
    progressed = Signal(object)
    installed = Signal(object)  # installed here: the InstalledModel
    installed_elsewhere = Signal(str)  # another process finished it: the model's name
    ended = Signal()  # done, cancelled or dismissed: the panel goes away

    def __init__(self, spec: PullSpec, jobs: BackgroundJobs, settings: Callable[[], Settings],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.spec, self._jobs, self._settings = spec, jobs, settings
        self.state = Phase.PAUSED
        self.error = ""
        self.owner_pid: int | None = None
        self.last: Progress | None = None
        self._recorded = False  # the engine has a record of it (or had one)
        self._worker: GeneratorWorker | None = None
        self._after_cancel = Phase.PAUSED

    def _factory(self, token: CancelToken) -> Callable[[], Generator[Progress, None, InstalledModel]]:
        spec, endpoint = self.spec, self._settings().hub_endpoint or None

        def run() -> Generator[Progress, None, InstalledModel]:
            return (yield from run_with_progress(run_job, spec, endpoint=endpoint, cancel=token))
        return run

    def _set(self, state: Phase, error: str = "") -> None:
        self.state, self.error = state, error
        self.changed.emit()

    def start(self) -> None:
        """Start (or resume) the job; returns at once. Another process running it shows as ``elsewhere``."""
        if self.state in (*ACTIVE, Phase.ELSEWHERE):
            return
        try:
            remember(self.spec)  # recorded before it runs: a crash from here on leaves it resumable
        except LockedError as err:
            self._recorded, self.owner_pid = True, err.pid
            self._set(Phase.ELSEWHERE)
            return
        except PonderError as err:
            self._set(Phase.FAILED, str(err))
            return
        self._recorded = True
        token = CancelToken()
        worker = GeneratorWorker(self._factory(token), interval_s=0.1, on_cancel=token.cancel)
        worker.yielded.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        self._worker = worker
        self._set(Phase.RUNNING)
        self._jobs.start(worker)

    def pause(self) -> None:
        """Stop now; partial files stay so that :meth:`start` continues where it stopped."""
        if self.state is Phase.RUNNING and self._worker is not None:
            self._after_cancel = Phase.PAUSED
            self._worker.cancel()
            self._set(Phase.PAUSING)

    def cancel(self) -> None:
        """Stop and discard the job (its partial download and staging folders); the job ends."""
        if self.state in (Phase.RUNNING, Phase.PAUSING) and self._worker is not None:
            self._after_cancel = Phase.REMOVED
            self._worker.cancel()
            self._set(Phase.CANCELLING)
        elif self.state in (Phase.PAUSED, Phase.FAILED):
            self._discard()

    def sync(self, status: JobStatus | None) -> None:
        """Follow the engine's record (``None``: there is none any more) while no worker of this page runs it."""
        if self.state in ACTIVE or self.state in (Phase.DONE, Phase.REMOVED):
            return
        if status is None:
            if not self._recorded:
                return
            try:
                get_installed(self.spec.name)
            except PonderError:
                self.state = Phase.REMOVED  # discarded elsewhere
            else:
                self.state = Phase.DONE
                self.installed_elsewhere.emit(self.spec.name)
            self.ended.emit()
            return
        self._recorded = True
        if status.spec != self.spec:
            self.spec = status.spec
        self.owner_pid = status.owner_pid
        latest = status.progress()
        if latest is not None and latest != self.last:
            self.last = latest
            self.progressed.emit(latest)
        state = {JobState.RUNNING: Phase.ELSEWHERE, JobState.PAUSED: Phase.PAUSED,
                 JobState.FAILED: Phase.FAILED}[status.state]
        if (state, status.error) != (self.state, self.error):
            self._set(state, status.error)

    @Slot(list)
    def _on_progress(self, batch: list[Any]) -> None:
        reports = [p for p in batch if isinstance(p, Progress)]
        if reports:
            self.last = reports[-1]
            self.progressed.emit(self.last)

    @Slot(object)
    def _on_finished(self, model: object) -> None:
        self._worker, self.state = None, Phase.DONE
        if isinstance(model, InstalledModel):
            self.installed.emit(model)
        self.ended.emit()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        cancelling = self.state is Phase.CANCELLING
        self._worker = None
        if cancelling:
            self._discard()
            return
        self._set(Phase.FAILED, message)

    @Slot()
    def _on_cancelled(self) -> None:
        self._worker = None
        try:  # the pull may have finished just as it was cancelled
            model: InstalledModel | None = get_installed(self.spec.name)
        except PonderError:
            model = None
        if model is not None:
            self._on_finished(model)
        elif self._after_cancel is Phase.REMOVED:
            self._discard()
        else:
            self._set(Phase.PAUSED)

    def _discard(self) -> None:
        try:
            discard_job(self.spec)
        except PonderError as err:  # another process took it meanwhile: say so, keep the panel
            self._set(Phase.FAILED, str(err))
            return
        self.state = Phase.REMOVED
        self.ended.emit()


class JobPanel(QFrame):
    """A job's progress: the stages, a bar, bytes/rate/ETA or steps, and Pause/Resume and Cancel."""

    def __init__(self, job: Job, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job = job
        self.setObjectName("jobPanel")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(f"<b>{html.escape(job.spec.title())}</b>")
        self._spec, self._stage_order = job.spec, job.spec.stages()
        self.stages = QLabel()
        self.stages.setTextFormat(Qt.TextFormat.RichText)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.pause_button = QPushButton()
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.pause_button.clicked.connect(self._pause_or_resume)
        self.cancel_button.clicked.connect(job.cancel)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.pause_button)
        top.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.stages)
        layout.addWidget(self.bar)
        layout.addWidget(self.detail)
        self._offline = ""
        job.changed.connect(self.refresh)
        job.progressed.connect(self.refresh)
        self.refresh()

    def set_offline(self, note: str) -> None:
        """Offline mode (``note`` says why; "" when online): a pull cannot resume."""
        self._offline = note
        self.refresh()

    def _pause_or_resume(self) -> None:
        if self.job.state is Phase.RUNNING:
            self.job.pause()
        else:
            self.job.start()

    def _stage_text(self, current: str | None) -> str:
        names = {Stage.DOWNLOAD: self.tr("Download"), Stage.CONVERT: self.tr("Convert"),
                 Stage.INSTALL: self.tr("Install")}
        order = self._stage_order
        index = order.index(current) if current in order else -1
        parts = []
        for i, stage in enumerate(order):
            if i < index:
                parts.append(f"<span style='color:#2e7d32'>✓ {names[stage]}</span>")
            elif i == index:
                parts.append(f"<b>{names[stage]}</b>")
            else:
                parts.append(f"<span style='color:gray'>{names[stage]}</span>")
        return " → ".join(parts)

    def _progress_text(self, p: Progress) -> str:
        if p.unit == "bytes":
            text = self.tr("{0} of {1}").format(format_bytes(p.done), format_bytes(p.total))
            if p.rate > 0:
                text += " · " + self.tr("{0}/s").format(format_bytes(p.rate))
            if p.eta_s is not None and p.done < p.total:
                minutes = round(p.eta_s / 60)
                text += " · " + (self.tr("about {0} min left").format(minutes) if minutes >= 1
                                 else self.tr("about {0} s left").format(max(1, round(p.eta_s))))
            return text
        return self.tr("Step {0} of {1}").format(p.done, p.total) if p.total else ""

    @Slot()
    def refresh(self) -> None:
        """Show the job's state and latest progress."""
        job, p = self.job, self.job.last
        if job.spec is not self._spec:  # the other side may have recorded other choices (--convert, --name)
            self._spec, self._stage_order = job.spec, job.spec.stages()
            self.title.setText(f"<b>{html.escape(job.spec.title())}</b>")
        stage = Stage.DOWNLOAD if p is not None and p.stage == Stage.VERIFY else (p.stage if p is not None else None)
        self.stages.setText(self._stage_text(stage))
        fraction = p.fraction if p is not None else None
        running = job.state is Phase.RUNNING
        if job.state in (Phase.RUNNING, Phase.ELSEWHERE) and fraction is None:
            self.bar.setRange(0, 0)  # busy
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int((fraction or 0) * 1000))
        elsewhere = self.tr("Running in another process (pid {0}), e.g. 'ponder pull' in a terminal; its progress "
                            "shows here, and if it stops, Resume continues it here.").format(job.owner_pid or "?")
        detail = {Phase.PAUSING: self.tr("Pausing…"), Phase.CANCELLING: self.tr("Cancelling…"),
                  Phase.ELSEWHERE: (self._progress_text(p) + " · " if p is not None else "") + elsewhere,
                  Phase.PAUSED: (self.tr("Paused at {0} of {1} — Resume continues where it stopped.").format(
                      format_bytes(p.done), format_bytes(p.total)) if p is not None and p.unit == "bytes" and p.total
                      else self.tr("Paused — Resume continues where it stopped.")),
                  Phase.FAILED: self.tr("Failed: {0}").format(job.error)}.get(job.state)
        self.detail.setText(detail if detail is not None else (self._progress_text(p) if p is not None
                                                                 else self.tr("Starting…")))
        self.detail.setStyleSheet("color:#c62828" if job.state is Phase.FAILED else "")
        self.pause_button.setText(self.tr("Pause") if job.state in (Phase.RUNNING, Phase.ELSEWHERE)
                                  else self.tr("Retry") if job.state is Phase.FAILED else self.tr("Resume"))
        blocked = bool(self._offline) and job.spec.kind is JobKind.PULL and not running
        self.pause_button.setEnabled(job.state in (Phase.RUNNING, Phase.PAUSED, Phase.FAILED) and not blocked)
        self.pause_button.setToolTip(self._offline if blocked else self.tr("Pause it where it runs.")
                                     if job.state is Phase.ELSEWHERE else "")
        self.cancel_button.setEnabled(job.state in (Phase.RUNNING, Phase.PAUSING, Phase.PAUSED, Phase.FAILED))


class DownloadsBox(QGroupBox):
    """The Models page's Downloads box: a panel for each unfinished job, wherever it runs (the engine's records,
    read every second), hidden when there is none. ``job_list`` and ``panels`` are keyed by the installed name."""

    installed = Signal(object)  # a job of this window installed its model: the InstalledModel
    installed_elsewhere = Signal(str)  # another process finished a job shown here: the model's name
    changed = Signal()  # a job started, stopped or ended
    failed = Signal(str)  # the records could not be read: why

    def __init__(self, jobs: BackgroundJobs, settings: Callable[[], Settings], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Downloads"))
        self._jobs, self._settings, self._offline = jobs, settings, ""
        self.job_list: dict[str, Job] = {}
        self.panels: dict[str, JobPanel] = {}
        self._layout = QVBoxLayout(self)
        self.sync()
        self.setVisible(bool(self.panels))
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.sync)
        self._timer.start()

    def start(self, spec: PullSpec) -> Job:
        """Start ``spec``, or resume the unfinished job that installs the same name (with its recorded choices)."""
        job = self.job_list.get(spec.name) or self._add(spec)
        job.start()
        return job

    def pause_all(self) -> None:
        """Pause every job this window runs (they resume next time)."""
        for job in self.job_list.values():
            job.pause()

    def set_offline(self, note: str) -> None:
        """Offline mode (``note`` says why; "" when online): pulls cannot resume."""
        self._offline = note
        for panel in self.panels.values():
            panel.set_offline(note)

    @Slot()
    def sync(self) -> None:
        """Read the records: new jobs get a panel, the others follow theirs (progress, paused, failed, finished or
        discarded elsewhere)."""
        try:
            statuses = {s.name: s for s in list_jobs()}
        except PonderError as err:
            self.failed.emit(str(err))
            return
        for name, status in statuses.items():
            if name not in self.job_list:
                self._add(status.spec)
        for name, job in list(self.job_list.items()):
            job.sync(statuses.get(name))

    def _add(self, spec: PullSpec) -> Job:
        job = Job(spec, self._jobs, self._settings, self)
        panel = JobPanel(job)
        panel.set_offline(self._offline)
        self.job_list[spec.name], self.panels[spec.name] = job, panel
        self._layout.addWidget(panel)
        job.installed.connect(self.installed)
        job.installed_elsewhere.connect(self.installed_elsewhere)
        job.changed.connect(self.changed)
        job.ended.connect(lambda: self._ended(spec.name))
        self.setVisible(True)
        return job

    def _ended(self, name: str) -> None:
        self.job_list.pop(name, None)
        panel = self.panels.pop(name, None)
        if panel is not None:
            panel.hide()
            panel.deleteLater()
        self.setVisible(bool(self.panels))
        self.changed.emit()
