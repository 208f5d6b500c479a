"""Benchmark: which int4 build options to default to — block size, zero points, lm_head and embedding widths.

For each option set, the random-weight 1.5B checkpoint is converted (bench/convert_1p5b.py builds it) and
``ponder bench``'s code measures prefill and decode; each runs in its own process, one after another, so run it on
a quiet machine. Quality is measured where it means something, on the tiny *trained* checkpoints: greedy agreement
with PyTorch over the scripted prompts (64 tokens each) and the mean KL divergence of the next-token distribution
from the fp32 graph's.

Usage::

    .venv/bin/python bench/convert_options.py [--sets b32,b128,...] [--context 128,1024] [--decode 32]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORK = Path("/tmp/ponder-bench")
SETS: dict[str, dict[str, object]] = {
    "b32": {"block_size": 32},
    "b32-head4": {"block_size": 32, "lm_head_bits": 4},
    "b64": {"block_size": 64},
    "b128": {"block_size": 128},
    "b128-head4": {"block_size": 128, "lm_head_bits": 4},
    "b128-sym": {"block_size": 128, "symmetric": True},
    "b128-fp-embed": {"block_size": 128, "embedding_bits": 16},
    "b128-head16": {"block_size": 128, "lm_head_bits": 16},
}


def speed(name: str, options: dict[str, object], contexts: str, decode: int) -> dict[str, object]:
    """Convert the 1.5B shape with ``options`` and bench it, in a child process."""
    code = f"""
import json, os, shutil, sys, time
from pathlib import Path
sys.path.insert(0, {str(ROOT)!r})
os.environ["PONDER_HOME"] = {str(WORK / "options-home")!r}
from engine.models.convert.options import BuildOptions
from engine.models.convert.pipeline import convert_checkpoint
from engine.runtime.bench import run_bench
from engine.models.store import delete
t0 = time.monotonic()
model = convert_checkpoint(Path({str(WORK / "r1-qwen-1.5b-random")!r}), "opt", replace=True,
                           options=BuildOptions(**json.loads({json.dumps(json.dumps(options))})))
convert_s = time.monotonic() - t0
res = run_bench(model.path, [int(c) for c in {contexts!r}.split(",")], {decode}, provider="cpu", threads=2).to_dict()
print("@@" + json.dumps({{"convert_s": convert_s, "disk": model.manifest.size_bytes, **res}}))
delete("opt")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    line = next((x for x in out.stdout.splitlines() if x.startswith("@@")), None)
    if line is None:
        raise SystemExit(f"{name} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(line[2:]))


def quality(options: dict[str, object]) -> tuple[float, float]:
    """(greedy agreement with PyTorch, mean KL from the fp32 graph) on the tiny trained Qwen2 and Llama."""
    import numpy as np
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM

    from engine.models.convert.decoder_graph import DecoderWriter
    from engine.models.convert.options import GRAPH_FORM, BuildOptions
    from engine.models.convert.safetensors_io import CheckpointTensors
    from engine.models.convert.spec import read_spec
    from tests.fixtures.app_session import app_session, greedy
    from tests.fixtures.checkpoints import (
        ASSISTANT,
        TINY_LLAMA,
        TINY_QWEN2,
        build_checkpoint,
        script_texts,
        train_checkpoint,
    )

    agree = total = 0
    kls: list[float] = []
    for shape in (TINY_QWEN2, TINY_LLAMA):
        ckpt = WORK / f"tiny-{shape.family}"
        if not (ckpt / "model.safetensors").is_file():
            build_checkpoint(ckpt, shape, dtype=torch.float32)
            train_checkpoint(ckpt)
        spec = read_spec(json.loads((ckpt / "config.json").read_text()))
        graphs = {}
        for label, opts in (("fp32", BuildOptions(precision="fp32")), ("int4", BuildOptions(**options))):  # type: ignore[arg-type]
            out = WORK / f"tiny-{shape.family}-{label}"
            out.mkdir(exist_ok=True)
            DecoderWriter(spec, CheckpointTensors(ckpt), out, opts).build()
            graphs[label] = app_session(out, precision=label, graph_form=GRAPH_FORM)
        tok = Tokenizer.from_file(str(ckpt / "tokenizer.json"))
        model = AutoModelForCausalLM.from_pretrained(ckpt, dtype=torch.float32)
        for seq in script_texts(tok):
            prompt = seq[: seq.index(tok.token_to_id(ASSISTANT)) + 3]
            ids = torch.tensor([prompt])
            ref = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=64, do_sample=False,
                                 eos_token_id=None, pad_token_id=2, temperature=None, top_p=None)[0, len(prompt):]
            ours = greedy(graphs["int4"], prompt, 64)
            agree += sum(int(a == b) for a, b in zip(ours, ref.tolist(), strict=True))
            total += 64
            for g in graphs.values():
                g.rewind(0)
            for a, b in zip([graphs["fp32"].extend(prompt)], [graphs["int4"].extend(prompt)], strict=True):
                p, q = np.exp(a - a.max()), np.exp(b - b.max())
                p, q = p / p.sum(), q / q.sum()
                kls.append(float(np.sum(p * (np.log(p + 1e-12) - np.log(q + 1e-12)))))
    return agree / total, float(np.mean(kls))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--context", default="128,1024")
    parser.add_argument("--decode", type=int, default=32)
    args = parser.parse_args()
    if not (WORK / "r1-qwen-1.5b-random" / "config.json").is_file():
        raise SystemExit("run bench/convert_1p5b.py first (it builds the random 1.5B checkpoint)")
    print(f"{'options':<15} {'convert s':>9} {'disk GiB':>8} {'load s':>6} {'RSS GiB':>7} "
          + " ".join(f"{'pf@' + c:>8} {'dec@' + c:>8}" for c in args.context.split(","))
          + f" {'agree':>6} {'KL':>8}", flush=True)
    for name in args.sets.split(","):
        t0 = time.monotonic()
        res = speed(name, SETS[name], args.context, args.decode)
        agree, kl = quality(SETS[name])
        cells = " ".join(f"{r['prefill_tokens_per_s']:>8.1f} {r['decode_tokens_per_s']:>8.2f}"
                         for r in res["results"])  # type: ignore[union-attr]
        print(f"{name:<15} {res['convert_s']:>9.0f} {res['disk'] / 2**30:>8.2f} {res['load_s']:>6.1f} "  # type: ignore[operator]
              f"{res['peak_rss_bytes'] / 2**30:>7.2f} {cells} {agree:>6.1%} {kl:>8.5f}  "  # type: ignore[operator]
              f"({time.monotonic() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
