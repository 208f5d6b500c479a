"""Conversion of real tiny checkpoints to ONNX with Ponder's own converter: greedy parity with PyTorch (Qwen2,
Llama 3 with its rope scaling, Qwen3), int4 agreement, the graph's form, staging and resume, the manifest."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

from engine.models.convert.manifest import GRAPH_GENAI_FUSED, read_manifest, sha256_file
from engine.models.convert.options import GRAPH_FORM
from engine.models.convert.pipeline import build_options, convert_checkpoint, inspect_checkpoint
from engine.models.store import list_installed, staging_dir
from engine.runtime.session import KVSession
from engine.system.cancel import CancelToken
from engine.system.errors import Cancelled, ConversionError
from engine.system.progress import Progress
from tests.fixtures.app_session import app_session, greedy
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


FAMILIES = ["qwen2", "llama", "qwen3"]


@pytest.mark.parametrize("family", FAMILIES)
def test_fp32_greedy_tokens_equal_pytorch(family: str, tiny_checkpoints: dict[str, Path],
                                          converted: dict[tuple[str, str], Path]) -> None:
    ckpt = tiny_checkpoints[family]
    session = app_session(converted[(family, "fp32")])
    for prompt in prompts(ckpt):
        assert greedy(session, prompt, N_TOKENS) == torch_greedy(ckpt, prompt, N_TOKENS)


@pytest.mark.parametrize("family", FAMILIES)
def test_int4_agrees_with_pytorch_on_90_percent(family: str, tiny_checkpoints: dict[str, Path],
                                                converted: dict[tuple[str, str], Path]) -> None:
    ckpt = tiny_checkpoints[family]
    session = app_session(converted[(family, "int4")])
    scripted = prompts(ckpt)[:5]
    agree = total = 0
    for prompt in scripted:
        ours = greedy(session, prompt, N_TOKENS)
        ref = torch_greedy(ckpt, prompt, N_TOKENS)
        agree += sum(a == b for a, b in zip(ours, ref, strict=True))
        total += N_TOKENS
    print(f"int4 {family}: {agree}/{total} = {agree / total:.1%} of the first {N_TOKENS} greedy tokens agree")
    assert agree / total >= 0.9


def test_int4_graph_uses_matmulnbits_everywhere(converted: dict[tuple[str, str], Path]) -> None:
    graph = onnx.load(str(converted[("qwen2", "int4")] / "model.onnx"), load_external_data=False).graph
    ops = [n.op_type for n in graph.node]
    assert "MatMul" not in ops
    # per layer: q/k/v as one, o, gate and up as one, down; plus the lm_head
    assert ops.count("MatMulNBits") == 2 * 4 + 1
    assert ops.count("GroupQueryAttention") == 2 and "GatherBlockQuantized" in ops
    nbits = {n.name: {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
             for n in graph.node if n.op_type == "MatMulNBits"}
    qkv = nbits["/layers.0/attn/qkv"]
    assert (qkv["bits"], qkv["block_size"], qkv["accuracy_level"], qkv["N"]) == (4, 128, 4, 128 + 2 * 2 * 32)
    assert nbits["/layers.0/mlp/gate_up"]["N"] == 2 * 256 and nbits["/lm_head"]["bits"] == 4
    gqa = next(n for n in graph.node if n.op_type == "GroupQueryAttention")
    assert {a.name: onnx.helper.get_attribute_value(a) for a in gqa.attribute}["do_rotary"] == 1
    assert "logits" in {o.name for o in graph.output}


def test_manifest_records_source_hashes_and_form(converted: dict[tuple[str, str], Path]) -> None:
    folder = converted[("llama", "int4")]
    manifest = read_manifest(folder)
    assert manifest.precision == "int4"
    assert manifest.graph_form == GRAPH_FORM
    assert manifest.providers == ["cpu"]
    assert manifest.architecture["family"] == "llama" and manifest.architecture["rope"] == "llama3"
    assert manifest.quantization["block_size"] == 128 and manifest.quantization["lm_head_bits"] == 4
    assert manifest.generation["eos_token_ids"] == [1]
    assert {"onnxruntime", "onnx", "ponder"} <= set(manifest.tools)
    assert not {"torch", "transformers", "onnxruntime-genai"} & set(manifest.tools)
    stats = json.loads(manifest.tools["conversion"])
    assert stats["convert_peak_rss"] > 0
    for name in ("model.onnx", "model.onnx.data", "tokenizer.json", "tokenizer_config.json", "config.json"):
        entry = manifest.files[name]
        assert entry.size == (folder / name).stat().st_size
        assert entry.sha256 == sha256_file(folder / name)


def test_cancel_mid_conversion_installs_nothing_and_a_rerun_finishes(tiny_checkpoints: dict[str, Path]) -> None:
    cancel = CancelToken()

    def cancel_at_first_layer(p: Progress) -> None:
        if p.stage == "convert" and p.done == 1:
            cancel.cancel()

    with pytest.raises(Cancelled):
        convert_checkpoint(tiny_checkpoints["qwen2"], "resumable", progress=cancel_at_first_layer, cancel=cancel)
    assert list_installed() == []
    assert not (staging_dir() / "resumable" / "convert").exists()
    model = convert_checkpoint(tiny_checkpoints["qwen2"], "resumable")
    assert [m.name for m in list_installed()] == ["resumable"] and not (staging_dir() / "resumable").exists()
    assert greedy(app_session(model.path), prompts(tiny_checkpoints["qwen2"])[0], 1)[0] >= 0


def test_a_finished_conversion_is_not_redone_after_an_interruption(tiny_checkpoints: dict[str, Path]) -> None:
    cancel = CancelToken()

    def cancel_when_converted(p: Progress) -> None:
        if p.message == "Converted":
            cancel.cancel()

    with pytest.raises(Cancelled):
        convert_checkpoint(tiny_checkpoints["llama"], "kept", progress=cancel_when_converted, cancel=cancel)
    assert (staging_dir() / "kept" / "convert" / ".done").is_file() and list_installed() == []
    seen: list[Progress] = []
    convert_checkpoint(tiny_checkpoints["llama"], "kept", progress=seen.append)
    assert "convert" not in [p.stage for p in seen] and [m.name for m in list_installed()] == ["kept"]
    assert "LlamaForCausalLM" in seen[0].message and "converting needs about" in seen[0].message  # said first


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


def test_precision_and_provider_options() -> None:
    assert build_options("int4", "cpu").float_type == np.float32
    assert build_options("int4", "cuda").float_type == np.float16
    assert not build_options("fp16", "dml").quantized and not build_options("fp16", "dml").rope_in_attention
    with pytest.raises(ConversionError, match="fp16 is for GPU"):
        build_options("fp16", "cpu")
    with pytest.raises(ConversionError, match="Unknown provider"):
        build_options("int4", "tpu")


def test_failed_conversion_names_the_log_and_installs_nothing(tiny_checkpoints: dict[str, Path],
                                                              tmp_path: Path) -> None:
    broken = _copy_ckpt(tiny_checkpoints["qwen2"], tmp_path / "broken")
    data = bytearray((broken / "model.safetensors").read_bytes())
    data[-64:] = np.full(16, np.nan, dtype=np.float32).tobytes()  # a damaged download: NaN weights
    (broken / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(ConversionError, match=r"contains NaN or infinite values.*convert\.log"):
        convert_checkpoint(broken, "broken")
    assert list_installed() == []


@pytest.mark.parametrize("family", FAMILIES)
def test_fp32_matches_pytorch_over_several_turns_through_the_app_session(
        family: str, tiny_checkpoints: dict[str, Path], converted: dict[tuple[str, str], Path]) -> None:
    """Three turns in one conversation, each continuing the cached sequence in prefill chunks shorter than a turn
    (KVSession, the session the app runs): every greedy token equals PyTorch's on the whole conversation so far."""
    ckpt = tiny_checkpoints[family]
    turns = prompts(ckpt)[:3]
    session = KVSession(converted[(family, "fp32")], provider="cpu", context=512)
    history: list[int] = []
    for turn in turns:
        new = turn if not history else turn[1:]  # later turns: no second begin-of-sentence token
        logits = session.extend(new, chunk=7)
        history += new
        ours: list[int] = []
        for _ in range(12):
            token = int(np.argmax(logits))
            ours.append(token)
            logits = session.extend([token])
        assert ours == torch_greedy(ckpt, history, 12), f"{family}, turn at {len(history)} tokens"
        history += ours


