"""Documents in the window: drop a PDF, a DOCX and a Markdown file on the chat, watch them index, ask, and open
the answer's citation at the right page with the passage highlighted — real sandboxed extraction, real embedder,
real model."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QPalette
from PySide6.QtWidgets import QApplication

from desktop.chat.page import ChatPage
from desktop.chat.transcript import Row, link_citations, message_html
from desktop.workers import InferenceThread
from engine.chat.storage import ConversationStore
from engine.documents.pipeline import IndexProgress
from engine.models.store import InstalledModel
from engine.system.settings import Settings
from tests.fixtures.documents import docx_with_headings, markdown_file, text_pdf
from tests.fixtures.embedder import embedder_dir

__all__ = ["embedder_dir"]
SETTINGS = Settings(provider="cpu", temperature=0.0, max_tokens=24, context_length=1024)


@pytest.fixture
def page(qtbot: Any, inference: InferenceThread, tmp_path: Path, embedder_dir: Path,
         monkeypatch: pytest.MonkeyPatch) -> Generator[ChatPage, None, None]:
    monkeypatch.setenv("PONDER_EMBEDDER", str(embedder_dir))
    chat = ChatPage(ConversationStore(tmp_path / "c.db"), inference, lambda: SETTINGS)
    qtbot.addWidget(chat)
    chat.resize(1000, 700)
    chat.show()
    yield chat
    chat.indexer.stop()
    chat.jobs.stop_all()


def drop(page: ChatPage, paths: list[Path]) -> bool:
    """Drag ``paths`` over the chat and drop them, as a file manager does; returns whether the drag was accepted."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    where = QPointF(page.view.geometry().center())
    enter = QDragEnterEvent(where.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(page, enter)
    event = QDropEvent(where, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(page, event)
    return enter.isAccepted() and event.isAccepted()


def indexed(page: ChatPage) -> dict[str, str]:
    return {Path(f.path).name: f.status for f in page.indexer.index.files(page.collection())}


def test_drop_index_ask_and_open_the_cited_page(qtbot: Any, page: ChatPage, tiny_model: InstalledModel,
                                                tmp_path: Path, screenshots: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    pdf = text_pdf(docs / "manual.pdf", ["Chapter one explains installing Ponder on Windows.",
                                         "The capybara is the largest living rodent in the world.",
                                         "Chapter three covers uninstalling."])
    files = [pdf, docx_with_headings(docs / "report.docx"), markdown_file(docs / "guide.md")]
    (docs / "notes.xyz").write_text("not a document")
    seen: list[IndexProgress] = []
    page.indexer.progress.connect(seen.append)
    page.refresh_models()  # the model was installed after the page opened

    assert drop(page, [*files, docs / "notes.xyz"])
    assert page.collection() and page.docs_bar.collection == page.collection()
    qtbot.waitUntil(lambda: not page.indexer.running and not page.indexer.has_work(), timeout=120000)
    assert indexed(page) == {"manual.pdf": "indexed", "report.docx": "indexed", "guide.md": "indexed",
                             "notes.xyz": "failed"}
    stages = {(Path(p.path).name, p.stage) for p in seen}
    assert {("manual.pdf", "extract"), ("manual.pdf", "embed"), ("manual.pdf", "indexed")} <= stages
    assert ("notes.xyz", "failed") in stages
    assert "3 indexed" in page.docs_bar.state.text() and "1 failed" in page.docs_bar.state.text()
    page.docs_bar.show_files()
    dialog = page.docs_bar.files_dialog
    assert dialog is not None
    rows = {dialog.tree.topLevelItem(i).text(0): dialog.tree.topLevelItem(i).text(2)
            for i in range(dialog.tree.topLevelItemCount())}
    assert "unsupported file type '.xyz'" in rows["notes.xyz"]
    dialog.close()

    with qtbot.waitSignal(page.reply_finished, timeout=60000):
        qtbot.keyClicks(page.input, "Which animal is the largest rodent?")
        qtbot.keyClick(page.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not page.busy, timeout=60000)
    answer = page.model.rows[-1]
    assert answer.stats["sources"][0]["label"] == "manual.pdf, p. 2"
    stored = page.store.messages(page.conversation_id or "")[-1]
    assert stored.stats["sources"][0]["page"] == 2 and stored.stats["generated_tokens"] > 0
    page.view.viewport().repaint()
    page.grab().save(str(screenshots / "chat-documents-answer.png"))

    point = page.view.link_point(len(page.model.rows) - 1, "ponder:cite/1")
    assert point is not None, "the answer shows no link to its first source"
    qtbot.mouseClick(page.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    source = page.source_dialog
    assert source is not None
    qtbot.waitUntil(lambda: source.passage is not None or "Could not" in source.where.text(), timeout=30000)
    assert source.page == 2 and "page 2 of 3" in source.where.text()
    assert "capybara is the largest living rodent" in source.highlighted_text()
    assert "Chapter one" not in source.text.toPlainText()  # the page, not the whole document
    source.grab().save(str(screenshots / "source-view.png"))
    qtbot.mouseClick(source.previous_button, Qt.MouseButton.LeftButton)
    assert source.page == 1 and source.highlighted_text() == ""
    source.close()


def test_pause_and_resume_indexing(qtbot: Any, page: ChatPage, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    for i in range(8):
        (folder / f"note{i}.md").write_text(f"# Note {i}\n\n" + f"Sentence {i} about a topic. " * 150,
                                            encoding="utf-8")
    paused: list[bool] = []

    def pause_after_first(p: IndexProgress) -> None:
        if p.stage == "indexed" and not paused:
            paused.append(True)
            qtbot.mouseClick(page.docs_bar.pause_button, Qt.MouseButton.LeftButton)

    page.indexer.progress.connect(pause_after_first)
    assert drop(page, [folder])
    qtbot.waitUntil(lambda: bool(paused) and not page.indexer.running, timeout=120000)
    waiting = sum(s == "pending" for s in indexed(page).values())
    assert page.indexer.paused and 0 < waiting < 8
    assert page.docs_bar.pause_button.text() == "Resume" and "paused" in page.docs_bar.state.text()
    qtbot.mouseClick(page.docs_bar.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.indexer.running and not page.indexer.has_work(), timeout=120000)
    assert list(indexed(page).values()) == ["indexed"] * 8


def test_citations_in_the_answer_become_links_outside_code() -> None:
    html = link_citations("<p>Capybaras are rodents [1] and swim [2, 3]; not [9].</p><pre>a[1]</pre>", {1, 2, 3})
    assert 'href="ponder:cite/1"' in html and 'href="ponder:cite/3"' in html and "[9]" in html
    assert "<pre>a[1]</pre>" in html
    row = Row(id=1, role="assistant", content="Capybaras are rodents [1].",
              stats={"sources": [{"number": 1, "label": "manual.pdf, p. 2"}]})
    body, _ = message_html(row, QPalette())
    assert body.count('href="ponder:cite/1"') == 2  # in the text and in the list of sources


def test_without_an_embedding_model_the_bar_offers_to_get_it(qtbot: Any, inference: InferenceThread,
                                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.engine.test_embedders import ENTRY, REPO
    from tests.fixtures.embedder import minilm_checkpoint
    from tests.fixtures.hub_server import HubServer, use_hub

    monkeypatch.delenv("PONDER_EMBEDDER", raising=False)
    server = HubServer(minilm_checkpoint(), REPO).start()
    use_hub(server, monkeypatch, tmp_path / "catalog.json", [], [ENTRY])
    chat = ChatPage(ConversationStore(tmp_path / "c.db"), inference, lambda: SETTINGS)
    qtbot.addWidget(chat)
    chat.show()
    try:
        assert drop(chat, [markdown_file(tmp_path / "guide.md")])
        qtbot.waitUntil(lambda: bool(chat.indexer.error), timeout=30000)
        assert "No embedding model is installed" in chat.docs_bar.state.text()
        assert chat.docs_bar.get_button.isVisible() and "all-MiniLM-L6-v2, 91 MB" in chat.docs_bar.get_button.text()
        qtbot.mouseClick(chat.docs_bar.get_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: indexed(chat) == {"guide.md": "indexed"}, timeout=120000)
        qtbot.waitUntil(lambda: not chat.docs_bar.get_button.isVisible(), timeout=10000)
    finally:
        chat.indexer.stop()
        chat.jobs.stop_all()
        server.stop()
