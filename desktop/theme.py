"""Ponder's look: light and dark palettes (contrast-checked, see ``contrast_ratio``), one style sheet for every page
(navigation rail, sidebars, cards, inputs and buttons), fonts that set Chinese and English side by side, and the
text size. "system" follows the system's colour scheme, also when it changes while Ponder runs."""

from __future__ import annotations

from dataclasses import dataclass, fields

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from engine.system.resources import resource_path

_THEME_PROPERTY = "ponderTheme"
_HOOKED_PROPERTY = "ponderThemeHooked"
ACCENT = "#2563eb"
# Latin first, then a CJK face of the same weight: Qt takes each character from the first family that has it,
# so English keeps its UI face and Chinese gets a real CJK face instead of a fallback picked at random
UI_FAMILIES = ("Inter", "Segoe UI", "SF Pro Text", "Helvetica Neue", "Noto Sans", "DejaVu Sans",
               "Microsoft YaHei UI", "PingFang SC", "Hiragino Sans GB", "Noto Sans CJK SC", "Source Han Sans SC",
               "WenQuanYi Micro Hei", "Noto Serif CJK SC")
MONO_FAMILIES = ("JetBrains Mono", "Cascadia Mono", "Consolas", "SF Mono", "Menlo", "DejaVu Sans Mono",
                 "Noto Sans Mono CJK SC", "monospace")


@dataclass(frozen=True)
class Tokens:
    """The colours of one theme; every page and the transcript draw with these."""

    window: str  # page background
    surface: str  # cards, inputs, the transcript
    sidebar: str  # conversation list and the settings list
    rail: str  # navigation rail
    text: str
    dim: str  # secondary text: dates, stats, the reasoning
    accent: str  # selection, primary buttons
    on_accent: str  # text on the accent
    link: str
    border: str
    hover: str
    user_bubble: str  # the person's messages
    code_bg: str
    code_header: str
    warning: str
    error: str
    success: str
    boxed: str  # the frame of a \boxed{} answer
    dark: bool


LIGHT = Tokens(window="#f7f7f8", surface="#ffffff", sidebar="#f1f2f4", rail="#e9ebee", text="#1b1f24",
               dim="#57606a", accent=ACCENT, on_accent="#ffffff", link="#1d4ed8", border="#dfe2e6",
               hover="#e4e7eb", user_bubble="#eef2fb", code_bg="#f4f5f7", code_header="#e8eaee", warning="#8a5300",
               error="#b42318", success="#1a7f37", boxed="#1d4ed8", dark=False)
DARK = Tokens(window="#17181a", surface="#202124", sidebar="#1c1d20", rail="#141517", text="#e8e9eb",
              dim="#a3a9b1", accent=ACCENT, on_accent="#ffffff", link="#8ab4ff", border="#34363b",
              hover="#2b2d31", user_bubble="#2a2f3a", code_bg="#1a1b1e", code_header="#2a2c30", warning="#f0b35a",
              error="#ff8a80", success="#6cc07a", boxed="#8ab4ff", dark=True)

# the text/background pairs people read: (foreground field, background field, minimum WCAG contrast)
READ_PAIRS = (("text", "window", 7.0), ("text", "surface", 7.0), ("text", "sidebar", 7.0), ("text", "rail", 7.0),
              ("text", "user_bubble", 7.0), ("text", "code_bg", 7.0), ("dim", "surface", 4.5),
              ("dim", "window", 4.5), ("dim", "sidebar", 4.5), ("dim", "code_header", 4.5), ("link", "surface", 4.5),
              ("on_accent", "accent", 4.5), ("warning", "surface", 4.5), ("error", "surface", 4.5),
              ("success", "surface", 4.5), ("boxed", "surface", 4.5), ("text", "hover", 7.0))


def tokens(dark: bool) -> Tokens:
    """The colours of the dark or the light theme."""
    return DARK if dark else LIGHT


