"""Benchmark: Ponder against llama.cpp (Q4_0) and onnxruntime-genai on the same random-weight checkpoint.

All three run the same protocol at each context size: a random prompt of ``n`` token ids in [10, 30000) is
prefilled (TTFT = prefill plus picking the first token greedily; prefill tok/s = n / TTFT), then 64 tokens are
decoded one at a time with greedy argmax (decode tok/s = 64 / decode time). Each runtime runs in its own
subprocess (this script re-invokes itself with ``--only NAME``) so that its peak RSS (``ru_maxrss``) is its own.
Nothing is warmed up beforehand, for any runtime: the first context size includes first-run costs in all three.

* llama.cpp: ``llama-cpp-python`` on a Q4_0 GGUF of the checkpoint (make it with ``bench/gguf_from_hf.py``),
  ``Llama(n_ctx=max_ctx + 80, n_batch=512, n_threads=threads, n_threads_batch=threads)``; prefill with
  ``Llama.eval``, logits of the last position read through ``llama_get_logits_ith`` (no sampler chain).
* onnxruntime-genai: its own ``Generator`` on an ONNX model folder (``append_tokens`` for the prompt, then
  ``generate_next_token``), greedy search, ``max_length = max_ctx + 80``, intra-op threads set through
  ``og.Config.overlay``.
* Ponder: ``engine.runtime.bench.run_bench`` (the code behind ``ponder bench``) on the installed model folder.

Usage (from the repository root)::

    .venv/bin/python bench/compare_runtimes.py [--context 128,1024,4096] [--threads 2] [--json]
        [--gguf /tmp/ponder-bench/r1-qwen-1.5b-random-q4_0.gguf]
        [--ponder-model /tmp/ponder-bench/home/models/bench-1p5b-int4] [--genai-model DIR]
        [--runtimes llama,genai,ponder] [--llama-flash-attn off|on|both]

``--genai-model`` defaults to ``--ponder-model``. ``--json`` prints the results as JSON instead of the table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = Path("/tmp/ponder-bench")
MARKER = "@@compare_runtimes@@ "
RUNTIMES = ("llama", "genai", "ponder")


def _peak_rss_bytes() -> int:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _prompt(rng: Any, n: int) -> list[int]:
    return [int(t) for t in rng.integers(10, 30000, size=n)]


def bench_llama(gguf: Path, contexts: list[int], decode: int, threads: int, seed: int,
                flash_attn: bool) -> dict[str, Any]:
    """llama.cpp through llama-cpp-python; greedy argmax over the raw logits of the last position."""
    import llama_cpp
    import numpy as np

    t0 = time.perf_counter()
    llm = llama_cpp.Llama(str(gguf), n_ctx=max(contexts) + 80, n_threads=threads, n_threads_batch=threads,
                          n_batch=512, logits_all=False, flash_attn=flash_attn, verbose=False)
    load_s = time.perf_counter() - t0
    n_vocab = llm.n_vocab()

    def last_argmax() -> int:
        ptr = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
        return int(np.argmax(np.ctypeslib.as_array(ptr, shape=(n_vocab,))))

    rng = np.random.default_rng(seed)
    results = []
    for n in contexts:
        prompt = _prompt(rng, n)
        llm.reset()  # n_tokens = 0; eval() then drops the whole KV cache from position 0
        t0 = time.perf_counter()
        llm.eval(prompt)
        token = last_argmax()
        ttft = time.perf_counter() - t0
        t1 = time.perf_counter()
        for _ in range(decode):
            llm.eval([token])
            token = last_argmax()
        decode_s = time.perf_counter() - t1
        results.append({"context": n, "prefill_tokens_per_s": n / ttft, "time_to_first_token_s": ttft,
                        "decode_tokens_per_s": decode / decode_s})
    name = "llama.cpp Q4_0" + (" +FA" if flash_attn else "")
    return {"runtime": name, "version": llama_cpp.__version__, "model": str(gguf), "load_s": load_s,
            "peak_rss_bytes": _peak_rss_bytes(), "results": results}


def bench_genai(model_dir: Path, contexts: list[int], decode: int, threads: int, seed: int,
                provider: str = "cpu") -> dict[str, Any]:
    """onnxruntime-genai's own Generator; greedy search (``provider`` "cpu" or "cuda")."""
    import numpy as np
    import onnxruntime_genai as og

    max_length = max(contexts) + 80
    t0 = time.perf_counter()
    config = og.Config(str(model_dir))
    config.clear_providers()  # CPU
    if provider != "cpu":
        config.append_provider(provider)
    config.overlay(json.dumps({
        "model": {"decoder": {"session_options": {"intra_op_num_threads": threads, "inter_op_num_threads": 1}}},
        "search": {"max_length": max_length, "do_sample": False, "past_present_share_buffer": True},
    }))
    model = og.Model(config)
    load_s = time.perf_counter() - t0
    rng = np.random.default_rng(seed)
    results = []
    for n in contexts:
        prompt = _prompt(rng, n)
        params = og.GeneratorParams(model)
        params.set_search_options(max_length=max_length, do_sample=False)
        generator = og.Generator(model, params)
        t0 = time.perf_counter()
        generator.append_tokens(np.asarray(prompt, dtype=np.int32))
        generator.generate_next_token()  # logits are already computed: this only picks the first token
        ttft = time.perf_counter() - t0
        t1 = time.perf_counter()
        for _ in range(decode):
            generator.generate_next_token()  # runs the model on the previous token, then argmax
        decode_s = time.perf_counter() - t1
        if generator.token_count() != n + decode + 1:
            raise RuntimeError(f"genai produced {generator.token_count()} tokens, expected {n + decode + 1}")
        del generator, params
        results.append({"context": n, "prefill_tokens_per_s": n / ttft, "time_to_first_token_s": ttft,
                        "decode_tokens_per_s": decode / decode_s})
    version = getattr(og, "__version__", "")
    return {"runtime": "onnxruntime-genai", "version": version, "model": str(model_dir), "load_s": load_s,
            "peak_rss_bytes": _peak_rss_bytes(), "results": results}


