"""Settings → Generation, Privacy and network, Appearance."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QUrl
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.jobs import call, run_background
from desktop.settings.chart import ERROR_COLOR
from desktop.settings.network import NetworkActivity
from desktop.settings.widgets import card, narrow, note_label
from desktop.workers import BackgroundJobs
from engine.system import privacy
from engine.system.secrets import KeyringStatus, TokenStore, keyring_status
from engine.system.settings import Settings

LANGUAGE_NAMES = {"en": "English", "zh_CN": "简体中文"}  # each in its own language, never translated


def valid_endpoint(text: str) -> bool:
    """True for an empty string (the default Hub) or an absolute http(s) URL with a host."""
    text = text.strip()
    if not text:
        return True
    url = QUrl(text, QUrl.ParsingMode.StrictMode)
    return url.isValid() and url.scheme() in ("http", "https") and bool(url.host())


def _column(*widgets: QWidget) -> QVBoxLayout:
    layout = QVBoxLayout()
    for widget in widgets:
        layout.addWidget(widget)
    return layout


def _section(parent: QWidget) -> QVBoxLayout:
    layout = QVBoxLayout(parent)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(14)
    return layout


class GenerationSection(QWidget):
    """Defaults for new conversations."""

    def __init__(self, change: Callable[..., None], change_later: Callable[..., None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._change, self._change_later = change, change_later
        form = QFormLayout()
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.05)
        self.temperature.setDecimals(2)
        self.temperature.setToolTip(self.tr("Higher is more varied, lower more focused; 0 always picks the most "
                                            "likely word."))
        self.top_p = QDoubleSpinBox()
        self.top_p.setRange(0.01, 1.0)
        self.top_p.setSingleStep(0.01)
        self.top_p.setDecimals(2)
        self.top_p.setToolTip(self.tr("Only the most likely words that together reach this probability are "
                                      "considered."))
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(1, 131072)
        self.max_tokens.setSingleStep(256)
        self.max_tokens.setToolTip(self.tr("The longest reply, thinking included, in tokens."))
        self.context_length = QSpinBox()
        self.context_length.setRange(256, 131072)
        self.context_length.setSingleStep(1024)
        self.context_length.setToolTip(self.tr("How much of the conversation the model sees, in tokens; longer "
                                               "needs more memory."))
        narrow(self.temperature, self.top_p, self.max_tokens, self.context_length)
        form.addRow(self.tr("Temperature"), self.temperature)
        form.addRow(self.tr("Top-p"), self.top_p)
        form.addRow(self.tr("Maximum reply length"), self.max_tokens)
        form.addRow(self.tr("Context length"), self.context_length)
        self.system_prompt = QPlainTextEdit()
        self.system_prompt.setPlaceholderText(self.tr("Optional instructions the model gets at the start of "
                                                      "every new conversation."))
        self.system_prompt.setMinimumHeight(110)
        form.addRow(self.tr("System prompt"), self.system_prompt)
        self.reset = QPushButton(self.tr("Restore defaults"))
        self.reset.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.reset.clicked.connect(self.restore_defaults)
        form.addRow("", self.reset)
        layout = _section(self)
        layout.addWidget(card(self.tr("Defaults for new conversations"), form))
        layout.addWidget(note_label(self.tr("A conversation can change these for itself in the chat window.")))
        layout.addStretch(1)
        self.temperature.valueChanged.connect(lambda v: self._change(temperature=round(v, 2)))
        self.top_p.valueChanged.connect(lambda v: self._change(top_p=round(v, 2)))
        self.max_tokens.valueChanged.connect(lambda v: self._change(max_tokens=v))
        self.context_length.valueChanged.connect(lambda v: self._change(context_length=v))
        self.system_prompt.textChanged.connect(
            lambda: self._change_later(system_prompt=self.system_prompt.toPlainText()))

    def load(self, settings: Settings) -> None:
        """Show ``settings`` without reporting them as changes."""
        widgets = (self.temperature, self.top_p, self.max_tokens, self.context_length, self.system_prompt)
        for widget in widgets:
            widget.blockSignals(True)
        self.temperature.setValue(settings.temperature)
        self.top_p.setValue(settings.top_p)
        self.max_tokens.setValue(settings.max_tokens)
        self.context_length.setValue(settings.context_length)
        if self.system_prompt.toPlainText() != settings.system_prompt:
            self.system_prompt.setPlainText(settings.system_prompt)
        for widget in widgets:
            widget.blockSignals(False)

    def restore_defaults(self) -> None:
        """Put every generation setting back to its default."""
        base = Settings()
        self._change(temperature=base.temperature, top_p=base.top_p, max_tokens=base.max_tokens,
                     context_length=base.context_length, system_prompt=base.system_prompt)
        self.load(base)


@dataclass(frozen=True)
class TokenState:
    """What the page may know about the token: whether there is one and where from, never the token itself."""

    saved: bool
    from_env: bool
    keyring: KeyringStatus


class PrivacySection(QWidget):
    """What leaves this computer, offline mode, the Hub mirror, the Hugging Face token (kept in the OS keyring) and
    the Network activity list."""

    def __init__(self, change: Callable[..., None], change_later: Callable[..., None], jobs: BackgroundJobs,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._change, self._change_later, self._jobs = change, change_later, jobs
        self._store = TokenStore()
        self.token_state: TokenState | None = None
        token = QVBoxLayout()
        self.token_status = note_label(self.tr("Checking…"))
        token.addWidget(self.token_status)
        self.keyring_note = note_label()
        token.addWidget(self.keyring_note)
        row = QHBoxLayout()
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText(self.tr("Paste a new token (hf_…)"))
        self.token.setToolTip(self.tr("Needed only for gated or private models. Ponder never shows a saved "
                                      "token again."))
        row.addWidget(self.token, 1)
        self.save_token = QPushButton(self.tr("Save"))
        self.remove_token = QPushButton(self.tr("Remove"))
        row.addWidget(self.save_token)
        row.addWidget(self.remove_token)
        token.addLayout(row)
        self.token_error = note_label()
        self.token_error.setStyleSheet(f"color: {ERROR_COLOR};")
        self.token_error.hide()
        token.addWidget(self.token_error)
        network = QFormLayout()
        self.endpoint = QLineEdit()
        self.endpoint.setPlaceholderText("https://huggingface.co")
        self.endpoint.setToolTip(self.tr("A Hugging Face mirror to download from; leave empty for "
                                         "huggingface.co."))
        network.addRow(self.tr("Hub address"), self.endpoint)
        self.endpoint_error = note_label(self.tr("Enter a full http:// or https:// address, or leave it empty."))
        self.endpoint_error.setStyleSheet(f"color: {ERROR_COLOR};")
        self.endpoint_error.hide()
        network.addRow("", self.endpoint_error)
        self.offline = QCheckBox(self.tr("Offline mode: connect to nothing beyond this computer"))
        self.offline.setToolTip(self.tr("No downloads and no remote engines, whatever is clicked; installed models, "
                                        "documents and the local API keep working."))
        self.offline_forced = note_label()
        self.offline_forced.hide()
        network.insertRow(0, "", self.offline)
        network.insertRow(1, "", self.offline_forced)
        self.activity = NetworkActivity(jobs)
        layout = _section(self)
        layout.addWidget(card(self.tr("What leaves this computer"), _column(note_label(self.tr(
            "Conversations, documents, settings and keys stay on this computer. Ponder uses the network only when "
            "you download a model or an embedding model (from huggingface.co, or the Hub address below) and when "
            "you chat with a remote engine you added. The telemetry built into ONNX Runtime and the Hugging Face "
            "libraries is switched off before they load.")))))
        layout.addWidget(card(self.tr("Network"), network))
        layout.addWidget(card(self.tr("Hugging Face token"), token))
        layout.addWidget(self.activity)
        layout.addStretch(1)
        self.token.textChanged.connect(self._update_buttons)
        self.token.returnPressed.connect(self.save)
        self.save_token.clicked.connect(self.save)
        self.remove_token.clicked.connect(self.remove)
        self.endpoint.textChanged.connect(self._endpoint_changed)
        self.offline.toggled.connect(lambda on: self._change(offline=on))
        self._busy = True
        self._update_buttons()
        run_background(jobs, self, call(self._read_state), self._on_state, self._on_token_failed)

    def load(self, settings: Settings) -> None:
        """Show ``settings`` without reporting them as changes."""
        for widget in (self.endpoint, self.offline):
            widget.blockSignals(True)
        if self.endpoint.text().strip() != settings.hub_endpoint:
            self.endpoint.setText(settings.hub_endpoint)
        forced = privacy.offline_forced_by()
        self.offline.setChecked(settings.offline or forced is not None)
        self.offline.setEnabled(forced is None)
        self.offline_forced.setText(self.tr("On because {0}=1 is set in the environment Ponder was started "
                                            "with.").format(forced) if forced else "")
        self.offline_forced.setVisible(forced is not None)
        for widget in (self.endpoint, self.offline):
            widget.blockSignals(False)

    def _endpoint_changed(self, text: str) -> None:
        ok = valid_endpoint(text)
        self.endpoint_error.setVisible(not ok)
        if ok:
            self._change_later(hub_endpoint=text.strip().rstrip("/"))

    # ---- token (keyring calls can block, e.g. on an unlock prompt: they run on a background thread) ----------
    def _read_state(self) -> TokenState:
        token = self._store.get()
        env = os.environ.get("HF_TOKEN")
        return TokenState(bool(token), bool(token) and token == env, keyring_status())

    def save(self) -> None:
        """Store the typed token in the keyring and clear the field at once."""
        token = self.token.text().strip()
        self.token.clear()
        if not token or self._busy:
            return
        self._busy = True
        self._update_buttons()
        store = self._store

        def job() -> TokenState:
            store.set(token)
            return self._read_state()

        run_background(self._jobs, self, call(job), self._on_state, self._on_token_failed)

    def remove(self) -> None:
        """Forget the saved token."""
        if self._busy:
            return
        self._busy = True
        self._update_buttons()
        store = self._store

        def job() -> TokenState:
            store.clear()
            return self._read_state()

        run_background(self._jobs, self, call(job), self._on_state, self._on_token_failed)

    def _on_state(self, state: TokenState) -> None:
        self._busy = False
        self.token_state = state
        self.token_error.hide()
        if state.from_env:
            text = self.tr("A token is set by the HF_TOKEN environment variable.")
        elif state.saved:
            text = self.tr("✓ A token is saved.")
        else:
            text = self.tr("No token.")
        self.token_status.setText(text)
        if state.keyring.available:
            self.keyring_note.setText(self.tr("Kept in the system keyring ({backend}).").format(
                backend=state.keyring.backend))
            self.keyring_note.setStyleSheet("")
        else:
            self.keyring_note.setText(self.tr("No system keyring: {reason}").format(reason=state.keyring.reason))
            self.keyring_note.setStyleSheet(f"color: {ERROR_COLOR};")
        self._update_buttons()

    def _on_token_failed(self, message: str) -> None:
        self._busy = False
        self.token_error.setText(self.tr("The keyring refused: {error}").format(error=message))
        self.token_error.show()
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.save_token.setEnabled(not self._busy and bool(self.token.text().strip()))
        state = self.token_state
        self.remove_token.setEnabled(not self._busy and state is not None and state.saved and not state.from_env)


class AppearanceSection(QWidget):
    """Theme, font size and language."""

    def __init__(self, change: Callable[..., None], startup_language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._change, self._startup_language = change, startup_language
        form = QFormLayout()
        self.theme = QComboBox()
        for key, name in (("system", self.tr("Same as the system")), ("light", self.tr("Light")),
                          ("dark", self.tr("Dark"))):
            self.theme.addItem(name, key)
        form.addRow(self.tr("Theme"), self.theme)
        self.font_size = QSpinBox()
        self.font_size.setRange(6, 32)
        self.font_size.setSuffix(self.tr(" pt"))
        form.addRow(self.tr("Text size"), self.font_size)
        self.language = QComboBox()
        self.language.addItem(self.tr("Same as the system"), "system")
        for key, name in LANGUAGE_NAMES.items():
            self.language.addItem(name, key)
        form.addRow(self.tr("Language"), self.language)
        narrow(self.theme, self.font_size, self.language)
        self.restart_note = note_label(self.tr("The new language takes effect when Ponder restarts."))
        self.restart_note.hide()
        form.addRow("", self.restart_note)
        layout = _section(self)
        layout.addWidget(card(self.tr("Display"), form))
        layout.addStretch(1)
        self.theme.currentIndexChanged.connect(lambda _: self._change(theme=str(self.theme.currentData())))
        self.font_size.valueChanged.connect(lambda v: self._change(font_size=v))
        self.language.currentIndexChanged.connect(self._language_changed)

    def load(self, settings: Settings) -> None:
        """Show ``settings`` without reporting them as changes."""
        for widget in (self.theme, self.font_size, self.language):
            widget.blockSignals(True)
        self.theme.setCurrentIndex(max(0, self.theme.findData(settings.theme)))
        self.font_size.setValue(settings.font_size)
        self.language.setCurrentIndex(max(0, self.language.findData(settings.language)))
        for widget in (self.theme, self.font_size, self.language):
            widget.blockSignals(False)
        self.restart_note.setVisible(settings.language != self._startup_language)

    def _language_changed(self) -> None:
        language = str(self.language.currentData())
        self.restart_note.setVisible(language != self._startup_language)
        self._change(language=language)
