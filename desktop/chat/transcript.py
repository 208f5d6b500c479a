"""The transcript as a Qt model/view: one row per message, painted from a cached QTextDocument.

Only visible rows are laid out (batched layout), so a 1,000-message conversation opens at once; a streaming reply
re-renders only its own row. Links inside a message (``ponder:ACTION/ID``) become :attr:`MessageDelegate.action`.
"""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRectF,
    QSize,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import QImage, QMouseEvent, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFrame,
    QListView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from desktop.chat.pieces import Piece, Row, link_citations, message_html, message_pieces, split_markdown
from desktop.chat.render import MathSource

MARGIN = 10  # inside a message, around its text
COLUMN = 760  # the reading column's widest, as in LM Studio and Jan: long lines are hard to read
GUTTER = 24  # at least this much space left and right of the column
GAP = 8  # between messages (half above, half below)
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
__all__ = ["MARGIN", "ROW_ROLE", "MessageDelegate", "Piece", "Row", "TranscriptModel", "TranscriptView",
           "column", "link_citations", "message_html", "message_pieces", "split_markdown"]


def column(view_width: int) -> tuple[int, int]:
    """Where the reading column sits in a view ``view_width`` wide: (left edge, width)."""
    width = max(100, min(COLUMN, view_width - 2 * GUTTER))
    return max(0, (view_width - width) // 2), width


class TranscriptModel(QAbstractListModel):
    """The messages of the open conversation."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Row] = []
        self._versions = itertools.count(1)  # never reused: a reopened message is not taken for its old layout

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.DisplayRole:
            return row.content
        return None

    def set_rows(self, rows: list[Row]) -> None:
        """Replace every row (opening a conversation)."""
        self.beginResetModel()
        for row in rows:
            row.version = next(self._versions)
        self.rows = rows
        self.endResetModel()

    def append(self, row: Row) -> None:
        """Add a row at the end."""
        self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows))
        row.version = next(self._versions)
        self.rows.append(row)
        self.endInsertRows()

    def index_of(self, message_id: int) -> int:
        """Row number of a message id, or -1."""
        return next((i for i, r in enumerate(self.rows) if r.id == message_id), -1)

    def changed_all(self) -> None:
        """Every row's rendering is stale (new formulas were typeset): the view lays out again what it shows."""
        for row in self.rows:
            row.version = next(self._versions)
        if self.rows:
            self.dataChanged.emit(self.index(0), self.index(len(self.rows) - 1))

    def changed(self, row: Row) -> None:
        """Tell the view a row's content changed (its cached rendering is dropped)."""
        row.version = next(self._versions)
        i = self.index_of(row.id)
        if i >= 0:
            self.dataChanged.emit(self.index(i), self.index(i))


@dataclass(frozen=True)
class Layout:
    """A message laid out: its pieces' documents stacked top to bottom."""

    docs: tuple[QTextDocument, ...]
    pieces: tuple[Piece, ...]
    tops: tuple[float, ...]
    height: float


class MessageDelegate(QStyledItemDelegate):
    """Paints a message from its pieces and turns clicks on its links into actions.

    Documents are cached per piece HTML and width, so a streaming reply lays out only the piece that changed.
    """

    action = Signal(str, int, str)  # action, message id, argument (e.g. a code block)

    def __init__(self, parent: QWidget | None = None, cache_size: int = 4000) -> None:
        super().__init__(parent)
        self._docs: OrderedDict[tuple[str, int], QTextDocument] = OrderedDict()
        self._layouts: OrderedDict[tuple[int, int, int, int], Layout] = OrderedDict()
        self._cache_size = cache_size
        self.math: MathSource | None = None  # formulas typeset in the background (set by the page)
        self.last_cost_s = 0.0  # how long the last message took to render and lay out

    def _doc(self, piece: Piece, width: int, palette: QPalette) -> QTextDocument:
        key = (piece.html, width)
        doc = self._docs.get(key)
        if doc is not None:
            self._docs.move_to_end(key)
            return doc
        doc = QTextDocument()
        doc.setDocumentMargin(0)
        doc.setDefaultFont(QApplication.font())
        doc.setDefaultStyleSheet(f"a {{ color: {palette.color(QPalette.ColorRole.Link).name()}; }}")
        for name, png in piece.images:  # typeset math, kept in the document (nothing is ever fetched)
            doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name), QImage.fromData(png))
        doc.setHtml(piece.html)
        doc.setTextWidth(max(50, width))
        doc.size()  # lay it out now
        self._docs[key] = doc
        while len(self._docs) > self._cache_size:
            self._docs.popitem(last=False)
        return doc

    def layout(self, row: Row, width: int, palette: QPalette) -> Layout:
        """The laid-out message (cached per row version and width)."""
        key = (row.id, row.version, width, palette.color(QPalette.ColorRole.Window).rgb())  # a theme switch redraws
        hit = self._layouts.get(key)
        if hit is not None:
            self._layouts.move_to_end(key)
            return hit
        started = time.perf_counter()
        pieces = tuple(message_pieces(row, palette, self.math))
        docs = tuple(self._doc(p, width, palette) for p in pieces)
        tops, y = [], 0.0
        for doc in docs:
            tops.append(y)
            y += doc.size().height()
        result = Layout(docs, pieces, tuple(tops), y)
        self.last_cost_s = time.perf_counter() - started
        self._layouts[key] = result
        while len(self._layouts) > self._cache_size // 4:
            self._layouts.popitem(last=False)
        return result

    def width(self, option: QStyleOptionViewItem) -> int:
        """The view's width, so size hints and painting agree."""
        parent = self.parent()
        if isinstance(parent, QListView):
            return max(100, parent.viewport().width())
        return option.rect.width() or 600  # type: ignore[attr-defined]

    @staticmethod
    def text_origin(rect_left: int, rect_top: int, view_width: int) -> tuple[int, int, int]:
        """Where a message's text starts (x, y) in the view, and how wide it is laid out."""
        left, width = column(view_width)
        return rect_left + left + MARGIN, rect_top + GAP // 2 + MARGIN, width - 2 * MARGIN

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        row: Row = index.data(ROW_ROLE)
        width = self.width(option)
        layout = self.layout(row, self.text_origin(0, 0, width)[2], option.palette)  # type: ignore[attr-defined]
        return QSize(width, int(layout.height) + 2 * MARGIN + GAP)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        row: Row = index.data(ROW_ROLE)
        rect = option.rect  # type: ignore[attr-defined]
        palette = option.palette  # type: ignore[attr-defined]
        x, y, text_width = self.text_origin(rect.left(), rect.top(), self.width(option))
        layout = self.layout(row, text_width, palette)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if row.role == "user":  # the person's words in a soft bubble; the answers on the page itself
            bubble = QRectF(x - MARGIN, y - MARGIN, text_width + 2 * MARGIN, layout.height + 2 * MARGIN)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.color(QPalette.ColorRole.AlternateBase))
            painter.drawRoundedRect(bubble, 12, 12)
        painter.translate(x, y)
        shown_top, shown_bottom = self._shown(rect.top(), rect.bottom(), y)
        for doc, top in zip(layout.docs, layout.tops, strict=True):
            height = doc.size().height()
            first, last = max(0.0, shown_top - top), min(height, shown_bottom - top)
            if last <= first:  # a piece scrolled out of view (a long reply): not drawn
                continue
            painter.save()
            painter.translate(0, top)
            doc.drawContents(painter, QRectF(0, first, text_width, last - first))  # only its lines in view
            painter.restore()
        painter.restore()

    def _shown(self, row_top: int, row_bottom: int, text_top: int) -> tuple[float, float]:
        """The part of a message in view, relative to where its text starts: a streaming reply taller than the view
        repaints only what can be seen."""
        parent = self.parent()
        if isinstance(parent, QListView):
            view_height = parent.viewport().height()
            return max(row_top, 0) - text_top, min(row_bottom + 1, view_height) - text_top
        return row_top - text_top, row_bottom + 1 - text_top

    def anchor_at(self, row: Row, rect_left: int, rect_top: int, width: int, palette: QPalette,
                  pos: QPointF) -> str:
        """The link under ``pos`` (view coordinates), or ""."""
        left, top0, text_width = self.text_origin(rect_left, rect_top, width)
        layout = self.layout(row, text_width, palette)
        x, y = pos.x() - left, pos.y() - top0
        for doc, top in zip(layout.docs, layout.tops, strict=True):
            if top <= y < top + doc.size().height():
                return doc.documentLayout().anchorAt(QPointF(x, y - top))
        return ""

    def editorEvent(self, event: QEvent, model: Any, option: QStyleOptionViewItem,
                    index: QModelIndex | QPersistentModelIndex) -> bool:
        if event.type() != QEvent.Type.MouseButtonRelease or not isinstance(event, QMouseEvent):
            return False
        row: Row = index.data(ROW_ROLE)
        rect = option.rect  # type: ignore[attr-defined]
        width = self.width(option)
        palette = option.palette  # type: ignore[attr-defined]
        href = self.anchor_at(row, rect.left(), rect.top(), width, palette, event.position())
        if not href.startswith("ponder:"):
            return False
        verb, _, arg = href[len("ponder:"):].partition("/")
        if verb == "copy-code":
            piece_text, _, code_text = arg.partition(":")
            pieces = self.layout(row, self.text_origin(0, 0, width)[2], palette).pieces
            code = ""
            if piece_text.isdigit() and code_text.isdigit() and int(piece_text) < len(pieces):
                codes = pieces[int(piece_text)].codes
                code = codes[int(code_text)] if int(code_text) < len(codes) else ""
            self.action.emit(verb, row.id, code)
        else:
            self.action.emit(verb, row.id, arg if verb == "cite" else "")
        return True


