"""``ponder pull`` end to end against a loopback Hub serving a real tiny checkpoint (via HF_ENDPOINT)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from engine.cli import main
from engine.models.convert.manifest import read_manifest, sha256_file
from engine.models.store import list_installed
from tests.fixtures.app_session import app_session, greedy
from tests.fixtures.checkpoints import ASSISTANT, EOS, script_texts
from tests.fixtures.hub_server import COMMIT, HubServer, tiny_model_entry, use_hub

REPO = "ponder-test/tiny-r1"
ONNX_REPO = "ponder-test/tiny-r1-onnx"


def catalog_entry(**overrides: object) -> dict[str, object]:
    return tiny_model_entry(REPO, params=1, download_bytes=1,
                            needs={"int4": {"disk_bytes": 1, "ram_bytes": 1, "vram_bytes": 1}}) | overrides


@pytest.fixture
def tiny_hub(tiny_checkpoints: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[
        HubServer]:
    root = tmp_path / "repo"
    shutil.copytree(tiny_checkpoints["qwen2"], root)
    (root / "pytorch_model.bin").write_bytes(b"pickles are never fetched")
    server = HubServer(root, REPO).start()
    use_hub(server, monkeypatch, tmp_path / "catalog.json", [catalog_entry()])
    yield server
    server.stop()


def scripted_prompt(model_dir: Path) -> tuple[list[int], Tokenizer]:
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    seq = script_texts(tok)[0]
    return seq[: seq.index(tok.token_to_id(ASSISTANT)) + 3], tok


def assert_answers_script(model_dir: Path) -> None:
    prompt, tok = scripted_prompt(model_dir)
    manifest = read_manifest(model_dir)
    tokens = greedy(app_session(model_dir), prompt, 64, eos=manifest.generation["eos_token_ids"])
    text = tok.decode(tokens, skip_special_tokens=False)
    assert text == "Two plus two. Add them: the sum is four.\n</think>\n\nThe answer is 4." + EOS


def test_pull_downloads_verifies_converts_and_runs(tiny_hub: HubServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pull", "tiny-r1", "--provider", "cpu"]) == 0
    assert "Ready: tiny-r1-int4" in capsys.readouterr().out
    [model] = list_installed()
    manifest = model.manifest
    assert manifest.source["repo_id"] == REPO and manifest.source["commit"] == COMMIT
    assert manifest.generation["sampling"] == {"temperature": 0.6, "top_p": 0.95, "top_k": 0,
                                               "repetition_penalty": 1.0}
    assert all(sha256_file(model.path / n) == e.sha256 for n, e in manifest.files.items())
    assert not tiny_hub.resolve_requests("pytorch_model.bin")
    assert_answers_script(model.path)
    # pulling again finds it installed and fetches nothing
    before = len(tiny_hub.log)
    assert main(["pull", "tiny-r1", "--provider", "cpu"]) == 0
    assert len(tiny_hub.log) == before


def test_pull_resumes_after_a_dropped_connection(tiny_hub: HubServer) -> None:
    size = (tiny_hub.root / "model.safetensors").stat().st_size
    tiny_hub.faults.drop_after["model.safetensors"] = (size // 3, 1)
    assert main(["pull", "tiny-r1", "--provider", "cpu"]) == 0
    ranges = [r.range for r in tiny_hub.resolve_requests("model.safetensors") if r.method == "GET"]
    assert any(r and r.startswith("bytes=") and not r.startswith("bytes=0-") for r in ranges)
    [model] = list_installed()
    assert_answers_script(model.path)


def test_corrupt_download_installs_nothing_then_a_retry_succeeds(tiny_hub: HubServer,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    tiny_hub.faults.flip_byte.add("model.safetensors")
    assert main(["pull", "tiny-r1", "--provider", "cpu"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()  # progress lines, then the error
    errors = [line for line in lines if line.startswith("ponder: ")]
    assert errors == [lines[-1]] and "model.safetensors" in lines[-1]
    assert list_installed() == []
    tiny_hub.faults.flip_byte.clear()
    assert main(["pull", "tiny-r1", "--provider", "cpu"]) == 0
    assert len(list_installed()) == 1


def test_wrong_size_is_an_error_not_a_model(tiny_hub: HubServer, capsys: pytest.CaptureFixture[str]) -> None:
    tiny_hub.faults.wrong_size["model.safetensors"] = 7
    assert main(["pull", "tiny-r1", "--provider", "cpu"]) == 1
    assert "model.safetensors" in capsys.readouterr().err
    assert list_installed() == []


def test_416_on_resume_restarts_and_verifies(tiny_hub: HubServer) -> None:
    size = (tiny_hub.root / "model.safetensors").stat().st_size
    tiny_hub.faults.drop_after["model.safetensors"] = (size // 2, 1)
    tiny_hub.faults.range_416.add("model.safetensors")
    assert main(["pull", "tiny-r1", "--provider", "cpu"]) == 0
    assert any(r.status == 416 for r in tiny_hub.resolve_requests("model.safetensors"))
    assert_answers_script(list_installed()[0].path)


def test_hostile_file_name_refuses_the_pull(tiny_hub: HubServer, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    tiny_hub.faults.hostile_names.append("../../escape.json")
    assert main(["pull", "tiny-r1", "--provider", "cpu"]) == 1
    assert "../../escape.json" in capsys.readouterr().err
    assert list_installed() == []
    assert not list(tmp_path.rglob("escape.json"))


def test_unknown_model_is_a_one_line_error(tiny_hub: HubServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pull", "no-such-model"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("ponder: Unknown model 'no-such-model'") and "tiny-r1" in err


def test_prebuilt_onnx_is_installed_without_conversion(converted: dict[tuple[str, str], Path], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "onnx-repo"
    sub = root / "tiny-r1" / "cpu-int4"
    shutil.copytree(converted[("qwen2", "int4")], sub)
    (sub / "manifest.json").unlink()
    server = HubServer(root, ONNX_REPO).start()
    try:
        prebuilt = [{"repo_id": ONNX_REPO, "revision": "main", "subfolder": "tiny-r1/cpu-int4", "precision": "int4",
                     "providers": ["cpu"]}]
        catalog = tmp_path / "catalog.json"
        catalog.write_text(json.dumps({"version": 1, "models": [catalog_entry(prebuilt=prebuilt)]}))
        monkeypatch.setenv("PONDER_CATALOG", str(catalog))
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        assert main(["pull", "tiny-r1", "--provider", "cpu"]) == 0
    finally:
        server.stop()
    [model] = list_installed()
    assert model.manifest.source["prebuilt"] is True
    assert model.manifest.source["subfolder"] == "tiny-r1/cpu-int4"
    assert "conversion" not in model.manifest.tools
    assert_answers_script(model.path)


def test_pull_with_an_int8_cache_converts_beside_the_float_build(
        tiny_checkpoints: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """``--kv-cache int8`` converts from the checkpoint even where the catalog lists a prebuilt build (prebuilt
    builds have a float cache: that repository is never asked), installs under its own ``-kv8`` name, and the
    model answers; a GPU provider is refused before anything is downloaded."""
    root = tmp_path / "repo"
    shutil.copytree(tiny_checkpoints["qwen2"], root)
    server = HubServer(root, REPO).start()
    try:
        prebuilt = [{"repo_id": ONNX_REPO, "revision": "main", "subfolder": "tiny-r1/cpu-int4", "precision": "int4",
                     "providers": ["cpu"]}]
        use_hub(server, monkeypatch, tmp_path / "catalog.json", [catalog_entry(prebuilt=prebuilt)])
        assert main(["pull", "tiny-r1", "--provider", "cuda", "--kv-cache", "int8"]) == 1
        assert "int8 KV cache runs on the CPU only" in capsys.readouterr().err
        assert not server.log
        assert main(["pull", "tiny-r1", "--provider", "cpu", "--kv-cache", "int8"]) == 0
        assert "Ready: tiny-r1-int4-kv8" in capsys.readouterr().out
        assert not any(ONNX_REPO in r.path for r in server.log)
    finally:
        server.stop()
    [model] = list_installed()
    assert model.name == "tiny-r1-int4-kv8" and model.manifest.kv_cache == "int8"
    assert_answers_script(model.path)
