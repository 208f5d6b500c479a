"""Choosing the next token from the last row of logits: greedy, temperature, top-k, top-p, min-p, repetition
penalty, with a seeded generator so a seed reproduces a run."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from engine.errors import PonderError


@dataclass(frozen=True)
class SamplingParams:
    """Sampling settings. ``temperature == 0`` means greedy; 0 / 1.0 disable top-k / top-p; min-p 0 is off."""

    temperature: float = 0.6
    top_p: float = 0.95
    top_k: int = 0
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.temperature < 0:
            problems.append("temperature must be >= 0")
        if not 0 < self.top_p <= 1:
            problems.append("top-p must be in (0, 1]")
        if self.top_k < 0:
            problems.append("top-k must be >= 0")
        if not 0 <= self.min_p < 1:
            problems.append("min-p must be in [0, 1)")
        if self.repetition_penalty <= 0:
            problems.append("repetition penalty must be > 0")
        if problems:
            raise PonderError(f"Invalid sampling settings: {'; '.join(problems)}.", "Fix the values and retry.")

    @property
    def greedy(self) -> bool:
        """True when sampling reduces to argmax."""
        return self.temperature == 0 or self.top_k == 1


def apply_repetition_penalty(logits: np.ndarray, seen: Iterable[int], penalty: float) -> np.ndarray:
    """CTRL-style penalty on tokens already seen: positive logits divided, negative ones multiplied."""
    if penalty == 1.0:
        return logits
    ids = np.fromiter(set(seen), dtype=np.int64)
    if ids.size == 0:
        return logits
    out = logits.copy()
    values = out[ids]
    out[ids] = np.where(values > 0, values / penalty, values * penalty)
    return out


def filter_logits(logits: np.ndarray, params: SamplingParams) -> np.ndarray:
    """Temperature-scaled logits with everything outside top-k / top-p / min-p set to -inf."""
    scaled = logits.astype(np.float64) / params.temperature
    if params.top_k and params.top_k < scaled.size:
        kth = np.partition(scaled, -params.top_k)[-params.top_k]
        scaled = np.where(scaled < kth, -np.inf, scaled)
    probs = np.exp(scaled - scaled.max())
    probs /= probs.sum()
    if params.min_p > 0:
        scaled = np.where(probs < params.min_p * probs.max(), -np.inf, scaled)
    if params.top_p < 1.0:
        order = np.argsort(-probs, kind="stable")
        cumulative = np.cumsum(probs[order])
        # keep the smallest prefix whose mass reaches top_p (always at least the most likely token)
        cut = int(np.searchsorted(cumulative, params.top_p)) + 1
        drop = order[cut:]
        scaled[drop] = -np.inf
    return scaled


class Sampler:
    """Picks tokens according to :class:`SamplingParams`; the same seed gives the same choices."""

    def __init__(self, params: SamplingParams) -> None:
        self.params = params
        self._rng = np.random.default_rng(params.seed)

    def __call__(self, logits: np.ndarray, history: Iterable[int] = ()) -> int:
        """Next token for one row of logits, given the token ids seen so far (for the repetition penalty)."""
        p = self.params
        logits = apply_repetition_penalty(logits, history, p.repetition_penalty)
        if p.greedy:
            return int(np.argmax(logits))
        scaled = filter_logits(logits, p)
        probs = np.exp(scaled - scaled.max())
        probs /= probs.sum()
        return int(self._rng.choice(probs.size, p=probs))
