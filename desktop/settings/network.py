"""Settings › Privacy and network: the Network activity list (every connection Ponder made;
engine.system.network_log)."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QHideEvent, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from desktop.jobs import call, run_background
from desktop.settings.chart import ERROR_COLOR
from desktop.settings.widgets import card, note_label
from desktop.workers import BackgroundJobs
from engine.system.network_log import DOWNLOAD, REMOTE, UNEXPECTED, NetworkRecord, clear_activity, read_activity
from engine.system.progress import format_bytes

REFRESH_MS = 2000  # while the list is on screen, new records appear within this time
SHOWN = 300


class NetworkActivity(QWidget):
    """The newest connections first: when, what, where, how much, and how it ended."""

    def __init__(self, jobs: BackgroundJobs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._jobs = jobs
        self._loading = False
        self.records: list[NetworkRecord] = []
        self.table = QTreeWidget()
        self.table.setRootIsDecorated(False)
        self.table.setMinimumHeight(180)
        self.table.setHeaderLabels([self.tr("When"), self.tr("What"), self.tr("Where"), self.tr("Data"),
                                    self.tr("Result")])
        self.table.setAccessibleName(self.tr("Network activity"))
        self.refresh_button = QPushButton(self.tr("Refresh"))
        self.refresh_button.clicked.connect(self.refresh)
        self.clear_button = QPushButton(self.tr("Clear"))
        self.clear_button.setToolTip(self.tr("Forget the list (nothing else changes)."))
        self.clear_button.clicked.connect(self.clear)
        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        box = QVBoxLayout()
        box.addWidget(note_label(self.tr(
            "Every connection Ponder itself made: model and embedding-model downloads and remote engines, with "
            "where, when and how much. Anything else would be listed here as unexpected.")))
        box.addWidget(self.table)
        box.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(card(self.tr("Network activity"), box))
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    def refresh(self) -> None:
        """Read the records in the background and show them."""
        if self._loading:
            return
        self._loading = True
        run_background(self._jobs, self, call(lambda: read_activity(SHOWN)), self._show, self._failed)

    def clear(self) -> None:
        """Forget every record."""
        clear_activity()
        self._show([])

    def _failed(self, message: str) -> None:
        self._loading = False
        self.table.clear()
        failed = QTreeWidgetItem([self.tr("Could not read the list: {0}").format(message)])
        self.table.addTopLevelItem(failed)
        failed.setFirstColumnSpanned(True)

    def _show(self, records: list[NetworkRecord]) -> None:
        self._loading = False
        if records == self.records and self.table.topLevelItemCount():
            return
        self.records = records
        self.table.clear()
        if not records:
            empty = QTreeWidgetItem([self.tr("Nothing yet: Ponder has made no connection.")])
            self.table.addTopLevelItem(empty)
            empty.setFirstColumnSpanned(True)
        for r in records:
            self.table.addTopLevelItem(self._item(r))
        for column in range(4):
            self.table.resizeColumnToContents(column)

    def _item(self, r: NetworkRecord) -> QTreeWidgetItem:
        kind = {DOWNLOAD: self.tr("Download"), REMOTE: self.tr("Remote engine"),
                UNEXPECTED: self.tr("Unexpected")}.get(r.kind, r.kind)
        data = f"↓ {format_bytes(r.received)}" + (f" · ↑ {format_bytes(r.sent)}" if r.sent else "")
        if r.result == "ok":
            result = self.tr("Done")
        elif r.result == "cancelled":
            result = self.tr("Cancelled")
        elif r.result.startswith("blocked"):
            result = self.tr("Refused: offline mode")
        else:
            result = self.tr("Failed")
        when = datetime.fromtimestamp(r.time).strftime("%Y-%m-%d %H:%M:%S")
        item = QTreeWidgetItem([when, f"{kind}: {r.detail}", r.host, data, result])
        where = ", ".join(r.addresses) or r.host
        item.setToolTip(2, self.tr("Reached: {0}").format(where))
        item.setToolTip(1, self.tr("{0} — by {1}, for {2:.1f} s").format(r.detail, r.process, r.duration_s))
        item.setToolTip(4, r.result)
        if r.kind == UNEXPECTED:
            for column in range(5):
                item.setForeground(column, QBrush(QColor(ERROR_COLOR)))
        item.setData(0, Qt.ItemDataRole.UserRole, r.time)
        return item

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()
        self._timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self._timer.stop()
        super().hideEvent(event)