def test_fp32_logits_match_the_onnxruntime_genai_model_builder(tiny_checkpoints: dict[str, Path],
                                                               converted: dict[tuple[str, str], Path],
                                                               tmp_path: Path) -> None:
    """The graph the app used to get from onnxruntime-genai's model builder (a test-only reference now) and ours
    compute the same logits: both are fp32 with the same fused operators, so they may differ only by float
    rounding in a different order of operations (1e-4 on logits of magnitude ~10)."""
    from onnxruntime_genai.models import builder  # a dev dependency (pyproject's dev extra), never the app's

    ckpt = tiny_checkpoints["qwen2"]
    builder.create_model(None, str(ckpt), str(tmp_path), "fp32", "cpu", str(tmp_path / "cache"), hf_remote=False,
                         hf_token="false", prune_lm_head=True)
    theirs = app_session(tmp_path, graph_form=GRAPH_GENAI_FUSED)
    ours = app_session(converted[("qwen2", "fp32")])
    for prompt in prompts(ckpt):
        theirs.rewind(0)
        ours.rewind(0)
        a, b = theirs.extend(prompt), ours.extend(prompt)
        assert float(np.abs(a - b).max()) < 1e-4 * max(1.0, float(np.abs(a).max()))
        for token in prompt[:4]:
            a, b = theirs.extend([token]), ours.extend([token])
            assert float(np.abs(a - b).max()) < 1e-4 * max(1.0, float(np.abs(a).max()))


