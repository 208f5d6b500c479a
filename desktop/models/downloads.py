"""Download and conversion jobs of the Models page: the job (start, pause, resume, cancel), its progress panel,
and ``pulls.json``, which lists unfinished jobs so that a restarted app offers to resume them.

Pause cancels the engine call: the engine keeps partial downloads and finished conversion stages, so Resume simply
starts the same job again. Cancel also removes the partial download and the conversion's staging folder.
"""

from __future__ import annotations

import html
import shutil
from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from desktop.workers import BackgroundJobs, GeneratorWorker
from engine.cancel import CancelToken
from engine.catalog import CatalogEntry, find_entry
from engine.convert.pipeline import convert_checkpoint
from engine.errors import PonderError
from engine.paths import downloads_dir, ponder_home
from engine.progress import Progress, format_bytes, run_with_progress
from engine.pull import default_name, hub_model_name, parse_repo_ref, pull
from engine.settings import Settings
from engine.store import InstalledModel, get_installed, staging_dir
from engine.verify import read_json, write_json_atomic

PULLS_FILE = "pulls.json"


def _entry(model: str) -> CatalogEntry | None:
    try:
        return find_entry(model)
    except PonderError:
        return None


@dataclass(frozen=True)
class JobSpec:
    """What a job makes: ``kind`` "pull" (``model`` is a catalog id, or a Hub repository ``owner/name[@rev]``
    that is not in the catalog) or "convert" (``model`` is the installed name and ``path`` the checkpoint
    folder)."""

    kind: str
    model: str
    precision: str
    provider: str
    path: str = ""

    @property
    def key(self) -> str:
        """Identifies the job: the same spec twice is the same job."""
        return f"{self.kind}:{self.model}:{self.precision}:{self.provider}"

    def installed_name(self) -> str:
        """The name the model is installed under."""
        if self.kind == "convert":
            return self.model
        entry = _entry(self.model)
        if entry is not None:
            return default_name(entry, self.precision, self.provider)
        return hub_model_name(parse_repo_ref(self.model)[0], self.precision, self.provider)

    def title(self) -> str:
        """A short label: the catalog name, the Hub repository, or the local folder's name."""
        if self.kind == "convert":
            return f"{self.model} ({Path(self.path).name})"
        entry = _entry(self.model)
        return f"{entry.name if entry else self.model} · {self.precision}"

    def stages(self) -> tuple[str, ...]:
        """The stages this job goes through, in order."""
        if self.kind == "pull":
            entry = _entry(self.model)
            if entry is not None and entry.prebuilt_for(self.precision, self.provider) is not None:
                return ("download", "install")
            return ("download", "convert", "install")
        return ("convert", "install")

    def download_folders(self) -> set[str]:
        """Names of the folders under ``downloads_dir()`` this job downloads into (one per repository)."""
        if self.kind != "pull":
            return set()
        entry = _entry(self.model)
        if entry is None:
            try:
                return {parse_repo_ref(self.model)[0].replace("/", "--")}
            except PonderError:
                return set()
        build = entry.prebuilt_for(self.precision, self.provider)
        return {(build.repo_id if build else entry.repo_id).replace("/", "--")}


def pulls_path() -> Path:
    """``PONDER_HOME/pulls.json``."""
    return ponder_home() / PULLS_FILE


def load_pending() -> list[JobSpec]:
    """Unfinished jobs recorded by an earlier run (malformed entries are skipped)."""
    data: Any = read_json(pulls_path())
    found: list[JobSpec] = []
    for raw in data.get("jobs", []) if isinstance(data, dict) else []:
        try:
            spec = JobSpec(kind=str(raw.get("kind", "pull")), model=str(raw["model"]), precision=str(raw["precision"]),
                           provider=str(raw["provider"]), path=str(raw.get("path", "")))
        except (KeyError, TypeError, AttributeError):
            continue
        if spec.kind in ("pull", "convert") and spec.key not in {s.key for s in found}:
            found.append(spec)
    return found


def _save(specs: list[JobSpec]) -> None:
    write_json_atomic(pulls_path(), {"version": 1, "jobs": [asdict(s) for s in specs]})


def record_pending(spec: JobSpec) -> None:
    """Add ``spec`` to pulls.json (atomically)."""
    specs = load_pending()
    if spec.key not in {s.key for s in specs}:
        _save([*specs, spec])


def forget_pending(spec: JobSpec) -> None:
    """Remove ``spec`` from pulls.json."""
    specs = load_pending()
    if spec.key in {s.key for s in specs}:
        _save([s for s in specs if s.key != spec.key])


