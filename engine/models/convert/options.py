"""How a decoder graph is built, and what building and running it costs (no heavy imports: the GUI reads this)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

GRAPH_FORM = "ponder-fused-gqa"
CHUNK_BYTES = 256 * 2**20  # fp32 bytes of one block of weight rows while converting
KV_CACHE_TYPES = ("float", "int8")
INT8_CACHE_PROVIDERS = ("cpu", "coreml")  # coreml's graph is the CPU form; ONNX Runtime runs its attention on the CPU


@dataclass(frozen=True)
class BuildOptions:
    """How the graph is built. ``lm_head_bits`` and ``embedding_bits`` of 16 mean float (not quantized).

    The defaults were chosen by measurement on the 1.5B shape, 2 cores (bench/convert_options.py, ab_graphs.py):
    blocks of 128 decode 24-40% faster than blocks of 32 or 64 with the same greedy agreement and KL on the tiny
    trained models; zero points cost nothing against symmetric; a 4-bit lm_head decodes 10-30% faster than an
    8-bit one (16-bit: -35%) for a KL of 6e-5 instead of 4e-5; the int4 embedding saves 0.75 GiB of disk and
    0.15 GiB of memory at the same speed as a float one.

    ``kv_cache`` "int8" (CPU only): the KV cache in int8 with calibrated per-channel scales
    (engine.models.convert.kv_cache), a quarter of the float cache's bytes; "float" is the activations' type.
    """

    precision: str = "int4"
    provider: str = "cpu"
    block_size: int = 128
    symmetric: bool = False
    accuracy_level: int = 4
    lm_head_bits: int = 4
    embedding_bits: int = 4
    kv_cache: str = "float"

    def __post_init__(self) -> None:
        if self.kv_cache not in KV_CACHE_TYPES:
            raise ValueError(f"Unknown KV cache type {self.kv_cache!r}: choose one of {', '.join(KV_CACHE_TYPES)}.")
        if self.kv_cache == "int8" and self.provider not in INT8_CACHE_PROVIDERS:
            raise ValueError(f"An int8 KV cache runs on the CPU only, not on {self.provider}: use kv_cache='float'.")

    @property
    def float_type(self) -> type:
        """Activations, caches and float weights: float16 on GPUs, float32 on the CPU."""
        return np.float16 if self.provider in ("cuda", "dml") and self.precision != "fp32" else np.float32

    @property
    def rope_in_attention(self) -> bool:
        """GroupQueryAttention applies the rotary embedding itself (not on DirectML, whose kernel cannot)."""
        return self.provider != "dml"

    @property
    def quantized(self) -> bool:
        """Layer weights in MatMulNBits (int4) rather than float MatMul."""
        return self.precision == "int4"

    def bytes_per_weight(self, bits: int) -> float:
        """Stored bytes per weight at ``bits`` (16 = the float type): packed values, scale and zero point."""
        if not self.quantized or bits >= 16:
            return float(np.dtype(self.float_type).itemsize)
        scale = np.dtype(self.float_type).itemsize / self.block_size
        zero = 0.0 if self.symmetric else bits / 8 / self.block_size
        return bits / 8 + scale + zero

    def record(self) -> dict[str, object]:
        """What the manifest keeps about the build."""
        return asdict(self) | {"graph_form": GRAPH_FORM, "op": "MatMulNBits" if self.quantized else "MatMul"}
