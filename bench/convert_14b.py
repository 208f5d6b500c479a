"""Benchmark: convert a random-weight DeepSeek-R1-Distill-Qwen-14B-shaped checkpoint (bf16, sharded like the Hub's)
to int4 with Ponder's converter: wall time, and the converter's peak RSS against the weights' size.

The checkpoint is ~29.5 GB on disk (built once, with torch, into --work) and the model ~8 GB; needs ~40 GB free.
Usage: python bench/convert_14b.py [--work /tmp/ponder-bench] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fixtures.checkpoints import Shape, build_checkpoint

# DeepSeek-R1-Distill-Qwen-14B's config.json (Qwen2.5-14B): hidden 5120, 48 layers, 40 heads, 8 KV heads.
R1_QWEN_14B = Shape("qwen2", 5120, 13824, 48, 40, 8, 152064, 131072)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=Path("/tmp/ponder-bench"))
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    ckpt = args.work / "r1-qwen-14b-random"
    if not (ckpt / "model.safetensors.index.json").is_file():
        t0 = time.monotonic()
        build_checkpoint(ckpt, R1_QWEN_14B, shard_bytes=4 * 2**30)
        print(f"built the random 14B checkpoint in {time.monotonic() - t0:.0f} s", flush=True)
    os.environ["PONDER_HOME"] = str(args.work / "home")
    from engine.models.convert.pipeline import convert_checkpoint, inspect_checkpoint
    from engine.models.store import delete

    arch = inspect_checkpoint(ckpt).architecture
    weights = sum(f.stat().st_size for f in ckpt.glob("*.safetensors"))
    t0 = time.monotonic()
    model = convert_checkpoint(ckpt, "bench-14b-int4", replace=True,
                               progress=lambda p: print(f"  {p.message}", flush=True) if p.done % 8 == 0 else None)
    wall = time.monotonic() - t0
    peak = json.loads(model.manifest.tools["conversion"])["convert_peak_rss"]
    print(f"params {arch.total_params():,}; bf16 weights {weights / 2**30:.1f} GiB in "
          f"{len(list(ckpt.glob('*.safetensors')))} shards")
    print(f"conversion to int4: {wall:.0f} s wall; converter peak RSS {peak / 2**30:.2f} GiB "
          f"({peak / weights:.3f}x the bf16 weights); model on disk {model.manifest.size_bytes / 2**30:.2f} GiB")
    if not args.keep:
        delete("bench-14b-int4")


if __name__ == "__main__":
    main()
