"""The KV cache grows in steps (engine.runtime.session.KVSession.reserve, engine.runtime.cache_grow): a
conversation whose cache grows several times, mid-prefill and mid-decode, gives exactly the tokens of one whose
cache was allocated for the whole context, for the float and int8 caches; growing refuses clearly when memory is
short and loses nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from tokenizers import Tokenizer

from engine.models.convert.options import BuildOptions
from engine.models.convert.pipeline import convert_checkpoint
from engine.runtime import session as session_module
from engine.runtime.session import KVSession
from engine.system.errors import PonderError
from tests.fixtures.checkpoints import script_texts
from tests.fixtures.models import ponder_home_env

FAMILIES = ["qwen2", "llama", "qwen3"]


@pytest.fixture(scope="module")
def int8_qwen2(tiny_checkpoints: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The tiny Qwen2 converted with the int8 KV cache (its cache buffers are int8, grown by the same Pad graph)."""
    with ponder_home_env(tmp_path_factory.mktemp("kv-grow-home")):
        options = BuildOptions(precision="int4", provider="cpu", kv_cache="int8")
        yield convert_checkpoint(tiny_checkpoints["qwen2"], "tiny-qwen2-grow-kv8", options=options).path


def _turns(ckpt: Path) -> list[list[int]]:
    tok = Tokenizer.from_file(str(ckpt / "tokenizer.json"))
    texts = script_texts(tok)
    return [texts[0], texts[1][1:], texts[2][1:]]  # later turns: no second begin-of-sentence token


def _conversation(session: KVSession, turns: list[list[int]], new_tokens: int = 10) -> tuple[list[int], list[float]]:
    """Greedy tokens of three turns prefilled in chunks of 7, and the largest logit at every step."""
    tokens: list[int] = []
    peaks: list[float] = []
    for turn in turns:
        logits = session.extend(turn, chunk=7)
        for _ in range(new_tokens):
            token = int(np.argmax(logits))
            tokens.append(token)
            peaks.append(float(logits[token]))
            logits = session.extend([token])
    return tokens, peaks


@pytest.mark.parametrize("family", FAMILIES)
def test_a_growing_cache_gives_the_tokens_of_a_preallocated_one(
        family: str, tiny_checkpoints: dict[str, Path], converted: dict[tuple[str, str], Path]) -> None:
    model = converted[(family, "int4")]
    turns = _turns(tiny_checkpoints[family])
    full = KVSession(model, provider="cpu", context=256, preallocate=True)
    grown = KVSession(model, provider="cpu", context=256, capacity=8)
    assert (full.capacity, grown.capacity) == (256, 8)
    assert grown.cache_bytes == 8 * grown.bytes_per_token < full.cache_bytes
    expected, expected_peaks = _conversation(full, turns)
    got, peaks = _conversation(grown, turns)
    assert got == expected
    np.testing.assert_allclose(peaks, expected_peaks, rtol=1e-5, atol=1e-5)
    used = len(grown.tokens)
    assert used <= grown.capacity < 2 * used + 8, "grows by doubling, to at most twice what it holds"
    assert grown.capacity % 8 == 0


def test_an_int8_cache_grows_too(tiny_checkpoints: dict[str, Path], int8_qwen2: Path) -> None:
    turns = _turns(tiny_checkpoints["qwen2"])
    full = KVSession(int8_qwen2, provider="cpu", context=256, preallocate=True)
    grown = KVSession(int8_qwen2, provider="cpu", context=256, capacity=4)
    assert grown.layout.cache_dtype is np.int8
    assert _conversation(grown, turns)[0] == _conversation(full, turns)[0]
    assert grown.capacity > 4


def test_growing_never_passes_the_context(converted: dict[tuple[str, str], Path],
                                          tiny_checkpoints: dict[str, Path]) -> None:
    session = KVSession(converted[("qwen2", "fp32")], provider="cpu", context=40, capacity=16)
    session.extend(_turns(tiny_checkpoints["qwen2"])[0][:30])
    assert session.capacity == 32
    session.extend([5] * 10)
    assert session.capacity == 40 == session.context
    with pytest.raises(PonderError, match="the context holds 40"):
        session.extend([5])


def test_short_memory_refuses_to_grow_and_keeps_the_conversation(
        monkeypatch: pytest.MonkeyPatch, converted: dict[tuple[str, str], Path],
        tiny_checkpoints: dict[str, Path]) -> None:
    model = converted[("llama", "int4")]
    turns = _turns(tiny_checkpoints["llama"])
    expected = _conversation(KVSession(model, provider="cpu", context=256, preallocate=True), turns)[0]

    session = KVSession(model, provider="cpu", context=256, capacity=16)
    session.extend(turns[0][:16], chunk=7)  # fills the 16 rows exactly
    real = session_module.psutil.virtual_memory
    monkeypatch.setattr(session_module.psutil, "virtual_memory", lambda: SimpleNamespace(available=1000))
    with pytest.raises(PonderError, match=r"needs .* GiB more memory .* is available") as refused:
        session.extend(turns[0][16:])
    assert "Start a new conversation" in refused.value.hint
    assert session.capacity == 16 and len(session.tokens) == 16
    monkeypatch.setattr(session_module.psutil, "virtual_memory", real)
    # the conversation goes on from where it was refused, with the preallocated cache's tokens
    rest = [turns[0][16:], *turns[1:]]
    tokens: list[int] = []
    for turn in rest:
        logits = session.extend(turn, chunk=7)
        for _ in range(10):
            tokens.append(int(np.argmax(logits)))
            logits = session.extend([tokens[-1]])
    assert tokens == expected
