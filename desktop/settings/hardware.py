"""Settings → Hardware: the devices found, which ONNX Runtime providers start here, the provider and thread
choice, and a speed test of the installed model on each working provider."""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.jobs import call, run_background, run_inference
from desktop.settings.chart import ERROR_COLOR, Bar, SpeedChart
from desktop.settings.widgets import card, narrow, note_label
from desktop.workers import BackgroundJobs, InferenceThread
from engine.models.store import InstalledModel, list_installed
from engine.runtime.bench import run_bench
from engine.system.hardware import HardwareReport, probe
from engine.system.settings import PROVIDER_CHOICES, Settings

OK_COLOR = "#2e9d5b"
LABELS = {"cpu": "CPU", "cuda": "CUDA", "dml": "DirectML", "coreml": "CoreML"}
BenchItem = tuple[str, str, float | None, str]  # provider asked, provider used, decode tokens/s, error


def _gb(n: int) -> str:
    return f"{n / 1e9:.1f} GB"


def bench_model(installed: Sequence[InstalledModel], default_model: str) -> InstalledModel | None:
    """The model the speed test uses: the default one if installed, else the first installed, else None."""
    return next((m for m in installed if m.name == default_model), installed[0] if installed else None)


def _bench_all(model_dir: Path, providers: list[str], threads: int | None) -> Generator[BenchItem, None, None]:
    for key in providers:
        try:
            result = run_bench(model_dir, contexts=(128,), decode_tokens=32, provider=key, threads=threads)
        except Exception as err:  # one provider failing must not stop the others; the text is the reason
            yield key, "", None, str(err).splitlines()[0] if str(err) else type(err).__name__
            continue
        yield key, result.provider, result.results[0].decode_tokens_per_s, ""


