"""The part below the transcript: a warning line with Answer now, the editing note, the documents bar and the
input with Send (Stop while a reply runs)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop.chat.transcript import COLUMN, GUTTER


class InputBox(QPlainTextEdit):
    """Enter sends, Shift+Enter starts a new line, Esc cancels an edit."""

    submitted = Signal()
    escaped = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
                event.modifiers() & Qt.KeyboardModifier.ShiftModifier):
            self.submitted.emit()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.escaped.emit()
            return
        super().keyPressEvent(event)


class Composer(QWidget):
    """Where a message is written. Enter emits ``submitted``, the Send/Stop button ``send_clicked``, Answer now
    ``answer_now_requested``. In edit mode (``start_edit``) the input holds a sent message to resend;
    ``editing`` is its position in the transcript."""

    submitted = Signal()
    send_clicked = Signal()
    answer_now_requested = Signal()
    stop_requested = Signal()  # Esc while a reply runs

    def __init__(self, documents_bar: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editing: int | None = None  # position of the user message being edited
        self.busy = False
        self.answer_now_button = QPushButton(self.tr("Answer now"))
        self.answer_now_button.setToolTip(self.tr("End the reasoning here; the model answers with what it has"))
        self.answer_now_button.clicked.connect(lambda: self.answer_now_requested.emit())
        self.answer_now_button.hide()
        self.answer_now_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.warning = QLabel()
        self.warning.setObjectName("warningLabel")
        self.warning.setWordWrap(True)
        self.warning.hide()
        self.edit_label = QLabel(self.tr("Editing a message: Enter resends it (later messages are replaced), "
                                         "Esc cancels"))
        self.edit_label.hide()
        controls = QHBoxLayout()
        controls.addWidget(self.warning, 1)
        controls.addStretch(0)
        controls.addWidget(self.answer_now_button)

        self.input = InputBox()
        self.input.setPlaceholderText(self.tr("Ask anything — Enter sends, Shift+Enter adds a line"))
        self.input.setAccessibleName(self.tr("Message"))
        self.input.setFixedHeight(72)
        self.input.submitted.connect(lambda: self.submitted.emit())
        self.input.escaped.connect(self._on_escape)
        self.send_button = QPushButton(self.tr("Send"))
        self.send_button.setObjectName("primaryButton")
        self.send_button.setAccessibleName(self.tr("Send or stop"))
        self.send_button.setToolTip(self.tr("Send (Enter); while a reply runs: Stop (Esc)"))
        self.send_button.clicked.connect(lambda: self.send_clicked.emit())
        self.answer_now_button.setAccessibleName(self.tr("Answer now"))
        self.card = QFrame()  # the input and Send in one rounded card, as in LM Studio and Jan
        self.card.setObjectName("composerCard")
        card = QHBoxLayout(self.card)
        card.setContentsMargins(8, 6, 8, 6)
        card.addWidget(self.input, 1)
        card.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)

        inner = QWidget()
        inner.setMaximumWidth(COLUMN)
        column = QVBoxLayout(inner)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(6)
        column.addLayout(controls)
        column.addWidget(self.edit_label)
        column.addWidget(documents_bar)
        column.addWidget(self.card)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(GUTTER, 6, GUTTER, 14)
        layout.addWidget(inner)

    def set_ready(self, ready: bool) -> None:
        """Enable the input when there is a model to answer (else say to install one)."""
        self.input.setEnabled(ready)
        self.send_button.setEnabled(ready)
        self.input.setPlaceholderText(self.tr("Ask anything — Enter sends, Shift+Enter adds a line") if ready
                                      else self.tr("Install a model first (Models page)"))

    def _on_escape(self) -> None:
        if self.busy:
            self.stop_requested.emit()
        else:
            self.cancel_edit()

    def set_busy(self, busy: bool) -> None:
        """A reply runs (Send becomes Stop) or has ended."""
        self.busy = busy
        self.send_button.setText(self.tr("Stop") if busy else self.tr("Send"))
        if not busy:
            self.answer_now_button.hide()

    def show_warning(self, text: str, visible: bool = True) -> None:
        self.warning.setText(text)
        self.warning.setVisible(visible)

    def start_edit(self, position: int, text: str) -> None:
        """Put a sent message in the input to resend it."""
        self.editing = position
        self.input.setPlainText(text)
        self.edit_label.show()
        self.input.setFocus()

    def cancel_edit(self) -> None:
        if self.editing is not None:
            self.editing = None
            self.input.clear()
        self.edit_label.hide()
