"""The chat screen's left side: the conversations (searchable, each with when it was last active), a New chat
button, and each one's menu (rename, export as Markdown or JSON, delete)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.icons import icon
from desktop.theme import current_tokens
from engine.chat.storage import ConversationStore

WHEN_ROLE = Qt.ItemDataRole.UserRole + 1


def when_label(stamp: float, now: float | None = None) -> str:
    """When a conversation was last active, as a list shows it: the time today, "Yesterday", the weekday this
    week, else the date."""
    moment = datetime.fromtimestamp(stamp)
    today = date.fromtimestamp(now if now is not None else time.time())
    days = (today - moment.date()).days
    if days <= 0:
        return moment.strftime("%H:%M")
    if days == 1:
        return QCoreApplication.translate("ConversationList", "Yesterday")
    if days < 7:
        return QCoreApplication.translate("ConversationList", "{0} days ago").format(days)
    return moment.strftime("%Y-%m-%d")


class ConversationDelegate(QStyledItemDelegate):
    """A conversation row: its title (elided) and, dimmed on the right, when it was last active."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width(), max(size.height(), option.fontMetrics.height() + 16))  # type: ignore[attr-defined]

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        when = str(index.data(WHEN_ROLE) or "")
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""  # type: ignore[attr-defined]
        widget = opt.widget  # type: ignore[attr-defined]
        style = widget.style() if widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        rect: QRect = option.rect.adjusted(10, 0, -10, 0)  # type: ignore[attr-defined]
        metrics = option.fontMetrics  # type: ignore[attr-defined]
        when_width = metrics.horizontalAdvance(when) + 8 if when else 0
        palette: QPalette = option.palette  # type: ignore[attr-defined]
        painter.save()
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        title = metrics.elidedText(str(index.data(Qt.ItemDataRole.DisplayRole) or ""), Qt.TextElideMode.ElideRight,
                                   rect.width() - when_width)
        painter.drawText(rect.adjusted(0, 0, -when_width, 0), Qt.AlignmentFlag.AlignVCenter, title)
        if when:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, when)
        painter.restore()


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
        self.setObjectName("chatSidebar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        t = current_tokens(self.palette())
        self.search = QLineEdit(placeholderText=self.tr("Search conversations"))
        self.search.setAccessibleName(self.tr("Search conversations"))
        self.search.setClearButtonEnabled(True)
        self.search.addAction(icon("search", t.dim, size=16), QLineEdit.ActionPosition.LeadingPosition)
        for button in self.search.findChildren(QToolButton):  # the icon and the clear button inside the field
            button.setAccessibleName(self.tr("Clear search") if button.isEnabled() and button.defaultAction()
                                     and button.defaultAction().objectName() == "_q_qlineeditclearaction"
                                     else self.tr("Search"))
        self.search.textChanged.connect(lambda _: self.refresh())
        self.new_button = QPushButton(icon("plus", t.on_accent, size=16), self.tr("New chat"))
        self.new_button.setObjectName("primaryButton")
        self.new_button.setAccessibleName(self.tr("New chat"))
        self.new_button.setToolTip(self.tr("Start a new conversation (Ctrl+N)"))
        self.new_button.clicked.connect(lambda: self.new_requested.emit())
        self.conversations = QListWidget()
        self.conversations.setObjectName("conversationList")
        self.conversations.setAccessibleName(self.tr("Conversations"))
        self.conversations.setItemDelegate(ConversationDelegate(self.conversations))
        self.conversations.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.conversations.currentItemChanged.connect(self._on_pick)
        self.conversations.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.conversations.customContextMenuRequested.connect(self._menu)
        self.empty = QLabel(self.tr("No conversations yet"))
        self.empty.setObjectName("dimLabel")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 12, 10, 10)
        layout.setSpacing(8)
        layout.addWidget(self.new_button)
        layout.addWidget(self.search)
        layout.addWidget(self.conversations, 1)
        layout.addWidget(self.empty)

    def refresh(self) -> None:
        """Reload the list (search applied), keeping the current conversation selected."""
        current = self._current()
        self.conversations.blockSignals(True)
        self.conversations.clear()
        for conv in self.store.conversations(self.search.text()):
            item = QListWidgetItem(conv.title)
            item.setData(Qt.ItemDataRole.UserRole, conv.id)
            item.setData(WHEN_ROLE, when_label(conv.updated_at))
            item.setToolTip(f"{conv.title}\n{datetime.fromtimestamp(conv.updated_at):%Y-%m-%d %H:%M}")
            self.conversations.addItem(item)
            if conv.id == current:
                self.conversations.setCurrentItem(item)
        self.conversations.blockSignals(False)
        self.empty.setVisible(self.conversations.count() == 0)
        self.empty.setText(self.tr("No conversation matches") if self.search.text() else
                           self.tr("No conversations yet"))

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
