"""Light, dark or the system's colours, on the Fusion style, and the text size."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

_THEME_PROPERTY = "ponderTheme"
_HOOKED_PROPERTY = "ponderThemeHooked"
ACCENT = "#3b82f6"


def light_palette() -> QPalette:
    """A clean light palette with Ponder's accent."""
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#f5f6f8", QPalette.ColorRole.WindowText: "#1f2328",
        QPalette.ColorRole.Base: "#ffffff", QPalette.ColorRole.AlternateBase: "#f0f2f5",
        QPalette.ColorRole.ToolTipBase: "#ffffff", QPalette.ColorRole.ToolTipText: "#1f2328",
        QPalette.ColorRole.PlaceholderText: "#8b949e", QPalette.ColorRole.Text: "#1f2328",
        QPalette.ColorRole.Button: "#ffffff", QPalette.ColorRole.ButtonText: "#1f2328",
        QPalette.ColorRole.BrightText: "#d64545", QPalette.ColorRole.Light: "#ffffff",
        QPalette.ColorRole.Midlight: "#e6e8eb", QPalette.ColorRole.Mid: "#c9ced4",
        QPalette.ColorRole.Dark: "#9aa1a9", QPalette.ColorRole.Shadow: "#6e7781",
        QPalette.ColorRole.Highlight: ACCENT, QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#2563eb", QPalette.ColorRole.LinkVisited: "#7c3aed",
    }
    for role, color in roles.items():
        p.setColor(role, QColor(color))
    _disabled(p, "#9aa1a9")
    return p


def dark_palette() -> QPalette:
    """A dark palette with Ponder's accent."""
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#1e1f22", QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#2b2d31", QPalette.ColorRole.AlternateBase: "#313338",
        QPalette.ColorRole.ToolTipBase: "#2b2d31", QPalette.ColorRole.ToolTipText: "#e6e6e6",
        QPalette.ColorRole.PlaceholderText: "#7d828a", QPalette.ColorRole.Text: "#e6e6e6",
        QPalette.ColorRole.Button: "#2f3136", QPalette.ColorRole.ButtonText: "#e6e6e6",
        QPalette.ColorRole.BrightText: "#ff6b6b", QPalette.ColorRole.Light: "#3a3c42",
        QPalette.ColorRole.Midlight: "#33353a", QPalette.ColorRole.Mid: "#4a4d55",
        QPalette.ColorRole.Dark: "#141517", QPalette.ColorRole.Shadow: "#000000",
        QPalette.ColorRole.Highlight: ACCENT, QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#6ea8fe", QPalette.ColorRole.LinkVisited: "#b197fc",
    }
    for role, color in roles.items():
        p.setColor(role, QColor(color))
    _disabled(p, "#6b6f76")
    return p


def _disabled(p: QPalette, color: str) -> None:
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(color))


def is_dark(app: QApplication, theme: str) -> bool:
    """Whether ``theme`` ("light", "dark" or "system") means dark colours now."""
    if theme == "system":
        return app.styleHints().colorScheme() == Qt.ColorScheme.Dark
    return theme == "dark"


def _apply_palette(app: QApplication) -> None:
    theme = str(app.property(_THEME_PROPERTY) or "system")
    app.setPalette(dark_palette() if is_dark(app, theme) else light_palette())


def apply_theme(app: QApplication, theme: str, font_size: int) -> None:
    """Use the Fusion style with light or dark colours ("system" follows the system's colour scheme, also when it
    changes while Ponder runs) and ``font_size`` points for text."""
    style = QStyleFactory.create("Fusion")
    if style is not None and app.style().name().lower() != "fusion":
        app.setStyle(style)
    app.setProperty(_THEME_PROPERTY, theme)
    if not app.property(_HOOKED_PROPERTY):
        app.setProperty(_HOOKED_PROPERTY, True)
        app.styleHints().colorSchemeChanged.connect(lambda _: _on_scheme_changed(app))
    _apply_palette(app)
    font = QFont(app.font())
    font.setPointSize(font_size)
    app.setFont(font)


def _on_scheme_changed(app: QApplication) -> None:
    if app.property(_THEME_PROPERTY) == "system":
        _apply_palette(app)
