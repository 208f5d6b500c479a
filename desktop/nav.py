"""The navigation rail: a narrow column of icon buttons with their labels (Chat, Models, Settings), the one look
of LM Studio's and Jan's left edge. It behaves like the list it replaced: ``setCurrentRow`` and
``currentRowChanged``."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QToolButton, QVBoxLayout, QWidget

from desktop.icons import icon
from desktop.theme import current_tokens

RAIL_WIDTH = 76


class NavRail(QWidget):
    """Icon-and-label buttons, one checked at a time."""

    currentRowChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("navRail")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setFixedWidth(RAIL_WIDTH)
        self.setAccessibleName(self.tr("Navigation"))
        self._icons: list[str] = []
        self._buttons: list[QToolButton] = []
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self._group.idToggled.connect(self._toggled)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(6, 12, 6, 12)
        self._layout.setSpacing(6)
        self._layout.addStretch(1)

    def add(self, text: str, icon_name: str, tooltip: str = "") -> QToolButton:
        """Add a destination (its icon from resources/icons/ui)."""
        button = QToolButton()
        button.setObjectName("navButton")
        button.setText(text)
        button.setToolTip(tooltip or text)
        button.setAccessibleName(text)
        button.setCheckable(True)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        button.setIconSize(QSize(22, 22))
        button.setFixedWidth(RAIL_WIDTH - 12)
        button.setMinimumHeight(56)
        self._group.addButton(button, len(self._buttons))
        self._buttons.append(button)
        self._icons.append(icon_name)
        self._layout.insertWidget(len(self._buttons) - 1, button)
        self._paint_icons()
        return button

    def item(self, row: int) -> QToolButton:
        """The button of destination ``row``."""
        return self._buttons[row]

    def count(self) -> int:
        """How many destinations."""
        return len(self._buttons)

    def currentRow(self) -> int:
        """The checked destination (-1 for none)."""
        return self._group.checkedId()

    def setCurrentRow(self, row: int) -> None:
        """Check destination ``row`` (emits ``currentRowChanged`` when it changes)."""
        self._buttons[row].setChecked(True)

    def _toggled(self, row: int, checked: bool) -> None:
        if checked:
            self.currentRowChanged.emit(row)

    def _paint_icons(self) -> None:
        t = current_tokens(self.palette())
        for button, name in zip(self._buttons, self._icons, strict=True):
            button.setIcon(icon(name, t.dim, t.accent))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:  # light/dark switched: redraw the icons in its colours
            self._paint_icons()
        super().changeEvent(event)
