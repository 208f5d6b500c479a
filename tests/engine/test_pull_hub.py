"""`ponder pull OWNER/NAME[@REVISION]`: any Hub repository of a supported architecture, checked before its weights
are downloaded, against the loopback Hub the tests serve (one-file and sharded checkpoints)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from engine.cli import main
from engine.models.pull import describe_hub_model, parse_repo_ref
from engine.models.store import list_installed
from engine.system.errors import ConversionError, UnsafeNameError
from tests.fixtures.app_session import app_session, greedy
from tests.fixtures.checkpoints import Shape, build_checkpoint
from tests.fixtures.hub_server import COMMIT, HubServer, use_hub

REPO = "lab-org/Tiny-Reasoner"


def serve(root: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, license: str = "apache-2.0") -> HubServer:
    server = HubServer(root, REPO, license=license).start()
    use_hub(server, monkeypatch, tmp_path / "catalog.json", [])  # an empty catalog: the repo is not in it
    return server


@pytest.fixture
def hub(tiny_checkpoints: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    root = tmp_path / "repo"
    shutil.copytree(tiny_checkpoints["qwen3"], root)
    server = serve(root, monkeypatch, tmp_path)
    yield server
    server.stop()


def test_pull_any_hub_repo_says_what_it_needs_then_converts(hub: HubServer,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pull", REPO, "--provider", "cpu"]) == 0
    out = capsys.readouterr()
    assert "Ready: tiny-reasoner-int4" in out.out
    assert f"{REPO}@{COMMIT[:12]}: qwen3" in out.err and "licence apache-2.0" in out.err
    assert "memory to convert" in out.err and "to run" in out.err
    [model] = list_installed()
    assert model.manifest.source == {"repo_id": REPO, "revision": "main", "commit": COMMIT, "license": "apache-2.0"}
    assert model.manifest.architecture["family"] == "qwen3"
    assert greedy(app_session(model.path), [3, 5, 7], 1)[0] >= 0


def test_pull_a_sharded_repo_at_a_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = build_checkpoint(tmp_path / "sharded", Shape("llama", 128, 320, 3, 4, 2, 0, 256), dtype=torch.bfloat16,
                            shard_bytes=200_000)
    assert len(list(root.glob("model-*.safetensors"))) >= 3
    server = serve(root, monkeypatch, tmp_path)
    try:
        assert main(["pull", f"{REPO}@{COMMIT}", "--provider", "cpu", "--name", "sharded"]) == 0
        shards = [r for r in server.resolve_requests() if r.path.endswith(".safetensors") and r.method == "GET"]
    finally:
        server.stop()
    assert len({r.path for r in shards}) == len(list(root.glob("model-*.safetensors")))
    [model] = list_installed()
    assert model.name == "sharded" and model.manifest.source["revision"] == COMMIT
    assert greedy(app_session(model.path), [3, 5, 7], 1)[0] >= 0


def test_unsupported_architecture_is_refused_before_the_weights_download(
        tiny_checkpoints: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "mamba"
    shutil.copytree(tiny_checkpoints["qwen2"], root)
    config = json.loads((root / "config.json").read_text())
    (root / "config.json").write_text(json.dumps(config | {"architectures": ["MambaForCausalLM"]}))
    server = serve(root, monkeypatch, tmp_path)
    try:
        assert main(["pull", REPO]) == 1
        fetched = {r.path.rsplit("/", 1)[-1] for r in server.resolve_requests() if r.method == "GET"}
    finally:
        server.stop()
    assert "Architecture MambaForCausalLM is not supported" in capsys.readouterr().err
    assert fetched <= {"config.json", "generation_config.json"} and list_installed() == []


def test_pickles_only_and_remote_code_repos_are_refused(tiny_checkpoints: dict[str, Path], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "pickles"
    shutil.copytree(tiny_checkpoints["qwen2"], root)
    (root / "model.safetensors").rename(root / "pytorch_model.bin")
    server = serve(root, monkeypatch, tmp_path)
    try:
        with pytest.raises(ConversionError, match="only has PyTorch pickles"):
            describe_hub_model(REPO)
        (root / "pytorch_model.bin").rename(root / "model.safetensors")
        config = json.loads((root / "config.json").read_text())
        (root / "config.json").write_text(json.dumps(config | {"auto_map": {"AutoModel": "evil.Model"}}))
        with pytest.raises(ConversionError, match="custom Python code"):
            describe_hub_model(REPO)
    finally:
        server.stop()
    assert not server.resolve_requests("model.safetensors")


@pytest.mark.parametrize("ref", ["../etc", "org/../x", "a/b/c", "org/name@../../x", "org/na me", "/abs",
                                 "org/name@main;rm", "org\\name"])
def test_hostile_repo_ids_are_refused(ref: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UnsafeNameError):
        parse_repo_ref(ref)
    assert main(["pull", ref]) == 1
    err = capsys.readouterr().err
    assert ("Invalid" in err or "Unknown model" in err) and list_installed() == []
