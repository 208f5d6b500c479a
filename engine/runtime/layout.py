"""The KV cache a decoder graph expects: how many layers, heads and dimensions, its dtype, and the input and output
names, read off the graph. :class:`engine.runtime.session.KVSession` allocates and binds its cache from this."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

from engine.system.errors import PonderError

_ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int8)": np.int8}


@dataclass(frozen=True)
class DecoderLayout:
    """Names and shapes of a decoder graph's KV cache inputs and outputs."""

    num_layers: int
    num_kv_heads: int
    head_dim: int
    cache_dtype: type
    past_key: str = "past_key_values.%d.key"
    past_value: str = "past_key_values.%d.value"
    present_key: str = "present.%d.key"
    present_value: str = "present.%d.value"

    @classmethod
    def from_session(cls, session: ort.InferenceSession) -> DecoderLayout:
        """Read the layout off the graph's inputs (works for builder and optimum graphs alike)."""
        keys = sorted((i for i in session.get_inputs() if i.name.startswith("past_key_values.")
                       and i.name.endswith(".key")), key=lambda i: int(i.name.split(".")[1]))
        if not keys:
            raise PonderError("This ONNX model has no KV cache inputs.", "Convert it again with Ponder.")
        shape = keys[0].shape
        if keys[0].type not in _ORT_TYPES:
            raise PonderError(f"This ONNX model's KV cache is {keys[0].type}, which Ponder cannot allocate.",
                              "Convert it again with Ponder.")
        return cls(num_layers=len(keys), num_kv_heads=int(shape[1]), head_dim=int(shape[3]),
                   cache_dtype=_ORT_TYPES[keys[0].type])
