"""The chat screen: conversations on the left (desktop/chat/sidebar.py); on the right the model chooser
(header.py), the transcript (transcript.py) and the input with the reply controls (composer.py). This module wires
them, runs replies on the inference thread and shows what they stream."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QInputDialog, QMessageBox, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from desktop.chat.compare import CompareView
from desktop.chat.composer import Composer
from desktop.chat.documents import DocumentsMixin
from desktop.chat.drop import DropTarget
from desktop.chat.empty import EmptyState
from desktop.chat.header import ModelHeader
from desktop.chat.mathstore import MathStore
from desktop.chat.reasoning_panel import ReasoningPanel
from desktop.chat.reply import add_text, add_verdicts, finish, generation_config, live_row, reply_work, stored_row
from desktop.chat.sidebar import ConversationList
from desktop.chat.transcript import MessageDelegate, Row, TranscriptModel, TranscriptView
from desktop.documents.indexer import DocumentIndexer
from desktop.documents.panel import DocumentsBar
from desktop.documents.source_view import SourceDialog
from desktop.workers import BackgroundJobs, GeneratorWorker, InferenceThread
from engine.chat import conversation as actions
from engine.chat.storage import ConversationStore
from engine.documents.index import DocumentIndex
from engine.runtime.generate import Controls, Finished, Notice, TextDelta
from engine.runtime.host import ChatKey
from engine.system.settings import Settings


class ChatPage(DocumentsMixin):
    """Conversations and the live reply. Work runs on the inference thread; the GUI thread only renders."""

    status = Signal(dict)  # model, provider, provider_reason, tokens_per_s, context_used, context_size
    reply_finished = Signal(object)  # the Finished event

    def __init__(self, store: ConversationStore, inference: InferenceThread, settings: Callable[[], Settings],
                 parent: QWidget | None = None, *, jobs: BackgroundJobs | None = None,
                 indexer: DocumentIndexer | None = None) -> None:
        super().__init__(parent)
        self.store, self.inference, self.settings = store, inference, settings
        self.jobs = jobs or BackgroundJobs()
        self.indexer = indexer or DocumentIndexer(DocumentIndex(), self.jobs, inference.host)
        self.source_dialog: SourceDialog | None = None
        self.setAcceptDrops(True)
        self.conversation_id: str | None = None
        self._job: tuple[GeneratorWorker, Controls, str] | None = None
        self._live: Row | None = None
        self._build()
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._refresh_live)
        # a streaming reply is re-rendered at most every 33 ms, and less often when rendering it got slow (a long
        # answer), so the GUI thread always has time left for input and painting
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.timeout.connect(self._render_live)
        self._follow = True
        self.refresh_remote()
        self.refresh_conversations()

    # layout ----------------------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.sidebar = ConversationList(self.store, lambda: self.conversation_id)
        self.sidebar.picked.connect(self.open_conversation)
        self.sidebar.new_requested.connect(self.new_conversation)
        self.sidebar.delete_requested.connect(self.delete)
        self.search, self.new_button = self.sidebar.search, self.sidebar.new_button
        self.conversations = self.sidebar.conversations

        self.header = ModelHeader(self.settings, self.jobs)
        self.header.system_prompt_requested.connect(self._edit_system_prompt)
        self.header.unload_requested.connect(self.inference.host.unload_all)
        self.header.model_switched.connect(self._on_model_switched)
        self.inference.host_event.connect(self.header.on_host_event)
        self.model_box, self.system_button = self.header.model_box, self.header.system_button
        self.reasoning = ReasoningPanel(self.store, self.jobs, self.inference)
        self.header.add_reasoning(self.reasoning)
        self.model_box.currentIndexChanged.connect(lambda _: self._on_model_chosen())

        self.model = TranscriptModel()
        self.view = TranscriptView()
        self.delegate = MessageDelegate(self.view)
        self.math = MathStore(self.jobs, self)
        self.delegate.math = self.math
        self.math.ready.connect(self.model.changed_all)
        self.view.setItemDelegate(self.delegate)
        self.view.setModel(self.model)
        self.delegate.action.connect(self._on_action)

        self.docs_bar = DocumentsBar(self.indexer)
        self.docs_bar.collection_chosen.connect(self._choose_collection)
        self.docs_bar.add_requested.connect(self.attach_paths)
        self.composer = Composer(self.docs_bar)
        self.composer.submitted.connect(self.submit)
        self.composer.send_clicked.connect(self._send_or_stop)
        self.composer.answer_now_requested.connect(self.answer_now)
        self.composer.stop_requested.connect(self.stop)
        self.header.ready_changed.connect(self.composer.set_ready)
        self.input, self.send_button = self.composer.input, self.composer.send_button
        self.answer_now_button, self.warning = self.composer.answer_now_button, self.composer.warning
        self.edit_label = self.composer.edit_label

        main = QWidget()
        main.setObjectName("chatMain")
        main.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        main_layout = QVBoxLayout(main)
        main_layout.setContentsMargins(0, 0, 0, 0)
        main_layout.setSpacing(0)
        main_layout.addWidget(self.header)
        conversation = QWidget()
        conversation_layout = QVBoxLayout(conversation)
        conversation_layout.setContentsMargins(0, 0, 0, 0)
        conversation_layout.setSpacing(0)
        conversation_layout.addWidget(self.view, 1)
        conversation_layout.addWidget(self.composer)
        self.compare = CompareView(self.store, self.inference, self.settings, self.header, self.jobs,
                                   self.indexer.index)
        self.center = QStackedWidget()
        self.conversation_pane = conversation
        self.center.addWidget(conversation)
        self.center.addWidget(self.compare)
        main_layout.addWidget(self.center, 1)
        self.header.compare_toggled.connect(self.show_compare)
        self.compare.both_finished.connect(self.refresh_conversations)  # its two conversations are saved
        self.main = main
        self.drop_target = DropTarget(self.view)
        self.empty = EmptyState(self.view)
        for signal in (self.model.modelReset, self.model.rowsInserted, self.model.rowsRemoved):
            signal.connect(lambda *_: self.empty.update_for(self.model.rowCount()))
        self.empty.update_for(0)

        splitter = QSplitter()
        splitter.setHandleWidth(1)
        self.sidebar.setMinimumWidth(200)  # titles and dates stay readable in a narrow window
        splitter.addWidget(self.sidebar)
        splitter.addWidget(main)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([250, 750])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    # models ------------------------------------------------------------------------------------------------------

    @property
    def remote_models(self) -> dict[str, list[str]]:
        """Each remote engine's models, as last reported."""
        return self.header.remote_models

    def refresh_models(self) -> None:
        """Fill the model chooser with the installed models (the default one first) and the remote ones."""
        self.header.refresh_models()

    def refresh_remote(self) -> None:
        """Ask the remote engines for their models, in the background (see ModelHeader.refresh_remote)."""
        self.header.refresh_remote()

    def show_compare(self, on: bool) -> None:
        """Show the comparison of two models (or the conversation again)."""
        if on:
            self.compare.refresh_models()
        self.center.setCurrentWidget(self.compare if on else self.conversation_pane)
        self.header.compare_button.setChecked(on)

    def _on_model_chosen(self) -> None:
        data = self.model_box.currentData()
        choice = self.header.choice() if data is not None else None
        self.reasoning.set_model(choice.path if choice is not None and choice.path is not None and
                                 choice.path.is_dir() else None)

    def chat_key(self) -> ChatKey | None:
        """The loaded-model key of the chosen local model (None for a remote one or none)."""
        if self.model_box.currentData() is None:
            return None
        choice, settings = self.header.choice(), self.settings()
        if choice.path is None:
            return None
        return ChatKey(choice.path, settings.provider, settings.threads or None, settings.context_length)

    def _measure_context(self) -> None:
        """After a reply: what the next prompt takes of the context, part by part (the model is loaded now)."""
        key = self.chat_key()
        if key is not None and key.path.is_dir() and self.conversation_id is not None:
            self.reasoning.measure(key, generation_config(self.settings()))

    def _on_model_switched(self, now: str, before: str) -> None:
        """Say what switching the model mid-conversation does."""
        if self.conversation_id is None or not self.model.rows:
            return
        loaded = [name for name in self.inference.host.loaded() if name == before]
        text = self.tr("The next reply comes from {0}: it reads this conversation from the start, so it begins "
                       "slower; earlier replies stay as {1} wrote them.").format(now, before)
        if loaded:
            text += " " + self.tr("{0} is unloaded to make room.").format(before)
        self.composer.show_warning(text)

    # conversations -----------------------------------------------------------------------------------------------

    def refresh_conversations(self) -> None:
        """Reload the sidebar (search applied), keeping the selection."""
        self.sidebar.refresh()

    def new_conversation(self) -> str:
        """Start an empty conversation and show it."""
        conv = self.store.create(actions.DEFAULT_TITLE, system_prompt=self.settings().system_prompt)
        self.open_conversation(conv.id)
        self.refresh_conversations()
        self.input.setFocus()
        return conv.id

    def open_conversation(self, conversation_id: str) -> None:
        """Show a conversation's messages (a reply still streaming elsewhere keeps being saved)."""
        self.conversation_id = conversation_id
        self.composer.cancel_edit()
        rows = [stored_row(m) for m in self.store.messages(conversation_id)]
        if self._job is not None and self._job[2] == conversation_id and self._live is not None:
            rows = [r for r in rows if r.id != self._live.id] + [self._live]
        self.model.set_rows(rows)
        self.view.scrollToBottom()
        self.docs_bar.set_collection(self.collection())
        self.reasoning.show_conversation(conversation_id)

    def rename(self, conversation_id: str, title: str | None = None) -> None:
        """Rename a conversation (asks when ``title`` is None)."""
        self.sidebar.rename(conversation_id, title)

    def delete(self, conversation_id: str, confirm: bool = True) -> None:
        """Delete a conversation (after asking)."""
        if confirm and not self.sidebar.confirm_delete():
            return
        if self._job is not None and self._job[2] == conversation_id:
            self.stop()
        self.store.delete(conversation_id)
        if self.conversation_id == conversation_id:
            self.conversation_id = None
            self.model.set_rows([])
            self.docs_bar.set_collection("")
        self.refresh_conversations()

    def export(self, conversation_id: str, kind: str, path: Path | None = None) -> None:
        """Write a conversation as Markdown or JSON (asks where when ``path`` is None)."""
        self.sidebar.export(conversation_id, kind, path)

    def _edit_system_prompt(self) -> None:
        if self.conversation_id is None:
            self.new_conversation()
        assert self.conversation_id is not None
        conv = self.store.get(self.conversation_id)
        text, ok = QInputDialog.getMultiLineText(self, self.tr("System prompt"),
                                                 self.tr("For this conversation only:"), conv.system_prompt)
        if ok:
            self.store.update(conv.id, system_prompt=text)

    # sending -----------------------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """A reply is being generated."""
        return self._job is not None

    def submit(self) -> None:
        """Send the input (or resend an edited message)."""
        text = self.input.toPlainText().strip()
        if not text or self.busy or self.model_box.currentData() is None:
            return
        if self.conversation_id is None:
            self.new_conversation()
        assert self.conversation_id is not None
        self.input.clear()
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
            self.answer_now_button.hide()

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
                self.answer_now_button.setVisible(True)
                self.refresh_conversations()
            elif self._live is None:
                continue
            elif isinstance(event, TextDelta):
                if add_text(self._live, event):
                    self.answer_now_button.hide()
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

    # message actions ----------------------------------------------------------------------------------------------

    def _on_action(self, verb: str, message_id: int, arg: str) -> None:
        i = self.model.index_of(message_id)
        if i < 0:
            return
        row = self.model.rows[i]
        if verb == "toggle":
            row.expanded = not row.reasoning_open
            self.model.changed(row)
        elif verb == "copy":
            QGuiApplication.clipboard().setText(row.content)
        elif verb == "copy-code":
            QGuiApplication.clipboard().setText(arg)
        elif verb == "edit" and not self.busy:
            self.composer.start_edit(i, row.content)
        elif verb == "regenerate":
            self.regenerate()
        elif verb == "answer-now":
            self.answer_now()
        elif verb == "cite" and arg.isdigit():
            source = next((s for s in row.stats.get("sources", []) if s.get("number") == int(arg)), None)
            if source is not None:
                self.open_source(source)

    def copy_last_answer(self) -> str:
        """Put the last answer of the open conversation on the clipboard; returns it ("" when there is none)."""
        last = next((r for r in reversed(self.model.rows) if r.role == "assistant" and r.content), None)
        if last is None:
            return ""
        QGuiApplication.clipboard().setText(last.content)
        return last.content

    def edit(self, message_id: int) -> None:
        """Start editing a user message (as its Edit link does)."""
        self._on_action("edit", message_id, "")
