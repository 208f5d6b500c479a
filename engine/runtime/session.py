"""The fast decoder session: one preallocated KV cache shared by past and present, bound with I/O binding.

The builder's GroupQueryAttention graph reads the cache from ``past_key_values.*`` and writes the new entries into
``present.*`` in place when both are bound to the same buffer (past-present share buffer). So a step copies no
cache at all: the cache is allocated once at the context size, a step binds the new tokens and an attention mask
of the total length, and rewinding to a shorter prefix only changes the length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from engine.models.convert.manifest import read_manifest
from engine.runtime.layout import DecoderLayout
from engine.runtime.providers import open_session
from engine.runtime.rows_graph import ROWS_INPUT, rows_graph
from engine.system.errors import PonderError


@dataclass(frozen=True)
class StepTiming:
    """How long the last :meth:`KVSession.extend` took and for how many tokens."""

    tokens: int
    seconds: float


class KVSession:
    """An ORT session over a converted model plus the state of one sequence: its tokens and KV cache."""

    def __init__(self, model_dir: Path, *, provider: str = "auto", threads: int | None = None,
                 context: int | None = None, all_logits: bool = False) -> None:
        """``all_logits``: open the graph form that returns logits for every new position (see
        :meth:`extend_rows`; for verifying drafted tokens), else the normal last-position form."""
        self.model_dir = model_dir
        self.manifest = read_manifest(model_dir)
        graph = rows_graph(model_dir) if all_logits else model_dir / "model.onnx"
        self.session, self.choice = open_session(graph, provider, threads)
        self.layout = DecoderLayout.from_session(self.session)
        model_context = int(self.manifest.generation.get("context_length") or 4096)
        self.context = min(context or 4096, model_context)
        inputs = {i.name for i in self.session.get_inputs()}
        if "position_ids" in inputs:
            raise PonderError(f"{model_dir.name} has an unsupported graph form (position_ids input).",
                              "Convert it again with this version of Ponder.")
        logits = next(o for o in self.session.get_outputs() if o.name == "logits")
        self._pruned = logits.shape[1] == 1
        self.all_logits = ROWS_INPUT in inputs
        self.vocab = int(logits.shape[2])
        self._logits_dtype = np.float16 if logits.type == "tensor(float16)" else np.float32
        self._allocate()

    def _allocate(self) -> None:
        lay, device = self.layout, self.choice.device
        shape = [1, lay.num_kv_heads, self.context, lay.head_dim]
        self._cache: dict[str, ort.OrtValue] = {}
        for i in range(lay.num_layers):
            for past, present in ((lay.past_key, lay.present_key), (lay.past_value, lay.present_value)):
                value = ort.OrtValue.ortvalue_from_shape_and_type(shape, lay.cache_dtype, device, 0)
                self._cache[past % i] = value
                self._cache[present % i] = value
        self._mask = np.ones((1, self.context), dtype=np.int64)
        self._binding = self.session.io_binding()
        # logits first, so it is output 0; a pruned graph has a fixed [1, 1, vocab] logits buffer
        if self._pruned:
            self._logits = ort.OrtValue.ortvalue_from_shape_and_type([1, 1, self.vocab], self._logits_dtype, "cpu", 0)
            self._binding.bind_ortvalue_output("logits", self._logits)
        else:
            self._binding.bind_output("logits", "cpu")
        for name, value in self._cache.items():
            if name.startswith("past_"):
                self._binding.bind_ortvalue_input(name, value)
            else:
                self._binding.bind_ortvalue_output(name, value)
        self.tokens: list[int] = []

    def rewind(self, length: int) -> None:
        """Forget every token after the first ``length`` (their cache entries are simply overwritten later)."""
        if not 0 <= length <= len(self.tokens):
            raise ValueError(f"cannot rewind to {length} of {len(self.tokens)} tokens")
        del self.tokens[length:]

    def common_prefix(self, tokens: Sequence[int]) -> int:
        """How many leading ``tokens`` the cache already holds."""
        n = 0
        for a, b in zip(self.tokens, tokens, strict=False):
            if a != b:
                break
            n += 1
        return n

    def extend(self, new_tokens: Sequence[int], chunk: int = 512) -> np.ndarray:
        """Run ``new_tokens`` after the cached ones; return the fp32 logits of the last position.

        Long inputs run in chunks of ``chunk`` tokens so the attention work buffers stay bounded.
        """
        if not new_tokens:
            raise ValueError("extend() needs at least one token")
        if len(self.tokens) + len(new_tokens) > self.context:
            raise PonderError(f"The conversation needs {len(self.tokens) + len(new_tokens)} tokens; the context "
                              f"holds {self.context}.", "Start a new conversation or raise the context length.")
        logits = np.empty(0, dtype=np.float32)
        for start in range(0, len(new_tokens), chunk):
            logits = self._run(new_tokens[start:start + chunk])
        return logits[-1]

    def extend_rows(self, new_tokens: Sequence[int]) -> np.ndarray:
        """Run ``new_tokens`` (one piece, as a decode step does) and return the fp32 logits of every one of their
        positions, ``[len(new_tokens), vocab]``: row i predicts the token after ``new_tokens[i]``. Needs a session
        opened with ``all_logits=True``."""
        if not self.all_logits:
            raise PonderError(f"This session of {self.model_dir.name} returns the last position's logits only.",
                              "Open it with all_logits=True to verify drafted tokens.")
        if not new_tokens:
            raise ValueError("extend_rows() needs at least one token")
        if len(self.tokens) + len(new_tokens) > self.context:
            raise PonderError(f"The conversation needs {len(self.tokens) + len(new_tokens)} tokens; the context "
                              f"holds {self.context}.", "Start a new conversation or raise the context length.")
        return self._run(new_tokens, rows=len(new_tokens))

    def _run(self, piece: Sequence[int], rows: int = 1) -> np.ndarray:
        total = len(self.tokens) + len(piece)
        binding = self._binding
        binding.bind_cpu_input("input_ids", np.asarray([piece], dtype=np.int64))
        binding.bind_cpu_input("attention_mask", self._mask[:, :total])
        if self.all_logits:
            binding.bind_cpu_input(ROWS_INPUT, np.asarray([-rows], dtype=np.int64))
        if not self._pruned:
            binding.bind_output("logits", "cpu")
        self.session.run_with_iobinding(binding)
        logits = binding.get_outputs()[0].numpy()
        self.tokens.extend(int(t) for t in piece)
        return np.asarray(logits[0, -rows:], dtype=np.float32)
