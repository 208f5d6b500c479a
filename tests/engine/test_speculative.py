"""Speculative decoding on real tiny ONNX models: the tiny Qwen2 verifies, a smaller tiny Qwen2 of the same
tokenizer (trained briefly on the same script) drafts. Greedy output must be the big model's greedy tokens exactly;
sampled output must follow the big model's sampling distribution; a draft of another tokenizer is refused."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.runtime.sampling import SamplingParams, apply_repetition_penalty, candidates
from engine.runtime.session import KVSession
from engine.runtime.speculative import SpeculativeStepper, check_compatible, speculative_generate
from engine.runtime.template import ChatTemplate, Message
from engine.system.errors import PonderError
from tests.fixtures.app_session import greedy
from tests.fixtures.checkpoints import SCRIPT
from tests.fixtures.draft import draft_models

__all__ = ["draft_models"]

GREEDY = SamplingParams(temperature=0)
NEW_TOKENS = 40


def _prompts(model_dir: Path, kv: KVSession) -> list[list[int]]:
    """Chat prompts of the script's questions and of new ones, and a long one: all earlier answers as history, so
    the prompt is longer than the 64-token prefill chunk the tests use."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    template = ChatTemplate.from_model_dir(model_dir)

    def encode(messages: list[Message]) -> list[int]:
        return list(tok.encode(template.render(messages), add_special_tokens=False).ids)

    prompts = [encode([Message("user", q)]) for q in ("What is 2+2?", "Name a fast animal.", "Why is the sky blue?")]
    history: list[Message] = []
    for question, thought, answer in SCRIPT:
        history += [Message("user", question), Message("assistant", f"{thought}</think>\n\n{answer}")]
    prompts.append(encode([*history, Message("user", "Give me an emoji.")]))
    rng = np.random.default_rng(7)
    prompts.append(rng.integers(5, kv.vocab - 10, size=90).tolist())  # text the models never saw
    assert len(prompts[3]) > 128 and all(len(p) + NEW_TOKENS < kv.context for p in prompts)
    return prompts


@pytest.fixture(scope="module")
def big_dir(converted: dict[tuple[str, str], Path]) -> Path:
    return converted[("qwen2", "fp32")]


def test_extend_rows_match_single_steps(big_dir: Path) -> None:
    rows_kv = KVSession(big_dir, provider="cpu", all_logits=True)
    plain = KVSession(big_dir, provider="cpu")
    prompt = list(range(5, 80))
    assert np.array_equal(rows_kv.extend(prompt, chunk=32), plain.extend(prompt))
    piece = [11, 40, 7, 300, 21]
    rows = rows_kv.extend_rows(piece)
    assert rows.shape == (len(piece), plain.vocab) and rows_kv.tokens == prompt + piece
    for i, token in enumerate(piece):
        single = np.array(plain.extend([token]), copy=True)
        np.testing.assert_allclose(rows[i], single, atol=1e-4, rtol=0)
    with pytest.raises(PonderError, match="all_logits=True"):
        plain.extend_rows([1])


@pytest.mark.parametrize("k", [1, 3, 5])
def test_greedy_is_exactly_the_big_models_greedy(k: int, big_dir: Path, draft_models: dict[str, Path]) -> None:
    big = KVSession(big_dir, provider="cpu", all_logits=True)
    draft = KVSession(draft_models["draft"], provider="cpu")
    reference = KVSession(big_dir, provider="cpu")
    proposed = accepted = 0
    for prompt in _prompts(big_dir, big):
        want = greedy(reference, prompt, NEW_TOKENS)
        got, stats = speculative_generate(big, draft, prompt, GREEDY, NEW_TOKENS, k=k, adaptive=False, chunk=64)
        assert got == want
        # settled: the cache holds what was emitted (the last token itself when it was a kept draft)
        assert big.tokens in (prompt + got[:-1], prompt + got)
        proposed, accepted = proposed + stats.proposed, accepted + stats.accepted
        # the next turn continues the cached conversation: only its new tokens are run, still exact
        follow = [*prompt, *got, *prompt[-6:]]
        if len(follow) + NEW_TOKENS < big.context:
            again, _ = speculative_generate(big, draft, follow, GREEDY, NEW_TOKENS, k=k, adaptive=False, chunk=64)
            assert again == greedy(reference, follow, NEW_TOKENS)
    # both paths ran: drafts kept and drafts replaced by the big model's token
    assert 0 < accepted < proposed


