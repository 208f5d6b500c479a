"""How a decoder graph is built, and what building and running it costs (no heavy imports: the GUI reads this)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

GRAPH_FORM = "ponder-fused-gqa"
CHUNK_BYTES = 256 * 2**20  # fp32 bytes of one block of weight rows while converting


@dataclass(frozen=True)
class BuildOptions:
    """How the graph is built. ``lm_head_bits`` and ``embedding_bits`` of 16 mean float (not quantized).

    The defaults were chosen by measurement on the 1.5B shape (bench/convert_options.py; the figures are in the
    session note of issue 14).
    """

    precision: str = "int4"
    provider: str = "cpu"
    block_size: int = 32
    symmetric: bool = False
    accuracy_level: int = 4
    lm_head_bits: int = 8
    embedding_bits: int = 4

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
