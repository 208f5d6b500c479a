"""A decoder-only ONNX model with a KV cache, run on ONNX Runtime.

This is the plain, correct decode step that conversion checks and parity tests use: one ``run`` per step, the
cache handed back as the next step's past. The fast path (I/O binding, shared preallocated cache) builds on it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from engine.errors import PonderError

_ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


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
        return cls(num_layers=len(keys), num_kv_heads=int(shape[1]), head_dim=int(shape[3]),
                   cache_dtype=_ORT_TYPES[keys[0].type])


class Decoder:
    """An ORT session over ``model.onnx`` with the state of one sequence (token ids and KV cache)."""

    def __init__(self, model_dir: Path,
                 providers: Sequence[str | tuple[str, dict[str, str]]] = ("CPUExecutionProvider",),
                 options: ort.SessionOptions | None = None) -> None:
        self.model_dir = model_dir
        self.session = ort.InferenceSession(str(model_dir / "model.onnx"), sess_options=options,
                                            providers=list(providers))
        self.layout = DecoderLayout.from_session(self.session)
        self._inputs = {i.name for i in self.session.get_inputs()}
        self.reset()

    def reset(self) -> None:
        """Forget the sequence: empty cache, no tokens."""
        lay = self.layout
        empty: np.ndarray = np.zeros((1, lay.num_kv_heads, 0, lay.head_dim), dtype=lay.cache_dtype)
        self._past = {name % i: empty for i in range(lay.num_layers) for name in (lay.past_key, lay.past_value)}
        self.tokens: list[int] = []

    def step(self, new_tokens: Sequence[int]) -> np.ndarray:
        """Feed ``new_tokens`` after the ones already seen; return the logits of the last position (fp32)."""
        if not new_tokens:
            raise ValueError("step() needs at least one token")
        total = len(self.tokens) + len(new_tokens)
        feeds: dict[str, np.ndarray] = {
            "input_ids": np.asarray([new_tokens], dtype=np.int64),
            "attention_mask": np.ones((1, total), dtype=np.int64),
            **self._past,
        }
        if "position_ids" in self._inputs:
            feeds["position_ids"] = np.arange(len(self.tokens), total, dtype=np.int64)[None, :]
        names = [o.name for o in self.session.get_outputs()]
        outputs = dict(zip(names, self.session.run(names, feeds), strict=True))
        lay = self.layout
        for i in range(lay.num_layers):
            self._past[lay.past_key % i] = outputs[lay.present_key % i]
            self._past[lay.past_value % i] = outputs[lay.present_value % i]
        self.tokens.extend(int(t) for t in new_tokens)
        return np.asarray(outputs["logits"][0, -1], dtype=np.float32)

    def greedy(self, prompt: Sequence[int], max_new_tokens: int, eos: Sequence[int] = ()) -> Iterator[int]:
        """Greedy tokens after ``prompt`` (continuing this sequence), stopping at an ``eos`` id."""
        logits = self.step(prompt)
        for _ in range(max_new_tokens):
            token = int(np.argmax(logits))
            yield token
            if token in eos:
                return
            logits = self.step([token])
