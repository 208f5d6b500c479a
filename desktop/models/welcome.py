"""First run (no model installed yet): one recommended model for this computer and one button to get it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from desktop.jobs import call, run_background
from desktop.workers import BackgroundJobs
from engine.models.catalog import load_catalog
from engine.models.recommend import Recommendation, download_bytes, needs, recommend
from engine.system.errors import PonderError
from engine.system.hardware import HardwareReport, probe
from engine.system.progress import format_bytes


class WelcomePage(QWidget):
    """Shows :func:`engine.models.recommend.recommend`'s choice: size, memory, expected speed, and a big Get button.

    ``jobs`` given: probes the hardware itself in the background; else call :meth:`set_report` (for instance from
    ``ModelsPage.hardware_ready``, to probe only once).
    """

    get_requested = Signal(str, str)  # catalog id, precision
    show_all = Signal()

    def __init__(self, jobs: BackgroundJobs | None = None, parent: QWidget | None = None, *,
                 probe_fn: Callable[[], HardwareReport] = probe) -> None:
        super().__init__(parent)
        self.recommendation: Recommendation | None = None
        title = QLabel(self.tr("Welcome to Ponder"))
        title.setStyleSheet("font-size: 22pt; font-weight: 600;")
        intro = QLabel(self.tr("Private AI on your own computer: the model runs here, and nothing you type leaves "
                               "this machine. To begin, download a model."))
        intro.setWordWrap(True)
        self.card = QFrame()
        self.card.setObjectName("recommendCard")
        self.card.setStyleSheet("#recommendCard { border: 1px solid palette(mid); border-radius: 10px; }")
        self.heading = QLabel(self.tr("Recommended for this computer"))
        self.heading.setStyleSheet("color: gray;")
        self.model_name = QLabel(self.tr("Looking at this computer's hardware…"))
        self.model_name.setStyleSheet("font-size: 16pt; font-weight: 600;")
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.download_size, self.memory, self.speed = QLabel("—"), QLabel("—"), QLabel("—")
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        self.reason.setStyleSheet("color: gray;")
        facts = QGridLayout()
        for row, (label, value) in enumerate([(self.tr("Download"), self.download_size),
                                              (self.tr("Memory needed"), self.memory),
                                              (self.tr("Speed"), self.speed)]):
            facts.addWidget(QLabel(f"<b>{label}</b>"), row, 0)
            facts.addWidget(value, row, 1)
        facts.setColumnStretch(1, 1)
        self.get_button = QPushButton(self.tr("Get the recommended model"))
        self.get_button.setEnabled(False)
        self.get_button.setMinimumHeight(48)
        self.get_button.setStyleSheet("QPushButton { font-size: 13pt; font-weight: 600; padding: 8px 24px; }")
        self.get_button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.get_button.clicked.connect(self._on_get)
        self.all_button = QPushButton(self.tr("See all models"))
        self.all_button.setFlat(True)
        self.all_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.all_button.setStyleSheet("QPushButton { color: palette(link); text-decoration: underline; border: none; }")
        self.all_button.clicked.connect(self.show_all)
        card_layout = QVBoxLayout(self.card)
        card_layout.setContentsMargins(20, 16, 20, 16)
        for widget in (self.heading, self.model_name, self.description):
            card_layout.addWidget(widget)
        card_layout.addLayout(facts)
        card_layout.addWidget(self.reason)
        card_layout.addSpacing(8)
        card_layout.addWidget(self.get_button)
        column = QVBoxLayout()
        column.addWidget(title)
        column.addWidget(intro)
        column.addSpacing(12)
        column.addWidget(self.card)
        column.addWidget(self.all_button, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addStretch(1)
        holder = QWidget()
        holder.setMaximumWidth(620)
        holder.setLayout(column)
        outer = QHBoxLayout(self)  # centred, at most 620 wide; wrapped text gets the height it needs
        outer.setContentsMargins(24, 32, 24, 24)
        outer.addStretch(1)
        outer.addWidget(holder, 100)
        outer.addStretch(1)
        if jobs is not None:
            run_background(jobs, self, call(probe_fn), self.set_report, self._on_error)

    @Slot(object)
    def set_report(self, report: HardwareReport) -> None:
        """Show the recommendation for the computer ``report`` describes."""
        try:
            rec = recommend(load_catalog(), report)
        except PonderError as err:
            self._on_error(str(err))
            return
        self.recommendation = rec
        entry = rec.entry
        self.model_name.setText(entry.name)
        self.description.setText(entry.description)
        self.download_size.setText(format_bytes(download_bytes(entry, rec.precision, rec.provider)))
        self.memory.setText(self.tr("{0} of memory ({1} free now)").format(
            format_bytes(needs(entry, rec.precision).ram_bytes), format_bytes(report.ram_available_bytes)))
        if rec.expected_tokens_per_s > 0:
            self.speed.setText(self.tr("about {0} tokens/s on this computer (estimate)").format(
                max(1, round(rec.expected_tokens_per_s))))
        else:
            self.speed.setText(self.tr("it may not run here: not enough free memory"))
        reasons = {"fits": self.tr("The best reasoning model that runs comfortably on this computer."),
                   "slow": self.tr("Memory is tight on this computer, so it may be slow; close other apps first."),
                   "won't fit": self.tr("This computer may not have enough free memory; close other apps first.")}
        self.reason.setText(reasons[rec.fit])
        self.reason.setToolTip(rec.reason)
        self.get_button.setText(self.tr("Get {0}").format(entry.name))
        self.get_button.setEnabled(True)

    @Slot(str)
    def _on_error(self, message: str) -> None:
        self.model_name.setText(self.tr("Could not choose a model"))
        self.reason.setText(message)

    def _on_get(self) -> None:
        if self.recommendation is not None:
            self.get_requested.emit(self.recommendation.entry.id, self.recommendation.precision)
