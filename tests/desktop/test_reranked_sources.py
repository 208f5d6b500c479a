"""Reranked sources in the window: with a reranker chosen, the chat's retrieval goes through it (on the model
host's thread) and the answer's sources line says so — the tiny trained cross-encoder, the real embedder and the
tiny chat model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette

from desktop.chat.page import ChatPage
from desktop.chat.transcript import Row, message_html
from engine.documents.rerank import export_reranker
from engine.models.store import InstalledModel
from tests.desktop.test_documents_gui import drop, page
from tests.fixtures.cross_encoder import TOPICS, cross_encoder_checkpoint, passage, query
from tests.fixtures.embedder import embedder_dir

__all__ = ["cross_encoder_checkpoint", "embedder_dir", "page"]


def test_the_sources_line_says_when_they_were_reranked() -> None:
    sources = [{"number": 1, "label": "music.txt", "reranked": True}, {"number": 2, "label": "fruit.txt",
                                                                         "reranked": True}]
    body, _ = message_html(Row(id=1, role="assistant", content="Here [1].", stats={"sources": sources}), QPalette())
    assert "Sources, reranked:" in body
    plain = [{**s, "reranked": False} for s in sources]
    body, _ = message_html(Row(id=1, role="assistant", content="Here [1].", stats={"sources": plain}), QPalette())
    assert "Sources:" in body and "reranked" not in body


def test_a_chosen_reranker_orders_the_chats_sources(qtbot: Any, page: ChatPage, tiny_model: InstalledModel,
                                                    tmp_path: Path, cross_encoder_checkpoint: Path,
                                                    monkeypatch: pytest.MonkeyPatch, screenshots: Path) -> None:
    monkeypatch.setenv("PONDER_RERANKER", str(export_reranker(cross_encoder_checkpoint, tmp_path / "reranker")))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "music.txt").write_text(passage(("guitar", "piano")) + "\n", encoding="utf-8")
    for name in ("fruit", "weather", "tools"):
        (docs / f"{name}.txt").write_text(passage(TOPICS[name][:2], filler=True) + "\n", encoding="utf-8")
    page.refresh_models()
    assert drop(page, sorted(docs.iterdir()))
    qtbot.waitUntil(lambda: not page.indexer.running and not page.indexer.has_work(), timeout=120000)

    with qtbot.waitSignal(page.reply_finished, timeout=60000):
        qtbot.keyClicks(page.input, query("violin"))
        qtbot.keyClick(page.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not page.busy, timeout=60000)
    sources = page.model.rows[-1].stats["sources"]
    assert sources[0]["label"] == "music.txt" and all(s["reranked"] for s in sources)
    assert sources[0]["rerank_score"] > sources[-1]["rerank_score"]
    body, _ = message_html(page.model.rows[-1], page.palette())
    assert "Sources, reranked:" in body
    page.view.viewport().repaint()
    page.grab().save(str(screenshots / "chat-reranked-sources.png"))
