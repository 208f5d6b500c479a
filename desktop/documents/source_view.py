"""The source view: a cited passage shown in its document, at its page (or section), highlighted. A page that OCR
read from a scan opens on its image, with the passage's words highlighted where they are on the page; its
recognised text is the other tab."""

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
    QTabWidget,
    QTextBrowser,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.documents.page_image import PageImageView
from desktop.jobs import run_background
from desktop.workers import BackgroundJobs
from engine.documents.locate import Passage, locate, page_image

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
        self.jobs = jobs
        self._images: dict[int, bytes] = {}  # scanned pages' images, rendered once per dialog
        self.setWindowTitle(self.tr("Source [{0}] — {1}").format(source.get("number", ""), source.get("label", "")))
        self.resize(760, 560)
        self.where = QLabel(self.tr("Opening {0}…").format(Path(str(source.get("file", ""))).name))
        self.where.setWordWrap(True)
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        self.image = PageImageView()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.image, self.tr("Page image"))
        self.tabs.addTab(self.text, self.tr("Text"))
        self.tabs.setTabVisible(0, False)
        self.tabs.setAccessibleName(self.tr("Source"))
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
        layout.addWidget(self.tabs, 1)
        layout.addLayout(buttons)
        path = Path(str(source.get("file", "")))
        start, end, text = int(source.get("start", 0)), int(source.get("end", 0)), str(source.get("text", ""))

        def work() -> Any:
            passage = locate(path, start, end, text)
            if passage.scanned(passage.page):
                assert passage.page is not None
                return passage, page_image(path, passage.page)
            return passage, None
            yield  # a generator for the worker; it has nothing to report on the way

        self._worker = run_background(jobs, self, work, self._show, self._fail)

    def _fail(self, message: str) -> None:
        self.where.setText(message)
        self.failed.emit(message)

    def _show(self, found: tuple[Passage, bytes | None]) -> None:
        passage, png = found
        if png is not None and passage.page is not None:
            self._images[passage.page] = png
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
        self._show_image(page)
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

    def _show_image(self, page: int) -> None:
        """The scanned page's image on the first tab (fetched in the sandbox the first time), or no image tab."""
        passage = self.passage
        assert passage is not None
        if not passage.scanned(page):
            self.image.clear_page()
            self.tabs.setTabVisible(0, False)
            self.tabs.setCurrentWidget(self.text)
            return
        self.tabs.setTabVisible(0, True)
        self.tabs.setCurrentWidget(self.image)
        png = self._images.get(page)
        if png is not None:
            self.image.show_page(png, passage.boxes(page))
            return
        self.image.clear_page()
        path = Path(passage.document.path)

        def work() -> Any:
            return page, page_image(path, page)
            yield  # a generator for the worker; it has nothing to report on the way

        def done(result: tuple[int, bytes]) -> None:
            number, data = result
            self._images[number] = data
            if self.page == number and self.passage is not None:
                self.image.show_page(data, self.passage.boxes(number))

        self._image_worker = run_background(self.jobs, self, work, done, self._fail)

    def highlighted_boxes(self) -> list[tuple[int, int, int, int]]:
        """The boxes highlighted on the page image (its pixels); empty when the page shown is not a scan."""
        return self.image.highlighted() if self.tabs.isTabVisible(0) else []

    def highlighted_text(self) -> str:
        """The highlighted text as shown (for checks and accessibility)."""
        selections = self.text.extraSelections()
        return selections[0].cursor.selectedText().replace("\u2029", "\n") if selections else ""  # type: ignore

    def _open_file(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.source.get("file", ""))))
