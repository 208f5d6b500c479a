"""The row above the transcript: the model chooser (installed models, the default first, then the models of each
remote engine), the model's state (loading with its progress, loaded, Unload), how much of the context the
conversation uses, and the System prompt button."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QToolButton,
    QWidget,
    QWidgetAction,
)

from desktop.jobs import call, run_background
from desktop.offline import offline_note
from desktop.workers import BackgroundJobs
from engine.models.store import list_installed
from engine.runtime.host import HostEvent
from engine.serve.remote_engines import RemoteEngines
from engine.system.settings import Settings

REMOTE, REMOTE_SEP = "remote:", "\x1f"  # model chooser data of a remote model: remote:ENGINE<sep>MODEL


@dataclass(frozen=True)
class ModelChoice:
    """The chosen model: an installed one (``path``) or a remote engine's (``engine`` and ``name``)."""

    name: str
    path: Path | None = None
    engine: str | None = None


def choice_of(text: str, data: str) -> ModelChoice:
    """The model a chooser entry stands for (its text and data)."""
    if data.startswith(REMOTE):
        engine, model = data[len(REMOTE):].split(REMOTE_SEP, 1)
        return ModelChoice(model, engine=engine)
    return ModelChoice(text, path=Path(data))


class ModelHeader(QWidget):
    """The model chooser and the System prompt button. ``ready_changed`` tells, after each refill, whether there is
    a model to answer with."""

    ready_changed = Signal(bool)
    system_prompt_requested = Signal()
    unload_requested = Signal()
    compare_toggled = Signal(bool)
    model_switched = Signal(str, str)  # the model chosen now, the one chosen before (by the person)

    def __init__(self, settings: Callable[[], Settings], jobs: BackgroundJobs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings, self.jobs = settings, jobs
        self.remote_models: dict[str, list[str]] = {}  # remote engine -> its models, as last reported
        self.model_box = QComboBox()
        self.model_box.setToolTip(self.tr("The model that answers"))
        self.system_button = QPushButton(self.tr("System prompt…"))
        self.system_button.clicked.connect(lambda: self.system_prompt_requested.emit())
        self.setObjectName("chatHeader")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.model_box.setAccessibleName(self.tr("Model"))
        self.model_box.setMinimumWidth(220)
        self.model_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.system_button.setAccessibleName(self.tr("System prompt"))
        self._previous = ""
        self.model_box.activated.connect(self._on_activated)

        self.state = QLabel()  # the model's state: loading (with the bar), loaded, not loaded
        self.state.setObjectName("dimLabel")
        self.state.setAccessibleName(self.tr("Model state"))
        self.load_bar = QProgressBar()
        self.load_bar.setAccessibleName(self.tr("Loading progress"))
        self.load_bar.setTextVisible(False)
        self.load_bar.setFixedWidth(120)
        self.load_bar.hide()
        self.unload_button = QToolButton()
        self.unload_button.setObjectName("headerButton")
        self.unload_button.setText(self.tr("Unload"))
        self.unload_button.setAccessibleName(self.tr("Unload the model"))
        self.unload_button.setToolTip(self.tr("Free the memory the model takes; the next message loads it again"))
        self.unload_button.clicked.connect(lambda: self.unload_requested.emit())
        self.unload_button.hide()
        self.context = QLabel()
        self.context.setObjectName("dimLabel")
        self.context.setAccessibleName(self.tr("Context used"))
        self.context_bar = QProgressBar()
        self.context_bar.setAccessibleName(self.tr("Context used"))
        self.context_bar.setTextVisible(False)
        self.context_bar.setFixedWidth(80)
        self.context_bar.hide()
        self._loading: tuple[str, float, float] | None = None  # the model loading, since when, seconds expected
        self._loaded: set[str] = set()
        self._tick = QTimer(self)
        self._tick.setInterval(250)
        self._tick.timeout.connect(self._show_loading)

        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(16, 8, 16, 8)
        self.row.setSpacing(10)
        self.row.addWidget(self.model_box)
        self.row.addWidget(self.state)
        self.row.addWidget(self.load_bar)
        self.row.addWidget(self.unload_button)
        self.row.addStretch(1)
        self.row.addWidget(self.context)
        self.row.addWidget(self.context_bar)
        self.row.addWidget(self.system_button)

    def choice(self) -> ModelChoice:
        """The model chosen: an installed model's folder, or a remote engine and its model."""
        return choice_of(self.model_box.currentText(), str(self.model_box.currentData()))

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

    def add_reasoning(self, panel: QWidget) -> None:
        """The Reasoning button, which opens the conversation's reasoning controls (``panel``)."""
        self.reasoning_button = QToolButton()
        self.reasoning_button.setObjectName("headerButton")
        self.reasoning_button.setText(self.tr("Reasoning"))
        self.reasoning_button.setAccessibleName(self.tr("Reasoning controls"))
        self.reasoning_button.setToolTip(self.tr("Thinking budget, earlier thoughts and the context meter"))
        self.reasoning_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.reasoning_button)
        action = QWidgetAction(menu)
        action.setDefaultWidget(panel)
        menu.addAction(action)
        self.reasoning_button.setMenu(menu)
        self.row.insertWidget(self.row.indexOf(self.system_button), self.reasoning_button)
        self.compare_button = QToolButton()
        self.compare_button.setObjectName("headerButton")
        self.compare_button.setText(self.tr("Compare"))
        self.compare_button.setCheckable(True)
        self.compare_button.setAccessibleName(self.tr("Compare two models"))
        self.compare_button.setToolTip(self.tr("Ask two models the same question, side by side"))
        self.compare_button.toggled.connect(self.compare_toggled.emit)
        self.row.insertWidget(self.row.indexOf(self.system_button), self.compare_button)

    # the model's state ----------------------------------------------------------------------------------------

    def _on_activated(self, _index: int) -> None:
        """The person picked a model: say what switching means when it is another one."""
        now = self.model_box.currentText()
        if self._previous and now != self._previous:
            self.model_switched.emit(now, self._previous)
        self._previous = now

    def on_host_event(self, event: HostEvent) -> None:
        """Show what the model host does: loading (the seconds so far, and a bar: filled as a fraction of the time
        the same model took to load here last time, an estimate; moving when it was never loaded here), loaded,
        unloaded."""
        if event.kind == "loading":
            self._loading = (event.name, time.monotonic(), event.expected_s)
            if event.expected_s > 0:
                self.load_bar.setRange(0, 100)
                self.load_bar.setValue(0)
                self.load_bar.setToolTip(self.tr("An estimate: how long this model took to load last time"))
            else:
                self.load_bar.setRange(0, 0)  # moving: ONNX Runtime's loading reports nothing while it runs
                self.load_bar.setToolTip("")
            self.load_bar.show()
            self.unload_button.hide()
            self._tick.start()
            self._show_loading()
        elif event.kind in ("loaded", "unloaded", "refused"):
            if self._loading and self._loading[0] == event.name:
                self._loading = None
                self._tick.stop()
                self.load_bar.hide()
            if event.kind == "loaded":
                self._loaded.add(event.name)
            else:
                self._loaded.discard(event.name)
            self._show_state(event)

    def _show_loading(self) -> None:
        if self._loading is None:
            return
        name, since, expected = self._loading
        seconds = time.monotonic() - since
        if expected > 0:
            self.load_bar.setValue(min(99, int(100 * seconds / expected)))  # full only when it has loaded
            self.state.setText(self.tr("Loading {0}… {1} s (last time {2} s)").format(
                name, int(seconds), f"{expected:.0f}" if expected >= 2 else f"{expected:.1f}"))
        else:
            self.state.setText(self.tr("Loading {0}… {1} s").format(name, int(seconds)))

    def _show_state(self, event: HostEvent) -> None:
        if event.kind == "loaded":
            self.state.setText(self.tr("● {0} loaded in {1:.1f} s").format(event.name, event.seconds))
        elif event.kind == "unloaded":
            self.state.setText(self.tr("{0} unloaded; the next message loads it again").format(event.name))
        else:
            self.state.setText(self.tr("{0} could not load: {1}").format(event.name, event.reason))
        self.unload_button.setVisible(bool(self._loaded))

    @property
    def loading(self) -> bool:
        """A model is being loaded now."""
        return self._loading is not None

    def show_context(self, used: int, size: int) -> None:
        """How much of the model's context the conversation takes (after a reply)."""
        if size <= 0:
            self.context.clear()
            self.context_bar.hide()
            return
        self.context.setText(self.tr("Context {0} / {1}").format(f"{used:,}", f"{size:,}"))
        self.context.setToolTip(self.tr("The conversation takes {0}% of what the model can read at once; older "
                                        "turns are dropped when it is full").format(round(100 * used / size)))
        self.context_bar.setRange(0, size)
        self.context_bar.setValue(min(used, size))
        self.context_bar.show()
