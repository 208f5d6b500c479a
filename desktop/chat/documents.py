"""The chat page's documents: the collection a conversation answers from, files attached by the button or by
dropping them on the chat (with the drop target over the conversation), and the source view of a citation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QWidget

from desktop.chat.drop import DropTarget
from desktop.documents.indexer import DocumentIndexer
from desktop.documents.panel import DocumentsBar
from desktop.documents.source_view import SourceDialog
from desktop.workers import BackgroundJobs
from engine.chat.storage import ConversationStore


class DocumentsMixin(QWidget):
    """Documents and drag-and-drop for :class:`desktop.chat.page.ChatPage` (which sets these attributes)."""

    store: ConversationStore
    jobs: BackgroundJobs
    indexer: DocumentIndexer
    docs_bar: DocumentsBar
    drop_target: DropTarget
    conversation_id: str | None
    source_dialog: SourceDialog | None

    def new_conversation(self) -> str:
        raise NotImplementedError

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
        paths = self._local_paths(event)
        if paths:
            event.acceptProposedAction()
            self.drop_target.show_over(len(paths))

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self._local_paths(event):
            event.acceptProposedAction()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.drop_target.hide()
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self.drop_target.hide()
        paths = self._local_paths(event)
        if paths:
            event.acceptProposedAction()
            self.attach_paths(paths)

    def open_source(self, source: dict[str, Any]) -> SourceDialog:
        """Show a cited source in its document, at its page, highlighted."""
        self.source_dialog = SourceDialog(source, self.jobs, self)
        self.source_dialog.show()
        return self.source_dialog
