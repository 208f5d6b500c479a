"""Dragging files over the chat shows a drop target over the conversation; leaving hides it; dropping hides it
and adds the files to the conversation's documents. The documents bar says "searchable; improving" when a file's
keywords are in and its vectors are still coming."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from desktop.chat.page import ChatPage
from desktop.workers import InferenceThread
from engine.chat.storage import ConversationStore
from engine.documents.pipeline import IndexProgress, IndexStage
from engine.system.settings import Settings
from tests.desktop.chat_scenes import shoot


def make_page(qtbot: Any, inference: InferenceThread, tmp_path: Path) -> ChatPage:
    page = ChatPage(ConversationStore(tmp_path / "c.db"), inference, lambda: Settings())
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    return page


def mime_of(paths: list[Path]) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def test_drop_target_shows_while_dragging_and_drop_adds_the_files(qtbot: Any, inference: InferenceThread,
                                                                  tmp_path: Path, screenshots: Path, themed: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    page = make_page(qtbot, inference, tmp_path)
    added: list[list[Path]] = []
    monkeypatch.setattr(page, "attach_paths", lambda paths: added.append(paths) or "c")
    files = [tmp_path / "a.md", tmp_path / "b.pdf"]
    for f in files:
        f.write_text("x", encoding="utf-8")
    where = page.view.geometry().center()
    both, first = mime_of(files), mime_of(files[:1])  # kept alive: the events do not own their data
    enter = QDragEnterEvent(where, Qt.DropAction.CopyAction, both, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(page, enter)
    assert enter.isAccepted() and page.drop_target.isVisible()
    covered = page.drop_target.geometry()
    assert covered.width() > page.view.width() * 0.8 and covered.height() > page.view.height() * 0.8
    assert "2 items" in page.drop_target.title.text()
    shoot(page, screenshots, "chat-drop-target.png")

    QApplication.sendEvent(page, QDragLeaveEvent())
    assert not page.drop_target.isVisible()

    QApplication.sendEvent(page, QDragEnterEvent(where, Qt.DropAction.CopyAction, first,
                                                 Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    assert page.drop_target.isVisible() and "2 items" not in page.drop_target.title.text()
    drop = QDropEvent(QPointF(where), Qt.DropAction.CopyAction, first, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(page, drop)
    assert drop.isAccepted() and not page.drop_target.isVisible() and added == [files[:1]]


def test_a_drag_without_files_shows_no_target(qtbot: Any, inference: InferenceThread, tmp_path: Path) -> None:
    page = make_page(qtbot, inference, tmp_path)
    mime = QMimeData()
    mime.setText("just text")
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(page, enter)
    assert not enter.isAccepted() and not page.drop_target.isVisible()


def test_searchable_stage_reads_searchable_improving(qtbot: Any, inference: InferenceThread, tmp_path: Path) -> None:
    page = make_page(qtbot, inference, tmp_path)
    bar = page.docs_bar
    bar._on_progress(IndexProgress(str(tmp_path / "guide.pdf"), 1, 2, IndexStage.SEARCHABLE, 0, 40))
    assert "guide.pdf" in bar.state.text() and "searchable; improving" in bar.state.text()
    assert 0 < bar.bar.value() < 500  # in the first of two files
