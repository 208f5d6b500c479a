"""Sending and the live reply, for :class:`desktop.chat.page.ChatPage`: the send/stop/regenerate/Answer now
controls start and steer a reply on the inference thread, and what it streams is shown in the transcript's live
row without stalling the GUI thread.

Keeping the GUI thread free while a reply streams (bench/gui_bench.py): the live row is re-rendered at most once a
frame, and less often when rendering it got slow (only its last chunk is rendered again, desktop/chat/pieces.py);
math is typeset in a child process (desktop/chat/math_worker.py); and Python's full garbage collection, which walks
every object of the window's process (200 ms on a busy machine), waits until the reply has ended.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from desktop.chat.composer import Composer
from desktop.chat.header import ModelHeader
from desktop.chat.reasoning_panel import ReasoningPanel
from desktop.chat.reply import add_text, add_verdicts, finish, live_row, reply_work, stored_row
from desktop.chat.transcript import MessageDelegate, Row, TranscriptModel, TranscriptView
from desktop.documents.indexer import DocumentIndexer
from desktop.workers import GeneratorWorker, InferenceThread
from engine.chat import conversation as actions
from engine.chat.storage import ConversationStore
from engine.runtime.generate import Controls, Finished, Notice, TextDelta
from engine.system.settings import Settings

FULL_COLLECTION_DEFERRED = 1_000_000_000  # gc threshold that keeps the oldest generation from being collected


class ReplyMixin(QWidget):
    """Sending and the live reply for the chat page (which builds the widgets and calls :meth:`_init_replies`)."""

    status: Signal  # ChatPage's (signals of a mixin break the order of the page's meta-object)
    reply_finished: Signal
    store: ConversationStore
    inference: InferenceThread
    indexer: DocumentIndexer
    conversation_id: str | None
    header: ModelHeader
    composer: Composer
    reasoning: ReasoningPanel
    model: TranscriptModel
    view: TranscriptView
    delegate: MessageDelegate
    settings: Callable[[], Settings]

    def new_conversation(self) -> str:
        raise NotImplementedError

    def refresh_conversations(self) -> None:
        raise NotImplementedError

    def collection(self) -> str:
        raise NotImplementedError

    def _measure_context(self) -> None:
        raise NotImplementedError

    def _init_replies(self) -> None:
        self._job: tuple[GeneratorWorker, Controls, str] | None = None
        self._live: Row | None = None
        self._tick = QTimer(self)  # "Thinking… N s" counts the seconds
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._refresh_live)
        # a streaming reply is re-rendered at most every 33 ms, and less often when rendering it got slow (a long
        # answer), so the GUI thread always has time left for input and painting
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.timeout.connect(self._render_live)
        self._follow = True
        self._gc_threshold: tuple[int, int, int] | None = None

    def _defer_full_collection(self, defer: bool) -> None:
        """While a reply streams, Python's collector only looks at young objects; the full collection it deferred
        runs once the reply has ended (when the GUI thread is idle)."""
        if defer and self._gc_threshold is None:
            young, middle, full = gc.get_threshold()
            self._gc_threshold = (young, middle, 10 if full == FULL_COLLECTION_DEFERRED else full)  # another page's
            gc.set_threshold(young, middle, FULL_COLLECTION_DEFERRED)
        elif not defer and self._gc_threshold is not None:
            gc.set_threshold(*self._gc_threshold)
            self._gc_threshold = None
            QTimer.singleShot(500, gc.collect)

    # sending -----------------------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """A reply is being generated."""
        return self._job is not None

    def submit(self) -> None:
        """Send the input (or resend an edited message)."""
        text = self.composer.input.toPlainText().strip()
        if not text or self.busy or self.header.model_box.currentData() is None:
            return
        if self.conversation_id is None:
            self.new_conversation()
        assert self.conversation_id is not None
        self.composer.input.clear()
        conv_id = self.conversation_id
        if self.composer.editing is not None:
            position = self.composer.editing
            self.composer.cancel_edit()
            self.model.set_rows([r for r in self.model.rows if self._position(r) < position])
            self._start(actions.EditAndResend(conv_id, position, text))
        else:
            self._start(actions.Send(conv_id, text))

    def regenerate(self) -> None:
        """Replace the last reply."""
        if self.busy or self.conversation_id is None:
            return
        conv_id = self.conversation_id
        last_user = max((i for i, r in enumerate(self.model.rows) if r.role == "user"), default=-1)
        self.model.set_rows(self.model.rows[: last_user + 1])
        self._start(actions.Regenerate(conv_id))

    def _position(self, row: Row) -> int:
        return self.model.rows.index(row)

    def _start(self, action: actions.ChatAction) -> None:
        controls, collection, index = Controls(), self.collection(), self.indexer.index
        waiting = bool(collection) and any(f.status == "pending" for f in index.files(collection))
        factory = reply_work(self.store, self.inference.host, action, self.header.choice(), self.settings(),
                             controls, collection, index)
        worker = GeneratorWorker(factory, on_cancel=controls.cancel)
        assert self.conversation_id is not None
        self._job = (worker, controls, self.conversation_id)
        worker.yielded.connect(self._on_events)
        worker.failed.connect(self._on_failed)
        for signal in (worker.finished, worker.failed, worker.cancelled):
            signal.connect(self._on_done)
        self.composer.set_busy(True)
        self.composer.show_warning(self.tr("Some documents are still being indexed; this answer uses the ones ready."),
                                   waiting)
        self.inference.submit(worker)

    def stop(self) -> None:
        """Stop the reply being generated (what it said so far is kept)."""
        if self._job is not None:
            self._job[1].cancel()

    def answer_now(self) -> None:
        """End the reasoning; the model answers."""
        if self._job is not None:
            self._job[1].answer_now()
            self.composer.answer_now_button.hide()

    def _send_or_stop(self) -> None:
        self.stop() if self.busy else self.submit()

    # events from the inference thread ---------------------------------------------------------------------------

    def _on_events(self, events: list[Any]) -> None:
        if self._job is None:
            return
        visible = self._job[2] == self.conversation_id
        follow = self.view.at_bottom()
        touched: Row | None = None
        for event in events:
            if isinstance(event, actions.ReplyStarted):
                if event.user_message is not None and visible:
                    self.model.append(stored_row(event.user_message))
                self._live = live_row(event.message)
                if visible:
                    self.model.append(self._live)
                self._tick.start()
                self._defer_full_collection(True)
                self.composer.answer_now_button.setVisible(True)
                self.refresh_conversations()
            elif self._live is None:
                continue
            elif isinstance(event, TextDelta):
                if add_text(self._live, event):
                    self.composer.answer_now_button.hide()
                touched = self._live
                self.status.emit({"tokens_per_s": event.tokens_per_s})
            elif isinstance(event, Notice):
                if event.kind == "loop_detected":
                    self._live.notice = self.tr("The reasoning is going in circles. Press “Answer now” or Stop.")
                    self.composer.show_warning(self._live.notice)
                else:
                    self.composer.show_warning(event.message)
                touched = self._live
            elif isinstance(event, Finished):
                live = touched = self._live
                finish(live, event)
                s = event.stats
                self.status.emit({"model": live.model, "provider": s.provider, "provider_reason": s.provider_reason,
                                  "tokens_per_s": s.decode_tokens_per_s, "context_used": s.context_used,
                                  "context_size": s.context_size})
                self.header.show_context(s.context_used, s.context_size)
                self._defer_full_collection(False)
                self._measure_context()
                self.reply_finished.emit(event)
            elif isinstance(event, actions.CitationsChecked):
                add_verdicts(self._live, event)
                touched = self._live
        if touched is not None and visible:
            self._follow = follow
            if touched.streaming:
                if not self._render_timer.isActive():
                    self._render_timer.start(int(1000 * max(1 / 30, 3 * self.delegate.last_cost_s)))
            else:
                self._render_timer.stop()
                self._render_live(touched)

    def _on_failed(self, message: str) -> None:
        QMessageBox.warning(self, self.tr("The reply failed"), message)

    def _on_done(self, *_: Any) -> None:
        self._job = None
        self._tick.stop()
        self._defer_full_collection(False)
        if self._live is not None and self._live.streaming:  # failed mid-way
            self._live.streaming = False
            self._live.state = "interrupted"
            self.model.changed(self._live)
        self._live = None
        self.composer.set_busy(False)
        self.refresh_conversations()

    def _render_live(self, row: Row | None = None) -> None:
        row = row or self._live
        if row is None:
            return
        self.model.changed(row)
        if self._follow:
            self.view.scrollToBottom()

    def _refresh_live(self) -> None:
        if self._live is not None and self._live.thinking and self._job and self._job[2] == self.conversation_id:
            self.model.changed(self._live)

