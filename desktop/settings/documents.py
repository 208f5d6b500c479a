"""Settings → Documents: the embedding models Ponder offers, which are installed, which one is in use, getting
one (download with progress, cancellable) and switching."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from desktop.jobs import run_background
from desktop.offline import offline_note
from desktop.settings.widgets import card, note_label
from desktop.workers import BackgroundJobs
from engine.documents.embedders import (
    embedder_folder,
    get_embedder,
    installed_embedders,
    load_embedders,
)
from engine.system.cancel import CancelToken
from engine.system.errors import PonderError
from engine.system.progress import Progress, run_with_progress
from engine.system.settings import Settings


class DocumentsSection(QWidget):
    """The embedders table with Get and Use; ``embedder_changed`` fires when documents use another model."""

    embedder_changed = Signal()

    def __init__(self, change: Callable[..., None], jobs: BackgroundJobs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._change, self.jobs = change, jobs
        self._getting: CancelToken | None = None
        self.table = QTreeWidget()
        self.table.setRootIsDecorated(False)
        self.table.setHeaderLabels([self.tr("Model"), self.tr("Languages"), self.tr("License"), self.tr("Size"),
                                    self.tr("Status")])
        self.table.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.get_button = QPushButton(self.tr("Get"))
        self.get_button.clicked.connect(self.get_selected)
        self.use_button = QPushButton(self.tr("Use"))
        self.use_button.clicked.connect(self.use_selected)
        self.state = note_label()
        buttons = QHBoxLayout()
        buttons.addWidget(self.get_button)
        buttons.addWidget(self.use_button)
        buttons.addStretch(1)
        box = QVBoxLayout()
        box.addWidget(note_label(self.tr(
            "Documents are searched with an embedding model that runs on this computer. The default understands "
            "Chinese and English (also a question in one about a document in the other). Switching models "
            "indexes your documents again.")))
        box.addWidget(self.table)
        box.addLayout(buttons)
        box.addWidget(self.state)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(card(self.tr("Embedding model"), box))
        layout.addStretch(1)
        self.refresh()

    def load(self, settings: Settings) -> None:
        """Show the settings (the model in use follows ``settings.embedder``)."""
        self.refresh()

    def refresh(self) -> None:
        """Reload the table from the catalog and the installed models."""
        current = self._selected()
        installed = {p.name for p in installed_embedders()}
        try:
            in_use = embedder_folder().name
        except PonderError:
            in_use = ""
        self.table.clear()
        for e in load_embedders():
            status = self.tr("In use") if e.id == in_use else (self.tr("Installed") if e.id in installed else "")
            name = e.name + (" " + self.tr("(default)") if e.default else "")
            item = QTreeWidgetItem([name, e.languages, e.license, f"{e.download_bytes / 1e6:.0f} MB", status])
            item.setToolTip(0, e.description)
            item.setData(0, Qt.ItemDataRole.UserRole, e.id)
            self.table.addTopLevelItem(item)
            if e.id == (current or in_use):
                self.table.setCurrentItem(item)
        for column in range(4):
            self.table.resizeColumnToContents(column)
        self._update_buttons()

    def _selected(self) -> str:
        item = self.table.currentItem()
        return str(item.data(0, Qt.ItemDataRole.UserRole)) if item is not None else ""

    def _update_buttons(self) -> None:
        chosen = self._selected()
        installed = {p.name for p in installed_embedders()}
        offline = offline_note()
        self.get_button.setText(self.tr("Cancel") if self._getting is not None else self.tr("Get"))
        self.get_button.setEnabled(self._getting is not None or bool(chosen and chosen not in installed
                                                                     and not offline))
        self.get_button.setToolTip(offline if self._getting is None else "")
        self.use_button.setEnabled(self._getting is None and chosen in installed)

    def get_selected(self) -> None:
        """Download and prepare the selected model (press again to cancel; the download resumes next time)."""
        if self._getting is not None:
            self._getting.cancel()
            self._getting = None
            self.state.setText(self.tr("Stopped; press Get again to continue the download."))
            self._update_buttons()
            return
        chosen, token = self._selected(), CancelToken()
        if not chosen:
            return
        self._getting = token
        self._update_buttons()
        run_background(self.jobs, self, lambda: run_with_progress(get_embedder, chosen, cancel=token),
                       self._got, self._failed, self._progress)

    def _progress(self, reports: list[Progress]) -> None:
        p = reports[-1]
        if p.stage == "download" and p.total:
            self.state.setText(self.tr("Downloading: {0} of {1} MB").format(round(p.done / 1e6),
                                                                           round(p.total / 1e6)))
        else:
            self.state.setText(self.tr("Preparing the model…"))

    def _got(self, folder: Path) -> None:
        self._getting = None
        self.state.setText(self.tr("{0} is ready.").format(folder.name))
        self.refresh()
        self.embedder_changed.emit()

    def _failed(self, message: str) -> None:
        self._getting = None
        self.state.setText(message)
        self._update_buttons()

    def use_selected(self) -> None:
        """Make the selected installed model the one documents use."""
        chosen = self._selected()
        if chosen not in {p.name for p in installed_embedders()}:
            return
        self._change(embedder=chosen)  # saved with the other settings (embedder_folder() reads them)
        self.state.setText(self.tr("Documents now use {0}; they are indexed again in the background.")
                           .format(chosen))
        self.refresh()
        self.embedder_changed.emit()
