"""Speed figures for an installed model: load time, prefill and decode tokens/s at several context sizes,
time to first token and peak memory. Used by ``ponder bench`` and the benchmark scripts."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.models.convert.worker import peak_rss_bytes
from engine.runtime.session import KVSession


@dataclass(frozen=True)
class ContextResult:
    """Figures at one context size."""

    context: int
    prefill_tokens_per_s: float
    time_to_first_token_s: float
    decode_tokens_per_s: float


@dataclass(frozen=True)
class BenchResult:
    """A whole benchmark run."""

    model: str
    provider: str
    load_s: float
    weights_bytes: int
    peak_rss_bytes: int
    results: list[ContextResult]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


def run_bench(model_dir: Path, contexts: Sequence[int] = (128, 1024, 4096), decode_tokens: int = 64, *,
              provider: str = "auto", threads: int | None = None, seed: int = 0) -> BenchResult:
    """Prefill a random prompt of each context size, then decode ``decode_tokens`` greedy tokens after it."""
    started = time.perf_counter()
    kv = KVSession(model_dir, provider=provider, threads=threads, context=max(contexts) + decode_tokens + 1)
    load_s = time.perf_counter() - started
    rng = np.random.default_rng(seed)
    results = []
    for n in contexts:
        prompt = rng.integers(10, min(kv.vocab, 30000), size=n).tolist()
        kv.rewind(0)
        t0 = time.perf_counter()
        logits = kv.extend(prompt)
        token = int(np.argmax(logits))
        ttft = time.perf_counter() - t0
        t1 = time.perf_counter()
        for _ in range(decode_tokens):
            token = int(np.argmax(kv.extend([token])))
        decode_s = time.perf_counter() - t1
        results.append(ContextResult(n, n / ttft, ttft, decode_tokens / decode_s))
    weights = sum(e.size for name, e in kv.manifest.files.items() if name.startswith("model.onnx"))
    return BenchResult(model_dir.name, kv.choice.provider, load_s, weights, peak_rss_bytes(), results)
