"""The transcript as a Qt model/view: one row per message, painted from a cached QTextDocument.

Only visible rows are laid out (batched layout), so a 1,000-message conversation opens at once; a streaming reply
re-renders only its own row. Links inside a message (``ponder:ACTION/ID``) become :attr:`MessageDelegate.action`.
"""

from __future__ import annotations

import html
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractListModel,
    QCoreApplication,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPointF,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from desktop.chat.render import render_markdown

MARGIN = 10


def _t(text: str) -> str:
    """The transcript's texts in the person's language (context "Transcript")."""
    return QCoreApplication.translate("Transcript", text)


# listed literally so lupdate extracts them
_TEXTS = (
    QT_TRANSLATE_NOOP("Transcript", "Thinking… {0} s"), QT_TRANSLATE_NOOP("Transcript", "Reasoning (unfinished)"),
    QT_TRANSLATE_NOOP("Transcript", "Reasoning"), QT_TRANSLATE_NOOP("Transcript", "Thought for {0} s"),
    QT_TRANSLATE_NOOP("Transcript", "You"), QT_TRANSLATE_NOOP("Transcript", "Assistant"),
    QT_TRANSLATE_NOOP("Transcript", "Interrupted"), QT_TRANSLATE_NOOP("Transcript", "Stopped"),
    QT_TRANSLATE_NOOP("Transcript", "Copy"), QT_TRANSLATE_NOOP("Transcript", "Edit"),
    QT_TRANSLATE_NOOP("Transcript", "Regenerate"),
)
ROW_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass
class Row:
    """What the view shows of one message (the live parts of a streaming reply included)."""

    id: int
    role: str
    content: str = ""
    reasoning: str = ""
    state: str = "complete"
    model: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    streaming: bool = False
    started: float = 0.0  # monotonic time the reply started (for "Thinking… N s")
    reasoning_s: float | None = None  # set when the reasoning closed
    expanded: bool | None = None  # None: automatic (open while thinking, closed once the answer starts)
    notice: str = ""
    version: int = 0

    @property
    def thinking(self) -> bool:
        """Still inside the reasoning block."""
        return self.streaming and self.reasoning_s is None and not self.content

    @property
    def reasoning_open(self) -> bool:
        """Whether the reasoning block is shown expanded."""
        return self.expanded if self.expanded is not None else self.thinking


def _reasoning_header(row: Row) -> str:
    if row.thinking:
        return _t("Thinking… {0} s").format(int(time.monotonic() - row.started))
    seconds = row.reasoning_s if row.reasoning_s is not None else row.stats.get("reasoning_s")
    if row.stats.get("reasoning_unfinished") or (not row.streaming and not row.content and row.state != "complete"):
        return _t("Reasoning (unfinished)")
    if seconds is None:
        return _t("Reasoning")
    return _t("Thought for {0} s").format(round(seconds))


def message_html(row: Row, palette: QPalette) -> tuple[str, list[str]]:
    """HTML of a message row and its code blocks."""
    dim = palette.color(QPalette.ColorRole.PlaceholderText).name()
    dark = palette.color(QPalette.ColorRole.Window).lightness() < 128
    code_bg = "#2b2b2b" if dark else "#f2f2f2"
    style = "monokai" if dark else "default"
    who = _t("You") if row.role == "user" else _t("Assistant")
    if row.role == "assistant" and row.model:
        who += f" · {html.escape(row.model)}"
    parts = [f"<p><b>{who}</b></p>"]
    codes: list[str] = []
    if row.role == "assistant" and (row.reasoning.strip() or row.thinking):
        arrow = "▾" if row.reasoning_open else "▸"
        parts.append(f'<p><a href="ponder:toggle/{row.id}" style="color:{dim}">{arrow} {_reasoning_header(row)}'
                     "</a></p>")
        if row.reasoning_open and row.reasoning.strip():
            rendered = render_markdown(row.reasoning, code_style=style, code_background=code_bg, block_prefix="r")
            parts.append(f'<div style="color:{dim}; margin-left:14px">{rendered.html}</div>')
    if row.role == "user":
        parts.append("<p>" + html.escape(row.content).replace("\n", "<br>") + "</p>")
    elif row.content:
        rendered = render_markdown(row.content, code_style=style, code_background=code_bg)
        parts.append(rendered.html)
        codes = rendered.code_blocks
    if row.notice:
        parts.append(f'<p style="color:#c77700">⚠ {html.escape(row.notice)}</p>')
    if row.state in ("interrupted", "cancelled") and not row.streaming:
        label = _t("Interrupted") if row.state == "interrupted" else _t("Stopped")
        parts.append(f'<p style="color:{dim}"><i>{label}</i></p>')
    if not row.streaming:
        actions = [f'<a href="ponder:copy/{row.id}">{_t("Copy")}</a>']
        if row.role == "user":
            actions.append(f'<a href="ponder:edit/{row.id}">{_t("Edit")}</a>')
        else:
            actions.append(f'<a href="ponder:regenerate/{row.id}">{_t("Regenerate")}</a>')
        parts.append(f'<p style="font-size:small">{" · ".join(actions)}</p>')
    return "".join(parts), codes