def test_adaptive_k_and_forced_tokens_stay_exact(big_dir: Path, draft_models: dict[str, Path]) -> None:
    big = KVSession(big_dir, provider="cpu", all_logits=True)
    draft = KVSession(draft_models["draft"], provider="cpu")
    reference = KVSession(big_dir, provider="cpu")
    prompt = _prompts(big_dir, big)[0]
    stepper = SpeculativeStepper(big, draft, GREEDY, k=6, adaptive=True)
    stepper.start(big.extend(prompt))
    history, got = list(prompt), []
    forced = [7, 8, 9]
    for step in range(30):
        if step == 12:  # the loop inserts tokens of its own (as "answer now" does)
            stepper.force(history, forced)
            history += forced
            got += forced
            continue
        token = stepper.next_token(history)
        history.append(token)
        got.append(token)
    stepper.settle(history)
    before = greedy(reference, prompt, 12)
    after = greedy(reference, [*prompt, *before, *forced], 30 - 13)
    assert got == before + forced + after
    assert 1 <= stepper.k <= 6 and 0 < stepper.stats.acceptance <= 1


def _sampling_dist(logits: np.ndarray, history: Sequence[int], params: SamplingParams) -> dict[int, float]:
    """What Sampler draws from (its own functions: the penalty, then candidates)."""
    ids, probs = candidates(apply_repetition_penalty(logits, history, params.repetition_penalty), params)
    return {int(i): float(p) for i, p in zip(ids, probs, strict=True)}


def _joint(kv: KVSession, prompt: list[int], params: SamplingParams, depth: int,
           floor: float = 1e-5) -> dict[tuple[int, ...], float]:
    """The exact probability of every sequence of ``depth`` tokens after ``prompt`` (leaves under ``floor`` pruned)
    under plain sampling with ``params``, from the model's own decode steps."""
    out: dict[tuple[int, ...], float] = {}

    def walk(prefix: tuple[int, ...], mass: float) -> None:
        if len(prefix) == depth:
            out[prefix] = mass
            return
        history = [*prompt, *prefix]
        kv.rewind(min(kv.common_prefix(history), len(history) - 1))
        dist = _sampling_dist(np.array(kv.extend(history[len(kv.tokens):]), copy=True), history, params)
        for token, p in dist.items():
            if mass * p >= floor:
                walk((*prefix, token), mass * p)

    walk((), 1.0)
    return out


def _chi_square_p(observed: Counter[tuple[int, ...]], expected: dict[tuple[int, ...], float], n: int) -> float:
    """Goodness-of-fit p-value of ``observed`` counts against ``expected`` probabilities (bins of expected count
    under 5 pooled into one, with the pruned mass)."""
    big_bins = [s for s, p in expected.items() if p * n >= 5]
    stat = 0.0
    for s in big_bins:
        stat += (observed[s] - expected[s] * n) ** 2 / (expected[s] * n)
    rest_expected = n * (1 - sum(expected[s] for s in big_bins))
    rest_observed = n - sum(observed[s] for s in big_bins)
    bins = len(big_bins)
    if rest_expected >= 1:
        stat += (rest_observed - rest_expected) ** 2 / rest_expected
        bins += 1
    return float(torch.special.gammaincc(torch.tensor((bins - 1) / 2, dtype=torch.float64),
                                         torch.tensor(stat / 2, dtype=torch.float64)))


