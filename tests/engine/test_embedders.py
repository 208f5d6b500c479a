"""Getting the documents' embedding model: the catalog's default downloaded from a Hub on loopback and exported to
ONNX (the real all-MiniLM-L6-v2 weights), and an index that notices when its vectors came from another model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.documents.embed import Embedder
from engine.documents.embedders import embedder_folder, get_embedder, load_embedders
from engine.documents.index import DocumentIndex
from engine.documents.pipeline import index_paths, index_pending
from engine.documents.retrieve import retrieve
from engine.system.errors import PonderError
from tests.fixtures.documents import markdown_file
from tests.fixtures.embedder import embedder_dir, minilm_checkpoint
from tests.fixtures.hub_server import HubServer, use_hub

__all__ = ["embedder_dir"]
REPO = "sentence-transformers/all-MiniLM-L6-v2"
ENTRY: dict[str, object] = {
    "id": "minilm-download", "name": "all-MiniLM-L6-v2", "repo_id": REPO, "revision": "main",
    "license": "Apache-2.0", "params": 22713216, "dims": 384, "max_tokens": 256, "languages": "English only",
    "download_bytes": 90868376, "query_prefix": "", "passage_prefix": "", "default": True, "description": "test"}


def test_the_bundled_catalog_offers_a_multilingual_default() -> None:
    default = load_embedders()[0]
    assert default.default and default.repo_id == "intfloat/multilingual-e5-small" and default.license == "MIT"
    assert default.query_prefix == "query: " and "Chinese" in default.languages


def test_get_the_default_embedder_then_reindex_when_the_model_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder_dir: Path) -> None:
    monkeypatch.delenv("PONDER_EMBEDDER", raising=False)
    server = HubServer(minilm_checkpoint(), REPO).start()
    try:
        use_hub(server, monkeypatch, tmp_path / "catalog.json", [], [ENTRY])
        with pytest.raises(PonderError, match="No embedding model is installed") as err:
            embedder_folder()
        assert "ponder docs embedder --get" in str(err.value)
        stages: list[str] = []
        folder = get_embedder(progress=lambda p: stages.append(p.stage))
    finally:
        server.stop()
    fetched = {r.path.rsplit("/", 1)[-1] for r in server.resolve_requests()}
    assert "model.safetensors" in fetched and "README.md" not in fetched
    assert {"download", "export"} <= set(stages)
    assert embedder_folder() == folder and folder.name == "minilm-download"
    assert json.loads((folder / "embedder.json").read_text())["dims"] == 384
    assert get_embedder() == folder  # installed: no second download
    downloaded = Embedder(folder)

    # a collection indexed with the test's export, then the downloaded one (another install: another identity)
    index = DocumentIndex(tmp_path / "d.db")
    guide = markdown_file(tmp_path / "guide.md")
    before = Embedder(embedder_dir)
    list(index_paths(index, [guide], before, collection="c"))
    assert retrieve(index, before, "c", "installer AppImage")
    with pytest.raises(PonderError, match="indexed with another embedding model"):
        retrieve(index, downloaded, "c", "installer AppImage")
    stages = [p.stage for p in index_pending(index, downloaded, "c")]
    assert "indexed" in stages  # indexed again from its text, not confirmed by hash
    assert retrieve(index, downloaded, "c", "installer AppImage")[0].hit.heading[:2] == ("Guide", "Install")


def test_choose_which_installed_embedder_documents_use(embedder_dir: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from engine.cli import main
    from engine.documents.embedders import embedders_dir

    monkeypatch.delenv("PONDER_EMBEDDER", raising=False)
    for name in ("multilingual-e5-small", "mine"):  # the catalog default's name, and a local export
        shutil.copytree(embedder_dir, embedders_dir() / name)
    assert embedder_folder().name == "multilingual-e5-small"  # the default while nothing was chosen
    assert main(["docs", "embedder", "--use", "mine"]) == 0
    assert embedder_folder().name == "mine"
    assert main(["docs", "embedder", "--use", "missing"]) == 1
    assert "'missing' is not installed" in capsys.readouterr().err
    assert main(["docs", "embedder", "--list"]) == 0
    assert "installed" in capsys.readouterr().out  # the default is installed (not in use: "mine" is)
    shutil.rmtree(embedders_dir() / "mine")
    assert embedder_folder().name == "multilingual-e5-small"  # the chosen one went away: back to the default