class Job(QObject):
    """One pull or conversion: runs on BackgroundJobs; states "running", "pausing", "paused", "cancelling",
    "failed", "done" and "removed"."""

    changed = Signal()
    progressed = Signal(object)
    installed = Signal(object)
    ended = Signal()  # done, cancelled or dismissed: the panel goes away

    def __init__(self, spec: JobSpec, jobs: BackgroundJobs, settings: Callable[[], Settings],
                 others: Callable[[Job], list[Job]], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.spec, self._jobs, self._settings, self._others = spec, jobs, settings, others
        self.state = "paused"
        self.error = ""
        self.last: Progress | None = None
        self._worker: GeneratorWorker | None = None
        self._retired: list[GeneratorWorker] = []  # ended workers whose threads may still be winding down
        self._after_cancel = "paused"

    def _factory(self, token: CancelToken) -> Callable[[], Generator[Progress, None, InstalledModel]]:
        spec, endpoint = self.spec, self._settings().hub_endpoint or None

        def run() -> Generator[Progress, None, InstalledModel]:
            if spec.kind == "convert":
                return (yield from run_with_progress(convert_checkpoint, Path(spec.path), spec.model,
                                                     precision=spec.precision, provider=spec.provider, cancel=token))
            return (yield from run_with_progress(pull, spec.model, precision=spec.precision, provider=spec.provider,
                                                 endpoint=endpoint, keep_download=True, cancel=token))
        return run

    def start(self) -> None:
        """Start (or resume) the job; returns at once."""
        if self.state in ("running", "pausing", "cancelling"):
            return
        record_pending(self.spec)
        token = CancelToken()
        worker = GeneratorWorker(self._factory(token), interval_s=0.1, on_cancel=token.cancel)
        worker.yielded.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        self._worker = worker
        self._retired.append(worker)
        self.state, self.error = "running", ""
        self.changed.emit()
        self._jobs.start(worker)

    def pause(self) -> None:
        """Stop now; partial files stay so that :meth:`start` continues where it stopped."""
        if self.state == "running" and self._worker is not None:
            self._after_cancel, self.state = "paused", "pausing"
            self._worker.cancel()
            self.changed.emit()

    def cancel(self) -> None:
        """Stop and remove the partial download and staging folders; the job ends."""
        if self.state in ("running", "pausing") and self._worker is not None:
            self._after_cancel, self.state = "remove", "cancelling"
            self._worker.cancel()
            self.changed.emit()
        elif self.state in ("paused", "failed"):
            self._remove()

    @Slot(list)
    def _on_progress(self, batch: list[Any]) -> None:
        reports = [p for p in batch if isinstance(p, Progress)]
        if reports:
            self.last = reports[-1]
            self.progressed.emit(self.last)

    @Slot(object)
    def _on_finished(self, model: object) -> None:
        self._worker, self.state = None, "done"
        forget_pending(self.spec)
        if isinstance(model, InstalledModel):
            self._clean_download(str(model.manifest.source.get("commit", "")))
            self.installed.emit(model)
        self.ended.emit()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        cancelling = self.state == "cancelling"
        self._worker, self.state, self.error = None, "failed", message
        if cancelling:
            self._remove()
            return
        self.changed.emit()

    @Slot()
    def _on_cancelled(self) -> None:
        self._worker = None
        try:  # the pull may have finished just as it was cancelled
            model: InstalledModel | None = get_installed(self.spec.installed_name())
        except PonderError:
            model = None
        if model is not None:
            self._on_finished(model)
        elif self._after_cancel == "remove":
            self._remove()
        else:
            self.state = "paused"
            self.changed.emit()

    def _shared_folders(self) -> set[str]:
        return {f for job in self._others(self) for f in job.spec.download_folders()}

    def _clean_download(self, commit: str) -> None:
        for folder in self.spec.download_folders() - self._shared_folders():
            repo = downloads_dir() / folder
            if commit:
                shutil.rmtree(repo / commit, ignore_errors=True)
            if repo.is_dir() and not any(repo.iterdir()):
                repo.rmdir()

    def _remove(self) -> None:
        for folder in self.spec.download_folders() - self._shared_folders():
            shutil.rmtree(downloads_dir() / folder, ignore_errors=True)
        try:
            name = self.spec.installed_name()
        except PonderError:
            name = ""
        if name:
            for staged in (staging_dir() / name, staging_dir() / f"{name}.prebuilt"):
                shutil.rmtree(staged, ignore_errors=True)
        forget_pending(self.spec)
        self.state = "removed"
        self.ended.emit()


class JobPanel(QFrame):
    """A job's progress: the stages, a bar, bytes/rate/ETA or steps, and Pause/Resume and Cancel."""

    def __init__(self, job: Job, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job = job
        self.setObjectName("jobPanel")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(f"<b>{html.escape(job.spec.title())}</b>")
        self._stage_order = job.spec.stages()
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
        if self.job.state == "running":
            self.job.pause()
        else:
            self.job.start()

    def _stage_text(self, current: str | None) -> str:
        names = {"download": self.tr("Download"), "convert": self.tr("Convert"), "install": self.tr("Install")}
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
        stage = "download" if p is not None and p.stage == "verify" else (p.stage if p is not None else None)
        self.stages.setText(self._stage_text(stage))
        fraction = p.fraction if p is not None else None
        running = job.state == "running"
        if running and fraction is None:
            self.bar.setRange(0, 0)  # busy
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int((fraction or 0) * 1000))
        detail = {"pausing": self.tr("Pausing…"), "cancelling": self.tr("Cancelling…"),
                  "paused": (self.tr("Paused at {0} of {1} — Resume continues where it stopped.").format(
                      format_bytes(p.done), format_bytes(p.total)) if p is not None and p.unit == "bytes" and p.total
                      else self.tr("Paused — Resume continues where it stopped.")),
                  "failed": self.tr("Failed: {0}").format(job.error)}.get(job.state)
        self.detail.setText(detail if detail is not None else (self._progress_text(p) if p is not None
                                                                 else self.tr("Starting…")))
        self.detail.setStyleSheet("color:#c62828" if job.state == "failed" else "")
        self.pause_button.setText(self.tr("Pause") if running else self.tr("Retry") if job.state == "failed"
                                  else self.tr("Resume"))
        blocked = bool(self._offline) and job.spec.kind == "pull" and not running
        self.pause_button.setEnabled(job.state in ("running", "paused", "failed") and not blocked)
        self.pause_button.setToolTip(self._offline if blocked else "")
        self.cancel_button.setEnabled(job.state in ("running", "pausing", "paused", "failed"))
