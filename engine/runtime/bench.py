"""Speed figures for an installed model: load time, prefill and decode tokens/s at several context sizes (up to
32768, each decode speed also as a ratio to the speed at 128), time to first token and peak memory, and with a draft
model the speed and acceptance rate of speculative decoding. Used by ``ponder bench`` and the benchmark scripts."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.models.convert.worker import peak_rss_bytes
from engine.runtime.sampling import SamplingParams
from engine.runtime.session import KVSession
from engine.runtime.speculative import SpeculativeStepper, check_compatible
from engine.system.errors import PonderError

MAX_CONTEXT = 32768  # the largest context ``ponder bench`` measures
BASELINE_CONTEXT = 128  # decode speed at each context is shown as a ratio to the speed here


@dataclass(frozen=True)
class ContextResult:
    """Figures at one context size (the speculative ones only when a draft was given)."""

    context: int
    prefill_tokens_per_s: float
    time_to_first_token_s: float
    decode_tokens_per_s: float
    decode_ratio_to_128: float = 0.0
    speculative_tokens_per_s: float | None = None
    acceptance: float | None = None
    tokens_per_verify: float | None = None


@dataclass(frozen=True)
class BenchResult:
    """A whole benchmark run."""

    model: str
    provider: str
    load_s: float
    weights_bytes: int
    peak_rss_bytes: int
    results: list[ContextResult]
    draft: str = ""
    draft_k: int = 0
    cache_bytes: int = 0  # the KV cache's buffers at the end (grown in steps to the largest context measured)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


def bench_contexts(contexts: Sequence[int]) -> list[int]:
    """``contexts`` checked: each between 1 and 32768 tokens, at least one."""
    bad = [c for c in contexts if not 1 <= c <= MAX_CONTEXT]
    if bad or not contexts:
        raise PonderError(f"Context sizes must be between 1 and {MAX_CONTEXT} tokens, not {bad or 'none'}.",
                          "Pass sizes such as --context 128,4096,16384.")
    return list(contexts)


def _open(model_dir: Path, contexts: Sequence[int], decode_tokens: int, provider: str, threads: int | None,
          all_logits: bool = False) -> KVSession:
    need = max(contexts) + decode_tokens + 1
    kv = KVSession(model_dir, provider=provider, threads=threads, context=need, all_logits=all_logits)
    if kv.context < need:
        raise PonderError(f"{model_dir.name} holds {kv.context} tokens; the benchmark needs {need} "
                          f"({max(contexts)} of context and {decode_tokens} to decode).",
                          "Pass smaller --context sizes or fewer --decode-tokens.")
    return kv


def _prompt(rng: np.random.Generator, kv: KVSession, n: int) -> list[int]:
    return [int(t) for t in rng.integers(10, min(kv.vocab, 30000), size=n)]


def _speculative(model_dir: Path, draft_dir: Path, contexts: Sequence[int], decode_tokens: int, k: int,
                 provider: str, threads: int | None, seed: int) -> list[tuple[float, float, float]]:
    """(tokens/s, acceptance, tokens per verify pass) of greedy speculative decoding at each context."""
    big = _open(model_dir, contexts, decode_tokens, provider, threads, all_logits=True)
    draft = _open(draft_dir, contexts, decode_tokens, provider, threads)
    rng = np.random.default_rng(seed)
    out = []
    for n in contexts:
        prompt = _prompt(rng, big, n)
        big.rewind(0)
        draft.rewind(0)
        stepper = SpeculativeStepper(big, draft, SamplingParams(temperature=0), k=k)
        stepper.start(big.extend(prompt))
        draft.extend(prompt)  # the draft's prefill is not decode time
        history = list(prompt)
        t0 = time.perf_counter()
        for _ in range(decode_tokens):
            history.append(stepper.next_token(history))
        seconds = time.perf_counter() - t0
        s = stepper.stats
        out.append((decode_tokens / seconds, s.acceptance, s.tokens_per_round))
    return out


def run_bench(model_dir: Path, contexts: Sequence[int] = (128, 1024, 4096), decode_tokens: int = 64, *,
              provider: str = "auto", threads: int | None = None, seed: int = 0, draft: Path | None = None,
              draft_k: int = 4) -> BenchResult:
    """Prefill a random prompt of each context size, then decode ``decode_tokens`` greedy tokens after it (and at
    128 too, the base of each decode speed's ratio, when 128 is not among them); with a ``draft`` model, decode the
    same way again speculatively (adaptive k up to ``draft_k``) and report its speed and acceptance rate. Random
    prompts are text neither model expects, so the acceptance rate there is lower than on real text."""
    contexts = bench_contexts(contexts)
    if draft is not None:
        check_compatible(model_dir, draft)
    started = time.perf_counter()
    measured = contexts if BASELINE_CONTEXT in contexts else [*contexts, BASELINE_CONTEXT]
    kv = _open(model_dir, measured, decode_tokens, provider, threads)
    load_s = time.perf_counter() - started
    rng = np.random.default_rng(seed)
    plain = []
    for n in measured:
        prompt = _prompt(rng, kv, n)
        kv.rewind(0)
        t0 = time.perf_counter()
        logits = kv.extend(prompt)
        token = int(np.argmax(logits))
        ttft = time.perf_counter() - t0
        t1 = time.perf_counter()
        for _ in range(decode_tokens):
            token = int(np.argmax(kv.extend([token])))
        decode_s = time.perf_counter() - t1
        plain.append((n, n / ttft, ttft, decode_tokens / decode_s))
    weights = sum(e.size for name, e in kv.manifest.files.items() if name.startswith("model.onnx"))
    provider_used, cache_bytes = kv.choice.provider, kv.cache_bytes
    del kv  # one model's cache at a time
    spec = (_speculative(model_dir, draft, contexts, decode_tokens, draft_k, provider, threads, seed)
            if draft is not None else [])
    base = next(decode for n, _, _, decode in plain if n == BASELINE_CONTEXT)
    results = [ContextResult(n, prefill, ttft, decode, decode / base,
                             *(spec[i] if spec else (None, None, None)))
               for i, (n, prefill, ttft, decode) in enumerate(plain[:len(contexts)])]
    return BenchResult(model_dir.name, provider_used, load_s, weights, peak_rss_bytes(), results,
                       draft.name if draft is not None else "", draft_k if draft is not None else 0, cache_bytes)
