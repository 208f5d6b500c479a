"""Sampling on toy logits: each filter keeps exactly the tokens it should; a seed reproduces a run."""

from __future__ import annotations

import numpy as np
import pytest

from engine.runtime.sampling import Sampler, SamplingParams, apply_repetition_penalty, candidates
from engine.system.errors import PonderError

LOGITS = np.log(np.array([0.5, 0.25, 0.15, 0.07, 0.03], dtype=np.float32))


def draws(params: SamplingParams, n: int = 2000, logits: np.ndarray = LOGITS) -> np.ndarray:
    sampler = Sampler(params)
    return np.array([sampler(logits) for _ in range(n)])


def test_greedy_is_argmax() -> None:
    assert set(draws(SamplingParams(temperature=0), 20)) == {0}
    assert set(draws(SamplingParams(temperature=1.0, top_k=1), 20)) == {0}


def test_top_k_keeps_k_tokens() -> None:
    assert set(draws(SamplingParams(temperature=1.0, top_p=1.0, top_k=2))) == {0, 1}


def test_top_p_keeps_the_smallest_set_reaching_p() -> None:
    # 0.5 + 0.25 = 0.75 < 0.8, adding 0.15 reaches it: three tokens
    assert set(draws(SamplingParams(temperature=1.0, top_p=0.8))) == {0, 1, 2}
    assert set(draws(SamplingParams(temperature=1.0, top_p=0.5))) == {0}


def test_min_p_drops_tokens_below_a_fraction_of_the_best() -> None:
    # threshold 0.25 * 0.5 = 0.125: keeps 0.5, 0.25, 0.15
    assert set(draws(SamplingParams(temperature=1.0, top_p=1.0, min_p=0.25))) == {0, 1, 2}


def test_temperature_one_matches_the_distribution() -> None:
    counts = np.bincount(draws(SamplingParams(temperature=1.0, top_p=1.0, seed=3), 20000), minlength=5) / 20000
    assert np.allclose(counts, np.exp(LOGITS), atol=0.015)


def test_low_temperature_sharpens() -> None:
    ids, p = candidates(LOGITS, SamplingParams(temperature=0.25, top_p=1.0))
    assert ids[0] == 0 and p[0] > 0.9 and abs(p.sum() - 1) < 1e-6


def test_top_p_shortlist_matches_a_full_sort() -> None:
    rng = np.random.default_rng(5)
    for scale in (0.5, 3.0, 10.0):  # flat (the shortlist falls short) to peaked
        logits = (rng.standard_normal(50000) * scale).astype(np.float32)
        params = SamplingParams(temperature=0.7, top_p=0.9)
        short_ids, short_p = candidates(logits, params, shortlist=256)
        full_ids, full_p = candidates(logits, params, shortlist=10**9)
        assert short_ids.tolist() == full_ids.tolist() and np.allclose(short_p, full_p)


def test_repetition_penalty_lowers_seen_tokens() -> None:
    logits = np.array([2.0, -1.0, 1.0], dtype=np.float32)
    out = apply_repetition_penalty(logits, [0, 1], 2.0)
    assert out.tolist() == [1.0, -2.0, 1.0]
    assert Sampler(SamplingParams(temperature=0, repetition_penalty=3.0))(logits, history=[0]) == 2


def test_seed_reproduces_and_differs() -> None:
    flat = np.zeros(1000, dtype=np.float32)
    a = draws(SamplingParams(temperature=1.0, top_p=1.0, seed=42), 50, flat)
    b = draws(SamplingParams(temperature=1.0, top_p=1.0, seed=42), 50, flat)
    c = draws(SamplingParams(temperature=1.0, top_p=1.0, seed=43), 50, flat)
    assert a.tolist() == b.tolist() and a.tolist() != c.tolist()


@pytest.mark.parametrize("kwargs", [{"temperature": -1}, {"top_p": 0}, {"top_p": 1.5}, {"top_k": -2},
                                    {"min_p": 1.0}, {"repetition_penalty": 0}])
def test_invalid_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(PonderError, match="Invalid sampling settings"):
        SamplingParams(**kwargs)  # type: ignore[arg-type]
