"""The main window. For now: the model catalog with what this machine can run, and the hardware found.

The chat window, settings and documents arrive with their issues; this window already uses only engine's public
functions and keeps slow work (hardware probing) off the GUI thread.
"""

from __future__ import annotations

import sys
import threading

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QHeaderView,
    QLabel,
    QMainWindow,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine import __version__
from engine.catalog import load_catalog
from engine.hardware import HardwareReport, fit, probe
from engine.store import list_installed


class _Probe(QObject):
    done = Signal(object)

    def start(self) -> None:
        threading.Thread(target=lambda: self.done.emit(probe()), daemon=True).start()


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    return table


class MainWindow(QMainWindow):
    """Models and hardware tabs."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle(f"Ponder {__version__}")
        self.resize(960, 600)
        tabs = QTabWidget()
        self.models = _table(["Model", "Parameters", "License", "Download", "int4 RAM", "Fits here", "Installed"])
        self.hardware = _table(["Provider", "Works", "Reason"])
        self.summary = QLabel("Looking at this computer's hardware…")
        hw = QWidget()
        layout = QVBoxLayout(hw)
        layout.addWidget(self.summary)
        layout.addWidget(self.hardware)
        tabs.addTab(self.models, "Models")
        tabs.addTab(hw, "Hardware")
        self.setCentralWidget(tabs)
        self._fill_models(None)
        self._probe = _Probe()
        self._probe.done.connect(self._on_probe)
        self._probe.start()

    def _fill_models(self, report: HardwareReport | None) -> None:
        installed = {m.manifest.source.get("catalog_id") for m in list_installed()}
        catalog = load_catalog()
        self.models.setRowCount(len(catalog))
        for row, entry in enumerate(catalog):
            needs = entry.needs["int4"]
            fits = fit(needs.ram_bytes, needs.vram_bytes, report) if report else "…"
            cells = [entry.name, f"{entry.params / 1e9:.1f} B", entry.license, f"{entry.download_bytes / 1e9:.1f} GB",
                     f"{needs.ram_bytes / 1e9:.1f} GB", fits, "yes" if entry.id in installed else ""]
            for col, text in enumerate(cells):
                self.models.setItem(row, col, QTableWidgetItem(text))

    def _on_probe(self, report: HardwareReport) -> None:
        cpu = report.cpu
        self.summary.setText(f"{cpu.name}: {cpu.physical_cores} cores · RAM {report.ram_total_bytes / 1e9:.1f} GB · "
                             f"GPUs: {', '.join(g.name for g in report.gpus) or 'none'} · "
                             f"ONNX Runtime {report.onnxruntime}")
        self.hardware.setRowCount(len(report.providers))
        for row, status in enumerate(report.providers):
            for col, text in enumerate([status.name, "yes" if status.works else "no", status.reason]):
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.hardware.setItem(row, col, item)
        self._fill_models(report)


def main() -> int:
    """Start the application and show the main window."""
    app = QApplication.instance() or QApplication(sys.argv)
    window = MainWindow()
    window.show()
    return int(app.exec())
