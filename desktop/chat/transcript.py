"""The transcript as a Qt model/view: one row per message, painted from a cached QTextDocument.

Only visible rows are laid out (batched layout), so a 1,000-message conversation opens at once; a streaming reply
re-renders only its own row. Links inside a message (``ponder:ACTION/ID``) become :attr:`MessageDelegate.action`.
"""

from __future__ import annotations

import html
import re
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractListModel,
    QCoreApplication,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
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
    QT_TRANSLATE_NOOP("Transcript", "Regenerate"), QT_TRANSLATE_NOOP("Transcript", "Sources:"),
    QT_TRANSLATE_NOOP("Transcript", "No passage in the documents matched this question."),
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
    engine: str = ""  # who ran the model: "local" or a remote engine's name
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


CHUNK_CHARS = 1200


def split_markdown(text: str, limit: int = CHUNK_CHARS) -> list[str]:
    """Cut Markdown at blank lines outside code fences and display math into chunks of about ``limit`` characters.

    Each chunk renders (and lays out) on its own, so a growing reply re-renders only its last chunk.
    """
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    fenced = math = False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fenced = not fenced
        elif stripped.count("$$") % 2 == 1 and not fenced:
            math = not math
        current.append(line)
        size += len(line) + 1
        if not stripped and not fenced and not math and size >= limit:
            chunks.append("\n".join(current))
            current, size = [], 0
    if current:
        chunks.append("\n".join(current))
    return chunks


@lru_cache(maxsize=4096)
def _chunk_html(text: str, style: str, background: str, prefix: str) -> tuple[str, tuple[str, ...]]:
    rendered = render_markdown(text, code_style=style, code_background=background, block_prefix=prefix)
    return rendered.html, tuple(rendered.code_blocks)


@dataclass(frozen=True)
class Piece:
    """One separately laid-out part of a message: its HTML and the code blocks it holds."""

    html: str
    codes: tuple[str, ...] = ()


def message_pieces(row: Row, palette: QPalette) -> list[Piece]:
    """A message as pieces: header, reasoning (chunked), answer (chunked), notes and the action links."""
    dim = palette.color(QPalette.ColorRole.PlaceholderText).name()
    dark = palette.color(QPalette.ColorRole.Window).lightness() < 128
    code_bg = "#2b2b2b" if dark else "#f2f2f2"
    style = "monokai" if dark else "default"
    who = _t("You") if row.role == "user" else _t("Assistant")
    if row.role == "assistant" and row.model:
        who += f" · {html.escape(row.model)}"
        if row.engine and row.engine != "local":
            who += f" @ {html.escape(row.engine)}"
    pieces = [Piece(f"<p><b>{who}</b></p>")]

    def markdown(text: str, wrap: str = "") -> None:
        for chunk in split_markdown(text):
            body, codes = _chunk_html(chunk, style, code_bg, f"{len(pieces)}:")
            pieces.append(Piece(f'<div style="{wrap}">{body}</div>' if wrap else body, codes))

    if row.role == "assistant" and (row.reasoning.strip() or row.thinking):
        arrow = "▾" if row.reasoning_open else "▸"
        pieces.append(Piece(f'<p><a href="ponder:toggle/{row.id}" style="color:{dim}">{arrow} '
                            f"{_reasoning_header(row)}</a></p>"))
        if row.reasoning_open and row.reasoning.strip():
            markdown(row.reasoning, f"color:{dim}; margin-left:14px")
    sources = row.stats.get("sources") if row.role == "assistant" else None
    if row.role == "user":
        pieces.append(Piece("<p>" + html.escape(row.content).replace("\n", "<br>") + "</p>"))
    elif row.content:
        first = len(pieces)
        markdown(row.content)
        if sources:
            numbers = {int(s["number"]) for s in sources}
            pieces[first:] = [Piece(link_citations(p.html, numbers), p.codes) for p in pieces[first:]]
    if sources and not row.streaming:
        links = [f'<a href="ponder:cite/{int(s["number"])}">[{int(s["number"])}] {html.escape(str(s["label"]))}</a>'
                 for s in sources]
        pieces.append(Piece(f'<p style="font-size:small">{_t("Sources:")} ' + " · ".join(links) + "</p>"))
    elif sources is not None and not sources and not row.streaming:
        pieces.append(Piece(f'<p style="color:{dim}; font-size:small">'
                            f'{_t("No passage in the documents matched this question.")}</p>'))
    if row.notice:
        pieces.append(Piece(f'<p style="color:#c77700">⚠ {html.escape(row.notice)}</p>'))
    if row.state in ("interrupted", "cancelled") and not row.streaming:
        label = _t("Interrupted") if row.state == "interrupted" else _t("Stopped")
        pieces.append(Piece(f'<p style="color:{dim}"><i>{label}</i></p>'))
    if not row.streaming:
        actions = [f'<a href="ponder:copy/{row.id}">{_t("Copy")}</a>']
        if row.role == "user":
            actions.append(f'<a href="ponder:edit/{row.id}">{_t("Edit")}</a>')
        else:
            actions.append(f'<a href="ponder:regenerate/{row.id}">{_t("Regenerate")}</a>')
        pieces.append(Piece(f'<p style="font-size:small">{" · ".join(actions)}</p>'))
    return pieces


