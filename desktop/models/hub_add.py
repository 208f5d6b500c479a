"""Models page › "Add from Hugging Face": any Hub repository of a supported architecture, checked before it downloads
(what it is, its licence, the download, the disk and memory converting and running it need, whether it fits)."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from desktop.jobs import call, run_background
from desktop.offline import offline_note
from desktop.workers import BackgroundJobs
from engine.models.pull import HubModel, describe_hub_model, looks_like_repo
from engine.system.hardware import HardwareReport, fit
from engine.system.progress import format_bytes

FIT_COLOR = {"fits": "#2e7d32", "slow": "#ef6c00", "won't fit": "#c62828"}


class HubAddBox(QWidget):
    """A repository field, Check, what it found, and Get. ``get_requested`` carries ``owner/name@commit``."""

    get_requested = Signal(str)

    def __init__(self, jobs: BackgroundJobs, report: Callable[[], HardwareReport | None],
                 endpoint: Callable[[], str | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._jobs, self._report, self._endpoint = jobs, report, endpoint
        self.model: HubModel | None = None
        self.field = QLineEdit()
        self.field.setPlaceholderText(self.tr("owner/name, e.g. Qwen/Qwen3-4B (optionally @revision)"))
        self.field.setAccessibleName(self.tr("Hugging Face repository"))
        self.check_button = QPushButton(self.tr("Check"))
        self.get_button = QPushButton(self.tr("Get"))
        self.get_button.setEnabled(False)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.hide()
        row = QHBoxLayout()
        row.addWidget(QLabel(self.tr("Add from Hugging Face:")))
        row.addWidget(self.field, 1)
        row.addWidget(self.check_button)
        row.addWidget(self.get_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.result)
        self.field.returnPressed.connect(self.check)
        self.field.textChanged.connect(self._edited)
        self.check_button.clicked.connect(self.check)
        self.get_button.clicked.connect(self._get)
        self.refresh()

    def refresh(self) -> None:
        """Offline mode turns the box off and says why."""
        note = offline_note()
        for widget in (self.field, self.check_button):
            widget.setEnabled(not note)
            widget.setToolTip(note)
        self.get_button.setEnabled(not note and self.model is not None)

    def check(self) -> None:
        """Ask the Hub about the typed repository (in the background) and show what it needs."""
        ref = self.field.text().strip()
        if not looks_like_repo(ref):
            self._say(self.tr("Type a repository as owner/name, e.g. Qwen/Qwen3-4B."), error=True)
            return
        self.model = None
        self.get_button.setEnabled(False)
        self.check_button.setEnabled(False)
        self._say(self.tr("Checking {0}…").format(ref))
        endpoint = self._endpoint()
        run_background(self._jobs, self, call(lambda: describe_hub_model(ref, endpoint=endpoint)), self._found,
                       self._failed)

    def _found(self, model: HubModel) -> None:
        self.check_button.setEnabled(True)
        self.model = model
        report = self._report()
        verdict = fit(max(model.run_ram_bytes, model.conversion.ram_bytes), model.run_ram_bytes, report) \
            if report is not None else ""
        text = self.tr("{0}: {1}, {2} parameters, licence {3}. Download {4}; {5} on disk after conversion; "
                       "converting needs {6} of memory, running {7}.").format(
            html.escape(model.repo_id), model.architecture.family, _params(model.params),
            html.escape(model.license or self.tr("not declared")), format_bytes(model.download_bytes),
            format_bytes(model.conversion.disk_bytes), format_bytes(model.conversion.ram_bytes),
            format_bytes(model.run_ram_bytes))
        if verdict:
            text += f" <b style='color:{FIT_COLOR[verdict]}'>{html.escape(verdict)}</b>"
        self.result.setText(text)
        self.result.setStyleSheet("")
        self.result.show()
        self.refresh()

    def _failed(self, message: str) -> None:
        self.check_button.setEnabled(True)
        self._say(message, error=True)

    def _say(self, text: str, error: bool = False) -> None:
        self.result.setText(html.escape(text))
        self.result.setStyleSheet("color:#c62828" if error else "color:gray")
        self.result.show()

    def _edited(self) -> None:
        self.model = None
        self.get_button.setEnabled(False)

    def _get(self) -> None:
        if self.model is not None:
            self.get_requested.emit(f"{self.model.repo_id}@{self.model.commit}")


def _params(n: int) -> str:
    return f"{n / 1e9:.1f} B" if n >= 1e8 else f"{n / 1e6:.1f} M"
