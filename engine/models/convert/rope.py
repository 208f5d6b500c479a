"""Rotary position caches (cos and sin per position), with the rope scalings of the supported models.

The formulas follow transformers' ``modeling_rope_utils`` step for step, in float32 as it computes them, so the
converted graph rotates exactly as the PyTorch model does: "default", "linear", "llama3" (DeepSeek-R1-Distill-
Llama-8B, Llama 3.1+) and "yarn" (Qwen2.5 and Qwen3 long-context settings). Other kinds are refused by name.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.models.convert.spec import ModelSpec
from engine.system.errors import ConversionError

SUPPORTED = ("default", "linear", "llama3", "yarn")


def rope_kind(scaling: dict[str, Any] | None) -> str:
    """The rope scaling's kind ("default" when there is none)."""
    if not scaling:
        return "default"
    return str(scaling.get("rope_type") or scaling.get("type") or "default")


def inverse_frequencies(spec: ModelSpec) -> tuple[np.ndarray, float]:
    """(inv_freq [head_dim/2] float32, attention factor applied to cos and sin)."""
    dim, base, scaling = spec.head_dim, np.float32(spec.rope_theta), spec.rope_scaling or {}
    kind = rope_kind(spec.rope_scaling)
    if kind not in SUPPORTED:
        raise ConversionError(f"Rope scaling {kind!r} is not supported.",
                              f"Ponder converts models with rope scaling {', '.join(SUPPORTED)}.")
    exponents = np.arange(0, dim, 2, dtype=np.int64).astype(np.float32) / np.float32(dim)
    inv_freq = (np.float32(1.0) / (base ** exponents)).astype(np.float32)
    factor = float(scaling.get("factor", 1.0))
    if kind == "linear":
        return (inv_freq / np.float32(factor)).astype(np.float32), 1.0
    if kind == "llama3":
        return _llama3(inv_freq, scaling), 1.0
    if kind == "yarn":
        return _yarn(spec, base, exponents, scaling)
    return inv_freq, 1.0


def check_rope(spec: ModelSpec) -> None:
    """Refuse a rope scaling Ponder cannot reproduce (ConversionError naming it)."""
    inverse_frequencies(spec)


def _llama3(inv_freq: np.ndarray, scaling: dict[str, Any]) -> np.ndarray:
    factor = float(scaling["factor"])
    low, high = float(scaling["low_freq_factor"]), float(scaling["high_freq_factor"])
    old_context = float(scaling["original_max_position_embeddings"])
    low_wavelen, high_wavelen = old_context / low, old_context / high
    wavelen = (np.float32(2 * math.pi) / inv_freq).astype(np.float32)
    scaled = np.where(wavelen > low_wavelen, inv_freq / np.float32(factor), inv_freq).astype(np.float32)
    smooth = ((old_context / wavelen - low) / (high - low)).astype(np.float32)
    smoothed = ((1 - smooth) * scaled / np.float32(factor) + smooth * scaled).astype(np.float32)
    medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
    return np.where(medium, smoothed, scaled).astype(np.float32)


def _yarn(spec: ModelSpec, base: np.float32, exponents: np.ndarray,
          scaling: dict[str, Any]) -> tuple[np.ndarray, float]:
    dim = spec.head_dim
    factor = float(scaling["factor"])
    original = int(scaling.get("original_max_position_embeddings") or spec.context)

    def mscale(scale: float, m: float = 1.0) -> float:
        return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

    attention = scaling.get("attention_factor")
    if attention is None:
        m, m_all = scaling.get("mscale"), scaling.get("mscale_all_dim")
        attention = mscale(factor, m) / mscale(factor, m_all) if m and m_all else mscale(factor)
    beta_fast, beta_slow = float(scaling.get("beta_fast") or 32), float(scaling.get("beta_slow") or 1)

    def correction_dim(rotations: float) -> float:
        return (dim * math.log(original / (rotations * 2 * math.pi))) / (2 * math.log(float(base)))

    low, high = correction_dim(beta_fast), correction_dim(beta_slow)
    if scaling.get("truncate", True):
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001
    ramp = np.clip((np.arange(dim // 2, dtype=np.float32) - np.float32(low)) / np.float32(high - low), 0, 1)
    extrapolation = (1 - ramp).astype(np.float32)
    pos_freqs = (base ** exponents).astype(np.float32)
    inv_extra = (np.float32(1.0) / pos_freqs).astype(np.float32)
    inv_inter = (np.float32(1.0) / (np.float32(factor) * pos_freqs)).astype(np.float32)
    inv_freq = (inv_inter * (1 - extrapolation) + inv_extra * extrapolation).astype(np.float32)
    return inv_freq, float(attention)


def rotary_caches(spec: ModelSpec, positions: int) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin caches of shape [positions, head_dim/2], float32 (GroupQueryAttention's layout)."""
    inv_freq, attention = inverse_frequencies(spec)
    freqs = np.outer(np.arange(positions, dtype=np.int64).astype(np.float32), inv_freq).astype(np.float32)
    cos, sin = np.cos(freqs), np.sin(freqs)
    if attention != 1.0:
        cos, sin = cos * np.float32(attention), sin * np.float32(attention)
    return cos.astype(np.float32), sin.astype(np.float32)
