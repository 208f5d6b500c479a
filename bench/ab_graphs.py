"""Benchmark: two or more model folders, measured alternately in fresh processes, medians and per-round ratios.

These VMs are noisy (the same model decodes anywhere between 14 and 20 tok/s from one minute to the next), so a
single run of each cannot rank two graphs whose difference is smaller than that. Alternating A, B, A, B... in the
same minutes and comparing within each round cancels most of the drift.

Usage::

    .venv/bin/python bench/ab_graphs.py MODEL_DIR MODEL_DIR [...] [--rounds 5] [--context 256] [--decode 128]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def once(model: Path, context: int, decode: int, threads: int) -> dict[str, float]:
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT)!r})\n"
            "from engine.runtime.bench import run_bench\n"
            f"r = run_bench(__import__('pathlib').Path({str(model)!r}), [{context}], {decode}, provider='cpu', "
            f"threads={threads}).to_dict()\n"
            "print('@@' + json.dumps({'prefill': r['results'][0]['prefill_tokens_per_s'], "
            "'decode': r['results'][0]['decode_tokens_per_s'], 'rss': r['peak_rss_bytes']}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(next(x for x in out.stdout.splitlines() if x.startswith("@@"))[2:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--context", type=int, default=256)
    parser.add_argument("--decode", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    runs: dict[Path, list[dict[str, float]]] = {m: [] for m in args.models}
    for r in range(args.rounds):
        order = args.models if r % 2 == 0 else list(reversed(args.models))
        for model in order:
            runs[model].append(once(model, args.context, args.decode, args.threads))
        print(f"round {r + 1}: " + "  ".join(f"{m.name} {runs[m][-1]['decode']:.2f}" for m in args.models),
              flush=True)
    base = args.models[0]
    print(f"\ncontext {args.context}, {args.decode} decoded tokens, {args.rounds} rounds, {args.threads} threads")
    print(f"{'model':<32} {'prefill med':>11} {'decode med':>10} {'decode/first (per-round median)':>32}")
    for model in args.models:
        ratios = [a["decode"] / b["decode"] for a, b in zip(runs[model], runs[base], strict=True)]
        print(f"{model.name:<32} {statistics.median(x['prefill'] for x in runs[model]):>11.1f} "
              f"{statistics.median(x['decode'] for x in runs[model]):>10.2f} {statistics.median(ratios):>32.3f}")


if __name__ == "__main__":
    main()
