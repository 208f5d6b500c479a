"""Conversion of real tiny checkpoints to ONNX: greedy parity with PyTorch, int4 agreement, staging, manifest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

from engine.cancel import CancelToken
from engine.convert.manifest import GRAPH_GENAI_FUSED, read_manifest, sha256_file
from engine.convert.pipeline import convert_checkpoint, inspect_checkpoint, plan
from engine.errors import Cancelled, ConversionError
from engine.progress import Progress
from engine.runtime.decoder import Decoder
from engine.store import list_installed, staging_dir
from tests.fixtures.checkpoints import ASSISTANT, script_texts

N_TOKENS = 32


def prompts(ckpt: Path) -> list[list[int]]:
    """The scripted prompts (chat template + "<think>\\n") and some off-script ones from the same vocabulary."""
    tok = Tokenizer.from_file(str(ckpt / "tokenizer.json"))
    assistant = tok.token_to_id(ASSISTANT)
    scripted = [seq[: seq.index(assistant) + 3] for seq in script_texts(tok)]
    rng = np.random.default_rng(7)
    vocab = tok.get_vocab_size()
    off_script = [scripted[0][:2] + rng.integers(5, vocab - 2, size=9).tolist() for _ in range(3)]
    return scripted + off_script


def torch_greedy(ckpt: Path, prompt: list[int], n: int) -> list[int]:
    model = AutoModelForCausalLM.from_pretrained(ckpt, dtype=torch.float32)
    ids = torch.tensor([prompt])
    out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n, do_sample=False,
                         eos_token_id=None, pad_token_id=2, temperature=None, top_p=None)
    return out[0, len(prompt):].tolist()


@pytest.mark.parametrize("family", ["qwen2", "llama"])
def test_fp32_greedy_tokens_equal_pytorch(family: str, tiny_checkpoints: dict[str, Path],
                                          converted: dict[tuple[str, str], Path]) -> None:
    ckpt = tiny_checkpoints[family]
    decoder = Decoder(converted[(family, "fp32")])
    for prompt in prompts(ckpt):
        decoder.reset()
        assert list(decoder.greedy(prompt, N_TOKENS)) == torch_greedy(ckpt, prompt, N_TOKENS)


@pytest.mark.parametrize("family", ["qwen2", "llama"])
def test_int4_agrees_with_pytorch_on_90_percent(family: str, tiny_checkpoints: dict[str, Path],
                                                converted: dict[tuple[str, str], Path]) -> None:
    ckpt = tiny_checkpoints[family]
    decoder = Decoder(converted[(family, "int4")])
    scripted = prompts(ckpt)[:5]
    agree = total = 0
    for prompt in scripted:
        decoder.reset()
        ours = list(decoder.greedy(prompt, N_TOKENS))
        ref = torch_greedy(ckpt, prompt, N_TOKENS)
        agree += sum(a == b for a, b in zip(ours, ref, strict=True))
        total += N_TOKENS
    print(f"int4 {family}: {agree}/{total} = {agree / total:.1%} of the first {N_TOKENS} greedy tokens agree")
    assert agree / total >= 0.9


def test_int4_graph_uses_matmulnbits_everywhere(converted: dict[tuple[str, str], Path]) -> None:
    graph = onnx.load(str(converted[("qwen2", "int4")] / "model.onnx"), load_external_data=False).graph
    ops = [n.op_type for n in graph.node]
    assert "MatMul" not in ops
    # per layer: qkv, o, gate_up (or gate+up), down; plus the lm_head
    assert ops.count("MatMulNBits") >= 2 * 4 + 1
    assert "GroupQueryAttention" in ops
    nbits = next(n for n in graph.node if n.op_type == "MatMulNBits")
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in nbits.attribute}
    assert attrs["bits"] == 4 and attrs["block_size"] == 128 and attrs["accuracy_level"] == 4
    assert len(nbits.input) == 4  # zero points


def test_manifest_records_source_hashes_and_form(converted: dict[tuple[str, str], Path]) -> None:
    folder = converted[("llama", "int4")]
    manifest = read_manifest(folder)
    assert manifest.precision == "int4"
    assert manifest.graph_form == GRAPH_GENAI_FUSED
    assert manifest.providers == ["cpu"]
    assert manifest.architecture["family"] == "llama"
    assert manifest.quantization["bits"] == 4
    assert manifest.generation["eos_token_ids"] == [1]
    assert {"onnxruntime", "onnxruntime-genai", "transformers", "ponder"} <= set(manifest.tools)
    stats = json.loads(manifest.tools["conversion"])
    assert stats["convert_peak_rss"] > 0
    for name in ("model.onnx", "model.onnx.data", "tokenizer.json", "tokenizer_config.json", "config.json"):
        entry = manifest.files[name]
        assert entry.size == (folder / name).stat().st_size
        assert entry.sha256 == sha256_file(folder / name)


def test_cancel_keeps_finished_stage_and_resume_skips_it(tiny_checkpoints: dict[str, Path]) -> None:
    cancel = CancelToken()
    seen: list[Progress] = []

    def cancel_at_quantize(p: Progress) -> None:
        seen.append(p)
        if p.stage == "quantize":
            cancel.cancel()

    with pytest.raises(Cancelled):
        convert_checkpoint(tiny_checkpoints["qwen2"], "resumable", progress=cancel_at_quantize, cancel=cancel)
    assert list_installed() == []
    work = staging_dir() / "resumable"
    assert (work / "convert" / ".done").is_file()
    assert not (work / "quantize").exists()

    stages: list[str] = []
    model = convert_checkpoint(tiny_checkpoints["qwen2"], "resumable", progress=lambda p: stages.append(p.stage))
    assert "convert" not in stages and "quantize" in stages
    assert [m.name for m in list_installed()] == ["resumable"]
    assert not work.exists()
    assert next(Decoder(model.path).greedy(prompts(tiny_checkpoints["qwen2"])[0], 1)) >= 0


def test_a_changed_source_restarts_the_stages(tiny_checkpoints: dict[str, Path], tmp_path: Path) -> None:
    work = staging_dir() / "changed"
    (work / "convert").mkdir(parents=True)
    (work / "convert" / ".done").write_text("{}")
    (work / "job.json").write_text(json.dumps({"source": "elsewhere"}))
    stages: list[str] = []
    convert_checkpoint(tiny_checkpoints["llama"], "changed", precision="fp32",
                       progress=lambda p: stages.append(p.stage))
    assert "convert" in stages


def _copy_ckpt(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def test_inspect_refuses_bad_checkpoints(tiny_checkpoints: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ConversionError, match=r"no config\.json"):
        inspect_checkpoint(tmp_path)
    remote = _copy_ckpt(tiny_checkpoints["qwen2"], tmp_path / "remote")
    cfg = json.loads((remote / "config.json").read_text())
    (remote / "config.json").write_text(json.dumps(cfg | {"auto_map": {"AutoModel": "x.Model"}}))
    with pytest.raises(ConversionError, match="custom Python code"):
        inspect_checkpoint(remote)
    (remote / "config.json").write_text(json.dumps(cfg | {"architectures": ["GPT2LMHeadModel"]}))
    with pytest.raises(ConversionError, match="not supported"):
        inspect_checkpoint(remote)
    (remote / "config.json").write_text(json.dumps(cfg))
    (remote / "model.safetensors").rename(remote / "pytorch_model.bin")
    with pytest.raises(ConversionError, match="pickles"):
        inspect_checkpoint(remote)


def test_precision_and_provider_plans() -> None:
    assert plan("int4", "cpu").export_precision == "fp32"
    assert plan("int4", "cuda").export_precision == "fp16"
    assert plan("fp16", "dml").quantize is False
    with pytest.raises(ConversionError, match="fp16 is for GPU"):
        plan("fp16", "cpu")
    with pytest.raises(ConversionError, match="Unknown provider"):
        plan("int4", "tpu")


def test_failed_conversion_names_the_log_and_installs_nothing(tiny_checkpoints: dict[str, Path],
                                                              tmp_path: Path) -> None:
    broken = _copy_ckpt(tiny_checkpoints["qwen2"], tmp_path / "broken")
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ConversionError, match=r"convert\.log"):
        convert_checkpoint(broken, "broken")
    assert list_installed() == []
