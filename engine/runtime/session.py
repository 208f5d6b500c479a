"""The fast decoder session: one KV cache shared by past and present, bound with I/O binding, grown in steps.

The builder's GroupQueryAttention graph reads the cache from ``past_key_values.*`` and writes the new entries into
``present.*`` in place when both are bound to the same buffer (past-present share buffer). So a step copies no
cache at all: a step binds the new tokens and an attention mask of the total length, and rewinding to a shorter
prefix only changes the length.

The buffers are not allocated at the whole context: they start at :data:`INITIAL_CAPACITY` tokens and, when a
sequence outgrows them, are replaced by buffers of twice the length (rounded to :data:`CAPACITY_STEP`, at most the
context) with the filled rows copied on the device (:mod:`engine.runtime.cache_grow`). A 14B model's float cache at
a 32k context is 12 GiB; a conversation of 3k tokens now holds 4k tokens' worth. Attention reads only the filled
rows, so the capacity costs memory, not time, and growing gives the same tokens as a preallocated cache (tested).
Growing checks free memory first (CPU caches) and refuses with a clear error, keeping the conversation and cache
as they were, when it cannot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import psutil

from engine.models.convert.manifest import read_manifest
from engine.runtime.cache_grow import CacheGrower
from engine.runtime.layout import DecoderLayout
from engine.runtime.providers import open_session
from engine.runtime.rows_graph import ROWS_INPUT, rows_graph
from engine.system.errors import PonderError

#: Tokens of cache a session starts with (a first question and its reply fit; a documents question grows it once).
INITIAL_CAPACITY = 1024
#: Capacities are multiples of this many tokens (or of a smaller starting capacity).
CAPACITY_STEP = 256
GIB = 2**30


@dataclass(frozen=True)
class StepTiming:
    """How long the last :meth:`KVSession.extend` took and for how many tokens."""

    tokens: int
    seconds: float


class KVSession:
    """An ORT session over a converted model plus the state of one sequence: its tokens and KV cache."""

    def __init__(self, model_dir: Path, *, provider: str = "auto", threads: int | None = None,
                 context: int | None = None, all_logits: bool = False, preallocate: bool = False,
                 capacity: int = INITIAL_CAPACITY) -> None:
        """``all_logits``: open the graph form that returns logits for every new position (see
        :meth:`extend_rows`; for verifying drafted tokens), else the normal last-position form. The cache starts
        at ``capacity`` tokens and grows in steps; ``preallocate`` allocates the whole context at once instead."""
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
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1 token, not {capacity}")
        self.capacity = self.context if preallocate else min(self.context, capacity)
        self._step = min(CAPACITY_STEP, self.capacity)
        self._grower: CacheGrower | None = None
        self._allocate()

    @property
    def bytes_per_token(self) -> int:
        """Bytes of KV cache one token takes (every layer's key and value)."""
        lay = self.layout
        return lay.num_layers * 2 * lay.num_kv_heads * lay.head_dim * np.dtype(lay.cache_dtype).itemsize

    @property
    def cache_bytes(self) -> int:
        """Bytes the cache's buffers take now (its capacity, not only the filled part)."""
        return self.capacity * self.bytes_per_token

    def _allocate(self) -> None:
        lay, device = self.layout, self.choice.device
        shape = [1, lay.num_kv_heads, self.capacity, lay.head_dim]
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
        self._bind_cache()
        self.tokens: list[int] = []

    def _bind_cache(self) -> None:
        for name, value in self._cache.items():
            if name.startswith("past_"):
                self._binding.bind_ortvalue_input(name, value)
            else:
                self._binding.bind_ortvalue_output(name, value)

    def reserve(self, total: int) -> None:
        """Make the cache hold at least ``total`` tokens (at most the context), growing it when it is shorter.

        Raises :class:`PonderError` when the memory for it is not available; the tokens and what the cache holds
        are kept.
        """
        total = min(total, self.context)
        if total <= self.capacity:
            return
        capacity = min(self.context, -(-max(total, 2 * self.capacity) // self._step) * self._step)
        extra = (capacity - self.capacity) * self.bytes_per_token
        largest = capacity * self.bytes_per_token // (2 * self.layout.num_layers)  # one buffer during its copy
        if self.choice.device == "cpu":
            available = psutil.virtual_memory().available
            if extra + largest > available:
                raise PonderError(
                    f"The conversation has reached {len(self.tokens)} tokens; holding {total} needs "
                    f"{(extra + largest) / GIB:.1f} GiB more memory for the model's cache and "
                    f"{available / GIB:.1f} GiB is available.",
                    "Start a new conversation, close other programs, or choose a shorter context length in Settings.")
        if self._grower is None:
            self._grower = CacheGrower(self.layout.cache_dtype, self.session.get_providers(), self.choice.device)
        lay = self.layout
        try:  # one layer's key or value at a time, so the old buffer is freed before the next one is copied
            for i in range(lay.num_layers):
                for past, present in ((lay.past_key % i, lay.present_key % i),
                                      (lay.past_value % i, lay.present_value % i)):
                    if self._cache[past].shape()[2] >= capacity:  # grown by an attempt that failed part way
                        continue
                    value = self._grower.grow(self._cache[past], capacity)
                    self._cache[past] = self._cache[present] = value
                    self._binding.bind_ortvalue_input(past, value)
                    self._binding.bind_ortvalue_output(present, value)
        except Exception as err:  # ORT's allocation/run errors have per-build types; the message is the reason
            raise PonderError(f"The model's cache could not grow to {capacity} tokens: {str(err).splitlines()[0]}",
                              "Start a new conversation or choose a shorter context length in Settings.") from err
        self.capacity = capacity

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
        self.reserve(total)
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
