"""The chat screen: conversations on the left; the transcript, the input and the reply controls on the right."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QGuiApplication, QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.chat.transcript import MessageDelegate, Row, TranscriptModel, TranscriptView
from desktop.documents.indexer import DocumentIndexer
from desktop.documents.panel import DocumentsBar
from desktop.documents.source_view import SourceDialog
from desktop.jobs import call, run_background
from desktop.offline import offline_note
from desktop.workers import BackgroundJobs, GeneratorWorker, InferenceThread
from engine.chat import conversation as actions
from engine.chat.storage import ConversationStore, StoredMessage
from engine.documents.embed import hosted_embedder
from engine.documents.index import DocumentIndex
from engine.documents.pipeline import embedder_folder
from engine.documents.retrieve import Source, retrieve
from engine.remote import RemoteEngines
from engine.runtime.generate import Controls, Finished, GenerationConfig, Notice, TextDelta
from engine.runtime.host import ChatKey
from engine.runtime.sampling import SamplingParams
from engine.settings import Settings
from engine.store import list_installed

REMOTE, REMOTE_SEP = "remote:", "\x1f"  # model chooser data of a remote model: remote:ENGINE<sep>MODEL


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


def _row(m: StoredMessage) -> Row:
    return Row(id=m.id, role=m.role, content=m.content, reasoning=m.reasoning, state=m.state, model=m.model,
               stats=m.stats, engine=m.engine)


class ChatPage(QWidget):
    """Conversations and the live reply. Work runs on the inference thread; the GUI thread only renders."""

    status = Signal(dict)  # model, provider, provider_reason, tokens_per_s, context_used, context_size
    reply_finished = Signal(object)  # the Finished event

    def __init__(self, store: ConversationStore, inference: InferenceThread, settings: Callable[[], Settings],
                 parent: QWidget | None = None, *, jobs: BackgroundJobs | None = None,
                 indexer: DocumentIndexer | None = None) -> None:
        super().__init__(parent)
        self.store, self.inference, self.settings = store, inference, settings
        self.jobs = jobs or BackgroundJobs()
        self.indexer = indexer or DocumentIndexer(DocumentIndex(), self.jobs)
        self.source_dialog: SourceDialog | None = None
        self.remote_models: dict[str, list[str]] = {}  # remote engine -> its models, as last reported
        self.setAcceptDrops(True)
        self.conversation_id: str | None = None
        self._job: tuple[GeneratorWorker, Controls, str] | None = None
        self._editing: int | None = None  # position of the user message being edited
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
        self.search = QLineEdit(placeholderText=self.tr("Search conversations"))
        self.search.textChanged.connect(lambda _: self.refresh_conversations())
        self.new_button = QPushButton(self.tr("New chat"))
        self.new_button.clicked.connect(self.new_conversation)
        self.conversations = QListWidget()
        self.conversations.currentItemChanged.connect(self._on_pick)
        self.conversations.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.conversations.customContextMenuRequested.connect(self._conversation_menu)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.new_button)
        side_layout.addWidget(self.search)
        side_layout.addWidget(self.conversations)

        self.model_box = QComboBox()
        self.model_box.setToolTip(self.tr("The model that answers"))
        self.system_button = QPushButton(self.tr("System prompt…"))
        self.system_button.clicked.connect(self._edit_system_prompt)
        header = QHBoxLayout()
        header.addWidget(QLabel(self.tr("Model:")))
        header.addWidget(self.model_box, 1)
        header.addWidget(self.system_button)

        self.model = TranscriptModel()
        self.view = TranscriptView()
        self.delegate = MessageDelegate(self.view)
        self.view.setItemDelegate(self.delegate)
        self.view.setModel(self.model)
        self.delegate.action.connect(self._on_action)

        self.answer_now_button = QPushButton(self.tr("Answer now"))
        self.answer_now_button.setToolTip(self.tr("End the reasoning here; the model answers with what it has"))
        self.answer_now_button.clicked.connect(self.answer_now)
        self.answer_now_button.hide()
        self.warning = QLabel()
        self.warning.setStyleSheet("color: #c77700")
        self.warning.hide()
        self.edit_label = QLabel(self.tr("Editing a message: Enter resends it (later messages are replaced), "
                                         "Esc cancels"))
        self.edit_label.hide()
        controls = QHBoxLayout()
        controls.addWidget(self.warning, 1)
        controls.addWidget(self.answer_now_button)

        self.input = InputBox()
        self.input.setPlaceholderText(self.tr("Ask anything — Enter sends, Shift+Enter adds a line"))
        self.input.setFixedHeight(80)
        self.input.submitted.connect(self.submit)
        self.input.escaped.connect(self._cancel_edit)
        self.send_button = QPushButton(self.tr("Send"))
        self.send_button.clicked.connect(self._send_or_stop)
        bottom = QHBoxLayout()
        bottom.addWidget(self.input, 1)
        bottom.addWidget(self.send_button)
        self.docs_bar = DocumentsBar(self.indexer)
        self.docs_bar.collection_chosen.connect(self._choose_collection)
        self.docs_bar.add_requested.connect(self.attach_paths)

        main = QWidget()
        main_layout = QVBoxLayout(main)
        main_layout.setContentsMargins(0, 0, 0, 0)
        main_layout.addLayout(header)
        main_layout.addWidget(self.view, 1)
        main_layout.addLayout(controls)
        main_layout.addWidget(self.edit_label)
        main_layout.addWidget(self.docs_bar)
        main_layout.addLayout(bottom)

        splitter = QSplitter()
        splitter.addWidget(side)
        splitter.addWidget(main)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([240, 760])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    # conversations -----------------------------------------------------------------------------------------------

    def refresh_models(self) -> None:
        """Fill the model chooser with the installed models (the default one first)."""
        current = self.model_box.currentData()
        self.model_box.clear()
        installed = list_installed()
        default = self.settings().default_model
        installed.sort(key=lambda m: m.name != default)
        for m in installed:
            self.model_box.addItem(m.name, str(m.path))
        for engine, models in sorted(self.remote_models.items()):
            for name in models:
                self.model_box.addItem(f"{name} @ {engine}", f"{REMOTE}{engine}{REMOTE_SEP}{name}")
        if current:
            i = self.model_box.findData(current)
            if i >= 0:
                self.model_box.setCurrentIndex(i)
        ready = self.model_box.count() > 0
        self.input.setEnabled(ready)
        self.send_button.setEnabled(ready)
        self.input.setPlaceholderText(self.tr("Ask anything — Enter sends, Shift+Enter adds a line") if ready
                                      else self.tr("Install a model first (Models page)"))

    def refresh_remote(self) -> None:
        """Ask each remote engine (Settings › Remote engines) for its models, in the background; the chooser
        lists them when they answer (an engine that does not answer is left out, with a note in the tooltip)."""
        engines = RemoteEngines().engines()
        self.remote_models = {k: v for k, v in self.remote_models.items() if k in {e.name for e in engines}}
        note = offline_note()
        self.model_box.setToolTip(note if note and engines else self.tr("The model that answers"))
        if note:  # remote engines are not asked: their models leave the chooser, and its tooltip says why
            self.remote_models, engines = {}, []
        for engine in engines:

            def fetch(name: str = engine.name) -> tuple[str, list[str]]:
                return name, RemoteEngines().models(name)

            run_background(self.jobs, self, call(fetch), self._on_remote_models, self.model_box.setToolTip)
        self.refresh_models()

    def _on_remote_models(self, result: tuple[str, list[str]]) -> None:
        name, models = result
        self.remote_models[name] = models
        self.refresh_models()

    def refresh_conversations(self) -> None:
        """Reload the sidebar (search applied), keeping the selection."""
        self.conversations.blockSignals(True)
        self.conversations.clear()
        for conv in self.store.conversations(self.search.text()):
            item = QListWidgetItem(conv.title)
            item.setData(Qt.ItemDataRole.UserRole, conv.id)
            self.conversations.addItem(item)
            if conv.id == self.conversation_id:
                self.conversations.setCurrentItem(item)
        self.conversations.blockSignals(False)

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
        self._cancel_edit()
        rows = [_row(m) for m in self.store.messages(conversation_id)]
        if self._job is not None and self._job[2] == conversation_id and self._live is not None:
            rows = [r for r in rows if r.id != self._live.id] + [self._live]
        self.model.set_rows(rows)
        self.view.scrollToBottom()
        self.docs_bar.set_collection(self.collection())

    def _on_pick(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if item is not None:
            self.open_conversation(item.data(Qt.ItemDataRole.UserRole))

    def _conversation_menu(self, pos: Any) -> None:
        item = self.conversations.itemAt(pos)
        if item is None:
            return
        conv_id = item.data(Qt.ItemDataRole.UserRole)
        menu = QMenu(self)
        menu.addAction(self.tr("Rename…"), lambda: self.rename(conv_id))
        menu.addAction(self.tr("Export as Markdown…"), lambda: self.export(conv_id, "md"))
        menu.addAction(self.tr("Export as JSON…"), lambda: self.export(conv_id, "json"))
        menu.addSeparator()
        menu.addAction(self.tr("Delete"), lambda: self.delete(conv_id))
        menu.exec(self.conversations.mapToGlobal(pos))

    def rename(self, conversation_id: str, title: str | None = None) -> None:
        """Rename a conversation (asks when ``title`` is None)."""
        if title is None:
            title, ok = QInputDialog.getText(self, self.tr("Rename"), self.tr("Title:"),
                                             text=self.store.get(conversation_id).title)
            if not ok:
                return
        if title.strip():
            self.store.update(conversation_id, title=title.strip())
            self.refresh_conversations()

    def delete(self, conversation_id: str, confirm: bool = True) -> None:
        """Delete a conversation (after asking)."""
        if confirm and QMessageBox.question(self, self.tr("Delete"), self.tr("Delete this conversation?")) != \
                QMessageBox.StandardButton.Yes:
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
        if path is None:
            name, _ = QFileDialog.getSaveFileName(self, self.tr("Export"), f"conversation.{kind}")
            if not name:
                return
            path = Path(name)
        text = self.store.export_markdown(conversation_id) if kind == "md" else self.store.export_json(conversation_id)
        path.write_text(text, encoding="utf-8")

    def _edit_system_prompt(self) -> None:
        if self.conversation_id is None:
            self.new_conversation()
        assert self.conversation_id is not None
        conv = self.store.get(self.conversation_id)
        text, ok = QInputDialog.getMultiLineText(self, self.tr("System prompt"),
                                                 self.tr("For this conversation only:"), conv.system_prompt)
        if ok:
            self.store.update(conv.id, system_prompt=text)

    # documents ---------------------------------------------------------------------------------------------------

    def collection(self) -> str:
        """The document collection the current conversation answers from ("" for none)."""
        if self.conversation_id is None:
            return ""
        return str(self.store.get(self.conversation_id).settings.get("collection", ""))

    def _choose_collection(self, name: str) -> None:
        if self.conversation_id is None:
            if not name:
                return
            self.new_conversation()
        assert self.conversation_id is not None
        conv = self.store.get(self.conversation_id)
        self.store.update(conv.id, settings={**conv.settings, "collection": name})
        self.docs_bar.set_collection(name)

    def attach_paths(self, paths: list[Path]) -> str:
        """Add files and folders to the conversation's documents (a new collection for it if it has none) and
        index them in the background. Returns the collection."""
        if self.conversation_id is None:
            self.new_conversation()
        assert self.conversation_id is not None
        name = self.collection() or f"chat-{self.conversation_id[:8]}"
        self.indexer.index.create_collection(name)
        self._choose_collection(name)
        self.indexer.add(name, paths)
        return name

    @staticmethod
    def _local_paths(event: QDragEnterEvent | QDragMoveEvent | QDropEvent) -> list[Path]:
        mime = event.mimeData()
        if not mime.hasUrls():
            return []
        return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._local_paths(event):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self._local_paths(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = self._local_paths(event)
        if paths:
            event.acceptProposedAction()
            self.attach_paths(paths)

    def open_source(self, source: dict[str, Any]) -> SourceDialog:
        """Show a cited source in its document, at its page, highlighted."""
        self.source_dialog = SourceDialog(source, self.jobs, self)
        self.source_dialog.show()
        return self.source_dialog

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
        if self._editing is not None:
            position = self._editing
            self._cancel_edit()
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

    def _config(self) -> GenerationConfig:
        s = self.settings()
        return GenerationConfig(SamplingParams(temperature=s.temperature, top_p=s.top_p), max_new_tokens=s.max_tokens)

    def _start(self, action: actions.ChatAction) -> None:
        choice, name = str(self.model_box.currentData()), self.model_box.currentText()
        remote = choice[len(REMOTE):].split(REMOTE_SEP, 1) if choice.startswith(REMOTE) else None
        path = Path(choice)
        settings, controls, config = self.settings(), Controls(), self._config()
        host = self.inference.host
        collection, index = self.collection(), self.indexer.index
        waiting = bool(collection) and any(f.status == "pending" for f in index.files(collection))

        def documents() -> actions.Retriever | None:  # on the model host's thread, which owns the embedder session
            if not collection:
                return None
            embedder = hosted_embedder(host, embedder_folder())

            def retriever(question: str) -> list[Source]:
                return retrieve(index, embedder, collection, question)

            return retriever

        def factory() -> Iterator[Any]:  # runs on the model host's thread: loading happens there too
            if remote is not None:
                engine, model = remote
                reply = actions.Reply(RemoteEngines().chat_model(engine, model), model, config, controls,
                                      documents(), engine)
            else:
                key = ChatKey(path, settings.provider, settings.threads or None, settings.context_length)
                reply = actions.Reply(host.chat(key), name, config, controls, documents())
            return actions.perform(self.store, action, reply)

        worker = GeneratorWorker(factory, on_cancel=controls.cancel)
        assert self.conversation_id is not None
        self._job = (worker, controls, self.conversation_id)
        worker.yielded.connect(self._on_events)
        worker.failed.connect(self._on_failed)
        for signal in (worker.finished, worker.failed, worker.cancelled):
            signal.connect(self._on_done)
        self.send_button.setText(self.tr("Stop"))
        self.warning.setVisible(waiting)
        self.warning.setText(self.tr("Some documents are still being indexed; this answer uses the ones ready."))
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
                    self.model.append(_row(event.user_message))
                self._live = Row(id=event.message.id, role="assistant", model=event.message.model,
                                 state="streaming", streaming=True, started=time.monotonic(),
                                 stats=dict(event.message.stats), engine=event.message.engine)
                if visible:
                    self.model.append(self._live)
                self._tick.start()
                self.answer_now_button.setVisible(True)
                self.refresh_conversations()
            elif self._live is None:
                continue
            elif isinstance(event, TextDelta):
                live = self._live
                if event.channel == "reasoning":
                    live.reasoning += event.text
                else:
                    if live.reasoning_s is None:
                        live.reasoning_s = time.monotonic() - live.started
                        self.answer_now_button.hide()
                    live.content += event.text
                touched = live
                self.status.emit({"tokens_per_s": event.tokens_per_s})
            elif isinstance(event, Notice):
                if event.kind == "loop_detected":
                    self._live.notice = self.tr("The reasoning is going in circles. Press “Answer now” or Stop.")
                    self.warning.setText(self._live.notice)
                    self.warning.show()
                else:
                    self.warning.setText(event.message)
                    self.warning.show()
                touched = self._live
            elif isinstance(event, Finished):
                live = self._live
                live.streaming = False
                live.content, live.reasoning = event.answer, event.reasoning
                live.state = "cancelled" if event.finish_reason == "cancelled" else "complete"
                live.stats = {**live.stats, **asdict(event.stats), "reasoning_unfinished": event.reasoning_unfinished}
                if live.reasoning_s is None and event.reasoning:
                    live.reasoning_s = event.stats.reasoning_s
                touched = live
                s = event.stats
                self.status.emit({"model": live.model, "provider": s.provider, "provider_reason": s.provider_reason,
                                  "tokens_per_s": s.decode_tokens_per_s, "context_used": s.context_used,
                                  "context_size": s.context_size})
                self.reply_finished.emit(event)
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
        self.answer_now_button.hide()
        self.send_button.setText(self.tr("Send"))
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
            self._editing = i
            self.input.setPlainText(row.content)
            self.edit_label.show()
            self.input.setFocus()
        elif verb == "regenerate":
            self.regenerate()
        elif verb == "cite" and arg.isdigit():
            source = next((s for s in row.stats.get("sources", []) if s.get("number") == int(arg)), None)
            if source is not None:
                self.open_source(source)

    def edit(self, message_id: int) -> None:
        """Start editing a user message (as its Edit link does)."""
        self._on_action("edit", message_id, "")

    def _cancel_edit(self) -> None:
        if self._editing is not None:
            self._editing = None
            self.input.clear()
        self.edit_label.hide()