class HardwareSection(QWidget):
    """Devices, providers (each marked working or not, with its reason), provider and threads, speed test."""

    def __init__(self, current: Callable[[], Settings], change: Callable[..., None], inference: InferenceThread,
                 jobs: BackgroundJobs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._current, self._change = current, change
        self._inference, self._jobs = inference, jobs
        self.report: HardwareReport | None = None
        self.model: InstalledModel | None = None
        self._models_known = False
        self._probing = False
        self._benching = False
        self._bars: list[Bar] = []
        self._build()
        self.load(current())
        self.refresh_hardware()
        self.refresh_models()

    # ---- layout -------------------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(14)

        devices = QFormLayout()
        self.device_labels: dict[str, QLabel] = {}
        for key, label in (("cpu", self.tr("Processor")), ("cores", self.tr("Cores")),
                           ("features", self.tr("Instruction sets")), ("ram", self.tr("Memory")),
                           ("gpus", self.tr("Graphics")), ("system", self.tr("System"))):
            value = QLabel(self.tr("Checking…"))
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.device_labels[key] = value
            devices.addRow(label, value)
        layout.addWidget(card(self.tr("This computer"), devices))

        providers = QVBoxLayout()
        self._provider_grid = QGridLayout()
        self._provider_grid.setColumnStretch(2, 1)
        self._provider_grid.setHorizontalSpacing(16)
        self._provider_rows: list[tuple[QLabel, QLabel, QLabel]] = []
        providers.addLayout(self._provider_grid)
        self.recheck = QPushButton(self.tr("Check again"))
        self.recheck.clicked.connect(self.refresh_hardware)
        providers.addWidget(self.recheck, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(card(self.tr("ONNX Runtime providers"), providers))

        choice = QFormLayout()
        self.provider = QComboBox()
        names = {"auto": self.tr("Automatic (best available)"), "cpu": self.tr("CPU"),
                 "cuda": self.tr("NVIDIA CUDA"), "dml": self.tr("DirectML (Windows GPUs)"),
                 "coreml": self.tr("Core ML (Apple)")}
        for key in PROVIDER_CHOICES:
            self.provider.addItem(names[key], key)
        self.provider.currentIndexChanged.connect(self._provider_changed)
        choice.addRow(self.tr("Run models on"), self.provider)
        self.provider_note = note_label()
        choice.addRow("", self.provider_note)
        self.threads = QSpinBox()
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText(self.tr("Automatic"))
        self.threads.setToolTip(self.tr("How many CPU threads a model uses; 0 = one per physical core."))
        self.threads.valueChanged.connect(self._threads_changed)
        choice.addRow(self.tr("CPU threads"), self.threads)
        self.unload_after = QSpinBox()
        self.unload_after.setRange(0, 24 * 60)
        self.unload_after.setSuffix(self.tr(" min"))
        self.unload_after.setSpecialValueText(self.tr("Never"))
        self.unload_after.setToolTip(self.tr("A loaded model that is not used for this long is released, and "
                                             "loaded again by the next message; 0 keeps it loaded."))
        self.unload_after.valueChanged.connect(lambda value: self._change(unload_after_min=value))
        choice.addRow(self.tr("Unload an idle model after"), self.unload_after)
        narrow(self.provider, self.threads, self.unload_after)
        layout.addWidget(card(self.tr("Where models run"), choice))

        speed = QVBoxLayout()
        row = QHBoxLayout()
        self.speed_button = QPushButton(self.tr("Speed test"))
        self.speed_button.clicked.connect(self.run_speed_test)
        row.addWidget(self.speed_button)
        self.speed_status = note_label()
        row.addWidget(self.speed_status, 1)
        speed.addLayout(row)
        self.chart = SpeedChart()
        speed.addWidget(self.chart)
        self.speed_text = note_label()
        self.speed_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        speed.addWidget(self.speed_text)
        layout.addWidget(card(self.tr("Speed test"), speed))
        layout.addStretch(1)
        self._update_speed_button()

    def load(self, settings: Settings) -> None:
        """Show ``settings`` without reporting them as changes."""
        for widget in (self.provider, self.threads, self.unload_after):
            widget.blockSignals(True)
        self.provider.setCurrentIndex(max(0, self.provider.findData(settings.provider)))
        self.threads.setValue(settings.threads)
        self.unload_after.setValue(settings.unload_after_min)
        for widget in (self.provider, self.threads, self.unload_after):
            widget.blockSignals(False)
        self._update_provider_note()

    # ---- hardware -------------------------------------------------------------------------------------------
    def refresh_hardware(self) -> None:
        """Probe the hardware again on a background thread."""
        if self._probing:
            return
        self._probing = True
        self.recheck.setEnabled(False)
        run_background(self._jobs, self, call(probe), self._on_report, self._on_probe_failed)

    def _on_probe_failed(self, message: str) -> None:
        self._probing = False
        self.recheck.setEnabled(True)
        self.device_labels["cpu"].setText(self.tr("Could not look at the hardware: {error}").format(error=message))

    def _on_report(self, report: HardwareReport) -> None:
        self._probing = False
        self.recheck.setEnabled(True)
        self.report = report
        cpu = report.cpu
        labels = self.device_labels
        labels["cpu"].setText(f"{cpu.name} ({cpu.arch})")
        labels["cores"].setText(self.tr("{physical} physical, {logical} logical").format(
            physical=cpu.physical_cores, logical=cpu.logical_cores))
        labels["features"].setText(", ".join(cpu.features) or self.tr("none of note"))
        labels["ram"].setText(self.tr("{total} in total, {free} available").format(
            total=_gb(report.ram_total_bytes), free=_gb(report.ram_available_bytes)))
        gpus = [f"{g.name} ({_gb(g.memory_bytes)})" if g.memory_bytes else g.name for g in report.gpus]
        labels["gpus"].setText("\n".join(gpus) or self.tr("No supported GPU found"))
        labels["system"].setText(self.tr("{os}, ONNX Runtime {version}").format(os=report.os,
                                                                              version=report.onnxruntime))
        for labels_row in self._provider_rows:
            for label in labels_row:
                self._provider_grid.removeWidget(label)
                label.deleteLater()
        self._provider_rows = []
        for i, status in enumerate(report.providers):
            name = QLabel(f"<b>{LABELS[status.key]}</b> <span style='color:gray'>{status.name}</span>")
            name.setAccessibleName(status.name)
            state = QLabel(self.tr("✓ Works") if status.works else self.tr("✗ Not available"))
            state.setStyleSheet(f"color: {OK_COLOR if status.works else ERROR_COLOR}; font-weight: 600;")
            reason = QLabel(status.reason)
            reason.setWordWrap(True)
            reason.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            for col, label in enumerate((name, state, reason)):
                self._provider_grid.addWidget(label, i, col, Qt.AlignmentFlag.AlignTop)
                label.show()  # at once, not on the layout's next event-loop turn
            self._provider_rows.append((name, state, reason))
        self._update_provider_note()
        self._update_speed_button()

    def provider_rows(self) -> list[tuple[str, bool, str]]:
        """What the provider list shows: (ONNX Runtime name, works, reason), after the probe finished."""
        if self.report is None:
            return []
        return [(row[0].accessibleName(), status.works, row[2].text())
                for row, status in zip(self._provider_rows, self.report.providers, strict=True)]

    # ---- choices ------------------------------------------------------------------------------------------
    def _provider_changed(self) -> None:
        self._change(provider=str(self.provider.currentData()))
        self._update_provider_note()
        self._update_speed_button()

    def _threads_changed(self, value: int) -> None:
        self._change(threads=value)

    def _update_provider_note(self) -> None:
        key = str(self.provider.currentData())
        note, error = "", False
        if self.report is None:
            note = self.tr("Checking which providers start here…")
        elif key == "auto":
            best = next((p.key for p in self.report.providers if p.works), "cpu")
            note = self.tr("Models will run on {provider}.").format(provider=LABELS[best])
        else:
            status = next((p for p in self.report.providers if p.key == key), None)
            if status is not None and not status.works:
                error = True
                note = self.tr("{reason} Models will run on the CPU instead.").format(reason=status.reason)
        self.provider_note.setText(note)
        self.provider_note.setStyleSheet(f"color: {ERROR_COLOR};" if error else "")
        self.provider_note.setProperty("error", error)
        self.provider_note.setVisible(bool(note))

    # ---- speed test ---------------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh_models()

    def refresh_models(self) -> None:
        """Look up the installed models again (a model may have been installed since) off the GUI thread."""
        run_background(self._jobs, self, call(list_installed), self._on_models, self._on_models_failed)

    def _on_models(self, installed: list[InstalledModel]) -> None:
        self._models_known = True
        self.model = bench_model(installed, self._current().default_model)
        self._update_speed_button()

    def _on_models_failed(self, message: str) -> None:
        self._models_known = True
        self.model = None
        self._update_speed_button()
        self.speed_status.setText(message)

    def bench_providers(self) -> list[str]:
        """Providers the speed test tries: the chosen one, or with Automatic every one that works here."""
        key = str(self.provider.currentData())
        if key != "auto":
            return [key]
        if self.report is None:
            return []
        return [p.key for p in self.report.providers if p.works]

    def _update_speed_button(self) -> None:
        button = self.speed_button
        if self._benching:
            button.setEnabled(False)
            return
        if self._models_known and self.model is None:
            button.setEnabled(False)
            button.setToolTip(self.tr("Install a model first (Models page): the speed test runs an installed "
                                      "model."))
        elif self.model is None or not self.bench_providers():
            button.setEnabled(False)
            button.setToolTip(self.tr("Looking at this computer…"))
        else:
            button.setEnabled(True)
            button.setToolTip(self.tr("Measure how fast {model} writes on each provider tried (decode tokens "
                                      "per second).").format(model=self.model.name))

    def run_speed_test(self) -> None:
        """Benchmark the model on each provider in turn, on the inference thread; bars appear as they finish."""
        providers = self.bench_providers()
        if self.model is None or not providers or self._benching:
            return
        self._benching = True
        self._bars = []
        self.chart.set_bars([])
        self.speed_text.setText("")
        self.speed_status.setText(self.tr("Testing {model}…").format(model=self.model.name))
        self._update_speed_button()
        threads = self._current().threads or None
        model_dir = self.model.path
        run_inference(self._inference, self, lambda: _bench_all(model_dir, providers, threads),
                      self._bench_done, self._bench_failed, self._bench_items)

    def _bench_items(self, items: list[Any]) -> None:
        for asked, used, speed, error in items:
            label = LABELS.get(asked, asked)
            if speed is not None and used and used != asked:
                label = self.tr("{asked} → {used}").format(asked=label, used=LABELS.get(used, used))
            self._bars.append(Bar(label, speed, error))
        self.chart.set_bars(self._bars)
        lines = [self.tr("{provider}: {value:.1f} tokens/s").format(provider=b.label, value=b.value)
                 if b.value is not None else self.tr("{provider}: failed ({error})").format(provider=b.label,
                                                                                         error=b.error)
                 for b in self._bars]
        self.speed_text.setText("\n".join(lines))

    def _bench_done(self, _: object) -> None:
        self._benching = False
        self.speed_status.setText(self.tr("Decode speed of {model} (128-token prompt, 32 new tokens).").format(
            model=self.model.name if self.model else ""))
        self._update_speed_button()

    def _bench_failed(self, message: str) -> None:
        self._benching = False
        self.speed_status.setText(self.tr("The speed test failed: {error}").format(error=message))
        self._update_speed_button()