@pytest.mark.parametrize("k", [1, 3])
def test_sampling_follows_the_big_models_distribution(k: int, big_dir: Path, draft_models: dict[str, Path]) -> None:
    """3 tokens sampled 3000 times with a repetition penalty and top-p: the empirical joint
    distribution of (t1, t2, t3) must fit the big model's exact one (chi-square, p > 0.001), while the draft's own
    distribution is far enough from it that sampling from the draft would fail the same test."""
    params = SamplingParams(temperature=1.0, top_p=0.95, repetition_penalty=1.3, seed=20261203 + k)
    big = KVSession(big_dir, provider="cpu", all_logits=True)
    draft = KVSession(draft_models["draft"], provider="cpu")
    prompt = _prompts(big_dir, big)[2]
    exact = _joint(KVSession(big_dir, provider="cpu"), prompt, params, depth=3)
    drafted = _joint(KVSession(draft_models["draft"], provider="cpu"), prompt, params, depth=3)
    keys = exact.keys() | drafted.keys()
    assert 0.5 * sum(abs(exact.get(s, 0.0) - drafted.get(s, 0.0)) for s in keys) > 0.2  # the test has power
    n = 3000
    stepper = SpeculativeStepper(big, draft, params, k=k, adaptive=False)
    first = np.array(big.extend(prompt), copy=True)
    seen: Counter[tuple[int, ...]] = Counter()
    for _ in range(n):
        big.rewind(len(prompt))
        stepper.start(first)
        history = list(prompt)
        for _ in range(3):
            history.append(stepper.next_token(history))
        seen[tuple(history[len(prompt):])] += 1
    assert _chi_square_p(seen, exact, n) > 1e-3
    # the same statistic for the draft's distribution is far in the tail: a sampler that kept every draft fails
    assert _chi_square_p(Counter({s: round(p * n) for s, p in drafted.items()}), exact, n) < 1e-6
    assert 0 < stepper.stats.acceptance < 1


def test_a_draft_with_another_tokenizer_is_refused(big_dir: Path, draft_models: dict[str, Path]) -> None:
    check_compatible(big_dir, draft_models["draft"])
    with pytest.raises(PonderError, match=r"cannot draft for .*vocabularies differ.*same family and tokenizer"):
        check_compatible(big_dir, draft_models["foreign"])
    big = KVSession(big_dir, provider="cpu", all_logits=True)
    with pytest.raises(PonderError, match="cannot draft"):
        SpeculativeStepper(big, KVSession(draft_models["foreign"], provider="cpu"), GREEDY)
    with pytest.raises(PonderError, match="all_logits=True"):
        SpeculativeStepper(KVSession(big_dir, provider="cpu"), KVSession(draft_models["draft"], provider="cpu"),
                           GREEDY)


def test_the_apps_chat_with_a_draft_says_exactly_what_it_says_alone(big_dir: Path,
                                                                     draft_models: dict[str, Path]) -> None:
    """ChatModel with a draft (the decode loop the window, the CLI and the API run): the same reasoning and answer
    as without one under greedy decoding, over two turns (prefix reuse after a speculative turn) and with a thinking
    budget that makes the loop insert the closing tokens itself; the acceptance rate is reported."""
    from engine.runtime.generate import ChatModel, GenerationConfig

    alone = ChatModel(big_dir, provider="cpu")
    drafted = ChatModel(big_dir, provider="cpu", draft=draft_models["draft"], draft_k=3)
    configs = [GenerationConfig(sampling=GREEDY, max_new_tokens=40),
               GenerationConfig(sampling=GREEDY, max_new_tokens=40, thinking_budget=3)]
    for config in configs:
        messages = [Message("user", "What is 2+2?")]
        for follow_up in ("Name a fast animal.", ""):
            want = alone.chat(messages, config)
            got = drafted.chat(messages, config)
            assert (got.finish_reason, got.reasoning, got.answer) == (want.finish_reason, want.reasoning, want.answer)
            assert got.stats.draft_acceptance is not None and 0.0 <= got.stats.draft_acceptance <= 1.0
            assert want.stats.draft_acceptance is None
            if config.thinking_budget is not None:
                assert got.stats.reasoning_closed_by == want.stats.reasoning_closed_by
            # the second turn re-reads nothing the plain model does not (the caches were settled after the drafts)
            assert got.stats.reused_tokens == want.stats.reused_tokens
            if follow_up:
                messages = [*messages, Message("assistant", want.answer), Message("user", follow_up)]


def test_a_chat_model_refuses_a_draft_with_another_tokenizer(big_dir: Path, draft_models: dict[str, Path]) -> None:
    from engine.runtime.generate import ChatModel

    with pytest.raises(PonderError):
        ChatModel(big_dir, provider="cpu", draft=draft_models["foreign"])
