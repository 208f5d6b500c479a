"""The conversion worker: runs one conversion stage in its own process.

Building an ONNX graph holds gigabytes of weights; in a child process that memory is returned the moment the
stage ends, a crash cannot take the app down, and cancelling is killing the process. The parent reads one JSON
object per stdout line: ``{"event": "progress", "done": i, "total": n}`` and finally
``{"event": "done", "peak_rss": bytes}`` or ``{"event": "error", "message": ...}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO


def _emit(out: TextIO, **event: object) -> None:
    out.write(json.dumps(event) + "\n")
    out.flush()


def peak_rss_bytes() -> int:
    """Peak resident memory of this process so far.

    On Linux this is VmHWM, the high-water mark of this program's own memory: ``ru_maxrss`` would also count the
    parent's memory, which a child started by fork + exec keeps in its accounting (a worker started from a 3 GB
    window would report 3 GB).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)
    except ImportError:  # Windows
        import psutil

        info = psutil.Process().memory_info()
        return int(getattr(info, "peak_wset", info.rss))


def build(src: Path, out: Path, options_json: str, out_stream: TextIO) -> None:
    """Write the decoder graph of checkpoint ``src`` into ``out`` with the given BuildOptions (JSON)."""
    from engine.models.checkpoint import read_checkpoint_json
    from engine.models.convert.decoder_graph import DecoderWriter
    from engine.models.convert.options import BuildOptions
    from engine.models.convert.safetensors_io import CheckpointTensors
    from engine.models.convert.spec import check_tensors, read_spec

    options = BuildOptions(**json.loads(options_json))
    spec = read_spec(read_checkpoint_json(src / "config.json"))
    tensors = CheckpointTensors(src)
    check_tensors(spec, tensors)
    DecoderWriter(spec, tensors, out, options).build(
        progress=lambda done, total: _emit(out_stream, event="progress", done=done, total=total))


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m engine.models.convert.worker build --src DIR --out DIR --options JSON``."""
    parser = argparse.ArgumentParser(prog="ponder-convert-worker")
    sub = parser.add_subparsers(dest="stage", required=True)
    stage = sub.add_parser("build")
    stage.add_argument("--src", type=Path, required=True)
    stage.add_argument("--out", type=Path, required=True)
    stage.add_argument("--options", required=True, help="BuildOptions as JSON")
    args = parser.parse_args(argv)
    out_stream = sys.stdout
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        build(args.src, args.out, args.options, out_stream)
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
