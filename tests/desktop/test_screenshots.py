"""Screenshots of the chat window's states, light and dark, English and Chinese (artifacts/screenshots): empty
state, streaming reasoning, collapsed reasoning with stats, a long answer with code, a table and math, and a
documents answer with source chips. Each state is also checked, so a screenshot never shows a broken state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from desktop.app import MainWindow
from desktop.i18n import install_translator, remove_translators
from desktop.theme import DARK, LIGHT, apply_theme, current_tokens
from engine.runtime.host import HostEvent
from engine.system.settings import Settings
from tests.desktop.chat_scenes import (
    LONG_ANSWER,
    MODEL,
    REASONING,
    begin,
    finish,
    full_reply,
    rendered_text,
    shoot,
    stream,
)

SETTINGS = Settings(provider="cpu")


@pytest.fixture(params=["light", "dark"])
def theme(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[str]:
    style, palette, font, sheet = qapp.style().name(), QPalette(qapp.palette()), qapp.font(), qapp.styleSheet()
    apply_theme(qapp, request.param, 10)
    yield str(request.param)
    qapp.setStyle(style)
    qapp.setPalette(palette)
    qapp.setFont(font)
    qapp.setStyleSheet(sheet)
    qapp.setProperty("ponderTheme", None)


def window(qtbot: Any) -> MainWindow:
    win = MainWindow(SETTINGS)
    qtbot.addWidget(win)
    win.resize(1280, 820)
    win.chat_stack.setCurrentWidget(win.chat)  # no model is installed here: show the chat page, not the welcome
    win.chat.model_box.addItem(MODEL, "/models/r1")
    win.chat.composer.set_ready(True)
    win.show()
    return win


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_chat_states(qtbot: Any, theme: str, language: str, screenshots: Path) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    suffix = f"{theme}" + ("" if language == "en" else "-zh_CN")
    if language != "en":
        assert install_translator(app, language) is not None
    try:
        win = window(qtbot)
        assert current_tokens() == (DARK if theme == "dark" else LIGHT)
        page = win.chat
        assert page.empty.isVisible() and page.empty.title.text()
        shoot(win, screenshots, f"chat-empty-{suffix}.png")

        # loading a model loaded here before: the header's bar is a fraction of the last load time (an estimate)
        page.header.on_host_event(HostEvent("loading", MODEL, expected_s=9.0))
        page.header._loading = (MODEL, page.header._loading[1] - 4.0, 9.0)  # type: ignore[index]  # 4 s in
        page.header._show_loading()
        assert page.header.load_bar.value() == 44
        qtbot.wait(100)  # the header lays out its new text
        assert page.header.state.width() >= page.header.state.sizeHint().width()  # not cut
        shoot(win, screenshots, f"chat-model-loading-{suffix}.png")
        page.header.on_host_event(HostEvent("loaded", MODEL, seconds=8.7))

        question = "1 + 2 + … + 100 = ?" if language == "en" else "1 加到 100 等于多少？"
        begin(page, question)
        tokens = stream(page, REASONING, "reasoning", words=30)
        page._render_live()
        assert page.model.rows[-1].thinking and not page.empty.isVisible()
        shoot(win, screenshots, f"chat-reasoning-live-{suffix}.png")

        stream(page, REASONING, "reasoning", tokens)
        finish(page, REASONING, "It is **5050** (Gauss: 50 pairs of 101).")
        assert "tok/s" in rendered_text(page) or "词元/秒" in rendered_text(page)
        shoot(win, screenshots, f"chat-reasoning-collapsed-stats-{suffix}.png")

        full_reply(page, "Show me with code, a table and the formula.", REASONING, LONG_ANSWER)
        rendered_text(page)  # lays the reply out: its formulas are asked for, then typeset in the background
        qtbot.waitUntil(lambda: page.math.idle, timeout=60000)
        qtbot.wait(50)
        assert "\\sum" not in rendered_text(page)  # typeset, not source text
        page.view.scrollToBottom()
        shoot(win, screenshots, f"chat-long-answer-{suffix}.png")

        sources = [{"number": 1, "label": "capybara-guide.pdf, p. 4", "path": "/docs/capybara-guide.pdf", "page": 4},
                   {"number": 2, "label": "rodents.md", "path": "/docs/rodents.md", "page": None}]
        page.new_conversation()
        conv_id = page.conversation_id or ""
        user = page.store.append(conv_id, "user", "Are capybaras rodents?")
        reply = page.store.append(conv_id, "assistant", "", state="streaming", model=MODEL,
                                  stats={"sources": sources})
        from engine.chat.conversation import ReplyStarted

        page._job = (None, None, conv_id)  # type: ignore[assignment]
        page._on_events([ReplyStarted(conv_id, reply, user, sources)])
        answer = "Yes: the capybara is the largest living rodent [1], related to guinea pigs [2]."
        stream(page, answer, "answer")
        finish(page, "", answer)
        page.model.rows[-1].stats["sources"] = sources
        page.model.changed(page.model.rows[-1])
        html_text = rendered_text(page)
        assert "capybara-guide.pdf, p. 4" in html_text
        shoot(win, screenshots, f"chat-documents-sources-{suffix}.png")
        win.close()
    finally:
        if language != "en":
            remove_translators(app)


def test_settings_light_and_dark(qtbot: Any, screenshots: Path) -> None:
    win = MainWindow(SETTINGS)
    qtbot.addWidget(win)
    win.resize(1280, 820)
    win.show()
    win.nav.setCurrentRow(2)
    page = win.settings_page
    assert page.nav.horizontalScrollBarPolicy().name == "ScrollBarAlwaysOff"
    server = page.nav.item(4)
    assert page.nav.visualItemRect(server).width() <= page.nav.viewport().width()
    from tests.desktop.chat_scenes import shoot_themes

    shoot_themes(qtbot, win, screenshots, "settings")
    win.close()
