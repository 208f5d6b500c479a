"""The one place Ponder starts ONNX Runtime sessions: chat models (engine/runtime/providers.py), embedders
(engine/documents/embed.py) and the hardware probe's test graph (engine/system/hardware.py) all call
:func:`new_session`.

Owning session creation here gives one place for what every session needs: Microsoft's telemetry is
off (``ORT_DISABLE_TELEMETRY`` in the environment is set by :mod:`engine.system.privacy` before ONNX Runtime loads;
on Windows ONNX Runtime also writes ETW telemetry events, which only ``disable_telemetry_events()`` turns off,
called once here before the first session), quiet logging, and the thread settings.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import onnxruntime as ort

_telemetry_off = False
_lock = threading.Lock()


def _telemetry_events_off() -> None:
    global _telemetry_off
    with _lock:
        if not _telemetry_off:
            ort.disable_telemetry_events()
            _telemetry_off = True


def base_options(threads: int | None = None, *, log_severity: int = 3) -> ort.SessionOptions:
    """Session options with ``threads`` intra-op threads (None: ONNX Runtime's default, one per physical core),
    one inter-op thread and logging limited to errors."""
    options = ort.SessionOptions()
    options.log_severity_level = log_severity
    if threads:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return options


def new_session(model: Path | str | bytes, options: ort.SessionOptions,
                providers: Sequence[str | tuple[str, dict[str, Any]]]) -> ort.InferenceSession:
    """An ONNX Runtime session for ``model`` (a path or the serialized graph) on ``providers``, in order."""
    _telemetry_events_off()
    source = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(source, sess_options=options, providers=list(providers))
