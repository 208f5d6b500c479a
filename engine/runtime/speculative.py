"""Speculative decoding: a small draft model of the same tokenizer proposes k tokens, the big model checks them all
in one pass (:meth:`KVSession.extend_rows`), and the longest accepted prefix plus one token of the big model's own
is kept; both caches are rewound to what was kept.

What is exact. Let ``dist(logits, history)`` be the distribution :class:`engine.runtime.sampling.Sampler` draws
from: the repetition penalty over ``history``, then temperature, top-k, min-p and top-p, renormalised (greedy: all
mass on the argmax). p is ``dist`` of the big model's logits, q of the draft's, each with the same parameters and
the same history (the committed tokens plus the drafts before the position). Then:

- greedy (temperature 0 or top-k 1): a draft is kept only when it equals the big model's argmax at its position,
  and the first mismatch is replaced by that argmax, so the output is exactly the big model's greedy tokens (given
  that its verify pass computes the same logits as single-token steps; the tests check token equality);
- sampling: standard speculative sampling (Leviathan et al. 2023; Chen et al. 2023): draft d ~ q is kept with
  probability min(1, p(d) / q(d)); on rejection the token is drawn from norm(max(0, p - q)); when all k are kept a
  bonus token is drawn from the next p. Each emitted token is then distributed exactly as ``dist`` of the big model
  given the tokens before it, i.e. as plain sampling with the same :class:`SamplingParams`. Only the random stream
  differs, so a seed reproduces a speculative run but not the plain run's tokens. The penalty, top-k/top-p and
  temperature enter p and q alike, so any draft is correct; a draft whose q is close to p is merely accepted more.

Vocabularies may differ in padding (the 1.5B has 151936 logits, the 7B 152064, over one tokenizer): q is zero
beyond the draft's rows and p beyond the big model's, which keeps the rule exact. :func:`check_compatible` refuses a
draft whose tokenizer differs.

:class:`SpeculativeStepper` is the entry point for a decode loop: ``next_token(history)`` replaces "sample from the
last logits, then extend by that token"; see its docstring for the contract.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.runtime.sampling import SamplingParams, apply_repetition_penalty, candidates
from engine.runtime.session import KVSession
from engine.system.errors import PonderError


def _vocab(model_dir: Path) -> tuple[dict[str, int], list[tuple[str, int, bool]]]:
    try:
        data = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise PonderError(f"Could not read {model_dir.name}'s tokenizer.json: {err}.",
                          "Install the model again.") from err
    vocab = (data.get("model") or {}).get("vocab") or {}
    added = sorted((str(t["content"]), int(t["id"]), bool(t.get("special"))) for t in data.get("added_tokens", []))
    return dict(vocab), added


def check_compatible(big_dir: Path, draft_dir: Path) -> None:
    """Raise a :class:`PonderError` unless ``draft_dir``'s model can draft for ``big_dir``'s: the same vocabulary
    (every token string with the same id), the same added and special tokens, and the same end-of-sequence ids."""
    problems = []
    big_vocab, big_added = _vocab(big_dir)
    draft_vocab, draft_added = _vocab(draft_dir)
    if big_vocab != draft_vocab:
        differ = sum(1 for t, i in big_vocab.items() if draft_vocab.get(t) != i) + len(draft_vocab.keys() - big_vocab)
        problems.append(f"their vocabularies differ ({len(big_vocab)} and {len(draft_vocab)} tokens, {differ} "
                        "not shared with the same id)")
    if big_added != draft_added:
        problems.append("their special/added tokens differ")
    big_gen, draft_gen = (json.loads((d / "manifest.json").read_text(encoding="utf-8")).get("generation") or {}
                          for d in (big_dir, draft_dir))
    if sorted(big_gen.get("eos_token_ids") or []) != sorted(draft_gen.get("eos_token_ids") or []):
        problems.append("their end-of-sequence tokens differ")
    if problems:
        raise PonderError(f"{draft_dir.name} cannot draft for {big_dir.name}: {'; '.join(problems)}.",
                          "Choose a draft model of the same family and tokenizer (e.g. R1-Distill-Qwen-1.5B for "
                          "R1-Distill-Qwen-7B or 14B), or decode without a draft.")


def distribution(logits: np.ndarray, history: Sequence[int], params: SamplingParams, size: int) -> np.ndarray:
    """The probabilities (length ``size``, zero past the logits) that :class:`Sampler` draws the next token from."""
    logits = apply_repetition_penalty(logits, history, params.repetition_penalty)
    out = np.zeros(size, dtype=np.float64)
    if params.greedy:
        out[int(np.argmax(logits))] = 1.0
        return out
    ids, probs = candidates(logits, params)
    out[ids] = probs
    return out / out.sum()


@dataclass
class SpeculativeStats:
    """Running figures of a speculative decode: drafts proposed and accepted, verify passes and their time."""

    proposed: int = 0
    accepted: int = 0
    rounds: int = 0
    emitted: int = 0
    draft_s: float = 0.0
    verify_s: float = 0.0

    @property
    def acceptance(self) -> float:
        """Accepted drafts / proposed drafts (0 before any proposal)."""
        return self.accepted / self.proposed if self.proposed else 0.0

    @property
    def tokens_per_round(self) -> float:
        """Tokens emitted per verify pass of the big model (1.0 is plain decoding)."""
        return self.emitted / self.rounds if self.rounds else 0.0


class SpeculativeStepper:
    """Decodes with the big model ``big`` (opened with ``all_logits=True``) and a ``draft`` of the same tokenizer.

    Contract with a decode loop that keeps ``history`` (every token the big model has been given or has emitted):

    - after the prompt's prefill, call :meth:`start` with the big model's last logits (``big.tokens == history``);
    - ``token = next_token(history)`` replaces ``token = sampler(logits, history)`` *and* the following
      ``logits = kv.extend([token])``: the loop appends ``token`` to ``history`` and never extends ``big`` itself;
    - to insert tokens of its own (e.g. closing the reasoning), call :meth:`force` (``history`` without them) and
      append them to ``history``;
    - at the end call :meth:`settle` so ``big.tokens`` holds the conversation's tokens (prefix reuse stays exact).

    Tokens are decided a round at a time (up to k+1) and handed out one per call; :attr:`stats` has the acceptance
    rate. ``k`` is the most drafts per round; ``adaptive`` shrinks it by one after a rejection and grows it by one
    after a fully accepted round (between 1 and ``k``).
    """

    def __init__(self, big: KVSession, draft: KVSession, params: SamplingParams, *, k: int = 4,
                 adaptive: bool = True) -> None:
        if not big.all_logits:
            raise PonderError("The big model's session returns one row of logits, so it cannot verify drafts.",
                              "Open it with KVSession(..., all_logits=True).")
        if k < 1:
            raise PonderError(f"Speculative decoding needs at least 1 drafted token per round, not {k}.",
                              "Use k >= 1.")
        check_compatible(big.model_dir, draft.model_dir)
        self.big, self.draft, self.params = big, draft, params
        self.max_k, self.k, self.adaptive = k, k, adaptive
        self.size = max(big.vocab, draft.vocab)
        self.stats = SpeculativeStats()
        self._rng = np.random.default_rng(params.seed)
        self._queue: deque[int] = deque()
        self._logits: np.ndarray | None = None

    def start(self, logits: np.ndarray) -> None:
        """Begin after a prefill: ``logits`` are the big model's for the position after ``big.tokens``."""
        self._queue.clear()
        self._logits = np.array(logits, dtype=np.float32, copy=True)

    def next_token(self, history: Sequence[int]) -> int:
        """The next token after ``history``; runs a draft-and-verify round when none is waiting."""
        if self._queue:
            return self._queue.popleft()
        if self._logits is not None:  # right after start/force: the big model's logits are at hand
            logits, self._logits = self._logits, None
            if len(self.big.tokens) != len(history):
                raise PonderError("The speculative decoder lost track of the conversation.",
                                  "Call start() after the prefill and force() for inserted tokens.")
            return self._pick(distribution(logits, history, self.params, self.size))
        if len(self.big.tokens) != len(history) - 1 or self.big.tokens[-1:] != list(history[-2:-1]):
            raise PonderError("The speculative decoder lost track of the conversation.",
                              "Pass the history every emitted token was appended to.")
        burst = self._round(history)
        self._queue.extend(burst[1:])
        return burst[0]

    def force(self, history: Sequence[int], tokens: Sequence[int]) -> None:
        """Insert ``tokens`` after ``history`` (their own choice, not sampled); waiting tokens are dropped."""
        self._queue.clear()
        self.settle(history)
        self.start(self.big.extend(list(history[len(self.big.tokens):]) + list(tokens)))

    def settle(self, history: Sequence[int]) -> None:
        """Rewind the big model's cache to the longest prefix of ``history`` it holds (drop undelivered tokens)."""
        self.big.rewind(self.big.common_prefix(history))

    def _pick(self, probs: np.ndarray) -> int:
        if self.params.greedy:
            return int(np.argmax(probs))
        cum = np.cumsum(probs)
        return int(min(np.searchsorted(cum, self._rng.random() * cum[-1], side="right"), probs.size - 1))

    def _draft_logits(self, history: Sequence[int]) -> np.ndarray:
        d = self.draft
        keep = min(d.common_prefix(history), len(history) - 1)
        d.rewind(keep)
        return np.array(d.extend(list(history[keep:])), dtype=np.float32)

    def _round(self, history: Sequence[int]) -> list[int]:
        """One pass of the big model over the pending token (``history[-1]``) plus k drafts; returns the tokens
        decided (1 to k+1), with ``big`` holding all but the last of them."""
        big, params = self.big, self.params
        k = max(0, min(self.k, big.context - len(history), self.draft.context - len(history) + 1))
        t0 = time.perf_counter()
        drafts: list[int] = []
        qs: list[np.ndarray] = []
        if k:
            q_logits = self._draft_logits(history)
            for i in range(k):
                q = distribution(q_logits, [*history, *drafts], params, self.size)
                drafts.append(self._pick(q))
                qs.append(q)
                if i < k - 1:
                    q_logits = np.array(self.draft.extend([drafts[-1]]), dtype=np.float32)
        t1 = time.perf_counter()
        rows = big.extend_rows([history[-1], *drafts])
        self.stats.draft_s += t1 - t0
        self.stats.verify_s += time.perf_counter() - t1
        out: list[int] = []
        for i, (d, q) in enumerate(zip(drafts, qs, strict=True)):
            p = distribution(rows[i], [*history, *out], params, self.size)
            # greedy: keep the draft when it is the argmax; sampling: keep it with probability min(1, p(d) / q(d))
            ok = int(np.argmax(p)) == d if params.greedy else self._rng.random() * q[d] < p[d]
            if not ok:
                residual = np.maximum(p - q, 0.0)
                out.append(self._pick(residual if residual.sum() > 0 else p))
                big.rewind(len(history) + i)
                break
            out.append(d)
        else:
            out.append(self._pick(distribution(rows[k], [*history, *drafts], params, self.size)))
        accepted = len(out) - 1
        self.stats.proposed += k
        self.stats.accepted += accepted
        self.stats.rounds += 1
        self.stats.emitted += len(out)
        if self.adaptive and k:
            self.k = min(self.max_k, self.k + 1) if accepted == k else max(1, self.k - 1)
        return out


def speculative_generate(big: KVSession, draft: KVSession, prompt: Sequence[int], params: SamplingParams,
                         max_new_tokens: int, *, eos: Sequence[int] = (), k: int = 4, adaptive: bool = True,
                         chunk: int = 512) -> tuple[list[int], SpeculativeStats]:
    """Generate up to ``max_new_tokens`` after ``prompt`` (stopping before an ``eos`` token or at the context's
    end), reusing the cached prefix; returns the tokens and the acceptance figures. The plain loop, for tests and
    benchmarks; a chat uses :class:`SpeculativeStepper` directly."""
    stepper = SpeculativeStepper(big, draft, params, k=k, adaptive=adaptive)
    reused = min(big.common_prefix(prompt), len(prompt) - 1)
    big.rewind(reused)
    stepper.start(big.extend(list(prompt[reused:]), chunk))
    history = list(prompt)
    out: list[int] = []
    stop = set(eos)
    while len(out) < max_new_tokens and len(history) < big.context:
        token = stepper.next_token(history)
        if token in stop:
            break
        out.append(token)
        history.append(token)
    stepper.settle(history)
    return out, stepper.stats