def bench_ponder(model_dir: Path, contexts: list[int], decode: int, threads: int, seed: int) -> dict[str, Any]:
    """Ponder's own benchmark (``ponder bench``)."""
    sys.path.insert(0, str(ROOT))
    from engine.runtime.bench import run_bench

    res = run_bench(model_dir, contexts, decode, provider="cpu", threads=threads, seed=seed).to_dict()
    from engine._version import __version__

    return {"runtime": "Ponder", "version": __version__, "model": str(model_dir), "load_s": res["load_s"],
            "peak_rss_bytes": _peak_rss_bytes(), "results": res["results"]}


def run_child(args: argparse.Namespace, contexts: list[int]) -> int:
    if args.only == "llama":
        out = bench_llama(args.gguf, contexts, args.decode, args.threads, args.seed, args.llama_flash_attn == "on")
    elif args.only == "genai":
        out = bench_genai(args.genai_model or args.ponder_model, contexts, args.decode, args.threads, args.seed)
    else:
        out = bench_ponder(args.ponder_model, contexts, args.decode, args.threads, args.seed)
    sys.stdout.flush()
    print(MARKER + json.dumps(out), flush=True)
    return 0


def spawn(args: argparse.Namespace, only: str, flash_attn: str = "off") -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--only", only, "--context", args.context,
           "--decode", str(args.decode), "--threads", str(args.threads), "--seed", str(args.seed),
           "--gguf", str(args.gguf), "--ponder-model", str(args.ponder_model), "--llama-flash-attn", flash_attn]
    if args.genai_model:
        cmd += ["--genai-model", str(args.genai_model)]
    label = only + (" (flash attention)" if flash_attn == "on" else "")
    print(f"running {label} ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(
                              [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])})
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARKER)]
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stdout.splitlines()[-20:])
        print(f"{label} failed (exit {proc.returncode}); see stderr above\n{tail}", file=sys.stderr)
        return {"runtime": label, "error": f"exit code {proc.returncode}", "results": []}
    print(f"  {label} done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    result: dict[str, Any] = json.loads(lines[-1][len(MARKER):])
    return result


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def print_table(runs: list[dict[str, Any]], threads: int, decode: int) -> None:
    print(f"threads={threads}, decode={decode} greedy tokens, random prompt ids; peak RSS is per runtime process")
    header = f"{'runtime':<22} {'context':>7} {'prefill tok/s':>13} {'decode tok/s':>12} {'TTFT s':>8} " \
             f"{'peak RSS GiB':>12} {'load s':>7}"
    print(header)
    print("-" * len(header))
    for run in runs:
        if run.get("error"):
            print(f"{run['runtime']:<22} FAILED: {run['error']}")
            continue
        rss = run["peak_rss_bytes"] / 2**30
        for r in run["results"]:
            print(f"{run['runtime']:<22} {r['context']:>7} {r['prefill_tokens_per_s']:>13.1f} "
                  f"{r['decode_tokens_per_s']:>12.2f} {r['time_to_first_token_s']:>8.2f} {rss:>12.2f} "
                  f"{run['load_s']:>7.1f}")
    ponder = next((r for r in runs if r["runtime"] == "Ponder" and not r.get("error")), None)
    if ponder is None:
        return
    others = [r for r in runs if r is not ponder and not r.get("error")]
    print()
    print(f"{'ratio':<30} {'context':>7} {'prefill':>8} {'decode':>8} {'TTFT':>8} {'peak RSS':>9}")
    for other in others:
        by_ctx = {r["context"]: r for r in other["results"]}
        label = f"Ponder / {other['runtime']}"
        for p in ponder["results"]:
            o = by_ctx.get(p["context"])
            if o is None:
                continue
            print(f"{label:<30} {p['context']:>7} "
                  f"{p['prefill_tokens_per_s'] / o['prefill_tokens_per_s']:>7.2f}x "
                  f"{p['decode_tokens_per_s'] / o['decode_tokens_per_s']:>7.2f}x "
                  f"{p['time_to_first_token_s'] / o['time_to_first_token_s']:>7.2f}x "
                  f"{ponder['peak_rss_bytes'] / other['peak_rss_bytes']:>8.2f}x")
    print("(prefill/decode ratios > 1: Ponder faster; TTFT/RSS ratios < 1: Ponder lower)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--context", default="128,1024,4096", help="comma-separated prompt lengths")
    parser.add_argument("--decode", type=int, default=64, help="greedy tokens decoded after each prompt")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gguf", type=Path, default=WORK / "r1-qwen-1.5b-random-q4_0.gguf")
    parser.add_argument("--ponder-model", type=Path, default=WORK / "home" / "models" / "bench-1p5b-int4")
    parser.add_argument("--genai-model", type=Path, default=None, help="ONNX folder for genai (default: Ponder's)")
    parser.add_argument("--runtimes", default=",".join(RUNTIMES), help="comma-separated subset of llama,genai,ponder")
    parser.add_argument("--llama-flash-attn", choices=("off", "on", "both"), default="off",
                        help="llama.cpp flash attention (llama-cpp-python's default is off)")
    parser.add_argument("--only", choices=RUNTIMES, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = parser.parse_args(argv)
    contexts = [int(c) for c in args.context.split(",") if c.strip()]

    if args.only:
        return run_child(args, contexts)

    wanted = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    unknown = set(wanted) - set(RUNTIMES)
    if unknown:
        parser.error(f"unknown runtimes: {', '.join(sorted(unknown))}")
    runs = []
    for name in RUNTIMES:
        if name not in wanted:
            continue
        if name == "llama":
            modes = ["off", "on"] if args.llama_flash_attn == "both" else [args.llama_flash_attn]
            runs += [spawn(args, name, mode) for mode in modes]
        else:
            runs.append(spawn(args, name))
    if args.json:
        print(json.dumps({"threads": args.threads, "decode_tokens": args.decode, "contexts": contexts,
                          "runs": runs}, indent=1))
    else:
        print_table(runs, args.threads, args.decode)
    return 1 if any(r.get("error") for r in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
