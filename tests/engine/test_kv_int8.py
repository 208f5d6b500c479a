"""The int8 KV cache (engine.models.convert.kv_cache): the tiny trained models converted with it run through the
app's KVSession and agree with the float-cache models on the greedy tokens; the graph, manifest and scales are what
GroupQueryAttention's quantized path needs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, numpy_helper
from tokenizers import Tokenizer

from engine.models.convert.kv_cache import CALIBRATION_TEXT, calibration_tokens
from engine.models.convert.manifest import read_manifest
from engine.models.convert.options import BuildOptions
from engine.models.convert.pipeline import convert_checkpoint
from engine.runtime.session import KVSession
from engine.system.errors import ConversionError
from tests.fixtures.checkpoints import ASSISTANT, script_texts
from tests.fixtures.models import ponder_home_env

FAMILIES = ["qwen2", "llama", "qwen3"]
PRECISIONS = ["fp32", "int4"]
# Measured on these models (teacher-forced argmax, 2 conversations x 3 turns x 16 tokens, chunks of 7): 0.99-1.00
# with the scales' margin of 1.5 (0.94-0.96 with no margin); the floor leaves room for a different training run.
AGREEMENT_FLOOR = 0.90


@pytest.fixture(scope="module")
def int8_converted(tiny_checkpoints: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        dict[tuple[str, str], Path]]:
    """The tiny checkpoints converted with the int8 KV cache at fp32 and int4 weights."""
    home = tmp_path_factory.mktemp("kv-int8-home")
    out = {}
    with ponder_home_env(home):
        for family, path in tiny_checkpoints.items():
            for precision in PRECISIONS:
                options = BuildOptions(precision=precision, provider="cpu", kv_cache="int8")
                out[(family, precision)] = convert_checkpoint(path, f"tiny-{family}-{precision}-kv8",
                                                              options=options).path
    yield out


def _prompts(ckpt: Path) -> list[list[int]]:
    tok = Tokenizer.from_file(str(ckpt / "tokenizer.json"))
    assistant = tok.token_to_id(ASSISTANT)
    scripted = [seq[: seq.index(assistant) + 3] for seq in script_texts(tok)]
    rng = np.random.default_rng(11)
    off_script = [scripted[0][:2] + rng.integers(5, tok.get_vocab_size() - 2, size=9).tolist() for _ in range(2)]
    return scripted[:4] + off_script


def _conversation(session: KVSession, turns: list[list[int]], new_tokens: int,
                  forced: list[list[int]] | None = None) -> tuple[list[list[int]], list[list[int]]]:
    """Several turns in one cached conversation, prefilled in chunks of 7 (shorter than a turn): per turn, the
    greedy argmax at every generated position, and the tokens fed (``forced``'s, else the argmax itself)."""
    session.rewind(0)
    argmaxes, fed = [], []
    for t, turn in enumerate(turns):
        new = turn if t == 0 else turn[1:]
        logits = session.extend(new, chunk=7)
        picks, tokens = [], []
        for i in range(new_tokens):
            picks.append(int(np.argmax(logits)))
            tokens.append(forced[t][i] if forced else picks[-1])
            logits = session.extend([tokens[-1]])
        argmaxes.append(picks)
        fed.append(tokens)
    return argmaxes, fed


def _agreement(float_dir: Path, int8_dir: Path, ckpt: Path) -> tuple[float, float, int]:
    """Teacher-forced token agreement (the int8 model fed the float model's greedy tokens), the share of turns whose
    free-running greedy tokens are identical, and the longest context reached."""
    prompts = _prompts(ckpt)
    ref = KVSession(float_dir, provider="cpu", context=512)
    ours = KVSession(int8_dir, provider="cpu", context=512)
    same = total = turns_equal = turns = longest = 0
    for first in range(0, len(prompts), 3):
        turns_list = prompts[first:first + 3]
        ref_picks, ref_fed = _conversation(ref, turns_list, 16)
        forced_picks, _ = _conversation(ours, turns_list, 16, forced=ref_fed)
        free_picks, _ = _conversation(ours, turns_list, 16)
        for a, b, c in zip(ref_picks, forced_picks, free_picks, strict=True):
            same += sum(x == y for x, y in zip(a, b, strict=True))
            total += len(a)
            turns_equal += a == c
            turns += 1
        longest = max(longest, len(ref.tokens))
    return same / total, turns_equal / turns, longest


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("family", FAMILIES)
def test_int8_cache_agrees_with_the_float_cache_on_greedy_tokens(
        family: str, precision: str, tiny_checkpoints: dict[str, Path], converted: dict[tuple[str, str], Path],
        int8_converted: dict[tuple[str, str], Path]) -> None:
    agreement, turns_equal, longest = _agreement(converted[(family, precision)], int8_converted[(family, precision)],
                                                 tiny_checkpoints[family])
    print(f"{family} {precision}: teacher-forced agreement {agreement:.3f}, identical turns {turns_equal:.2f}, "
          f"up to {longest} tokens")
    assert longest > 7 * 3  # the conversations span several prefill chunks
    assert agreement >= AGREEMENT_FLOOR, f"{family} {precision}: {agreement:.3f}"


def test_the_int8_graph_session_and_manifest(tiny_checkpoints: dict[str, Path],
                                             converted: dict[tuple[str, str], Path],
                                             int8_converted: dict[tuple[str, str], Path]) -> None:
    folder = int8_converted[("qwen2", "int4")]
    model = onnx.load(str(folder / "model.onnx"), load_external_data=False)
    caches = [v for v in [*model.graph.input, *model.graph.output] if v.name.startswith(("past_", "present."))]
    assert caches and all(v.type.tensor_type.elem_type == TensorProto.INT8 for v in caches)
    inits = {i.name: i for i in model.graph.initializer}
    gqa = [n for n in model.graph.node if n.op_type == "GroupQueryAttention"]
    assert len(gqa) == 2
    for node in gqa:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert attrs["k_quant_type"] == attrs["v_quant_type"] == b"PER_CHANNEL"
        assert attrs["kv_cache_bit_width"] == 8
        k_scale, v_scale = (numpy_helper.to_array(inits[node.input[j]]) for j in (12, 13))  # inline, small
        assert k_scale.shape == v_scale.shape == (2 * 32,)  # kv_heads * head_dim
        assert (k_scale > 0).all() and (v_scale > 0).all()
        halves = k_scale.reshape(2, 2, 16)  # per head, channel j and its rotary partner j + 16 share a bound
        assert np.array_equal(halves[:, 0], halves[:, 1])
    manifest = read_manifest(folder)
    assert manifest.kv_cache == "int8" and read_manifest(converted[("qwen2", "int4")]).kv_cache == "float"
    assert manifest.quantization["kv_calibration_tokens"] > 100
    # the weights are the float-cache conversion's, byte for byte: only the graph proto differs
    assert manifest.files["model.onnx.data"] == read_manifest(converted[("qwen2", "int4")]).files["model.onnx.data"]
    session = KVSession(folder, provider="cpu", context=64)
    assert session.layout.cache_dtype == np.int8
    assert session._cache["past_key_values.0.key"].data_type() == "tensor(int8)"
    assert np.isfinite(session.extend(list(range(5, 30)), chunk=8)).all()


def test_calibration_text_mixes_english_chinese_and_code(tiny_checkpoints: dict[str, Path], tmp_path: Path) -> None:
    assert "def " in CALIBRATION_TEXT and "的" in CALIBRATION_TEXT and "The " in CALIBRATION_TEXT
    assert len(calibration_tokens(tiny_checkpoints["qwen2"] / "tokenizer.json")) > 100
    with pytest.raises(ConversionError, match=r"no tokenizer\.json"):
        calibration_tokens(tmp_path / "tokenizer.json")


def test_int8_cache_is_cpu_only() -> None:
    with pytest.raises(ValueError, match="CPU only"):
        BuildOptions(precision="fp16", provider="cuda", kv_cache="int8")
    with pytest.raises(ValueError, match="Unknown KV cache type"):
        BuildOptions(kv_cache="int4")
    assert BuildOptions().kv_cache == "float"


def test_the_cli_and_pipeline_offer_the_int8_cache_on_the_cpu_only() -> None:
    import argparse

    from engine.cli.models import add_convert
    from engine.models.convert.pipeline import build_options
    from engine.system.errors import ConversionError

    assert build_options("int4", "cpu", "int8").kv_cache == "int8"
    assert build_options("int4", "cpu").kv_cache == "float"
    with pytest.raises(ConversionError, match="CPU only"):
        build_options("int4", "cuda", "int8")
    parser = argparse.ArgumentParser()
    add_convert(parser.add_subparsers())
    args = parser.parse_args(["convert", "ckpt", "--name", "m", "--kv-cache", "int8"])
    assert args.kv_cache == "int8"
