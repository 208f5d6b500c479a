"""The image of a scanned page with the cited passage's words highlighted (boxes found by OCR)."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QLabel, QScrollArea, QWidget

HIGHLIGHT = QColor(255, 224, 102, 110)  # the text view's highlight (#ffe066), see-through over the scan
OUTLINE = QColor("#c99700")


class PageImageView(QScrollArea):
    """A page image scaled to the view's width, the highlighted boxes painted over it; scrolls to the first box."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(False)
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.label = QLabel()
        self.label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        self.setWidget(self.label)
        self.image = QImage()
        self.boxes: list[tuple[int, int, int, int]] = []
        self.setAccessibleName(self.tr("Scanned page"))

    def show_page(self, png: bytes, boxes: list[tuple[int, int, int, int]]) -> bool:
        """Show the page image (PNG bytes) with ``boxes`` (in its pixels) highlighted; False if it cannot be
        decoded."""
        image = QImage()
        if not image.loadFromData(png) or image.isNull():
            return False
        self.image, self.boxes = image, list(boxes)
        self._paint()
        return True

    def clear_page(self) -> None:
        """Show nothing."""
        self.image, self.boxes = QImage(), []
        self.label.clear()

    def highlighted(self) -> list[tuple[int, int, int, int]]:
        """The boxes highlighted now, in the page image's pixels."""
        return list(self.boxes)

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        if not self.image.isNull():
            self._paint()

    def _paint(self) -> None:
        width = max(200, self.viewport().width() - 4)
        scale = min(1.0, width / max(1, self.image.width()))
        pixmap = QPixmap.fromImage(self.image.scaledToWidth(int(self.image.width() * scale),
                                                            Qt.TransformationMode.SmoothTransformation))
        painter = QPainter(pixmap)
        painter.setPen(QPen(OUTLINE, 1.5))
        painter.setBrush(HIGHLIGHT)
        rects = [QRect(int(x0 * scale), int(y0 * scale), max(1, int((x1 - x0) * scale)),
                       max(1, int((y1 - y0) * scale))) for x0, y0, x1, y1 in self.boxes]
        for rect in rects:
            painter.drawRect(rect.adjusted(-2, -2, 2, 2))
        painter.end()
        self.label.setPixmap(pixmap)
        self.label.resize(pixmap.size())
        if rects:
            first = rects[0]
            self.ensureVisible(first.center().x(), first.center().y(), 40, max(60, self.viewport().height() // 3))
