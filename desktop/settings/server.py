"""Settings → API and remote engines: the local OpenAI-compatible API (on/off, port, key) and the remote engines
Ponder can chat with."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.jobs import call, run_background
from desktop.offline import offline_note
from desktop.settings.chart import ERROR_COLOR
from desktop.settings.widgets import card, narrow, note_label
from desktop.workers import BackgroundJobs
from engine.runtime.host import ModelHost
from engine.serve.remote_engines import RemoteEngines
from engine.system.errors import PonderError
from engine.system.secrets import api_key, reset_api_key
from engine.system.settings import Settings


class RemoteDialog(QDialog):
    """Name, address and key of a remote OpenAI-compatible engine."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Add a remote engine"))
        self.name = QLineEdit(placeholderText=self.tr("e.g. lab-vllm"))
        self.url = QLineEdit(placeholderText="http://192.168.1.20:8000/v1")
        self.key = QLineEdit(placeholderText=self.tr("leave empty if it needs none"))
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        form = QFormLayout(self)
        form.addRow(self.tr("Name:"), self.name)
        form.addRow(self.tr("Address:"), self.url)
        form.addRow(self.tr("API key:"), self.key)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


class ServerSection(QWidget):
    """The API switch, port and key, and the list of remote engines. ``remotes_changed`` fires after an engine is
    added or removed; ``server_state`` carries the API's URL when it runs, or "" when it stopped."""

    remotes_changed = Signal()
    server_state = Signal(str)

    def __init__(self, change: Callable[..., None], jobs: BackgroundJobs, settings: Callable[[], Settings],
                 parent: QWidget | None = None, *, models: ModelHost | None = None) -> None:
        super().__init__(parent)
        self._change, self.jobs, self._settings = change, jobs, settings
        self._models = models  # the window's model host: the API serves the models the window has loaded
        self.server: Any = None  # engine.serve.api.server.ApiServer while it runs (imported when first needed)
        self._busy = False

        self.enabled = QCheckBox(self.tr("Serve an OpenAI-compatible API on this computer"))
        self.enabled.toggled.connect(self._toggle)
        self.port = QSpinBox()
        self.port.setRange(1024, 65535)
        self.port.editingFinished.connect(lambda: self._change(api_port=self.port.value()))
        self.key = QLineEdit()
        self.key.setReadOnly(True)
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.show_key = QPushButton(self.tr("Show"))
        self.show_key.setCheckable(True)
        self.show_key.toggled.connect(self._show_key)
        self.copy_key = QPushButton(self.tr("Copy"))
        self.copy_key.clicked.connect(self._copy_key)
        self.new_key = QPushButton(self.tr("New key"))
        self.new_key.clicked.connect(self._new_key)
        narrow(self.port, self.key)
        key_row = QHBoxLayout()
        for w in (self.key, self.show_key, self.copy_key, self.new_key):
            key_row.addWidget(w)
        key_row.addStretch(1)
        self.state = note_label()
        form = QFormLayout()
        form.addRow(self.enabled)
        form.addRow(self.tr("Port:"), self.port)
        form.addRow(self.tr("API key:"), key_row)
        form.addRow(self.state)
        form.addRow(note_label(self.tr(
            "Programs on this computer only (127.0.0.1) can connect, and only with the key: use it as the "
            "'Bearer' API key and http://127.0.0.1:PORT/v1 as the base URL. Reasoning comes in "
            "'reasoning_content', as DeepSeek's API does.")))

        self.remotes = QListWidget()
        self.remotes.setMaximumHeight(140)
        self.add_remote = QPushButton(self.tr("Add…"))
        self.add_remote.clicked.connect(self._ask_remote)
        self.remove_remote = QPushButton(self.tr("Remove"))
        self.remove_remote.clicked.connect(self._remove_remote)
        self.remote_state = note_label()
        self.remote_offline = note_label()  # why remote engines are off, in offline mode
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_remote)
        buttons.addWidget(self.remove_remote)
        buttons.addStretch(1)
        remote_box = QVBoxLayout()
        remote_box.addWidget(note_label(self.tr(
            "Chat with models served elsewhere — vLLM, Ollama, exo or another Ponder — by their OpenAI-compatible "
            "address. Their models appear in the chat's model list. Keys are kept in the system keyring.")))
        remote_box.addWidget(self.remote_offline)
        remote_box.addWidget(self.remotes)
        remote_box.addLayout(buttons)
        remote_box.addWidget(self.remote_state)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(14)
        layout.addWidget(card(self.tr("Local API"), form))
        layout.addWidget(card(self.tr("Remote engines"), remote_box))
        layout.addStretch(1)
        self.refresh_remotes()

    def load(self, settings: Settings) -> None:
        """Show ``settings`` (starts the API when it is switched on)."""
        self.port.setValue(settings.api_port)
        self.enabled.blockSignals(True)
        self.enabled.setChecked(settings.api_enabled)
        self.enabled.blockSignals(False)
        if settings.api_enabled and self.server is None:
            self._start()
        self._update()

    # local API -----------------------------------------------------------------------------------------------

    def _toggle(self, on: bool) -> None:
        self._change(api_enabled=on, api_port=self.port.value())
        self._start() if on else self.stop()

    def _start(self) -> None:
        if self._busy or self.server is not None:
            return
        from engine.serve.api.server import ApiServer

        self._busy = True
        settings, port = self._settings(), self.port.value()
        self.state.setText(self.tr("Starting…"))

        def start() -> Any:
            server = ApiServer.from_settings(settings, port=port, models=self._models)
            server.start()
            return server

        run_background(self.jobs, self, call(start), self._started, self._failed)

    def _started(self, server: Any) -> None:
        self._busy, self.server = False, server
        self._update()
        self.server_state.emit(server.url)
        if not self.enabled.isChecked():  # switched off while it started
            self.stop()

    def _failed(self, message: str) -> None:
        self._busy = False
        self.state.setText(message)
        self.state.setStyleSheet(f"color: {ERROR_COLOR};")
        self.enabled.blockSignals(True)
        self.enabled.setChecked(False)
        self.enabled.blockSignals(False)
        self._change(api_enabled=False)

    def stop(self) -> None:
        """Stop the API (off the GUI thread: running requests are cancelled first)."""
        server, self.server = self.server, None
        if server is None:
            self._update()
            return
        self.state.setText(self.tr("Stopping…"))
        run_background(self.jobs, self, call(server.stop), lambda _: self._stopped(), self._failed)

    def _stopped(self) -> None:
        self._update()
        self.server_state.emit("")

    def _update(self) -> None:
        self.state.setStyleSheet("")
        if self.server is not None:
            self.state.setText(self.tr("Running at {0}").format(self.server.url))
        elif not self._busy:
            self.state.setText(self.tr("Off"))
        self.key.setText(api_key())

    def _show_key(self, on: bool) -> None:
        self.key.setEchoMode(QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password)

    def _copy_key(self) -> None:
        QGuiApplication.clipboard().setText(api_key())

    def _new_key(self) -> None:
        reset_api_key()
        self._update()
        if self.server is not None:  # the running server keeps the key it started with: restart it
            self.stop()
            self.enabled.setChecked(True)

    # remote engines ------------------------------------------------------------------------------------------

    def refresh_remotes(self) -> None:
        """Reload the list of remote engines (offline mode: none can be added or asked, and a note says why)."""
        note = offline_note()
        self.remote_offline.setText(note)
        self.remote_offline.setVisible(bool(note))
        self.add_remote.setEnabled(not note)
        self.add_remote.setToolTip(note)
        self.remotes.clear()
        for engine in RemoteEngines().engines():
            text = f"{engine.name} — {engine.url}"
            if not engine.encrypted:
                text += "  ⚠ " + self.tr("unencrypted: the key and messages cross the network in clear text")
            item = QListWidgetItem(text)
            item.setData(256, engine.name)
            self.remotes.addItem(item)

    def add_engine(self, name: str, url: str, key: str | None) -> None:
        """Add a remote engine and check that it answers (its model count, or the reason it does not)."""
        engines = RemoteEngines()
        try:
            engines.add(name, url, key or None)
        except PonderError as err:
            self.remote_state.setText(str(err))
            return
        self.refresh_remotes()
        self.remotes_changed.emit()
        self.remote_state.setText(self.tr("Checking {0}…").format(name))
        run_background(self.jobs, self, call(lambda: engines.models(name)),
                       lambda models: self.remote_state.setText(
                           self.tr("{0} answers with {1} model(s).").format(name, len(models))),
                       self.remote_state.setText)

    def _ask_remote(self) -> None:
        dialog = RemoteDialog(self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.add_engine(dialog.name.text().strip(), dialog.url.text().strip(), dialog.key.text())

    def _remove_remote(self) -> None:
        item = self.remotes.currentItem()
        if item is not None:
            RemoteEngines().remove(item.data(256))
            self.refresh_remotes()
            self.remotes_changed.emit()
