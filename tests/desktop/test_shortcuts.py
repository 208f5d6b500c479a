"""Keyboard shortcuts of the main window (new chat, search, stop, regenerate, copy the last answer, settings),
typed as keys, and an accessible name on every control a screen reader reaches."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from desktop.app import CHAT, SETTINGS, MainWindow
from desktop.shortcuts import KEYS
from engine.system.settings import Settings
from tests.desktop.chat_scenes import MODEL, full_reply


def window(qtbot: Any) -> MainWindow:
    win = MainWindow(Settings(provider="cpu"))
    qtbot.addWidget(win)
    win.chat_stack.setCurrentWidget(win.chat)
    win.chat.model_box.addItem(MODEL, "/models/r1")
    win.chat.composer.set_ready(True)
    win.show()
    qtbot.waitExposed(win)
    handle = win.windowHandle()
    assert handle is not None
    handle.requestActivate()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=5000)  # shortcuts go to the active window
    return win


def press(qtbot: Any, win: MainWindow, name: str) -> None:
    sequence = QKeySequence(KEYS[name])
    combo = sequence[0]
    qtbot.keyClick(QApplication.focusWidget() or win, combo.key(), combo.keyboardModifiers())


def test_shortcuts_do_what_they_say(qtbot: Any) -> None:
    win = window(qtbot)
    chat = win.chat
    before = len(chat.store.conversations())
    press(qtbot, win, "new_chat")
    assert len(chat.store.conversations()) == before + 1 and chat.conversation_id is not None

    press(qtbot, win, "search")
    assert chat.search.hasFocus()

    full_reply(chat, "Hi", "", "Hello there.")
    QGuiApplication.clipboard().clear()
    chat.input.setFocus()
    press(qtbot, win, "copy_last")
    assert QGuiApplication.clipboard().text() == "Hello there."

    stopped: list[bool] = []
    chat.stop = lambda: stopped.append(True)  # type: ignore[method-assign]  # the page's stop, observed
    win.shortcuts["stop"].triggered.disconnect()
    win.shortcuts["stop"].triggered.connect(lambda: chat.stop())
    press(qtbot, win, "stop")
    assert stopped == [True]

    regenerated: list[bool] = []
    chat.regenerate = lambda: regenerated.append(True)  # type: ignore[method-assign]
    press(qtbot, win, "regenerate")
    assert regenerated == [True]

    press(qtbot, win, "settings")
    assert win.pages.currentIndex() == SETTINGS and win.nav.currentRow() == SETTINGS
    press(qtbot, win, "new_chat")
    assert win.pages.currentIndex() == CHAT
    assert all(a.shortcut().toString() for a in win.shortcuts.values())
    win.close()


def test_esc_in_the_input_stops_a_running_reply(qtbot: Any) -> None:
    win = window(qtbot)
    chat = win.chat
    stopped: list[bool] = []
    chat.composer.stop_requested.connect(lambda: stopped.append(True))
    chat.composer.set_busy(True)
    qtbot.keyClick(chat.input, Qt.Key.Key_Escape)
    chat.composer.set_busy(False)
    qtbot.keyClick(chat.input, Qt.Key.Key_Escape)
    assert stopped == [True]
    win.close()


CONTROLS = (QAbstractButton, QLineEdit, QComboBox, QPlainTextEdit, QAbstractSpinBox, QAbstractSlider,
            QAbstractItemView)


def unnamed(root: QWidget) -> list[str]:
    missing = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, CONTROLS) or not widget.isVisibleTo(root):
            continue
        if isinstance(widget, QAbstractSlider) and widget.parent() is not None and \
                isinstance(widget.parent().parent(), QAbstractItemView):  # a list's own scroll bar
            continue
        text = widget.text() if isinstance(widget, QAbstractButton) else ""
        if not (widget.accessibleName() or text.strip()):
            missing.append(f"{type(widget).__name__} {widget.objectName()!r} in {type(widget.parent()).__name__}")
    return missing


def test_every_control_of_the_chat_page_has_an_accessible_name(qtbot: Any) -> None:
    win = window(qtbot)
    full_reply(win.chat, "Hi", "Thinking.", "Hello.")
    assert unnamed(win.chat) == []
    assert unnamed(win.nav) == []
    win.close()
