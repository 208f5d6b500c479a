"""Choosing the next token from the last row of logits: greedy, temperature, top-k, top-p, min-p, repetition
penalty, with a seeded generator so a seed reproduces a run."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from engine.system.errors import PonderError


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
    ids = np.unique(np.fromiter(seen, dtype=np.int64))
    if ids.size == 0:
        return logits
    out = logits.copy()
    values = out[ids]
    out[ids] = np.where(values > 0, values / penalty, values * penalty)
    return out


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def candidates(logits: np.ndarray, params: SamplingParams, shortlist: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """The token ids that survive temperature, top-k, min-p and top-p, and their renormalised probabilities.

    Sorting the whole vocabulary (150k entries) every token costs more than a decode step, so top-p first looks
    at the ``shortlist`` most likely tokens and sorts everything only when they do not reach ``top_p``.
    """
    scaled = logits.astype(np.float32) / np.float32(params.temperature)
    probs = _softmax(scaled)
    if params.top_k and params.top_k < probs.size:
        ids = np.argpartition(probs, -params.top_k)[-params.top_k:]
    elif params.top_p < 1.0 and shortlist < probs.size:
        ids = np.argpartition(probs, -shortlist)[-shortlist:]
        if probs[ids].sum() < params.top_p:
            ids = np.arange(probs.size)
    else:
        ids = np.arange(probs.size)
    ids = ids[np.argsort(-probs[ids], kind="stable")]
    kept = probs[ids]
    if params.min_p > 0:
        kept = kept[kept >= params.min_p * kept[0]]
    if params.top_p < 1.0:
        # the smallest prefix whose mass reaches top_p (always at least the most likely token)
        mass = np.cumsum(kept, dtype=np.float64)
        kept = kept[: int(np.searchsorted(mass, params.top_p * probs.sum())) + 1]
    ids = ids[: kept.size]
    return ids, kept / kept.sum()


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
        ids, probs = candidates(logits, p)
        pick = int(np.searchsorted(np.cumsum(probs), self._rng.random() * probs.sum(), side="right"))
        return int(ids[min(pick, ids.size - 1)])