_CITATION = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_PRE = re.compile(r"(<pre.*?</pre>)", re.S)


def link_citations(body: str, numbers: set[int]) -> str:
    """Turn the citations ``[1]``, ``[2, 3]`` of an answer's HTML into links to those sources (not in code)."""

    def link(match: re.Match[str]) -> str:
        parts = [n.strip() for n in match.group(1).split(",")]
        if not all(int(n) in numbers for n in parts):
            return match.group(0)
        return "[" + ", ".join(f'<a href="ponder:cite/{n}">{n}</a>' for n in parts) + "]"

    return "".join(part if part.startswith("<pre") else _CITATION.sub(link, part) for part in _PRE.split(body))


def message_html(row: Row, palette: QPalette) -> tuple[str, list[str]]:
    """The whole message as one HTML string, and its code blocks (for export and checks)."""
    pieces = message_pieces(row, palette)
    return "".join(p.html for p in pieces), [code for p in pieces for code in p.codes]


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
        self._layouts: OrderedDict[tuple[int, int, int], Layout] = OrderedDict()
        self._cache_size = cache_size
        self.last_cost_s = 0.0  # how long the last message took to render and lay out

    def _doc(self, piece: Piece, width: int, palette: QPalette) -> QTextDocument:
        key = (piece.html, width)
        doc = self._docs.get(key)
        if doc is not None:
            self._docs.move_to_end(key)
            return doc
        doc = QTextDocument()
        doc.setDocumentMargin(0)
        doc.setDefaultStyleSheet(f"a {{ color: {palette.color(QPalette.ColorRole.Link).name()}; }}")
        doc.setHtml(piece.html)
        doc.setTextWidth(max(50, width - 2 * MARGIN))
        doc.size()  # lay it out now
        self._docs[key] = doc
        while len(self._docs) > self._cache_size:
            self._docs.popitem(last=False)
        return doc

    def layout(self, row: Row, width: int, palette: QPalette) -> Layout:
        """The laid-out message (cached per row version and width)."""
        key = (row.id, row.version, width)
        hit = self._layouts.get(key)
        if hit is not None:
            self._layouts.move_to_end(key)
            return hit
        started = time.perf_counter()
        pieces = tuple(message_pieces(row, palette))
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
        """The width messages are laid out at: the view's, so size hints and painting agree."""
        parent = self.parent()
        if isinstance(parent, QListView):
            return max(100, parent.viewport().width())
        return option.rect.width() or 600  # type: ignore[attr-defined]

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        row: Row = index.data(ROW_ROLE)
        width = self.width(option)
        layout = self.layout(row, width, option.palette)  # type: ignore[attr-defined]
        return QSize(width, int(layout.height) + 2 * MARGIN)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        row: Row = index.data(ROW_ROLE)
        rect = option.rect  # type: ignore[attr-defined]
        palette = option.palette  # type: ignore[attr-defined]
        width = self.width(option)
        layout = self.layout(row, width, palette)
        painter.save()
        if row.role == "user":
            base = palette.color(QPalette.ColorRole.AlternateBase)
            painter.fillRect(rect.adjusted(4, 3, -4, -3), base if base.isValid() else QColor("#f4f4f4"))
        painter.translate(rect.left() + MARGIN, rect.top() + MARGIN)
        for doc, top in zip(layout.docs, layout.tops, strict=True):
            painter.save()
            painter.translate(0, top)
            doc.drawContents(painter, QRectF(0, 0, width - 2 * MARGIN, doc.size().height()))
            painter.restore()
        painter.restore()

    def anchor_at(self, row: Row, rect_left: int, rect_top: int, width: int, palette: QPalette,
                  pos: QPointF) -> str:
        """The link under ``pos`` (view coordinates), or ""."""
        layout = self.layout(row, width, palette)
        x, y = pos.x() - rect_left - MARGIN, pos.y() - rect_top - MARGIN
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
            pieces = self.layout(row, width, palette).pieces
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
        self.setStyleSheet("QListView { border: none; }")

    def link_point(self, row: int, href: str) -> QPoint | None:
        """Where the link ``href`` of message ``row`` is drawn, in viewport coordinates (None if not shown)."""
        index = self.model().index(row, 0)
        delegate = self.itemDelegate()
        if not index.isValid() or not isinstance(delegate, MessageDelegate):
            return None
        self.scrollTo(index)
        rect = self.visualRect(index)
        layout = delegate.layout(index.data(ROW_ROLE), max(100, self.viewport().width()), self.palette())
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
                        return QPoint(int(rect.left() + MARGIN + x), int(rect.top() + MARGIN + top + y))
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
