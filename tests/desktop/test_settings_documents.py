"""Settings › Documents: get the catalog's embedding model (from a Hub on loopback), switch to another installed
one, and the documents are indexed again with it in the background."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from desktop.documents.indexer import DocumentIndexer
from desktop.settings import SettingsPage
from desktop.workers import BackgroundJobs, InferenceThread
from engine.documents.embedders import embedder_folder, embedders_dir
from engine.documents.index import DocumentIndex
from engine.system.settings import Settings, load_settings
from tests.engine.test_embedders import ENTRY, REPO
from tests.fixtures.documents import markdown_file
from tests.fixtures.embedder import minilm_checkpoint
from tests.fixtures.hub_server import HubServer, use_hub

OTHER = {**ENTRY, "id": "other", "name": "Other", "repo_id": "example/other", "default": False,
         "languages": "English only"}


def row(page: SettingsPage, model_id: str) -> Any:
    table = page.documents.table
    return next(table.topLevelItem(i) for i in range(table.topLevelItemCount())
                if table.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole) == model_id)


def test_get_an_embedder_then_switch_and_reindex(qtbot: Any, runners: tuple[InferenceThread, BackgroundJobs],
                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inference, jobs = runners
    monkeypatch.delenv("PONDER_EMBEDDER", raising=False)
    server = HubServer(minilm_checkpoint(), REPO).start()
    try:
        use_hub(server, monkeypatch, tmp_path / "catalog.json", [], [ENTRY, OTHER])
        page = SettingsPage(Settings(), inference, jobs)
        qtbot.addWidget(page)
        page.show_section("documents")
        section = page.documents
        assert section.table.topLevelItemCount() == 2 and row(page, "minilm-download").text(4) == ""
        section.table.setCurrentItem(row(page, "minilm-download"))
        assert section.get_button.isEnabled() and not section.use_button.isEnabled()
        qtbot.mouseClick(section.get_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "is ready" in section.state.text(), timeout=120000)
    finally:
        server.stop()
    assert row(page, "minilm-download").text(4) == "In use"

    # documents indexed with it, then another installed model is chosen
    indexer = DocumentIndexer(DocumentIndex(), jobs, inference.host)
    section.embedder_changed.connect(indexer.embedder_changed)
    indexer.add("notes", [markdown_file(tmp_path / "guide.md")])
    qtbot.waitUntil(lambda: not indexer.running and not indexer.has_work(), timeout=60000)
    assert "minilm-download" in indexer.index.embedder_of("notes")
    # the indexer's embedder is the model host's, the one the chat's retrieval gets (loaded once per process)
    assert inference.host.loaded() == ["minilm-download"]
    shutil.copytree(embedders_dir() / "minilm-download", embedders_dir() / "other")
    section.refresh()
    section.table.setCurrentItem(row(page, "other"))
    with qtbot.waitSignal(section.embedder_changed):
        qtbot.mouseClick(section.use_button, Qt.MouseButton.LeftButton)
    assert load_settings().embedder == "other" and embedder_folder().name == "other"
    assert row(page, "other").text(4) == "In use" and row(page, "minilm-download").text(4) == "Installed"
    qtbot.waitUntil(lambda: "other" in indexer.index.embedder_of("notes") and not indexer.running, timeout=60000)
    assert [f.status for f in indexer.index.files("notes")] == ["indexed"]
