"""The source view: a cited passage shown in its document, at its page (or section), highlighted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.jobs import run_background
from desktop.workers import BackgroundJobs
from engine.documents.locate import Passage, locate

HIGHLIGHT = QColor("#ffe066")


class SourceDialog(QDialog):
    """Opens ``source`` (a source as kept with an answer) in its file; the text is read again in the sandbox, off
    the GUI thread. ``ready`` fires when the passage is shown, ``failed`` with the reason when it cannot be."""

    ready = Signal()
    failed = Signal(str)

    def __init__(self, source: dict[str, Any], jobs: BackgroundJobs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self.passage: Passage | None = None
        self.page: int | None = None
        self.setWindowTitle(self.tr("Source [{0}] — {1}").format(source.get("number", ""), source.get("label", "")))
        self.resize(760, 560)
        self.where = QLabel(self.tr("Opening {0}…").format(Path(str(source.get("file", ""))).name))
        self.where.setWordWrap(True)
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        self.previous_button = QPushButton(self.tr("◀ Previous page"))
        self.next_button = QPushButton(self.tr("Next page ▶"))
        self.open_button = QPushButton(self.tr("Open the file"))
        self.previous_button.clicked.connect(lambda: self.show_page(self._step(-1)))
        self.next_button.clicked.connect(lambda: self.show_page(self._step(1)))
        self.open_button.clicked.connect(self._open_file)
        for button in (self.previous_button, self.next_button):
            button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.previous_button)
        buttons.addWidget(self.next_button)
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.where)
        layout.addWidget(self.text, 1)
        layout.addLayout(buttons)
        path = Path(str(source.get("file", "")))
        start, end, text = int(source.get("start", 0)), int(source.get("end", 0)), str(source.get("text", ""))

        def work() -> Any:
            return locate(path, start, end, text)
            yield  # a generator for the worker; it has nothing to report on the way

        self._worker = run_background(jobs, self, work, self._show, self._fail)

    def _fail(self, message: str) -> None:
        self.where.setText(message)
        self.failed.emit(message)

    def _show(self, passage: Passage) -> None:
        self.passage = passage
        if passage.page is not None:
            self.show_page(passage.page)
        else:
            self._render(0, len(passage.document.text))
        self.ready.emit()

    def _step(self, delta: int) -> int:
        assert self.passage is not None and self.page is not None
        pages = self.passage.pages
        return pages[max(0, min(len(pages) - 1, pages.index(self.page) + delta))]

    def show_page(self, page: int) -> None:
        """Show one page of the document (the passage highlighted when it is on it)."""
        assert self.passage is not None
        self.page = page
        start, end = self.passage.page_span(page)
        self._render(start, end)
        pages = self.passage.pages
        self.previous_button.setEnabled(page != pages[0])
        self.next_button.setEnabled(page != pages[-1])

    def _render(self, start: int, end: int) -> None:
        passage = self.passage
        assert passage is not None
        name = Path(passage.document.path).name
        if self.page is not None:
            where = self.tr("{0} — page {1} of {2}").format(name, self.page, len(passage.pages))
        else:
            where = " › ".join((name, *passage.heading))
        if passage.moved:
            where += "\n" + self.tr("The file changed after it was indexed; the passage was found by its text.")
        self.where.setText(where)
        self.text.setPlainText(passage.document.text[start:end])
        self.text.setExtraSelections([])
        a, b = max(passage.start, start) - start, min(passage.end, end) - start
        if a >= b:
            return
        cursor = QTextCursor(self.text.document())
        cursor.setPosition(a)
        cursor.setPosition(b, QTextCursor.MoveMode.KeepAnchor)
        mark = QTextEdit.ExtraSelection()
        mark.cursor = cursor  # type: ignore[attr-defined]
        fmt = QTextCharFormat()
        fmt.setBackground(HIGHLIGHT)
        fmt.setForeground(QColor("black"))
        mark.format = fmt  # type: ignore[attr-defined]
        self.text.setExtraSelections([mark])
        end_cursor = QTextCursor(self.text.document())
        end_cursor.setPosition(b)
        self.text.setTextCursor(end_cursor)
        self.text.ensureCursorVisible()
        start_cursor = QTextCursor(self.text.document())
        start_cursor.setPosition(a)
        self.text.setTextCursor(start_cursor)
        self.text.ensureCursorVisible()

    def highlighted_text(self) -> str:
        """The highlighted text as shown (for checks and accessibility)."""
        selections = self.text.extraSelections()
        return selections[0].cursor.selectedText().replace("\u2029", "\n") if selections else ""  # type: ignore

    def _open_file(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.source.get("file", ""))))
