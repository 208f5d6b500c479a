"""Block-wise weight quantization in MatMulNBits' layout, with ONNX Runtime's own C++ quantizer.

A linear layer's weight as checkpoints store it, ``[N (outputs), K (inputs)]``, becomes for each output row:
``K / block`` blocks of ``block`` values, each stored in ``bits`` bits with one scale (and, unless symmetric, one
zero point). Rows are independent, so a weight is quantized in blocks of rows and the pieces written one after
another; several weights written in a row make one wider MatMulNBits (q, k and v; gate and up).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from onnxruntime.capi._pybind_state import quantize_matmul_4bits, quantize_matmul_8bits


@dataclass(frozen=True)
class QuantizedRows:
    """The quantized form of a block of rows: ``packed`` [rows, K/block, block*bits/8] uint8, ``scales``
    [rows, K/block] float32, ``zero_points`` [rows, ceil(K/block * bits / 8)] uint8 (empty when symmetric)."""

    packed: np.ndarray
    scales: np.ndarray
    zero_points: np.ndarray


def blocks_per_row(k: int, block: int) -> int:
    """How many quantization blocks cover ``k`` inputs (the last one zero-padded)."""
    return (k + block - 1) // block


def zero_point_bytes(k: int, block: int, bits: int) -> int:
    """Bytes of packed zero points per row."""
    per_byte = 8 // bits
    return (blocks_per_row(k, block) + per_byte - 1) // per_byte


def quantize_rows(weight: np.ndarray, bits: int, block: int, symmetric: bool) -> QuantizedRows:
    """Quantize ``weight`` [rows, K] (fp32) row by row."""
    rows, k = weight.shape
    n_blocks = blocks_per_row(k, block)
    padded = n_blocks * block
    # the C++ kernel takes the MatMul layout [K, N]: one transposed copy of this block of rows
    kn = np.zeros((padded, rows), dtype=np.float32)
    kn[:k] = weight.T
    packed = np.zeros((rows, n_blocks, block * bits // 8), dtype=np.uint8)
    zero_points = np.zeros((rows, zero_point_bytes(k, block, bits)), dtype=np.uint8)
    scales = np.zeros((rows, n_blocks), dtype=np.float32)
    kernel = quantize_matmul_4bits if bits == 4 else quantize_matmul_8bits
    kernel(packed, kn, scales, zero_points, block, rows, padded, symmetric)
    return QuantizedRows(packed, scales, zero_points if not symmetric else np.zeros((rows, 0), dtype=np.uint8))


def dequantize_rows(q: QuantizedRows, k: int, bits: int, block: int) -> np.ndarray:
    """The fp32 values the quantized rows stand for (for tests and accuracy checks)."""
    rows, n_blocks, _ = q.packed.shape
    if bits == 4:
        low, high = q.packed & 0x0F, q.packed >> 4
        values = np.stack([low, high], axis=-1).reshape(rows, n_blocks, block).astype(np.float32)
    else:
        values = q.packed.reshape(rows, n_blocks, block).astype(np.float32)
    if q.zero_points.shape[1]:
        if bits == 4:
            zp = np.stack([q.zero_points & 0x0F, q.zero_points >> 4], axis=-1).reshape(rows, -1)[:, :n_blocks]
        else:
            zp = q.zero_points[:, :n_blocks]
        zero = zp.astype(np.float32)[:, :, None]
    else:
        zero = np.full((1, 1, 1), 2 ** (bits - 1), dtype=np.float32)
    return ((values - zero) * q.scales[:, :, None]).reshape(rows, n_blocks * block)[:, :k]
