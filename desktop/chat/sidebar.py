"""The chat screen's left side: the conversations (searchable), a New chat button, and each one's menu (rename,
export as Markdown or JSON, delete)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.chat.storage import ConversationStore


class ConversationList(QWidget):
    """The stored conversations, newest first, filtered by the search box. Picking one emits ``picked``; New chat
    emits ``new_requested``; Delete in a conversation's menu emits ``delete_requested`` (the page stops a reply
    still running in it before deleting). Rename and export are done here."""

    picked = Signal(str)  # conversation id
    new_requested = Signal()
    delete_requested = Signal(str)  # conversation id

    def __init__(self, store: ConversationStore, current: Callable[[], str | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self._current = store, current
        self.search = QLineEdit(placeholderText=self.tr("Search conversations"))
        self.search.textChanged.connect(lambda _: self.refresh())
        self.new_button = QPushButton(self.tr("New chat"))
        self.new_button.clicked.connect(lambda: self.new_requested.emit())
        self.conversations = QListWidget()
        self.conversations.currentItemChanged.connect(self._on_pick)
        self.conversations.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.conversations.customContextMenuRequested.connect(self._menu)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.new_button)
        layout.addWidget(self.search)
        layout.addWidget(self.conversations)

    def refresh(self) -> None:
        """Reload the list (search applied), keeping the current conversation selected."""
        current = self._current()
        self.conversations.blockSignals(True)
        self.conversations.clear()
        for conv in self.store.conversations(self.search.text()):
            item = QListWidgetItem(conv.title)
            item.setData(Qt.ItemDataRole.UserRole, conv.id)
            self.conversations.addItem(item)
            if conv.id == current:
                self.conversations.setCurrentItem(item)
        self.conversations.blockSignals(False)

    def _on_pick(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if item is not None:
            self.picked.emit(item.data(Qt.ItemDataRole.UserRole))

    def _menu(self, pos: Any) -> None:
        item = self.conversations.itemAt(pos)
        if item is None:
            return
        conv_id = item.data(Qt.ItemDataRole.UserRole)
        menu = QMenu(self)
        menu.addAction(self.tr("Rename…"), lambda: self.rename(conv_id))
        menu.addAction(self.tr("Export as Markdown…"), lambda: self.export(conv_id, "md"))
        menu.addAction(self.tr("Export as JSON…"), lambda: self.export(conv_id, "json"))
        menu.addSeparator()
        menu.addAction(self.tr("Delete"), lambda: self.delete_requested.emit(conv_id))
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
            self.refresh()

    def confirm_delete(self) -> bool:
        """Ask whether to delete a conversation."""
        return QMessageBox.question(self, self.tr("Delete"), self.tr("Delete this conversation?")) == \
            QMessageBox.StandardButton.Yes

    def export(self, conversation_id: str, kind: str, path: Path | None = None) -> None:
        """Write a conversation as Markdown or JSON (asks where when ``path`` is None)."""
        if path is None:
            name, _ = QFileDialog.getSaveFileName(self, self.tr("Export"), f"conversation.{kind}")
            if not name:
                return
            path = Path(name)
        text = self.store.export_markdown(conversation_id) if kind == "md" else self.store.export_json(conversation_id)
        path.write_text(text, encoding="utf-8")
