"""The drop target: while files are dragged over the chat, a framed card over the conversation says what dropping
them does (they join this conversation's documents and are indexed)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from desktop.icons import pixmap
from desktop.theme import current_tokens


class DropTarget(QFrame):
    """A card that covers ``over`` (kept to its size) while a drag of files is over the chat."""

    def __init__(self, over: QWidget) -> None:
        super().__init__(over)
        self.over = over
        self.setObjectName("dropTarget")
        self.setAccessibleName(self.tr("Drop files here"))
        self.icon = QLabel()
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel(self.tr("Drop to add to this conversation's documents"))
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail = QLabel(self.tr("PDF, Word, text, Markdown and HTML files, or folders. They are indexed on "
                                     "this computer; answers cite them."))
        self.detail.setObjectName("dimLabel")
        self.detail.setWordWrap(True)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.icon)
        layout.addWidget(self.title)
        layout.addWidget(self.detail)
        layout.addStretch(1)
        over.installEventFilter(self)
        self.hide()

    def show_over(self, count: int) -> None:
        """Cover the conversation, saying how many items are dragged."""
        t = current_tokens(self.palette())
        self.icon.setPixmap(pixmap("upload", t.accent, 40))
        self.title.setText(self.tr("Drop to add to this conversation's documents") if count <= 1 else
                           self.tr("Drop {0} items to add to this conversation's documents").format(count))
        self.setGeometry(self.over.rect().adjusted(16, 16, -16, -16))
        self.raise_()
        self.show()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.over and event.type() == QEvent.Type.Resize and self.isVisible():
            self.setGeometry(self.over.rect().adjusted(16, 16, -16, -16))
        return False
