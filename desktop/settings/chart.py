"""A small horizontal bar chart of decode speed per provider, drawn with QPainter (no QtCharts in Essentials)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

ERROR_COLOR = "#d64545"


@dataclass(frozen=True)
class Bar:
    """One row: a label and tokens/s, or an error in words when the run failed (``value`` is None)."""

    label: str
    value: float | None
    error: str = ""


class SpeedChart(QWidget):
    """Decode tokens/s, one bar per provider tried; the figure is printed at the end of each bar."""

    ROW = 30
    PAD = 8

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bars: list[Bar] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(240)

    def bars(self) -> list[Bar]:
        """The rows shown now."""
        return list(self._bars)

    def set_bars(self, bars: list[Bar]) -> None:
        """Replace the rows and repaint."""
        self._bars = list(bars)
        self.setFixedHeight(self.sizeHint().height())
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(420, max(1, len(self._bars)) * self.ROW + 2 * self.PAD)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.WindowText)
        metrics = self.fontMetrics()
        if not self._bars:
            painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.tr("No speed test run yet"))
            return
        label_w = max(metrics.horizontalAdvance(b.label) for b in self._bars) + 12
        unit = self.tr("{value:.1f} tokens/s")
        value_w = max(metrics.horizontalAdvance(unit.format(value=b.value or 0.0)) for b in self._bars) + 12
        track_w = max(20.0, self.width() - 2 * self.PAD - label_w - value_w)
        top = max((b.value or 0.0) for b in self._bars) or 1.0
        track = QColor(pal.color(QPalette.ColorRole.Mid))
        track.setAlpha(60)
        for i, bar in enumerate(self._bars):
            y = self.PAD + i * self.ROW
            painter.setPen(text)
            painter.drawText(QRectF(self.PAD, y, label_w, self.ROW),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, bar.label)
            x0 = self.PAD + label_w
            bar_rect = QRectF(x0, y + 7, track_w, self.ROW - 14)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(track)
            painter.drawRoundedRect(bar_rect, 4, 4)
            if bar.value is None:
                painter.setPen(QColor(ERROR_COLOR))
                painter.drawText(QRectF(x0 + 6, y, track_w + value_w, self.ROW),
                                 Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                                 metrics.elidedText(self.tr("failed: {error}").format(error=bar.error),
                                                    Qt.TextElideMode.ElideRight, int(track_w + value_w - 12)))
                continue
            painter.setBrush(pal.color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(QRectF(x0, y + 7, max(6.0, track_w * bar.value / top), self.ROW - 14), 4, 4)
            painter.setPen(text)
            painter.drawText(QRectF(x0 + track_w + 8, y, value_w, self.ROW),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             unit.format(value=bar.value))
        painter.end()
