"""Checked citations in the transcript: a citation its passage does not support is marked ⚠ in the text and on
its source's chip and listed under the answer (not hidden); the verdicts arrive after the answer, and a reopened
conversation shows them again; answers saved before citations were checked show no mark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from desktop.chat.page import ChatPage
from desktop.chat.transcript import Row, message_html
from desktop.i18n import install_translator, remove_translators
from desktop.workers import InferenceThread
from engine.chat.conversation import CitationsChecked, ReplyStarted
from engine.chat.storage import ConversationStore
from engine.documents.citations import check_citations
from engine.runtime.generate import Finished
from engine.system.settings import Settings
from tests.desktop.chat_scenes import MODEL, rendered_text, shoot, stats, stream

RODENTS = "The capybara is the largest living rodent in the world. It lives near rivers in South America."
INSTALL = "To install Ponder on Windows, run the installer. It needs about 300 MB of free disk space."
SOURCES = [{"number": 1, "label": "rodents.pdf, p. 2", "file": "/docs/rodents.pdf", "page": 2, "text": RODENTS},
           {"number": 2, "label": "install.md", "file": "/docs/install.md", "page": None, "text": INSTALL}]
ANSWER = "The capybara is the largest living rodent [1]. It lives near rivers in South America [2]."


def verdicts(answer: str = ANSWER) -> list[dict[str, Any]]:
    """The real check's verdicts (keywords alone: no embedder in the window tests)."""
    return [v.to_dict() for v in check_citations(answer, {int(s["number"]): str(s["text"]) for s in SOURCES})]


def test_an_unsupported_citation_is_marked_in_the_text_on_its_chip_and_under_the_answer() -> None:
    checked = verdicts()
    assert [(v["number"], v["supported"]) for v in checked] == [(1, True), (2, False)]
    row = Row(id=1, role="assistant", content=ANSWER, stats={"sources": SOURCES, "citations": checked})
    body, _ = message_html(row, QPalette())
    assert '<a href="ponder:cite/1">1</a>' in body  # the supported citation: a plain link
    assert "2&nbsp;⚠</a>" in body and "not supported by its source" in body  # the unsupported one, marked
    assert body.count("⚠") == 3  # in the text, on source 2's chip, and before the list under the answer
    assert "Not supported by the cited passage:" in body and "“It lives near rivers in South America”" in body
    assert "install.md&nbsp;<span" in body  # the chip of source 2 carries the mark; the source is still there


def test_an_answer_saved_before_citations_were_checked_shows_no_mark() -> None:
    row = Row(id=1, role="assistant", content=ANSWER, stats={"sources": SOURCES})
    body, _ = message_html(row, QPalette())
    assert "⚠" not in body and 'href="ponder:cite/2"' in body
    damaged = Row(id=2, role="assistant", content=ANSWER, stats={"sources": SOURCES, "citations": [{"x": 1}]})
    assert "⚠" not in message_html(damaged, QPalette())[0]


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_the_verdicts_arrive_after_the_answer_and_come_back_when_reopened(qtbot: Any, inference: InferenceThread,
                                                                          tmp_path: Path, screenshots: Path,
                                                                          language: str) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    if language != "en":
        assert install_translator(app, language) is not None
    note = "Not supported by the cited passage:" if language == "en" else "所引段落并不支持以下内容："
    page = ChatPage(ConversationStore(tmp_path / "c.db"), inference, lambda: Settings(provider="cpu"))
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    try:
        conv_id = page.new_conversation()
        user = page.store.append(conv_id, "user", "Where do capybaras live?")
        reply = page.store.append(conv_id, "assistant", "", state="streaming", model=MODEL,
                                  stats={"sources": SOURCES})
        page._job = (None, None, conv_id)  # type: ignore[assignment]  # as if a reply were running
        page._on_events([ReplyStarted(conv_id, reply, user, SOURCES)])
        stream(page, ANSWER, "answer")
        page._on_events([CitationsChecked(reply.id, [])])  # nothing to change while it streams: no mark
        live = page.model.rows[-1]
        assert "⚠" not in rendered_text(page)
        page._on_events([Finished("stop", "", ANSWER, False, stats())])
        assert "Not supported" not in rendered_text(page)  # the answer is complete; the check is still running
        checked = verdicts()
        page._on_events([CitationsChecked(reply.id, checked)])
        page._on_done()
        text = rendered_text(page)
        assert live.stats["citations"] == checked
        assert note in text and "It lives near rivers in South America" in text
        assert text.count("⚠") == 3
        shoot(page, screenshots, f"chat-citation-unsupported-{language}.png")

        # as the engine saved it: reopening the conversation shows the marks again
        page.store.save_progress(reply.id, content=ANSWER, reasoning="", state="complete",
                                 stats={"sources": SOURCES, "citations": checked})
        page.new_conversation()
        page.open_conversation(conv_id)
        assert page.model.rows[-1].stats["citations"] == checked
        assert rendered_text(page).count("⚠") == 3
    finally:
        page.jobs.stop_all()
        if language != "en":
            remove_translators(app)

