"""The window's keyboard shortcuts: new chat, search, stop, regenerate, copy the last answer, settings. Each is a
QAction on the main window (so it works from any page and shows in menus with its key)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget


@dataclass(frozen=True)
class Shortcut:
    """One shortcut: its name (for the menu), its keys and what it does."""

    name: str
    keys: str
    run: Callable[[], object]


NAMES = {
    "new_chat": QT_TRANSLATE_NOOP("Shortcuts", "New chat"),
    "search": QT_TRANSLATE_NOOP("Shortcuts", "Search conversations"),
    "stop": QT_TRANSLATE_NOOP("Shortcuts", "Stop the reply"),
    "regenerate": QT_TRANSLATE_NOOP("Shortcuts", "Regenerate the last reply"),
    "copy_last": QT_TRANSLATE_NOOP("Shortcuts", "Copy the last answer"),
    "settings": QT_TRANSLATE_NOOP("Shortcuts", "Settings"),
}
KEYS = {"new_chat": "Ctrl+N", "search": "Ctrl+K", "stop": "Ctrl+.", "regenerate": "Ctrl+R",
        "copy_last": "Ctrl+Shift+C", "settings": "Ctrl+,"}


def install(window: QWidget, handlers: dict[str, Callable[[], object]]) -> dict[str, QAction]:
    """Add one window-wide action per shortcut in ``handlers`` (keys from :data:`KEYS`); returns them by name."""
    actions = {}
    for key, run in handlers.items():
        action = QAction(QCoreApplication.translate("Shortcuts", str(NAMES[key])), window)
        action.setShortcut(QKeySequence(KEYS[key]))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _=False, run=run: run())
        window.addAction(action)
        actions[key] = action
    return actions
