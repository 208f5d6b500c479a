"""Getting a reranker the way a person does: the catalog's entry downloaded from a Hub on loopback and exported to
ONNX (the tiny trained cross-encoder stands in for the real weights), off until chosen, then used by
``ponder docs search``, which says which sources were reranked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import main
from engine.documents.rerankers import get_reranker, installed_rerankers, reranker_folder, use_reranker
from engine.models.catalog import load_rerankers
from engine.system.errors import CatalogError, PonderError
from engine.system.settings import load_settings
from tests.fixtures.cross_encoder import TOPICS, cross_encoder_checkpoint, passage, query
from tests.fixtures.embedder import embedder_dir
from tests.fixtures.hub_server import HubServer, use_hub

__all__ = ["cross_encoder_checkpoint", "embedder_dir"]
REPO = "cross-encoder/tiny-test-reranker"
ENTRY: dict[str, object] = {
    "id": "tiny-reranker", "name": "tiny reranker", "repo_id": REPO, "revision": "main", "license": "MIT",
    "params": 10000, "max_tokens": 32, "languages": "test words", "download_bytes": 40000, "default": True,
    "description": "test"}


def test_the_bundled_catalog_offers_rerankers_and_none_is_on() -> None:
    entries = load_rerankers()
    assert entries[0].default and entries[0].repo_id == "cross-encoder/ms-marco-MiniLM-L-6-v2"
    assert entries[0].license == "Apache-2.0"
    bilingual = next(e for e in entries if "Chinese" in e.languages)
    assert bilingual.repo_id == "BAAI/bge-reranker-base" and bilingual.license == "MIT"
    assert load_settings().reranker == "" and reranker_folder() is None  # off by default


def test_get_a_reranker_switch_it_on_and_search_with_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        cross_encoder_checkpoint: Path, embedder_dir: Path) -> None:
    monkeypatch.delenv("PONDER_RERANKER", raising=False)
    monkeypatch.setenv("PONDER_EMBEDDER", str(embedder_dir))
    server = HubServer(cross_encoder_checkpoint, REPO).start()
    try:
        catalog = tmp_path / "catalog.json"
        use_hub(server, monkeypatch, catalog, [])
        catalog.write_text(json.dumps({"version": 1, "models": [], "embedders": [], "rerankers": [ENTRY]}))
        stages: list[str] = []
        folder = get_reranker(progress=lambda p: stages.append(p.stage))
    finally:
        server.stop()
    fetched = {r.path.rsplit("/", 1)[-1] for r in server.resolve_requests()}
    assert "model.safetensors" in fetched and "tokenizer.json" in fetched
    assert {"download", "export"} <= set(stages)
    assert folder.name == "tiny-reranker" and installed_rerankers() == [folder]
    assert get_reranker() == folder  # installed: no second download
    assert reranker_folder() is None  # installed is not on

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "music.txt").write_text(passage(("guitar", "piano")) + "\n", encoding="utf-8")
    for name in ("fruit", "weather", "tools"):
        (docs / f"{name}.txt").write_text(passage(TOPICS[name][:2], filler=True) + "\n", encoding="utf-8")
    assert main(["docs", "add", str(docs)]) == 0
    capsys.readouterr()
    assert main(["docs", "search", query("violin"), "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert not any(h["reranked"] for h in plain) and not plain[0]["file"].endswith("music.txt")

    assert main(["docs", "reranker", "--use", "tiny-reranker"]) == 0
    assert "reranks with tiny-reranker" in capsys.readouterr().out
    assert reranker_folder() == folder and load_settings().reranker == "tiny-reranker"
    assert main(["docs", "search", query("violin"), "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[1] music.txt") and out.count("reranked") == 2
    assert main(["docs", "search", query("violin"), "--no-rerank", "--json"]) == 0
    assert not any(h["reranked"] for h in json.loads(capsys.readouterr().out))
    assert main(["docs", "reranker", "--list"]) == 0
    assert "Reranking is on: tiny-reranker" in capsys.readouterr().out

    monkeypatch.setenv("PONDER_RERANKER", "off")
    assert reranker_folder() is None
    monkeypatch.setenv("PONDER_RERANKER", str(tmp_path / "nowhere"))
    with pytest.raises(PonderError, match="holds no reranker"):
        reranker_folder()
    monkeypatch.delenv("PONDER_RERANKER")
    assert use_reranker("off") is None and reranker_folder() is None
    with pytest.raises(PonderError, match="not installed"):
        use_reranker("bge-reranker-base")


def test_unknown_reranker_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"version": 1, "models": [], "rerankers": [ENTRY]}))
    monkeypatch.setenv("PONDER_CATALOG", str(catalog))
    with pytest.raises(CatalogError, match="Unknown reranker 'nope'") as err:
        get_reranker("nope")
    assert "tiny-reranker" in err.value.hint
    catalog.write_text(json.dumps({"version": 1, "rerankers": [{"id": "x"}]}))
    with pytest.raises(CatalogError, match="rerankers of the catalog"):
        load_rerankers()
