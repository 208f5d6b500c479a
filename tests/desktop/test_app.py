"""The main window: welcome page until a model is installed, then the chat; `ponder` opens it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from desktop.app import CHAT, MODELS, SETTINGS, MainWindow
from engine.models.store import InstalledModel
from engine.system.settings import Settings


def test_first_run_shows_the_welcome_page(qtbot: Any) -> None:
    window = MainWindow(Settings())
    qtbot.addWidget(window)
    window.show()
    assert window.chat_stack.currentWidget() is window.welcome
    window.nav.setCurrentRow(MODELS)
    assert window.pages.currentWidget() is window.models
    window.nav.setCurrentRow(SETTINGS)
    assert window.pages.currentWidget() is window.settings_page
    window.close()


def test_with_a_model_the_chat_opens_and_the_status_bar_reports(qtbot: Any, tiny_model: InstalledModel,
                                                                screenshots: Path) -> None:
    window = MainWindow(Settings(provider="cpu", temperature=0.0, max_tokens=80, context_length=512))
    qtbot.addWidget(window)
    window.show()
    window.nav.setCurrentRow(CHAT)
    assert window.chat_stack.currentWidget() is window.chat
    assert window.chat.model_box.currentText() == "tiny"
    with qtbot.waitSignal(window.chat.reply_finished, timeout=60000):
        qtbot.keyClicks(window.chat.input, "What is 2+2?")
        from PySide6.QtCore import Qt

        qtbot.keyClick(window.chat.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "tokens/s" in window.status_speed.text(), timeout=5000)
    assert "CPU" in window.status_hardware.text() and "/ 512" in window.chat.header.context.text()
    # the status bar does not repeat the header: no model name, no context figures
    assert window.chat.header.model_box.currentText() not in window.status_hardware.text()
    assert "512" not in window.status_hardware.text() + window.status_speed.text()
    qtbot.wait(300)  # let the status bar lay out its new texts
    window.grab().save(str(screenshots / "main-chat.png"))
    window.close()


def test_ponder_without_arguments_opens_the_window(tmp_path: Path) -> None:
    ponder = Path(sys.executable).with_name("ponder")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PONDER_EXIT_AFTER_MS": "1500",
           "PONDER_HOME": str(tmp_path)}
    out = subprocess.run([str(ponder)], capture_output=True, text=True, timeout=120, env=env, check=False)
    assert out.returncode == 0, out.stderr
    assert "ponder: window shown" in out.stdout
    assert "Traceback" not in out.stderr


def test_chinese_main_screens(qtbot: Any, tiny_model: InstalledModel, screenshots: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from desktop.i18n import install_translator, remove_translators

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    assert install_translator(app, "zh_CN") is not None
    try:
        window = MainWindow(Settings(provider="cpu", temperature=0.0, max_tokens=80, context_length=512,
                                     language="zh_CN"))
        qtbot.addWidget(window)
        window.show()
        assert window.nav.item(0).text() != "Chat" and window.chat.send_button.text() != "Send"
        with qtbot.waitSignal(window.chat.reply_finished, timeout=60000):
            qtbot.keyClicks(window.chat.input, "Say hello in Chinese.")
            qtbot.keyClick(window.chat.input, Qt.Key.Key_Return)
        qtbot.wait(300)
        window.grab().save(str(screenshots / "main-chat-zh_CN.png"))
        window.nav.setCurrentRow(MODELS)
        qtbot.wait(300)
        window.grab().save(str(screenshots / "models-zh_CN.png"))
        window.close()
    finally:
        remove_translators(app)
