"""The row above the transcript: the model chooser (installed models, the default first, then the models of each
remote engine) and the System prompt button."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

from desktop.jobs import call, run_background
from desktop.offline import offline_note
from desktop.workers import BackgroundJobs
from engine.models.store import list_installed
from engine.serve.remote import RemoteEngines
from engine.system.settings import Settings

REMOTE, REMOTE_SEP = "remote:", "\x1f"  # model chooser data of a remote model: remote:ENGINE<sep>MODEL


@dataclass(frozen=True)
class ModelChoice:
    """The chosen model: an installed one (``path``) or a remote engine's (``engine`` and ``name``)."""

    name: str
    path: Path | None = None
    engine: str | None = None


class ModelHeader(QWidget):
    """The model chooser and the System prompt button. ``ready_changed`` tells, after each refill, whether there is
    a model to answer with."""

    ready_changed = Signal(bool)
    system_prompt_requested = Signal()

    def __init__(self, settings: Callable[[], Settings], jobs: BackgroundJobs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings, self.jobs = settings, jobs
        self.remote_models: dict[str, list[str]] = {}  # remote engine -> its models, as last reported
        self.model_box = QComboBox()
        self.model_box.setToolTip(self.tr("The model that answers"))
        self.system_button = QPushButton(self.tr("System prompt…"))
        self.system_button.clicked.connect(lambda: self.system_prompt_requested.emit())
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(self.tr("Model:")))
        layout.addWidget(self.model_box, 1)
        layout.addWidget(self.system_button)

    def choice(self) -> ModelChoice:
        """The model chosen: an installed model's folder, or a remote engine and its model."""
        data = str(self.model_box.currentData())
        if data.startswith(REMOTE):
            engine, model = data[len(REMOTE):].split(REMOTE_SEP, 1)
            return ModelChoice(model, engine=engine)
        return ModelChoice(self.model_box.currentText(), path=Path(data))

    def refresh_models(self) -> None:
        """Fill the model chooser with the installed models (the default one first), then the remote ones."""
        current = self.model_box.currentData()
        self.model_box.clear()
        installed = list_installed()
        default = self.settings().default_model
        installed.sort(key=lambda m: m.name != default)
        for m in installed:
            self.model_box.addItem(m.name, str(m.path))
        for engine, models in sorted(self.remote_models.items()):
            for name in models:
                self.model_box.addItem(f"{name} @ {engine}", f"{REMOTE}{engine}{REMOTE_SEP}{name}")
        if current:
            i = self.model_box.findData(current)
            if i >= 0:
                self.model_box.setCurrentIndex(i)
        self.ready_changed.emit(self.model_box.count() > 0)

    def refresh_remote(self) -> None:
        """Ask each remote engine (Settings › Remote engines) for its models, in the background; the chooser
        lists them when they answer (an engine that does not answer is left out, with a note in the tooltip)."""
        engines = RemoteEngines().engines()
        self.remote_models = {k: v for k, v in self.remote_models.items() if k in {e.name for e in engines}}
        note = offline_note()
        self.model_box.setToolTip(note if note and engines else self.tr("The model that answers"))
        if note:  # remote engines are not asked: their models leave the chooser, and its tooltip says why
            self.remote_models, engines = {}, []
        for engine in engines:

            def fetch(name: str = engine.name) -> tuple[str, list[str]]:
                return name, RemoteEngines().models(name)

            run_background(self.jobs, self, call(fetch), self._on_remote_models, self.model_box.setToolTip)
        self.refresh_models()

    def _on_remote_models(self, result: tuple[str, list[str]]) -> None:
        name, models = result
        self.remote_models[name] = models
        self.refresh_models()