class TranscriptModel(QAbstractListModel):
    """The messages of the open conversation."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Row] = []

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
        self.rows = rows
        self.endResetModel()

    def append(self, row: Row) -> None:
        """Add a row at the end."""
        self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows))
        self.rows.append(row)
        self.endInsertRows()

    def index_of(self, message_id: int) -> int:
        """Row number of a message id, or -1."""
        return next((i for i, r in enumerate(self.rows) if r.id == message_id), -1)

    def changed(self, row: Row) -> None:
        """Tell the view a row's content changed (its cached rendering is dropped)."""
        row.version += 1
        i = self.index_of(row.id)
        if i >= 0:
            self.dataChanged.emit(self.index(i), self.index(i))


class MessageDelegate(QStyledItemDelegate):
    """Paints a message from its HTML and turns clicks on its links into actions."""

    action = Signal(str, int, str)  # action, message id, argument (e.g. a code block)

    def __init__(self, parent: QWidget | None = None, cache_size: int = 400) -> None:
        super().__init__(parent)
        self._cache: OrderedDict[tuple[int, int, int], tuple[QTextDocument, list[str]]] = OrderedDict()
        self._cache_size = cache_size
        self.last_cost_s = 0.0  # how long the last message took to render and lay out

    def document(self, row: Row, width: int, palette: QPalette) -> tuple[QTextDocument, list[str]]:
        """The laid-out document of ``row`` at ``width`` (cached per row version and width)."""
        key = (row.id, row.version, width)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        started = time.perf_counter()
        doc = QTextDocument()
        doc.setDocumentMargin(0)
        doc.setDefaultStyleSheet(f"a {{ color: {palette.color(QPalette.ColorRole.Link).name()}; }}")
        text, codes = message_html(row, palette)
        doc.setHtml(text)
        doc.setTextWidth(max(50, width - 2 * MARGIN))
        doc.size()  # lay it out now, inside the measured time
        self.last_cost_s = time.perf_counter() - started
        self._cache[key] = (doc, codes)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return doc, codes

    def width(self, option: QStyleOptionViewItem) -> int:
        """The width messages are laid out at: the view's, so size hints and painting agree."""
        parent = self.parent()
        if isinstance(parent, QListView):
            return max(100, parent.viewport().width())
        return option.rect.width() or 600  # type: ignore[attr-defined]

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        row: Row = index.data(ROW_ROLE)
        doc, _ = self.document(row, self.width(option), option.palette)  # type: ignore[attr-defined]
        return QSize(int(doc.idealWidth()) + 2 * MARGIN, int(doc.size().height()) + 2 * MARGIN)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        row: Row = index.data(ROW_ROLE)
        rect = option.rect  # type: ignore[attr-defined]
        palette = option.palette  # type: ignore[attr-defined]
        width = self.width(option)
        doc, _ = self.document(row, width, palette)
        painter.save()
        if row.role == "user":
            base = palette.color(QPalette.ColorRole.AlternateBase)
            painter.fillRect(rect.adjusted(4, 3, -4, -3), base if base.isValid() else QColor("#f4f4f4"))
        painter.translate(rect.left() + MARGIN, rect.top() + MARGIN)
        doc.drawContents(painter, QRectF(0, 0, width - 2 * MARGIN, rect.height() - 2 * MARGIN))
        painter.restore()

    def anchor_at(self, row: Row, rect_left: int, rect_top: int, width: int, palette: QPalette,
                  pos: QPointF) -> str:
        """The link under ``pos`` (view coordinates), or ""."""
        doc, _ = self.document(row, width, palette)
        local = QPointF(pos.x() - rect_left - MARGIN, pos.y() - rect_top - MARGIN)
        return doc.documentLayout().anchorAt(local)

    def editorEvent(self, event: QEvent, model: Any, option: QStyleOptionViewItem,
                    index: QModelIndex | QPersistentModelIndex) -> bool:
        if event.type() != QEvent.Type.MouseButtonRelease or not isinstance(event, QMouseEvent):
            return False
        row: Row = index.data(ROW_ROLE)
        rect = option.rect  # type: ignore[attr-defined]
        width = self.width(option)
        href = self.anchor_at(row, rect.left(), rect.top(), width, option.palette,  # type: ignore[attr-defined]
                              event.position())
        if not href.startswith("ponder:"):
            return False
        verb, _, arg = href[len("ponder:"):].partition("/")
        _, codes = self.document(row, width, option.palette)  # type: ignore[attr-defined]
        if verb == "copy-code":
            index_text = arg.lstrip("r")
            self.action.emit(verb, row.id, codes[int(index_text)] if index_text.isdigit() and not arg.startswith(
                "r") and int(index_text) < len(codes) else "")
        else:
            self.action.emit(verb, row.id, "")
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
        self.setStyleSheet("QListView { border: none; }")

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