def current_tokens(palette: QPalette | None = None) -> Tokens:
    """The theme in use, told by the palette's window colour (the application's when none is given)."""
    if palette is None:
        palette = QApplication.palette()
    return tokens(palette.color(QPalette.ColorRole.Window).lightness() < 128)


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(color: str) -> float:
    """WCAG relative luminance of a colour ("#rrggbb")."""
    q = QColor(color)
    return 0.2126 * _linear(q.red()) + 0.7152 * _linear(q.green()) + 0.0722 * _linear(q.blue())


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two colours, 1 to 21 (4.5 is the minimum for body text, 7 is AAA)."""
    a, b = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def palette_for(t: Tokens) -> QPalette:
    """A QPalette from a theme's colours."""
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: t.window, QPalette.ColorRole.WindowText: t.text,
        QPalette.ColorRole.Base: t.surface, QPalette.ColorRole.AlternateBase: t.user_bubble,
        QPalette.ColorRole.ToolTipBase: t.surface, QPalette.ColorRole.ToolTipText: t.text,
        QPalette.ColorRole.PlaceholderText: t.dim, QPalette.ColorRole.Text: t.text,
        QPalette.ColorRole.Button: t.surface, QPalette.ColorRole.ButtonText: t.text,
        QPalette.ColorRole.BrightText: t.error, QPalette.ColorRole.Light: t.surface,
        QPalette.ColorRole.Midlight: t.border, QPalette.ColorRole.Mid: t.border,
        QPalette.ColorRole.Dark: t.dim, QPalette.ColorRole.Shadow: "#000000",
        QPalette.ColorRole.Highlight: t.accent, QPalette.ColorRole.HighlightedText: t.on_accent,
        QPalette.ColorRole.Link: t.link, QPalette.ColorRole.LinkVisited: t.link,
    }
    for role, color in roles.items():
        p.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(t.dim))
    return p


def light_palette() -> QPalette:
    """The light theme's palette."""
    return palette_for(LIGHT)


def dark_palette() -> QPalette:
    """The dark theme's palette."""
    return palette_for(DARK)