@pytest.mark.parametrize("provider", ["cuda", "dml"])
def test_gpu_graph_forms_compute_the_same_logits(provider: str, tiny_checkpoints: dict[str, Path],
                                                  converted: dict[tuple[str, str], Path], tmp_path: Path) -> None:
    """The CUDA form (float16 activations and caches) and the DirectML form (float16, rotary embedding outside
    attention, positions computed from the mask) run here on the CPU provider, which has the same contrib ops:
    greedy tokens equal the fp32 graph's and logits stay within float16 rounding."""
    from engine.models.convert.decoder_graph import DecoderWriter
    from engine.models.convert.options import BuildOptions
    from engine.models.convert.safetensors_io import CheckpointTensors
    from engine.models.convert.spec import read_spec

    ckpt = tiny_checkpoints["qwen3"]
    spec = read_spec(json.loads((ckpt / "config.json").read_text()))
    DecoderWriter(spec, CheckpointTensors(ckpt), tmp_path, BuildOptions(precision="fp16", provider=provider)).build()
    graph = onnx.load(str(tmp_path / "model.onnx"), load_external_data=False).graph
    assert ("RotaryEmbedding" in {n.op_type for n in graph.node}) == (provider == "dml")
    assert graph.input[2].type.tensor_type.elem_type == onnx.TensorProto.FLOAT16
    ours = app_session(tmp_path, precision="fp16", graph_form=GRAPH_FORM)
    reference = app_session(converted[("qwen3", "fp32")])
    for prompt in prompts(ckpt)[:3]:
        ours.rewind(0)
        reference.rewind(0)
        a, b = ours.extend(prompt), reference.extend(prompt)
        assert float(np.abs(a - b).max()) < 0.02 * max(1.0, float(np.abs(b).max()))
        # continue each sequence with its own first token: the prompt stays cached, only that token runs
        assert greedy(ours, [*prompt, int(np.argmax(a))], 8) == greedy(reference, [*prompt, int(np.argmax(b))], 8)


def test_yarn_rope_scaling_matches_pytorch_beyond_the_original_context(tmp_path: Path) -> None:
    """Qwen2.5 and Qwen3 stretch their context with YaRN (DeepSeek-R1-0528-Qwen3-8B ships it on): positions past
    the original context rotate as transformers rotates them."""
    from engine.models.convert.decoder_graph import DecoderWriter
    from engine.models.convert.options import BuildOptions
    from engine.models.convert.safetensors_io import CheckpointTensors
    from engine.models.convert.spec import read_spec
    from tests.fixtures.checkpoints import TINY_QWEN3, build_checkpoint

    yarn = {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 128}
    ckpt = build_checkpoint(tmp_path / "ckpt", replace(TINY_QWEN3, rope_scaling=yarn), dtype=torch.float32)
    out = tmp_path / "onnx"
    out.mkdir()
    spec = read_spec(json.loads((ckpt / "config.json").read_text()))
    DecoderWriter(spec, CheckpointTensors(ckpt), out, BuildOptions(precision="fp32")).build()
    model = AutoModelForCausalLM.from_pretrained(ckpt, dtype=torch.float32)
    prompt = [int(t) for t in np.random.default_rng(3).integers(5, 300, size=200)]
    with torch.no_grad():
        expected = model(torch.tensor([prompt])).logits[0, -1].numpy()
    got = app_session(out, graph_form=GRAPH_FORM).extend(prompt)
    assert float(np.abs(got - expected).max()) < 1e-4
