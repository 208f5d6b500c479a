"""The Models page: the catalog with what fits this computer, downloads in progress, the installed models, and
converting a local Hugging Face folder. Slow work (hardware probe, pulls, conversions, deletes) runs on
BackgroundJobs; this page only calls engine's public functions."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.jobs import call, run_background
from desktop.models.downloads import ACTIVE, DownloadsBox, Job, JobPanel, Phase
from desktop.models.hub_add import HubAddBox
from desktop.offline import offline_note
from desktop.workers import BackgroundJobs
from engine.models.catalog import CatalogEntry, conversion_needs, load_catalog
from engine.models.convert.pipeline import inspect_checkpoint
from engine.models.pulljobs import JobKind, PullSpec
from engine.models.recommend import (
    auto_provider,
    download_bytes,
    expected_decode_tokens_per_s,
    fit_badge,
    memory_by_context,
    needs,
)
from engine.models.store import InstalledModel, delete, list_installed
from engine.system.errors import PonderError
from engine.system.hardware import HardwareReport, probe
from engine.system.paths import check_model_name
from engine.system.progress import format_bytes
from engine.system.settings import Settings, save_settings

BADGE_STYLE = {"fits": "#2e7d32", "slow": "#ef6c00", "won't fit": "#c62828"}
PRECISIONS = ("int4", "fp16")


def table(headers: list[str]) -> QTableWidget:
    """A read-only table sized to its contents."""
    view = QTableWidget(0, len(headers))
    view.setHorizontalHeaderLabels(headers)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.horizontalHeader().setStretchLastSection(True)
    view.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    view.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
    view.verticalHeader().setVisible(False)
    view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return view


class ModelsPage(QWidget):
    """Catalog, downloads and installed models."""

    model_installed = Signal(str)
    models_changed = Signal()
    hardware_ready = Signal(object)
    default_model_changed = Signal(str)

    def __init__(self, jobs: BackgroundJobs, settings: Callable[[], Settings], parent: QWidget | None = None, *,
                 probe_fn: Callable[[], HardwareReport] = probe) -> None:
        super().__init__(parent)
        self._jobs, self._settings = jobs, settings
        self._report: HardwareReport | None = None
        self._catalog: list[CatalogEntry] = []
        # (kind, model, precision, path, kv_cache) awaiting the hardware probe
        self._queued: list[tuple[JobKind, str, str, str, str]] = []
        self._default: str | None = None
        self._installed_shown: object = None
        self.badges: dict[tuple[str, str], QLabel] = {}
        self.get_buttons: dict[str, QToolButton] = {}
        self.summary = QLabel(self.tr("Looking at this computer's hardware…"))
        self.summary.setWordWrap(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color:#c62828")
        self.status.hide()
        self.downloads = DownloadsBox(jobs, settings, self)
        self.downloads.installed.connect(self._on_installed)
        self.downloads.installed_elsewhere.connect(self._on_installed_elsewhere)
        self.downloads.changed.connect(self.refresh)
        self.downloads.failed.connect(self._show_status)
        self.catalog_table = table([self.tr("Model"), self.tr("Parameters"), self.tr("License"), self.tr("Download"),
                                    "int4", "fp16", ""])
        self.installed_table = table([self.tr("Name"), self.tr("Precision"), self.tr("Provider"), self.tr("Size"),
                                      "", ""])
        self.add_folder_button = QPushButton(self.tr("Add a local Hugging Face folder…"))
        self.add_folder_button.clicked.connect(self.add_local_folder)
        catalog_box, installed_box = QGroupBox(self.tr("Available models")), QGroupBox(self.tr("Installed models"))
        note = QLabel(self.tr("Speeds shown in tooltips are estimates for this computer."))
        note.setStyleSheet("color:gray")
        self.hub_add = HubAddBox(jobs, lambda: self._report, lambda: self._settings().hub_endpoint or None)
        self.hub_add.get_requested.connect(self.get)
        catalog_layout = QVBoxLayout(catalog_box)
        catalog_layout.addWidget(self.catalog_table)
        catalog_layout.addWidget(note)
        catalog_layout.addWidget(self.hub_add)
        installed_layout = QVBoxLayout(installed_box)
        installed_layout.addWidget(self.installed_table)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.add_folder_button)
        installed_layout.addLayout(row)
        layout = QVBoxLayout(self)
        for widget in (self.summary, self.status, self.downloads, catalog_box, installed_box):
            layout.addWidget(widget)
        layout.setStretch(3, 3)
        layout.setStretch(4, 2)
        try:
            self._catalog = load_catalog()
        except PonderError as err:
            self._show_status(str(err))
        self._build_catalog()
        self.refresh()
        run_background(self._jobs, self, call(probe_fn), self._on_probe, self._show_status)

    # ----- public API
    @property
    def job_list(self) -> dict[str, Job]:
        """The unfinished jobs shown, by installed name."""
        return self.downloads.job_list

    @property
    def panels(self) -> dict[str, JobPanel]:
        """Their panels, by installed name."""
        return self.downloads.panels

    @property
    def report(self) -> HardwareReport | None:
        """The hardware probe's result, once it is in."""
        return self._report

    def get(self, model_id: str, precision: str = "int4", kv_cache: str = "float") -> None:
        """Download and install catalog model ``model_id`` (or a Hub repository ``owner/name[@revision]``) at
        ``precision`` (``kv_cache="int8"``: converted with the int8 KV cache, CPU only); returns at once (progress
        shows in the Downloads box; ``model_installed`` is emitted at the end)."""
        note = offline_note()
        if note:
            self._show_status(note)
            return
        self._start(JobKind.PULL, model_id, precision, "", kv_cache)

    def convert_folder(self, path: Path, name: str, precision: str = "int4") -> None:
        """Convert the checkpoint folder ``path`` and install it as ``name``; returns at once."""
        try:
            check_model_name(name)
            if name in {m.name for m in list_installed()}:
                raise PonderError(self.tr("A model named {0} is already installed.").format(name),
                                  self.tr("Choose another name."))
            inspect_checkpoint(path)
        except PonderError as err:
            QMessageBox.warning(self, self.tr("Cannot convert this folder"), str(err))
            return
        self._start(JobKind.CONVERT, name, precision, str(path))

    def pause_all(self) -> None:
        """Pause every running job (before the app closes; they resume next time)."""
        self.downloads.pause_all()

    @Slot()
    def refresh(self) -> None:
        """Re-read the installed models and settings, and redraw."""
        self._fill_catalog()
        self._fill_installed()
        self.downloads.set_offline(offline_note())
        self.hub_add.refresh()

    # ----- jobs
    def _provider(self) -> str | None:
        chosen = self._settings().provider
        if chosen != "auto":
            return chosen
        return auto_provider(self._report) if self._report is not None else None

    def _start(self, kind: JobKind, model: str, precision: str, path: str, kv_cache: str = "float") -> None:
        provider = self._provider()
        if provider is None:
            self._queued.append((kind, model, precision, path, kv_cache))
            self._show_status(self.tr("Waiting for the hardware check to choose where the model runs…"), error=False)
            return
        try:
            spec = PullSpec.for_convert(Path(path), model, precision, provider) if kind is JobKind.CONVERT \
                else PullSpec.for_pull(model, precision, provider, kv_cache=kv_cache)
        except PonderError as err:
            self._show_status(str(err))
            return
        self.status.hide()
        self.downloads.start(spec)
        self._fill_catalog()

    @Slot(object)
    def _on_installed(self, model: InstalledModel) -> None:
        self.refresh()
        self.model_installed.emit(model.name)
        self.models_changed.emit()

    @Slot(str)
    def _on_installed_elsewhere(self, _name: str) -> None:
        self.refresh()
        self.models_changed.emit()

    @Slot(object)
    def _on_probe(self, report: HardwareReport) -> None:
        self._report = report
        cpu, provider = report.cpu, auto_provider(report)
        gpus = ", ".join(g.name for g in report.gpus) or self.tr("none")
        where = {"cuda": "CUDA", "dml": "DirectML"}.get(provider, self.tr("the CPU"))
        self.summary.setText(self.tr("{0} · {1} cores · {2} memory ({3} free) · GPU: {4} · models run on {5}").format(
            cpu.name, cpu.physical_cores, format_bytes(report.ram_total_bytes),
            format_bytes(report.ram_available_bytes), gpus, where))
        self._fill_catalog()
        self.hardware_ready.emit(report)
        queued, self._queued = self._queued, []
        for kind, model, precision, path, kv_cache in queued:
            self._start(kind, model, precision, path, kv_cache)

    @Slot(str)
    def _show_status(self, message: str, error: bool = True) -> None:
        self.status.setStyleSheet("color:#c62828" if error else "color:gray")
        self.status.setText(message)
        self.status.show()

    def _needs_text(self, entry: CatalogEntry, provider: str | None) -> str:
        need = needs(entry, "int4")
        text = self.tr("int4: {0} on disk, {1} of memory to run").format(format_bytes(need.disk_bytes),
                                                                        format_bytes(need.ram_bytes))
        if provider is None or entry.prebuilt_for("int4", provider) is None:
            convert = conversion_needs(entry.architecture, "int4")
            text += self.tr("; converting it here needs {0} of memory").format(format_bytes(convert.ram_bytes))
        return text

    # ----- catalog table
    def _build_catalog(self) -> None:
        """One row per catalog entry with its badges and Get button; :meth:`_fill_catalog` updates them."""
        self.catalog_table.setRowCount(len(self._catalog))
        for row, entry in enumerate(self._catalog):
            params = f"{entry.params / 1e9:.1f} B" if entry.params >= 1e8 else f"{entry.params / 1e6:.1f} M"
            for col, text in enumerate([entry.name, params, entry.license, ""]):
                item = QTableWidgetItem(text)
                item.setToolTip(entry.license if col == 2 else "\n\n".join(
                    t for t in (entry.description, entry.build_note) if t))
                self.catalog_table.setItem(row, col, item)
            for col, precision in ((4, "int4"), (5, "fp16")):
                badge = QLabel()
                badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
                self.badges[(entry.id, precision)] = badge
                self.catalog_table.setCellWidget(row, col, badge)
            button = QToolButton()
            button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
            menu = QMenu(button)
            for precision in PRECISIONS:
                action = menu.addAction(self.tr("Get {0}").format(precision))
                action.triggered.connect(lambda _=False, m=entry.id, p=precision: self.get(m, p))
            long_context = menu.addAction(self.tr("Get int4 with the int8 cache (long conversations, CPU)"))
            long_context.setToolTip(self.tr("Converted here with an int8 KV cache: a quarter of the cache's memory "
                                            "and faster answers deep into a long conversation."))
            long_context.triggered.connect(lambda _=False, m=entry.id: self.get(m, "int4", "int8"))
            button.setMenu(menu)
            button.clicked.connect(lambda _=False, m=entry.id: self.get(m, "int4"))
            self.get_buttons[entry.id] = button
            self.catalog_table.setCellWidget(row, 6, button)
        header = self.catalog_table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col, width in ((2, 150), (4, 90), (5, 90), (6, 130)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
            self.catalog_table.setColumnWidth(col, width)

    def _set_badge(self, label: QLabel, entry: CatalogEntry, precision: str) -> None:
        if self._report is None:
            label.setText("…")
            label.setToolTip(self.tr("Checking this computer…"))
            return
        verdict = fit_badge(entry, precision, self._report)
        label.setText({"fits": self.tr("fits"), "slow": self.tr("slow"), "won't fit": self.tr("won't fit")}[verdict])
        label.setProperty("verdict", verdict)
        label.setStyleSheet(f"QLabel {{ color: white; background: {BADGE_STYLE[verdict]}; border-radius: 6px; "
                            "padding: 1px 8px; margin: 2px; }")
        speed = expected_decode_tokens_per_s(entry, precision, self._report)
        if precision == "fp16" and auto_provider(self._report) not in ("cuda", "dml"):
            tip = self.tr("fp16 needs a CUDA or DirectML GPU.")
        elif speed > 0:
            tip = self.tr("About {0} tokens/s on this computer (estimate).").format(round(speed))
        else:
            tip = self.tr("Not enough memory on this computer.")
        label.setToolTip("\n".join([tip, *self._memory_lines(entry, precision)]))

    def _memory_lines(self, entry: CatalogEntry, precision: str) -> list[str]:
        """Memory at the context lengths people use; the cache grows with the conversation."""
        rows = memory_by_context(entry, precision)
        if not rows:
            return []
        lines = [self.tr("Memory once a conversation reaches:")]
        for row in rows:
            line = self.tr("{0}k tokens: {1}").format(row.context // 1024, format_bytes(row.float_cache_bytes))
            if row.int8_cache_bytes is not None:
                line += self.tr(" ({0} with the int8 cache)").format(format_bytes(row.int8_cache_bytes))
            lines.append(line)
        return lines

    @Slot()
    def _fill_catalog(self) -> None:
        installed = {(m.manifest.source.get("catalog_id"), m.manifest.precision) for m in list_installed()}
        jobs = {j.spec.model: j for j in self.job_list.values() if j.spec.kind is JobKind.PULL}
        offline = offline_note()
        provider = self._provider()
        for row, entry in enumerate(self._catalog):
            size = download_bytes(entry, "int4", provider) if provider else entry.download_bytes
            size_item = self.catalog_table.item(row, 3)
            if size_item is not None:
                size_item.setText(format_bytes(size))
                size_item.setToolTip(self._needs_text(entry, provider))
            for precision in PRECISIONS:
                self._set_badge(self.badges[(entry.id, precision)], entry, precision)
            button = self.get_buttons[entry.id]
            text, enabled, tip = self.tr("Get"), True, self.tr("Download and install (int4); the menu has fp16.")
            if offline:
                enabled, tip = False, offline
            elif (entry.id, "int4") in installed:
                text, tip = self.tr("Installed"), self.tr("Installed. Use the menu to get another precision.")
            elif entry.id in jobs and jobs[entry.id].state in (*ACTIVE, Phase.ELSEWHERE):
                text, enabled, tip = self.tr("Downloading…"), False, ""
            elif entry.id in jobs:
                text, tip = self.tr("Resume"), self.tr("Continue the download where it stopped.")
            button.setText(text)
            button.setEnabled(enabled)
            button.setToolTip(tip)

    # ----- installed table
    def _default_name(self) -> str:
        return self._default if self._default is not None else self._settings().default_model

    def _fill_installed(self) -> None:
        models = list_installed()
        shown = ([(m.name, m.manifest.size_bytes) for m in models], self._default_name())
        if shown == self._installed_shown:
            return  # unchanged: keep the widgets
        self._installed_shown = shown
        self.installed_table.setRowCount(len(models))
        default = self._default_name()
        for row, model in enumerate(models):
            m = model.manifest
            for col, text in enumerate([model.name, m.precision, ", ".join(m.providers), format_bytes(m.size_bytes)]):
                self.installed_table.setItem(row, col, QTableWidgetItem(text))
            default_button = QPushButton(self.tr("Default") if model.name == default else self.tr("Set as default"))
            default_button.setEnabled(model.name != default)
            default_button.clicked.connect(lambda _=False, n=model.name: self.set_default(n))
            delete_button = QPushButton(self.tr("Delete"))
            delete_button.setObjectName(f"delete-{model.name}")
            delete_button.clicked.connect(lambda _=False, n=model.name: self.delete_model(n))
            self.installed_table.setCellWidget(row, 4, default_button)
            self.installed_table.setCellWidget(row, 5, delete_button)
        header = self.installed_table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        if not models:
            self.installed_table.setRowCount(1)
            self.installed_table.setItem(0, 0, QTableWidgetItem(self.tr("No models yet: get one above.")))

    def set_default(self, name: str) -> None:
        """Make ``name`` the model new chats use (saved in settings; ``default_model_changed`` is emitted)."""
        self._default = name
        save_settings(replace(self._settings(), default_model=name))
        self.default_model_changed.emit(name)
        self._fill_installed()

    def delete_model(self, name: str) -> None:
        """Ask, then delete the installed model ``name`` in the background."""
        answer = QMessageBox.question(self, self.tr("Delete model"),
                                      self.tr("Delete {0}? Its files are removed from this computer.").format(name))
        if answer != QMessageBox.StandardButton.Yes:
            return
        if name == self._default_name():
            self.set_default("")
        run_background(self._jobs, self, call(delete, name), self._on_deleted, self._show_status)

    @Slot(object)
    def _on_deleted(self, _: object) -> None:
        self.refresh()
        self.models_changed.emit()

    def add_local_folder(self) -> None:
        """Ask for a checkpoint folder and a name, then convert it."""
        path = QFileDialog.getExistingDirectory(self, self.tr("Choose a Hugging Face checkpoint folder"))
        if not path:
            return
        suggested = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(path).name).strip("-.") or "local-model"
        name, ok = QInputDialog.getText(self, self.tr("Name the model"), self.tr("Install it as:"), text=suggested)
        if ok and name.strip():
            self.convert_folder(Path(path), name.strip())

    def showEvent(self, event: QShowEvent) -> None:
        """Settings (offline mode) may have changed while the page was hidden."""
        super().showEvent(event)
        self.refresh()
