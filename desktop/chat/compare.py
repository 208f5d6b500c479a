"""Compare: one question sent to two models, their replies side by side, both reasoning streams visible.

Each side is a conversation of its own (saved like any other, titled "Compare: …"), answered through the same
reply work as the chat (desktop/chat/reply.py). The model host runs one model at a time, so the right side starts
when the left has finished; both stream into their own transcript as they come."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.chat.composer import InputBox
from desktop.chat.header import ModelChoice, ModelHeader, choice_of
from desktop.chat.mathstore import MathStore
from desktop.chat.reply import add_text, finish, live_row, reply_work, stored_row
from desktop.chat.transcript import MessageDelegate, Row, TranscriptModel, TranscriptView
from desktop.workers import BackgroundJobs, GeneratorWorker, InferenceThread
from engine.chat import conversation as actions
from engine.chat.storage import ConversationStore
from engine.documents.index import DocumentIndex
from engine.runtime.generate import Controls, Finished, TextDelta
from engine.system.settings import Settings


class CompareSide(QWidget):
    """One model's column: its chooser and its transcript."""

    finished = Signal(object)  # the Finished event

    def __init__(self, label: str, math: MathStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_box = QComboBox()
        self.model_box.setAccessibleName(label)
        self.model = TranscriptModel()
        self.view = TranscriptView()
        self.delegate = MessageDelegate(self.view)
        self.delegate.math = math
        self.view.setItemDelegate(self.delegate)
        self.view.setModel(self.model)
        self.view.setAccessibleName(label)
        math.ready.connect(self.model.changed_all)
        self.delegate.action.connect(self._on_action)
        self.live: Row | None = None
        self.conversation_id: str | None = None
        self.worker: GeneratorWorker | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.model_box)
        layout.addWidget(self.view, 1)

    def _on_action(self, verb: str, message_id: int, _arg: str) -> None:
        i = self.model.index_of(message_id)
        if verb == "toggle" and i >= 0:
            row = self.model.rows[i]
            row.expanded = not row.reasoning_open
            self.model.changed(row)

    def on_events(self, events: list[Any]) -> None:
        """Show what the reply streams (as the chat page does for its live row)."""
        for event in events:
            if isinstance(event, actions.ReplyStarted):
                if event.user_message is not None:
                    self.model.append(stored_row(event.user_message))
                self.live = live_row(event.message)
                self.model.append(self.live)
            elif self.live is None:
                continue
            elif isinstance(event, TextDelta):
                add_text(self.live, event)
            elif isinstance(event, Finished):
                finish(self.live, event)
                self.finished.emit(event)
        if self.live is not None:
            self.model.changed(self.live)
            self.view.scrollToBottom()

    def refresh_thinking(self) -> None:
        """Tick the live "Thinking… N s"."""
        if self.live is not None and self.live.thinking:
            self.model.changed(self.live)


class CompareView(QWidget):
    """Two models side by side under one question box. ``both_finished`` fires when both replies have ended."""

    both_finished = Signal()

    def __init__(self, store: ConversationStore, inference: InferenceThread, settings: Callable[[], Settings],
                 header: ModelHeader, jobs: BackgroundJobs, index: DocumentIndex,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self.inference, self.settings, self.header, self.index = store, inference, settings, header, index
        self.math = MathStore(jobs, self)
        self.sides = (CompareSide(self.tr("Left model"), self.math), CompareSide(self.tr("Right model"), self.math))
        self._controls: list[Controls] = []
        self._running = 0
        title = QLabel(self.tr("Compare: one question, two models side by side"))
        title.setObjectName("dimLabel")
        columns = QHBoxLayout()
        columns.setSpacing(12)
        for side in self.sides:
            columns.addWidget(side, 1)
        self.input = InputBox()
        self.input.setAccessibleName(self.tr("Question for both models"))
        self.input.setPlaceholderText(self.tr("Ask both models — Enter sends"))
        self.input.setFixedHeight(60)
        self.input.submitted.connect(self.send)
        self.send_button = QPushButton(self.tr("Ask both"))
        self.send_button.setObjectName("primaryButton")
        self.send_button.setAccessibleName(self.tr("Ask both models"))
        self.send_button.clicked.connect(self._send_or_stop)
        bottom = QHBoxLayout()
        bottom.addWidget(self.input, 1)
        bottom.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 8, 16, 14)
        layout.addWidget(title)
        layout.addLayout(columns, 1)
        layout.addLayout(bottom)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._refresh_thinking)

    def _refresh_thinking(self) -> None:
        for side in self.sides:
            side.refresh_thinking()

    def refresh_models(self) -> None:
        """Offer the header's models on both sides (the right one defaults to the second model)."""
        for n, side in enumerate(self.sides):
            current = side.model_box.currentData()
            side.model_box.clear()
            for i in range(self.header.model_box.count()):
                side.model_box.addItem(self.header.model_box.itemText(i), self.header.model_box.itemData(i))
            found = side.model_box.findData(current) if current else -1
            side.model_box.setCurrentIndex(found if found >= 0 else min(n, side.model_box.count() - 1))

    @property
    def busy(self) -> bool:
        """A reply of the comparison is still running."""
        return self._running > 0

    def _send_or_stop(self) -> None:
        if self.busy:
            for controls in self._controls:
                controls.cancel()
        else:
            self.send()

    def send(self, text: str | None = None) -> None:
        """Ask both chosen models ``text`` (the question box when None)."""
        question = (text if text is not None else self.input.toPlainText()).strip()
        if not question or self.busy or any(s.model_box.currentData() is None for s in self.sides):
            return
        self.input.clear()
        self._controls = []
        for side in self.sides:
            choice = self._choice(side)
            conv = self.store.create(f"Compare: {question[:40]}", system_prompt=self.settings().system_prompt,
                                     settings={"compare": True})
            side.conversation_id = conv.id
            side.model.set_rows([])
            side.live = None
            controls = Controls()
            self._controls.append(controls)
            factory = reply_work(self.store, self.inference.host, actions.Send(conv.id, question), choice,
                                 self.settings(), controls, "", self.index)
            worker = GeneratorWorker(factory, on_cancel=controls.cancel)
            worker.yielded.connect(side.on_events)
            for signal in (worker.finished, worker.failed, worker.cancelled):
                signal.connect(self._one_done)
            side.worker = worker
            self._running += 1
            self.inference.submit(worker)  # the host runs them one after the other
        self.send_button.setText(self.tr("Stop"))
        self._tick.start()

    @staticmethod
    def _choice(side: CompareSide) -> ModelChoice:
        return choice_of(side.model_box.currentText(), str(side.model_box.currentData()))

    def _one_done(self, *_: Any) -> None:
        self._running -= 1
        if self._running == 0:
            self._tick.stop()
            self.send_button.setText(self.tr("Ask both"))
            self.both_finished.emit()