class TranscriptView(QListView):
    """The list of messages; follows a streaming reply while the person is at the bottom."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(40)
        self.setUniformItemSizes(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setWordWrap(True)
        self.setMouseTracking(True)
        self.setObjectName("transcript")
        self.setAccessibleName(self.tr("Conversation"))
        self.setFrameShape(QFrame.Shape.NoFrame)

    def link_point(self, row: int, href: str) -> QPoint | None:
        """Where the link ``href`` of message ``row`` is drawn, in viewport coordinates (None if not shown)."""
        index = self.model().index(row, 0)
        delegate = self.itemDelegate()
        if not index.isValid() or not isinstance(delegate, MessageDelegate):
            return None
        self.scrollTo(index)
        rect = self.visualRect(index)
        left, top0, text_width = delegate.text_origin(rect.left(), rect.top(), max(100, self.viewport().width()))
        layout = delegate.layout(index.data(ROW_ROLE), text_width, self.palette())
        for doc, top in zip(layout.docs, layout.tops, strict=True):
            block = doc.begin()
            while block.isValid():
                it = block.begin()
                while not it.atEnd():
                    fragment = it.fragment()
                    if fragment.charFormat().anchorHref() == href:
                        offset = fragment.position() - block.position()
                        line = block.layout().lineForTextPosition(offset)
                        box = doc.documentLayout().blockBoundingRect(block)
                        cursor_x: Any = line.cursorToX(offset + 1)  # (x, position) in PySide6
                        x = box.left() + float(cursor_x[0] if isinstance(cursor_x, tuple) else cursor_x)
                        y = box.top() + line.y() + line.height() / 2
                        return QPoint(int(left + x), int(top0 + top + y))
                    it += 1
                block = block.next()
        return None

    def at_bottom(self) -> bool:
        """True when the last message is in view."""
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - 30

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        index = self.indexAt(event.position().toPoint())
        delegate = self.itemDelegate()
        over_link = False
        if index.isValid() and isinstance(delegate, MessageDelegate):
            rect = self.visualRect(index)
            over_link = bool(delegate.anchor_at(index.data(ROW_ROLE), rect.left(), rect.top(),
                                                max(100, self.viewport().width()), self.palette(), event.position()))
        self.viewport().setCursor(Qt.CursorShape.PointingHandCursor if over_link else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)