def stylesheet(t: Tokens) -> str:
    """The application style sheet: one visual language for the rail, sidebars, cards, inputs and buttons."""
    return f"""
QWidget#navRail {{ background: {t.rail}; border-right: 1px solid {t.border}; }}
QToolButton#navButton {{ border: none; border-radius: 10px; padding: 8px 2px 6px 2px; color: {t.dim};
    background: transparent; }}
QToolButton#navButton:hover {{ background: {t.hover}; color: {t.text}; }}
QToolButton#navButton:checked {{ background: {t.surface}; color: {t.accent}; border: 1px solid {t.border}; }}
QWidget#chatSidebar {{ background: {t.sidebar}; border-right: 1px solid {t.border}; }}
QListWidget#conversationList {{ background: transparent; border: none; outline: 0; }}
QListWidget#conversationList::item {{ padding: 6px 8px; border-radius: 8px; color: {t.text}; }}
QListWidget#conversationList::item:hover {{ background: {t.hover}; }}
QListWidget#conversationList::item:selected {{ background: {t.surface}; color: {t.text};
    border: 1px solid {t.border}; }}
QWidget#chatMain, QListView#transcript {{ background: {t.surface}; border: none; }}
QWidget#chatHeader {{ background: {t.surface}; border-bottom: 1px solid {t.border}; }}
QFrame#composerCard {{ background: {t.surface}; border: 1px solid {t.border}; border-radius: 14px; }}
QFrame#composerCard QPlainTextEdit {{ border: none; background: transparent; }}
QLabel#dimLabel, QLabel#statsLabel {{ color: {t.dim}; }}
QLabel#warningLabel {{ color: {t.warning}; }}
QLineEdit, QComboBox, QPlainTextEdit {{ border: 1px solid {t.border};
    border-radius: 8px; padding: 5px 8px; background: {t.surface}; color: {t.text};
    selection-background-color: {t.accent}; selection-color: {t.on_accent}; }}
QComboBox::drop-down {{ border: none; width: 22px; }}
QComboBox::down-arrow {{ image: url({_chevron()}); width: 12px; height: 12px; }}
QLineEdit:focus, QComboBox:focus, QPlainTextEdit:focus {{ border: 1px solid {t.accent}; }}
QPushButton {{ border: 1px solid {t.border}; border-radius: 8px; padding: 6px 14px; background: {t.surface};
    color: {t.text}; }}
QPushButton:hover {{ background: {t.hover}; }}
QPushButton:disabled {{ color: {t.dim}; }}
QPushButton#primaryButton {{ background: {t.accent}; color: {t.on_accent}; border: 1px solid {t.accent}; }}
QPushButton#primaryButton:disabled {{ background: {t.border}; color: {t.dim}; border-color: {t.border}; }}
QToolButton#headerButton {{ border: 1px solid {t.border}; border-radius: 8px; padding: 5px 12px;
    background: {t.surface}; color: {t.text}; }}
QToolButton#headerButton:hover {{ background: {t.hover}; }}
QToolButton#headerButton:checked {{ background: {t.accent}; color: {t.on_accent}; border-color: {t.accent}; }}
QToolButton#headerButton::menu-indicator {{ image: none; width: 0; }}
QPushButton#chipButton {{ border-radius: 12px; padding: 3px 10px; background: {t.code_bg}; }}
QProgressBar {{ border: none; border-radius: 3px; background: {t.border}; max-height: 6px; }}
QProgressBar::chunk {{ border-radius: 3px; background: {t.accent}; }}
QFrame#dropTarget {{ background: {t.surface}; border: 2px dashed {t.accent}; border-radius: 16px; }}
QStatusBar {{ background: {t.window}; color: {t.dim}; }}
QToolTip {{ background: {t.surface}; color: {t.text}; border: 1px solid {t.border}; }}
"""


def _chevron() -> str:
    return resource_path("icons", "ui", "chevron-down-fixed.svg").as_posix()


def ui_font(base: QFont, point_size: int) -> QFont:
    """The interface font: Latin and CJK faces chosen together, at ``point_size`` points."""
    font = QFont(base)
    font.setFamilies(list(UI_FAMILIES))
    font.setPointSize(point_size)
    font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
    return font


def is_dark(app: QApplication, theme: str) -> bool:
    """Whether ``theme`` ("light", "dark" or "system") means dark colours now."""
    if theme == "system":
        return app.styleHints().colorScheme() == Qt.ColorScheme.Dark
    return theme == "dark"


def _apply_palette(app: QApplication) -> None:
    theme = str(app.property(_THEME_PROPERTY) or "system")
    t = tokens(is_dark(app, theme))
    app.setPalette(palette_for(t))
    app.setStyleSheet(stylesheet(t))


def apply_theme(app: QApplication, theme: str, font_size: int) -> None:
    """Use the Fusion style with light or dark colours ("system" follows the system's colour scheme, also when it
    changes while Ponder runs) and ``font_size`` points for text."""
    if app.style().name().lower() != "fusion" and not app.styleSheet():  # under a style sheet Qt reports no name
        style = QStyleFactory.create("Fusion")
        if style is not None:
            app.setStyle(style)
    app.setProperty(_THEME_PROPERTY, theme)
    if not app.property(_HOOKED_PROPERTY):
        app.setProperty(_HOOKED_PROPERTY, True)
        app.styleHints().colorSchemeChanged.connect(lambda _: _on_scheme_changed(app))
    _apply_palette(app)
    app.setFont(ui_font(app.font(), font_size))


def _on_scheme_changed(app: QApplication) -> None:
    if app.property(_THEME_PROPERTY) == "system":
        _apply_palette(app)


TOKEN_NAMES = tuple(f.name for f in fields(Tokens) if f.name != "dark")
