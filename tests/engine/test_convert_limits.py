"""The converter's limits: memory that does not grow with the model, and clear refusals that install nothing."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest
import torch

from engine.models.convert.pipeline import convert_checkpoint
from engine.models.convert.safetensors_io import CheckpointTensors
from engine.models.store import list_installed, staging_dir
from engine.system.errors import ConversionError, DiskSpaceError, PonderError
from tests.fixtures.checkpoints import Shape, build_checkpoint

MiB = 2**20


def sharded(root: Path, layers: int) -> Path:
    """A random bf16 Qwen2 checkpoint with ``layers`` layers of the same width, in 8 MB shards (like the Hub's
    multi-file checkpoints, only smaller)."""
    return build_checkpoint(root / f"layers-{layers}", Shape("qwen2", 512, 1536, layers, 8, 2, 8192, 2048),
                            dtype=torch.bfloat16, shard_bytes=8 * MiB)


def peak_rss(name: str) -> int:
    (model,) = [m for m in list_installed() if m.name == name]
    return int(json.loads(model.manifest.tools["conversion"])["convert_peak_rss"])


def test_peak_memory_does_not_grow_with_the_checkpoint(tmp_path: Path) -> None:
    small, large = sharded(tmp_path, 2), sharded(tmp_path, 24)
    assert len(list(large.glob("*.safetensors"))) > 4 and (large / "model.safetensors.index.json").is_file()
    sizes = {p: sum(f.stat().st_size for f in p.glob("*.safetensors")) for p in (small, large)}
    assert sizes[large] - sizes[small] > 120 * MiB
    convert_checkpoint(small, "small", precision="int4")
    convert_checkpoint(large, "large", precision="int4")
    grown = peak_rss("large") - peak_rss("small")
    print(f"converter peak RSS: {peak_rss('small') / MiB:.0f} MiB for {sizes[small] / MiB:.0f} MiB of weights, "
          f"{peak_rss('large') / MiB:.0f} MiB for {sizes[large] / MiB:.0f} MiB (grew {grown / MiB:.0f} MiB)")
    # the bound: the worker's libraries plus a few blocks of one tensor, whatever the model's size
    assert peak_rss("large") < 300 * MiB
    assert grown < 32 * MiB  # the weights grew by over 120 MiB


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _config(folder: Path, **changes: object) -> None:
    path = folder / "config.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | changes))


def test_refusals_are_clear_and_install_nothing(tiny_checkpoints: dict[str, Path], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    base = tiny_checkpoints["qwen2"]
    cases: list[tuple[str, Path]] = []

    unknown = _copy(base, tmp_path / "unknown")
    _config(unknown, architectures=["MambaForCausalLM"])
    cases.append(("Architecture MambaForCausalLM is not supported", unknown))

    remote = _copy(base, tmp_path / "remote")
    _config(remote, auto_map={"AutoModelForCausalLM": "modeling_evil.Model"})
    cases.append(("custom Python code", remote))

    pickles = _copy(base, tmp_path / "pickles")
    (pickles / "model.safetensors").rename(pickles / "pytorch_model.bin")
    cases.append(("only has PyTorch pickles", pickles))

    shapes = _copy(base, tmp_path / "shapes")
    _config(shapes, intermediate_size=300)
    cases.append(("does not match|has shape", shapes))

    rope = _copy(base, tmp_path / "rope")
    _config(rope, rope_scaling={"rope_type": "longrope", "factor": 4.0})
    cases.append(("Rope scaling 'longrope' is not supported", rope))

    hostile = _copy(base, tmp_path / "hostile")
    data = (hostile / "model.safetensors").read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    name = next(k for k in header if k != "__metadata__")
    header[name]["data_offsets"] = [0, 10**12]  # points far past the end of the file
    raw = json.dumps(header).encode()
    (hostile / "model.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + length:])
    cases.append(("does not fit its byte range", hostile))

    escape = _copy(base, tmp_path / "escape")
    (escape / "model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {"model.embed_tokens.weight": "../../etc/passwd"}}))
    cases.append(("leave the model's folder|outside", escape))

    for message, folder in cases:
        with pytest.raises(PonderError, match=message):
            convert_checkpoint(folder, "refused")
    assert list_installed() == [] and not (staging_dir() / "refused" / "convert").exists()

    monkeypatch.setattr(shutil, "disk_usage", lambda _: shutil._ntuple_diskusage(10**12, 10**12 - 1000, 1000))
    with pytest.raises(DiskSpaceError, match=r"Converting needs about .* GB free"):
        convert_checkpoint(base, "refused")
    monkeypatch.undo()
    import psutil

    class Tight:
        available = 10 * MiB

    monkeypatch.setattr(psutil, "virtual_memory", lambda: Tight())
    with pytest.raises(ConversionError, match=r"needs about .* GB of free memory"):
        convert_checkpoint(base, "refused")
    assert list_installed() == []


def test_reader_widens_bf16_and_reads_row_blocks(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    weights = torch.randn(37, 16, dtype=torch.float32)
    save_file({"w": weights.to(torch.bfloat16), "h": weights.half()}, str(tmp_path / "model.safetensors"))
    tensors = CheckpointTensors(tmp_path)
    assert torch.equal(torch.from_numpy(tensors.read("w")), weights.to(torch.bfloat16).float())
    assert torch.equal(torch.from_numpy(tensors.read("h")), weights.half().float())
    blocks = list(tensors.row_blocks("w", max_bytes=10 * 16 * 4))
    assert [first for first, _ in blocks] == [0, 10, 20, 30] and sum(len(b) for _, b in blocks) == 37
