"""Small building blocks shared by the settings sections."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QLabel, QLayout, QVBoxLayout, QWidget

FIELD_WIDTH = 340  # choices and numbers need no more; a full-width combo box looks stretched


def card(title: str, body: QLayout) -> QFrame:
    """A titled, softly framed group (the look of a modern settings panel)."""
    frame = QFrame()
    frame.setObjectName("settingsCard")
    frame.setFrameShape(QFrame.Shape.StyledPanel)
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(16, 12, 16, 14)
    layout.setSpacing(10)
    heading = QLabel(title)
    heading.setObjectName("settingsCardTitle")
    font = heading.font()
    font.setBold(True)
    heading.setFont(font)
    layout.addWidget(heading)
    layout.addLayout(body)
    return frame


def note_label(text: str = "", parent: QWidget | None = None) -> QLabel:
    """A wrapping label for hints and inline errors."""
    label = QLabel(text, parent)
    label.setWordWrap(True)
    return label


def narrow(*widgets: QWidget) -> None:
    """Keep input fields at a comfortable width."""
    for widget in widgets:
        widget.setMaximumWidth(FIELD_WIDTH)
