"""The empty state of the conversation: a greeting and what to try, over an empty transcript."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class EmptyState(QWidget):
    """Covers ``view`` while it has no messages."""

    def __init__(self, view: QWidget) -> None:
        super().__init__(view)
        self.view = view
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.title = QLabel(self.tr("What would you like to think through?"))
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hints = QLabel(self.tr(
            "Everything stays on this computer. Reasoning models think first: watch the thought live, or press "
            "Answer now.\nDrop PDFs or notes here to ask about them.\n\nCtrl+N new chat · Ctrl+K search · "
            "Ctrl+. stop · Ctrl+R regenerate · Ctrl+Shift+C copy the last answer · Ctrl+, settings"))
        self.hints.setObjectName("dimLabel")
        self.hints.setWordWrap(True)
        self.hints.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hints.setFixedWidth(560)  # a fixed width: the wrapped text gets the height it needs
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addSpacing(8)
        layout.addWidget(self.hints, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        view.installEventFilter(self)

    def update_for(self, rows: int) -> None:
        """Show it when there are no messages."""
        self.setGeometry(self.view.rect())
        self.setVisible(rows == 0)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.view and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.view.rect())
        return False
