"""Benchmark: what verifying k drafted tokens costs on the DeepSeek-R1-Distill-Qwen-7B shape, against one decode
step, and the speed-up of speculative decoding that follows at a range of acceptance rates.

Random weights of the 7B's real shape (resources/catalog.json: hidden 3584, intermediate 18944, 28 heads, 4 KV heads,
vocabulary 152064) cost exactly what real ones cost per token. Building and converting all 28 layers takes ~15 GB of
bf16 safetensors and, on a shared 2-core machine, over an hour; by default this script therefore builds the 7B's
widths at depths 2 and 4 (one 4-layer checkpoint, ~4 GB, converted twice to int4) and extrapolates each cost to 28
layers as cost(28) = cost(2) + 26 * (cost(4) - cost(2)) / 2 (per-layer cost from the difference; embedding, final
norm and the 152064-row vocabulary projection counted once). ``--depths 28`` measures the real depth instead.
The cache's content does not change the cost of attention, so each context is reached by declaring the
preallocated cache filled (no prefill of thousands of tokens).

Timed: one decode step (1 token) and one verify pass of k+1 tokens (the pending token plus k drafts, logits for every
row: KVSession.extend_rows), k = 1..8, at each context; the fastest of --repeats runs. The machine is shared: the
figures are noisy.

Speed-up model (Leviathan et al. 2023, eq. 1 with the measured costs): with per-token acceptance a, a round of k
drafts yields E = (1 - a^(k+1)) / (1 - a) tokens and costs k draft steps and one verify pass, so
speed-up = E * t_decode / (k * t_draft + t_verify(k)); t_draft = --draft-ratio * t_decode (the 1.5B reads about a
quarter of the 7B's weights per token).

Usage: python bench/speculative_cost.py [--work /tmp/ponder-bench] [--contexts 128,1024,4096] [--repeats 3]
       [--depths 2,4 | --depths 28] [--build-only]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.runtime.session import KVSession
from tests.fixtures.checkpoints import Shape, build_checkpoint

# DeepSeek-R1-Distill-Qwen-7B (resources/catalog.json / its config.json): Qwen2.5-7B's shape.
R1_QWEN_7B = Shape("qwen2", 3584, 18944, 28, 28, 4, 152064, 131072)

# Per-token acceptance rates to evaluate. No published acceptance figure for R1-Distill-Qwen-1.5B drafting for the
# 7B or 14B was found in the reference corpus searched for this benchmark (see its report), so the speed-up is shown
# as a curve over the range same-family drafts reach on reasoning text.
ACCEPTANCE = (0.5, 0.6, 0.7, 0.8, 0.9)


def ensure_models(work: Path, depths: Sequence[int], keep_checkpoint: bool) -> dict[int, Path]:
    """Installed int4 models of the 7B's widths at each depth, built from one checkpoint of the deepest on first use
    (a shallower one converts the same checkpoint with fewer layers declared in its config)."""
    os.environ["PONDER_HOME"] = str(work / "home")
    from engine.models.convert.pipeline import convert_checkpoint
    from engine.models.store import list_installed

    names = {d: f"bench-7b-{d}l-int4" for d in depths}
    installed = {m.name: m.path for m in list_installed()} if (work / "home" / "models").is_dir() else {}
    if all(n in installed for n in names.values()):
        return {d: installed[n] for d, n in names.items()}
    deepest = max(depths)
    ckpt = work / f"r1-qwen-7b-{deepest}l-random"
    if not (ckpt / "config.json").is_file() or not any(ckpt.glob("*.safetensors")):
        t0 = time.monotonic()
        build_checkpoint(ckpt, replace(R1_QWEN_7B, layers=deepest), shard_bytes=4 * 2**30)
        print(f"built the random {deepest}-layer 7B-width checkpoint in {time.monotonic() - t0:.0f} s", flush=True)
    config_path = ckpt / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    out = {}
    for depth, name in names.items():
        if name in installed:
            out[depth] = installed[name]
            continue
        config_path.write_text(json.dumps(config | {"num_hidden_layers": depth}, indent=2), encoding="utf-8")
        t0 = time.monotonic()
        out[depth] = convert_checkpoint(ckpt, name, replace=True).path
        print(f"converted {name} in {time.monotonic() - t0:.0f} s", flush=True)
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    if not keep_checkpoint:
        shutil.rmtree(ckpt, ignore_errors=True)
    return out


def _timed(kv: KVSession, tokens: list[int], length: int, repeats: int) -> float:
    """Fastest of ``repeats`` passes over ``tokens`` after ``length`` cached positions (all rows of logits): on a
    shared machine the least disturbed run is the best estimate of the cost."""
    times = []
    for _ in range(repeats):
        kv.rewind(length)
        t0 = time.perf_counter()
        kv.extend_rows(tokens)
        times.append(time.perf_counter() - t0)
    return min(times)


def _fill(kv: KVSession, length: int) -> None:
    """Declare the first ``length`` cache positions filled (attention reads them whatever they hold)."""
    kv.rewind(0)
    kv.tokens.extend([1] * length)


def expected_tokens(a: float, k: int) -> float:
    """Tokens emitted per round with k drafts at per-token acceptance a (Leviathan et al. 2023, eq. 1)."""
    return float(k + 1) if a >= 1 else (1 - a ** (k + 1)) / (1 - a)


def costs_at(model: Path, contexts: Sequence[int], args: argparse.Namespace) -> dict[int, list[float]]:
    """Median seconds of a pass over m = 1..max_k+1 tokens at each context, for one model."""
    kv = KVSession(model, provider="cpu", threads=args.threads, context=max(contexts) + args.max_k + 2,
                   all_logits=True)
    out = {}
    for n in contexts:
        _fill(kv, n)
        _timed(kv, [1], n, 1)  # warm-up at this length
        out[n] = [_timed(kv, [1] * m, n, args.repeats) for m in range(1, args.max_k + 2)]
        print(f"  {model.name} context {n:>6}: " + " ".join(f"{c * 1000:.0f}" for c in out[n]) + " ms", flush=True)
    return out


def measure(models: dict[int, Path], contexts: Sequence[int], args: argparse.Namespace) -> None:
    """Time decode and verify passes at each context and print the costs and the speed-ups that follow."""
    max_k = args.max_k
    print(f"7B widths, random int4 weights, CPU, {args.threads or 'default'} threads, fastest of {args.repeats}; "
          "the machine is shared, so these figures are noisy. Pass costs for 1..k+1 tokens:", flush=True)
    raw = {d: costs_at(path, contexts, args) for d, path in sorted(models.items())}
    depths = sorted(raw)
    if len(depths) >= 2 and depths[-1] != R1_QWEN_7B.layers:
        lo, hi = depths[0], depths[-1]
        costs = {n: [raw[lo][n][m] + (R1_QWEN_7B.layers - lo) * (raw[hi][n][m] - raw[lo][n][m]) / (hi - lo)
                     for m in range(max_k + 1)] for n in contexts}
        basis = f"extrapolated to 28 layers from depths {lo} and {hi}"
    else:
        costs = raw[depths[-1]]
        basis = f"measured at depth {depths[-1]}"
    print(f"\ncosts ({basis}):")
    for n in contexts:
        row = "  ".join(f"{c / costs[n][0]:.2f}" for c in costs[n][1:])
        print(f"context {n:>6}: decode step {costs[n][0] * 1000:6.0f} ms; verify k=1..{max_k} / decode step: {row}")
    print(f"\nspeed-up over plain decoding = E(a, k) * t_decode / (k * t_draft + t_verify(k)), best k; "
          f"t_draft = {args.draft_ratio} x t_decode (assumed for the 1.5B)")
    print(f"{'context':>8} " + " ".join(f"{'a=' + str(a):>12}" for a in ACCEPTANCE))
    for n in contexts:
        t1, td = costs[n][0], args.draft_ratio * costs[n][0]
        cells = []
        for a in ACCEPTANCE:
            best = max(range(1, max_k + 1), key=lambda k: expected_tokens(a, k) * t1 / (k * td + costs[n][k]))
            cells.append(f"{expected_tokens(a, best) * t1 / (best * td + costs[n][best]):>7.2f}x k={best}")
        print(f"{n:>8} " + " ".join(cells))
    print("\nceiling with a free draft (t_draft = 0), set by the verify cost alone:")
    for n in contexts:
        t1 = costs[n][0]
        ceilings = [max(expected_tokens(a, k) * t1 / costs[n][k] for k in range(1, max_k + 1)) for a in ACCEPTANCE]
        print(f"{n:>8} " + " ".join(f"{c:>11.2f}x" for c in ceilings))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=Path("/tmp/ponder-bench"))
    parser.add_argument("--contexts", default="128,1024,4096")
    parser.add_argument("--depths", default="2,4", help="layer counts to build (28 = the real 7B)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-k", type=int, default=8)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--draft-ratio", type=float, default=0.25, help="draft step / 7B step (assumed)")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--keep-checkpoint", action="store_true")
    args = parser.parse_args()
    depths = sorted({int(d) for d in args.depths.split(",") if d.strip()})
    models = ensure_models(args.work, depths, args.keep_checkpoint)
    if args.build_only:
        print("models ready: " + ", ".join(str(p) for p in models.values()))
        return
    measure(models, [int(c) for c in args.contexts.split(",") if c.strip()], args)


if __name__ == "__main__":
    main()
