"""The main window: Chat, Models and Settings, with a welcome page until a model is installed."""

from __future__ import annotations

import os
import sys
from typing import Any

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from desktop.chat.page import ChatPage
from desktop.documents.indexer import DocumentIndexer
from desktop.i18n import install_translator
from desktop.models.page import ModelsPage
from desktop.models.welcome import WelcomePage
from desktop.nav import NavRail
from desktop.settings.page import SettingsPage
from desktop.shortcuts import install as install_shortcuts
from desktop.theme import apply_theme
from desktop.workers import BackgroundJobs, InferenceThread
from engine import __version__
from engine.chat.storage import ConversationStore
from engine.documents.index import DocumentIndex
from engine.models.store import list_installed, sweep_trash
from engine.runtime.host import HostEvent, ModelHost
from engine.system import network_log, privacy
from engine.system.logfile import start_log_file
from engine.system.settings import Settings, load_settings

CHAT, MODELS, SETTINGS = range(3)


class MainWindow(QMainWindow):
    """Navigation on the left, the pages on the right, the model and its speed in the status bar."""

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self.settings = settings or load_settings()
        privacy.set_offline(self.settings.offline)  # before any page asks whether it may use the network
        network_log.set_process_label("window")
        self.setWindowTitle(f"Ponder {__version__}")
        self.resize(1200, 780)
        sweep_trash()
        self.inference = InferenceThread(ModelHost(idle_unload_s=self.settings.unload_after_min * 60))
        self.jobs = BackgroundJobs()
        self.store = ConversationStore()
        self.store.mark_interrupted()

        self.nav = NavRail()
        self.nav.add(self.tr("Chat"), "chat", self.tr("Conversations (Ctrl+N for a new one)"))
        self.nav.add(self.tr("Models"), "models", self.tr("Find, download and manage models"))
        self.nav.add(self.tr("Settings"), "settings", self.tr("Hardware, generation, privacy, appearance (Ctrl+,)"))
        self.indexer = DocumentIndexer(DocumentIndex(), self.jobs, self.inference.host)
        self.chat = ChatPage(self.store, self.inference, lambda: self.settings, jobs=self.jobs, indexer=self.indexer)
        self.welcome = WelcomePage()
        self.models = ModelsPage(self.jobs, lambda: self.settings)
        self.settings_page = SettingsPage(self.settings, self.inference, self.jobs)
        self.chat_stack = QStackedWidget()
        self.chat_stack.addWidget(self.welcome)
        self.chat_stack.addWidget(self.chat)
        self.pages = QStackedWidget()
        for page in (self.chat_stack, self.models, self.settings_page):
            self.pages.addWidget(page)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.nav)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)

        # the chat header shows the model, its loading and the context; the status bar adds only what it does not:
        # the hardware that ran the last reply (why, when not the one chosen) and the live speed
        self.status_hardware, self.status_speed = QLabel(), QLabel()
        self.status_hardware.setAccessibleName(self.tr("Hardware of the last reply"))
        self.status_speed.setAccessibleName(self.tr("Generation speed"))
        for label in (self.status_hardware, self.status_speed):
            self.statusBar().addPermanentWidget(label)

        self.nav.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.models.model_installed.connect(self._on_installed)
        self.models.models_changed.connect(self._on_models_changed)
        self.models.default_model_changed.connect(self._on_default_model)
        self.models.hardware_ready.connect(self.welcome.set_report)
        self.welcome.get_requested.connect(self._get)
        self.welcome.show_all.connect(lambda: self.nav.setCurrentRow(MODELS))
        self.settings_page.settings_changed.connect(self._on_settings)
        self.inference.host_event.connect(self._on_host_event)
        self.settings_page.server.remotes_changed.connect(self.chat.refresh_remote)
        self.settings_page.documents.embedder_changed.connect(self.indexer.embedder_changed)
        self.chat.status.connect(self._on_status)
        self.nav.setCurrentRow(CHAT)
        self._on_models_changed()
        self.shortcuts = install_shortcuts(self, {
            "new_chat": self._new_chat, "search": self._search, "stop": self.chat.stop,
            "regenerate": self._regenerate, "copy_last": self.chat.copy_last_answer,
            "settings": lambda: self.nav.setCurrentRow(SETTINGS)})
        chat_menu = self.menuBar().addMenu(self.tr("&Chat"))
        for action in self.shortcuts.values():
            chat_menu.addAction(action)
        self.menuBar().addMenu(self.tr("&Help")).addAction(self.tr("About Ponder"), self.show_about)
        if self.indexer.has_work():  # documents left waiting when the app last closed (or crashed)
            self.indexer.resume()

    def _new_chat(self) -> None:
        self.nav.setCurrentRow(CHAT)
        if self.chat_stack.currentWidget() is self.chat:
            self.chat.new_conversation()

    def _search(self) -> None:
        self.nav.setCurrentRow(CHAT)
        self.chat.search.setFocus()
        self.chat.search.selectAll()

    def _regenerate(self) -> None:
        if self.pages.currentIndex() == CHAT:
            self.chat.regenerate()

    def show_about(self) -> QMessageBox:
        """Help > About: the name, version, ONNX Runtime version and data folder (non-modal; returned for tests)."""
        import onnxruntime

        from engine.system.paths import ponder_home

        box = QMessageBox(QMessageBox.Icon.Information, self.tr("About Ponder"), f"Ponder {__version__}", parent=self)
        box.setInformativeText(self.tr(
            "Private AI on your own computer.\n\n"
            "What leaves this computer: nothing, except what you ask for. Ponder connects to the network only to "
            "download a model or an embedding model (from huggingface.co or the Hub address in Settings) and to "
            "chat with a remote engine you added. Conversations, documents and keys stay here; ONNX Runtime's and "
            "the Hugging Face libraries' telemetry is switched off. Settings › Privacy and network lists every "
            "connection and has an offline switch.\n\n"
            "ONNX Runtime {0}\nData folder: {1}").format(onnxruntime.__version__, ponder_home()))
        box.open()
        return box

    def _on_models_changed(self) -> None:
        self.chat.refresh_models()
        self.chat_stack.setCurrentWidget(self.chat if list_installed() else self.welcome)

    def _on_installed(self, name: str) -> None:
        self._on_models_changed()
        self.statusBar().showMessage(self.tr("{0} is ready.").format(name), 8000)
        if self.pages.currentIndex() != SETTINGS:
            self.nav.setCurrentRow(CHAT)

    def _on_default_model(self, _name: str) -> None:
        self.settings = load_settings()  # the Models page saved it; keep this copy in step
        self.chat.refresh_models()

    def _get(self, model_id: str, precision: str) -> None:
        self.models.get(model_id, precision)
        self.nav.setCurrentRow(MODELS)

    def _on_settings(self, settings: Settings) -> None:
        theme_changed = (settings.theme, settings.font_size) != (self.settings.theme, self.settings.font_size)
        offline_changed = settings.offline != self.settings.offline
        self.settings = settings
        self.inference.host.set_idle_unload(settings.unload_after_min * 60)
        if offline_changed:
            self._apply_offline()
        app = QApplication.instance()
        if theme_changed and isinstance(app, QApplication):
            apply_theme(app, settings.theme, settings.font_size)

    def _on_host_event(self, event: HostEvent) -> None:
        """Say in the status bar what the model host did that matters on any page: an idle unload explains why the
        next message starts slower, and a refused load why. Loading itself shows in the chat header."""
        bar = self.statusBar()
        if event.kind == "unloaded" and event.reason == "idle":
            bar.showMessage(self.tr("{0} was unloaded after being idle; the next message loads it again.")
                            .format(event.name), 15000)
        elif event.kind == "refused":
            bar.showMessage(event.reason, 15000)

    def _apply_offline(self) -> None:
        """Offline mode switched: enforce it in this process, and let every page that uses the network say so."""
        privacy.set_offline(self.settings.offline)
        self.models.refresh()
        self.chat.refresh_remote()
        self.chat.docs_bar.refresh()
        self.settings_page.server.refresh_remotes()
        self.settings_page.documents.refresh()

    def _on_status(self, info: dict[str, Any]) -> None:
        if info.get("provider"):
            reason = f" — {info['provider_reason']}" if info.get("provider_reason") else ""
            self.status_hardware.setText(f"{info['provider'].upper()}{reason}")
            self.status_hardware.setToolTip(info.get("provider_reason", ""))
        if info.get("tokens_per_s"):
            self.status_speed.setText(self.tr("{0:.1f} tokens/s").format(info["tokens_per_s"]))

    def closeEvent(self, event: QCloseEvent) -> None:
        self.chat.stop()
        self.models.pause_all()  # downloads and conversions resume next time
        self.indexer.stop()  # so does indexing: the queue is kept in the index
        if self.settings_page.server.server is not None:
            self.settings_page.server.server.stop()
        self.jobs.stop_all()
        self.inference.stop()
        self.store.close()
        super().closeEvent(event)


def main() -> int:
    """Start the application and show the main window."""
    QCoreApplication.setApplicationName("Ponder")
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    start_log_file()
    settings = load_settings()
    apply_theme(app, settings.theme, settings.font_size)
    install_translator(app, settings.language)
    window = MainWindow(settings)
    window.show()
    smoke = os.environ.get("PONDER_EXIT_AFTER_MS")  # smoke tests and installers: open, then close cleanly
    if smoke and smoke.isdigit():

        def close() -> None:
            print("ponder: window shown", flush=True)
            window.close()

        QTimer.singleShot(int(smoke), close)
    return int(app.exec())
