"""Open an ONNX Runtime session on the best provider that really works, with per-provider options for LLMs.

Preference: CUDA → DirectML → CoreML → CPU, or the person's choice. A provider counts only when the session
starts and ``get_providers()[0]`` is that provider; otherwise the next one is tried and the reason is kept in
words.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import onnxruntime as ort

from engine.system.errors import PonderError
from engine.system.hardware import PROVIDERS, env_threads, provider_status
from engine.system.ortsession import base_options, new_session
from engine.system.paths import ponder_home

log = logging.getLogger(__name__)
ORDER = ("cuda", "dml", "coreml", "cpu")
DEVICE = {"cuda": "cuda", "dml": "dml", "coreml": "cpu", "cpu": "cpu"}  # where I/O-bound buffers live


@dataclass(frozen=True)
class SessionChoice:
    """The provider a session runs on, and why the preferred ones were skipped."""

    provider: str
    fallbacks: list[str] = field(default_factory=list)

    @property
    def device(self) -> str:
        """OrtValue device name for buffers bound to this session."""
        return DEVICE[self.provider]

    @property
    def reason(self) -> str:
        """One line: why this provider and not a preferred one ("" when the first choice worked)."""
        return "; ".join(self.fallbacks)


def _preload_cuda() -> None:
    """Load CUDA/cuDNN from the nvidia-* wheels when they are installed (onnxruntime-gpu ≥ 1.21)."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is not None:
        try:
            preload()
        except (OSError, RuntimeError) as err:  # missing wheels: the session start below says what fails
            log.info("preload_dlls: %s", err)


def session_options(provider: str, threads: int | None) -> ort.SessionOptions:
    """Session options for an LLM decoder on ``provider`` (threads: the argument, else ``$PONDER_THREADS``, else
    ONNX Runtime's default of one per physical core)."""
    options = base_options(threads or env_threads())
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1")
    if provider == "dml":  # DirectML requires both
        options.enable_mem_pattern = False
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return options


def provider_entry(provider: str) -> str | tuple[str, dict[str, Any]]:
    """The provider with its options, as ``InferenceSession(providers=...)`` takes it."""
    name = PROVIDERS[provider]
    if provider == "coreml":
        cache = ponder_home() / "cache" / "coreml"
        cache.mkdir(parents=True, exist_ok=True)
        return name, {"ModelFormat": "MLProgram", "MLComputeUnits": "ALL", "ModelCacheDirectory": str(cache)}
    if provider == "cuda":
        return name, {"arena_extend_strategy": "kSameAsRequested", "cudnn_conv_algo_search": "HEURISTIC"}
    return name


def candidates(preference: str) -> list[str]:
    """Providers to try in order for ``preference`` ("auto" or a provider key), CPU always last."""
    if preference == "auto":
        return list(ORDER)
    if preference not in PROVIDERS:
        raise PonderError(f"Unknown provider {preference!r}.", f"Choose auto or one of: {', '.join(ORDER)}.")
    return [preference] + ([] if preference == "cpu" else ["cpu"])


def open_session(model: Path, preference: str = "auto", threads: int | None = None
                 ) -> tuple[ort.InferenceSession, SessionChoice]:
    """Start a session for ``model`` on the first provider that really runs it; say why others were skipped."""
    fallbacks: list[str] = []
    for key in candidates(preference):
        if key != "cpu":
            status = provider_status(key)
            if not status.works:
                if preference != "auto" or status.in_build:
                    fallbacks.append(status.reason)
                continue
        if key == "cuda":
            _preload_cuda()
        chain = [provider_entry(key)] + ([] if key == "cpu" else ["CPUExecutionProvider"])
        try:
            session = new_session(model, session_options(key, threads), chain)
        except Exception as err:  # ORT raises per-EP error types; the message is the reason we report
            fallbacks.append(f"{PROVIDERS[key]}: {str(err).splitlines()[0]}")
            continue
        if session.get_providers()[0] != PROVIDERS[key]:
            fallbacks.append(f"{PROVIDERS[key]}: the session fell back to {session.get_providers()[0]}")
            continue
        return session, SessionChoice(key, fallbacks)
    raise PonderError(f"No provider could run {model.name}: {'; '.join(fallbacks)}", "Convert the model again.")
