"""The GPU check (run by bench/gpu_check.sh on a machine with an NVIDIA GPU; prints figures, asserts little).

1. Builds the random-weight DeepSeek-R1-Distill-Qwen-1.5B shape (bf16, sharded), unless it is already there.
2. Converts it with Ponder's converter for CUDA (int4 and fp16) and for the CPU (fp32, the reference).
3. Opens each CUDA graph with CPU fallback disabled (``session.disable_cpu_ep_fallback``): the session only
   starts when every node runs on CUDAExecutionProvider, which proves where it runs.
4. Compares the fp16 and int4 graphs' last-position logits with the CPU fp32 graph's on one prompt.
5. Measures prefill and decode at 128, 1024, 4096 and 16384 tokens of context with ``ponder bench``'s code, and,
   when onnxruntime-genai (CUDA build) and its model builder are importable, the same protocol with genai's own
   generator on a genai-built int4 model of the same checkpoint (bench/compare_runtimes.py's ``bench_genai``).

Usage: python bench/gpu_check.py [--work DIR] [--context 128,1024,4096,16384]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=Path("/tmp/ponder-gpu"))
    parser.add_argument("--context", default="128,1024,4096,16384")
    parser.add_argument("--decode", type=int, default=64)
    args = parser.parse_args()
    contexts = [int(c) for c in args.context.split(",")]
    os.environ["PONDER_HOME"] = str(args.work / "home")
    import numpy as np
    import onnxruntime as ort

    print(f"onnxruntime {ort.__version__}; providers available: {ort.get_available_providers()}", flush=True)
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        print("FAIL: CUDAExecutionProvider is not available (onnxruntime-gpu and its CUDA libraries are needed)")
        return 1
    from engine.models.convert.decoder_graph import DecoderWriter
    from engine.models.convert.options import BuildOptions
    from engine.models.convert.safetensors_io import CheckpointTensors
    from engine.models.convert.spec import read_spec
    from engine.runtime.bench import run_bench
    from tests.fixtures.checkpoints import R1_QWEN_1_5B, build_checkpoint

    ckpt = args.work / "r1-qwen-1.5b-random"
    if not (ckpt / "config.json").is_file():
        t0 = time.monotonic()
        build_checkpoint(ckpt, R1_QWEN_1_5B)
        print(f"built the random 1.5B checkpoint in {time.monotonic() - t0:.0f} s", flush=True)
    spec = read_spec(json.loads((ckpt / "config.json").read_text()))
    graphs: dict[str, Path] = {}
    for label, options in (("cpu-fp32", BuildOptions(precision="fp32", provider="cpu")),
                           ("cuda-fp16", BuildOptions(precision="fp16", provider="cuda")),
                           ("cuda-int4", BuildOptions(precision="int4", provider="cuda"))):
        out = args.work / label
        if not (out / "model.onnx").is_file():
            out.mkdir(parents=True, exist_ok=True)
            t0 = time.monotonic()
            DecoderWriter(spec, CheckpointTensors(ckpt), out, options).build()
            print(f"converted {label} in {time.monotonic() - t0:.0f} s", flush=True)
        for name in ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"):
            (out / name).write_bytes((ckpt / name).read_bytes())
        (out / "manifest.json").write_text(json.dumps(_manifest(label, options.precision, options.provider)))
        graphs[label] = out

    prompt = [int(t) for t in np.random.default_rng(0).integers(10, 30000, size=200)]

    def logits(folder: Path, provider: str, dtype: type) -> np.ndarray:
        opts = ort.SessionOptions()
        if provider == "CUDAExecutionProvider":
            opts.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
        session = ort.InferenceSession(str(folder / "model.onnx"), opts, providers=[provider])
        print(f"  {folder.name}: session providers {session.get_providers()}", flush=True)
        feeds: dict[str, np.ndarray] = {"input_ids": np.asarray([prompt], np.int64),
                                        "attention_mask": np.ones((1, len(prompt)), np.int64)}
        for i in range(spec.layers):
            for kind in ("key", "value"):
                feeds[f"past_key_values.{i}.{kind}"] = np.zeros((1, spec.kv_heads, 0, spec.head_dim), dtype)
        return np.asarray(session.run(["logits"], feeds)[0][0, -1], dtype=np.float32)

    reference = logits(graphs["cpu-fp32"], "CPUExecutionProvider", np.float32)
    for label in ("cuda-fp16", "cuda-int4"):
        got = logits(graphs[label], "CUDAExecutionProvider", np.float16)
        cos = float(np.dot(got, reference) / (np.linalg.norm(got) * np.linalg.norm(reference)))
        print(f"{label} vs CPU fp32 logits: max |diff| {np.abs(got - reference).max():.4f} "
              f"(|logit| up to {np.abs(reference).max():.2f}), cosine {cos:.6f}, "
              f"same argmax {int(got.argmax()) == int(reference.argmax())}", flush=True)

    print(f"\nspeed, decode {args.decode} greedy tokens after a random prompt (ponder bench's code)")
    print(f"{'graph':<24} {'context':>7} {'prefill tok/s':>13} {'decode tok/s':>12} {'TTFT s':>8}")
    for label in ("cuda-int4", "cuda-fp16"):
        res = run_bench(graphs[label], contexts, args.decode, provider="cuda").to_dict()
        for r in res["results"]:
            print(f"Ponder {label:<17} {r['context']:>7} {r['prefill_tokens_per_s']:>13.1f} "
                  f"{r['decode_tokens_per_s']:>12.1f} {r['time_to_first_token_s']:>8.3f}", flush=True)
    try:
        import onnxruntime_genai  # noqa: F401
        from onnxruntime_genai.models.builder import create_model
    except ImportError as err:
        print(f"onnxruntime-genai not importable ({err}): no genai comparison")
        return 0
    genai_dir = args.work / "genai-cuda-int4"
    if not (genai_dir / "genai_config.json").is_file():
        create_model(None, str(ckpt), str(genai_dir), "int4", "cuda", str(args.work / "genai-cache"),
                     hf_remote=False, hf_token="false")
    sys.path.insert(0, str(ROOT / "bench"))
    from compare_runtimes import bench_genai

    res = bench_genai(genai_dir, contexts, args.decode, threads=8, seed=0, provider="cuda")
    for r in res["results"]:
        print(f"{'onnxruntime-genai int4':<24} {r['context']:>7} {r['prefill_tokens_per_s']:>13.1f} "
              f"{r['decode_tokens_per_s']:>12.1f} {r['time_to_first_token_s']:>8.3f}", flush=True)
    return 0


def _manifest(name: str, precision: str, provider: str) -> dict[str, object]:
    return {"name": name, "precision": precision, "graph_form": "ponder-fused-gqa", "providers": [provider],
            "architecture": {}, "source": {}, "files": {}, "generation": {"context_length": 131072,
                                                                         "eos_token_ids": [1]}, "schema": 1}


if __name__ == "__main__":
    sys.exit(main())
