"""Line icons (resources/icons/ui/*.svg) drawn in the theme's colours: the files carry ``COLOR`` where the stroke
colour goes, so one drawing serves the light and the dark theme, normal and selected."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from engine.system.resources import resource_path


@lru_cache(maxsize=16)
def _source(name: str) -> str:
    path = resource_path("icons", "ui", f"{name}.svg")
    if not path.is_file():
        raise FileNotFoundError(f"No icon {name!r}: expected {path}")
    return path.read_text(encoding="utf-8")


def pixmap(name: str, color: str, size: int = 24, ratio: float = 2.0) -> QPixmap:
    """The icon ``name`` drawn with ``color`` at ``size`` logical pixels (sharp on high-DPI screens)."""
    renderer = QSvgRenderer(QByteArray(_source(name).replace("COLOR", color).encode()))
    image = QPixmap(int(size * ratio), int(size * ratio))
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    image.setDevicePixelRatio(ratio)
    return image


def icon(name: str, color: str, active: str | None = None, size: int = 24) -> QIcon:
    """A QIcon in ``color``, and in ``active`` when the button is checked or hovered (if given)."""
    result = QIcon()
    result.addPixmap(pixmap(name, color, size), QIcon.Mode.Normal, QIcon.State.Off)
    if active:
        result.addPixmap(pixmap(name, active, size), QIcon.Mode.Normal, QIcon.State.On)
        result.addPixmap(pixmap(name, active, size), QIcon.Mode.Active, QIcon.State.Off)
    return result
