"""Benchmark: convert a random-weight DeepSeek-R1-Distill-Qwen-1.5B-shaped checkpoint to int4 ONNX.

Prints the wall time of each stage and the peak RSS of the conversion processes next to the fp32 weight size.
Usage: python bench/convert_1p5b.py [--work DIR] [--precision int4] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fixtures.checkpoints import R1_QWEN_1_5B, build_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=Path("/tmp/ponder-bench"))
    parser.add_argument("--precision", default="int4")
    parser.add_argument("--keep", action="store_true", help="keep the installed model for runtime benchmarks")
    args = parser.parse_args()
    ckpt = args.work / "r1-qwen-1.5b-random"
    if not (ckpt / "config.json").is_file():
        t0 = time.monotonic()
        build_checkpoint(ckpt, R1_QWEN_1_5B)
        print(f"built random checkpoint in {time.monotonic() - t0:.0f} s")
    os.environ["PONDER_HOME"] = str(args.work / "home")
    from engine.models.convert.pipeline import convert_checkpoint, inspect_checkpoint
    from engine.models.store import delete

    arch = inspect_checkpoint(ckpt).architecture
    fp32_bytes = arch.total_params() * 4
    name = f"bench-1p5b-{args.precision}"
    t0 = time.monotonic()
    model = convert_checkpoint(ckpt, name, precision=args.precision, replace=True,
                               progress=lambda p: print(f"  {p.message}", flush=True) if p.done == p.total else None)
    wall = time.monotonic() - t0
    stats = json.loads(model.manifest.tools["conversion"])
    peak = max(v for k, v in stats.items() if k.endswith("peak_rss"))
    print(f"params {arch.total_params():,}  fp32 weights {fp32_bytes / 2**30:.2f} GiB")
    print(f"conversion to {args.precision}: {wall:.0f} s wall")
    for key, value in stats.items():
        if key.endswith("peak_rss"):
            print(f"  {key}: {value / 2**30:.2f} GiB ({value / fp32_bytes:.2f}x fp32 weights)")
    print(f"peak RSS {peak / 2**30:.2f} GiB = {peak / fp32_bytes:.2f}x fp32 weights; "
          f"model on disk {model.manifest.size_bytes / 2**30:.2f} GiB")
    if not args.keep:
        delete(name)


if __name__ == "__main__":
    main()
