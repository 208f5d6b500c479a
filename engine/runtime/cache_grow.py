"""Grow a KV cache buffer on the device it lives on, keeping what it holds.

:class:`engine.runtime.session.KVSession` allocates the cache in steps instead of the whole context at load (issue
16: a 14B model's float cache at 32k tokens is 12 GiB). When a sequence outgrows the buffers, each layer's key and
value buffer ``[batch, kv_heads, capacity, head_dim]`` is replaced by a longer one with the filled rows copied.
ONNX Runtime's Python API has no device-to-device copy, so the copy is a one-node ONNX graph (``Pad`` on the
sequence axis) run on the session's own providers: the same code for a CPU, CUDA or DirectML cache, and no trip
through host memory for a GPU cache.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

_ELEMENT = {"float32": TensorProto.FLOAT, "float16": TensorProto.FLOAT16, "int8": TensorProto.INT8}


def _pad_graph(dtype: type) -> bytes:
    element = _ELEMENT[np.dtype(dtype).name]
    x = helper.make_tensor_value_info("x", element, ["b", "h", "n", "d"])
    pads = helper.make_tensor_value_info("pads", TensorProto.INT64, [8])
    y = helper.make_tensor_value_info("y", element, ["b", "h", "m", "d"])
    node = helper.make_node("Pad", ["x", "pads"], ["y"], mode="constant")
    graph = helper.make_graph([node], "grow_kv_cache", [x, pads], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)]).SerializeToString()


class CacheGrower:
    """Copies cache buffers into longer ones, on ``providers`` (those of the decoder's session)."""

    def __init__(self, dtype: type, providers: list[str], device: str) -> None:
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.session = ort.InferenceSession(_pad_graph(dtype), options, providers=providers)
        self.dtype, self.device = dtype, device

    def grow(self, value: ort.OrtValue, capacity: int) -> ort.OrtValue:
        """A new buffer of ``capacity`` rows on the sequence axis (axis 2) holding ``value``'s rows first."""
        shape = value.shape()
        extra = capacity - shape[2]
        if extra < 0:
            raise ValueError(f"cannot shrink a cache of {shape[2]} rows to {capacity}")
        grown = ort.OrtValue.ortvalue_from_shape_and_type([shape[0], shape[1], capacity, shape[3]], self.dtype,
                                                          self.device, 0)
        binding = self.session.io_binding()
        binding.bind_ortvalue_input("x", value)
        binding.bind_cpu_input("pads", np.array([0, 0, 0, 0, 0, 0, extra, 0], dtype=np.int64))
        binding.bind_ortvalue_output("y", grown)
        self.session.run_with_iobinding(binding)
        return grown
