"""The Settings page: a section list on the left, the chosen section on the right.

Every change is saved at once (``engine.system.settings.save_settings``) and announced with ``settings_changed``; typed
text (system prompt, Hub address) is saved after a short pause, and when the page hides.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.settings.chart import ERROR_COLOR
from desktop.settings.documents import DocumentsSection
from desktop.settings.hardware import HardwareSection
from desktop.settings.sections import AppearanceSection, GenerationSection, PrivacySection
from desktop.settings.server import ServerSection
from desktop.theme import apply_theme
from desktop.workers import BackgroundJobs, InferenceThread
from engine.system.settings import Settings, save_settings

log = logging.getLogger(__name__)
SECTIONS = ("hardware", "generation", "documents", "privacy", "server", "appearance")
TEXT_DELAY_MS = 400


class SettingsPage(QWidget):
    """Hardware, Generation, Privacy and network, Appearance. ``settings_changed`` carries the new Settings."""

    settings_changed = Signal(object)

    def __init__(self, settings: Settings, inference: InferenceThread, jobs: BackgroundJobs,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = settings.validated()
        self._pending: dict[str, Any] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(TEXT_DELAY_MS)
        self._timer.timeout.connect(self.commit)

        self.hardware = HardwareSection(lambda: self._settings, self.change, inference, jobs)
        self.generation = GenerationSection(self.change, self.change_later)
        self.privacy = PrivacySection(self.change, self.change_later, jobs)
        self.appearance = AppearanceSection(self.change, self._settings.language)
        self.server = ServerSection(self.change, jobs, lambda: self.settings, models=inference.host)
        self.documents = DocumentsSection(self.change, jobs)
        titles = {"hardware": self.tr("Hardware"), "generation": self.tr("Generation"),
                  "documents": self.tr("Documents"),
                  "privacy": self.tr("Privacy and network"), "server": self.tr("API and remote engines"),
                  "appearance": self.tr("Appearance")}
        subtitles = {"hardware": self.tr("Where models run and how fast."),
                     "generation": self.tr("How new conversations answer."),
                     "privacy": self.tr("What leaves this computer, offline mode, and every connection Ponder "
                                        "made."),
                     "server": self.tr("Let other programs use your models; chat with models served elsewhere."),
                     "documents": self.tr("The model that finds passages in your documents."),
                     "appearance": self.tr("Theme, text size and language.")}

        self._headings: list[QLabel] = []
        self.nav = QListWidget()
        self.nav.setObjectName("settingsNav")
        self.nav.setFixedWidth(230)  # "API and remote engines" whole, in English and Chinese
        self.nav.setFrameShape(QFrame.Shape.NoFrame)
        self.nav.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.nav.setWordWrap(True)
        self.nav.setAccessibleName(self.tr("Settings sections"))
        self.nav.setSpacing(2)
        self.stack = QStackedWidget()
        sections: dict[str, QWidget] = {"hardware": self.hardware, "generation": self.generation,
                                         "privacy": self.privacy, "server": self.server,
                                         "documents": self.documents,
                                         "appearance": self.appearance}
        for key in SECTIONS:
            self.nav.addItem(titles[key])
            self.stack.addWidget(self._page(titles[key], subtitles[key], sections[key]))
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.nav.setCurrentRow(0)

        self.save_error = QLabel()
        self.save_error.setStyleSheet(f"color: {ERROR_COLOR};")
        self.save_error.setWordWrap(True)
        self.save_error.hide()
        right = QVBoxLayout()
        right.addWidget(self.stack, 1)
        right.addWidget(self.save_error)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.nav)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.VLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)
        layout.addLayout(right, 1)
        self.setStyleSheet(
            "QListWidget#settingsNav { background: transparent; padding: 12px 8px; outline: 0; }"
            "QListWidget#settingsNav::item { padding: 8px 10px; border-radius: 6px; color: palette(window-text); }"
            "QListWidget#settingsNav::item:hover { background: palette(midlight); }"
            "QListWidget#settingsNav::item:selected { background: palette(highlight);"
            " color: palette(highlighted-text); }"
            "QFrame#settingsCard { background: palette(base); border: 1px solid palette(midlight);"
            " border-radius: 10px; }")
        self._load_all()

    def _page(self, title: str, subtitle: str, body: QWidget) -> QScrollArea:
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(6)
        heading = QLabel(title)
        self._headings.append(heading)
        self._size_heading(heading)
        layout.addWidget(heading)
        sub = QLabel(subtitle)
        sub.setEnabled(False)
        layout.addWidget(sub)
        layout.addSpacing(10)
        layout.addWidget(body, 1)
        scroll = QScrollArea()
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        return scroll

    def _size_heading(self, heading: QLabel) -> None:
        font = self.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.5)
        heading.setFont(font)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.FontChange:  # the text size setting: keep headings 1.5 times larger
            for heading in self._headings:
                self._size_heading(heading)
        super().changeEvent(event)

    @property
    def settings(self) -> Settings:
        """The settings as they are now, including any typed text not yet saved."""
        return replace(self._settings, **self._pending).validated() if self._pending else self._settings

    def show_section(self, name: str) -> None:
        """Switch to "hardware", "generation", "documents", "privacy", "server" or "appearance"."""
        self.nav.setCurrentRow(SECTIONS.index(name))

    def _load_all(self) -> None:
        for section in (self.hardware, self.generation, self.documents, self.privacy, self.server, self.appearance):
            section.load(self._settings)

    def change(self, **changes: Any) -> None:
        """Apply ``changes`` (Settings field values), save them and emit ``settings_changed``."""
        self._timer.stop()
        merged = {**self._pending, **changes}
        self._pending = {}
        new = replace(self._settings, **merged).validated()
        if new == self._settings:
            return
        old, self._settings = self._settings, new
        try:
            save_settings(new)
        except OSError as err:
            log.warning("Could not save the settings: %s", err)
            self.save_error.setText(self.tr("Could not save the settings: {error}").format(error=err))
            self.save_error.show()
        else:
            self.save_error.hide()
        if (old.theme, old.font_size) != (new.theme, new.font_size):
            app = QApplication.instance()
            if isinstance(app, QApplication):
                apply_theme(app, new.theme, new.font_size)
        self.settings_changed.emit(new)

    def change_later(self, **changes: Any) -> None:
        """Like :meth:`change` after a short pause (for typing); :meth:`commit` saves at once."""
        self._pending.update(changes)
        self._timer.start()

    def commit(self) -> None:
        """Save any typed text still waiting."""
        if self._pending:
            self.change()

    def hideEvent(self, event: QHideEvent) -> None:
        self.commit()
        super().hideEvent(event)
