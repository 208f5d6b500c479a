"""The conversion worker: runs one conversion stage in its own process.

Building an ONNX graph holds gigabytes of weights; in a child process that memory is returned the moment the
stage ends, a crash cannot take the app down, and cancelling is killing the process. The parent reads one JSON
object per stdout line: ``{"event": "progress", "done": i, "total": n}`` and finally
``{"event": "done", "peak_rss": bytes}`` or ``{"event": "error", "message": ...}``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import sys
from pathlib import Path
from typing import TextIO

_LAYER = re.compile(r"Reading (?:layer (\d+)|(embedding layer)|(final norm)|(LM head))")


def _emit(out: TextIO, **event: object) -> None:
    out.write(json.dumps(event) + "\n")
    out.flush()


def peak_rss_bytes() -> int:
    """Peak resident memory of this process so far."""
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)
    except ImportError:  # Windows
        import psutil

        info = psutil.Process().memory_info()
        return int(getattr(info, "peak_wset", info.rss))


class _BuilderLog(io.TextIOBase):
    """Stands in for stdout while the model builder runs: turns its "Reading layer N" lines into progress events
    and sends everything else to stderr."""

    def __init__(self, out: TextIO, layers: int) -> None:
        self._out = out
        self._total = layers + 3  # embedding, layers, final norm, lm head
        self._buffer = ""

    def write(self, text: str) -> int:
        self._buffer += text
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            match = _LAYER.search(line)
            if match:
                layer, embed, norm, _head = match.groups()
                done = 1 if embed else (int(layer) + 2 if layer else (self._total - 1 if norm else self._total))
                _emit(self._out, event="progress", done=done, total=self._total)
            else:
                sys.stderr.write(line + "\n")
        return len(text)


def export(src: Path, out: Path, precision: str, ep: str, out_stream: TextIO) -> None:
    """Build the fused decoder graph with the onnxruntime-genai model builder (offline, no remote code)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from onnxruntime_genai.models.builder import create_model

    layers = int(json.loads((src / "config.json").read_text(encoding="utf-8"))["num_hidden_layers"])
    with contextlib.redirect_stdout(_BuilderLog(out_stream, layers)):
        # prune_lm_head: logits for the last position only, so a 4k-token prefill does not compute (and
        # allocate) 4k rows of vocabulary logits.
        create_model(None, str(src), str(out), precision, ep, str(out / ".cache"),
                     hf_remote=False, hf_token="false", prune_lm_head=True)
    cache = out / ".cache"
    if cache.is_dir():
        for leftover in sorted(cache.rglob("*"), reverse=True):
            leftover.unlink() if leftover.is_file() else leftover.rmdir()
        cache.rmdir()


def quantize(src: Path, out: Path, block_size: int, accuracy_level: int, symmetric: bool, lm_head_bits: int,
             out_stream: TextIO) -> None:
    """Quantize the exported graph's MatMuls to int4, one weight at a time."""
    from engine.convert.quantize import Int4Options, quantize_int4

    options = Int4Options(block_size=block_size, symmetric=symmetric, accuracy_level=accuracy_level,
                          lm_head_bits=lm_head_bits)
    quantize_int4(src, out, options, progress=lambda i, n: _emit(out_stream, event="progress", done=i, total=n))


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m engine.convert.worker export|quantize ...``."""
    parser = argparse.ArgumentParser(prog="ponder-convert-worker")
    sub = parser.add_subparsers(dest="stage", required=True)
    exp = sub.add_parser("export")
    exp.add_argument("--src", type=Path, required=True)
    exp.add_argument("--out", type=Path, required=True)
    exp.add_argument("--precision", choices=("fp32", "fp16"), required=True)
    exp.add_argument("--ep", choices=("cpu", "cuda", "dml"), required=True)
    qua = sub.add_parser("quantize")
    qua.add_argument("--src", type=Path, required=True)
    qua.add_argument("--out", type=Path, required=True)
    qua.add_argument("--block-size", type=int, required=True)
    qua.add_argument("--accuracy-level", type=int, required=True)
    qua.add_argument("--symmetric", action="store_true")
    qua.add_argument("--lm-head-bits", type=int, choices=(4, 8), required=True)
    args = parser.parse_args(argv)
    out_stream = sys.stdout
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        if args.stage == "export":
            export(args.src, args.out, args.precision, args.ep, out_stream)
        else:
            quantize(args.src, args.out, args.block_size, args.accuracy_level, args.symmetric,
                     args.lm_head_bits, out_stream)
    except MemoryError:
        _emit(out_stream, event="error", message="Ran out of memory while converting.")
        return 3
    except Exception as err:  # the parent turns this into a ConversionError with the message
        _emit(out_stream, event="error", message=f"{type(err).__name__}: {err}")
        raise
    _emit(out_stream, event="done", peak_rss=peak_rss_bytes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
