"""What a reply streams and how it is asked for: the events (:class:`TextDelta`, :class:`Notice`, one final
:class:`Finished` with its :class:`Stats`), the :class:`Controls` a caller holds while it runs (cancel, Answer now),
and the per-reply :class:`GenerationConfig` with its reasoning controls. :mod:`engine.runtime.generate` produces them;
the chat layer, the API and the window consume them."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from engine.runtime.sampling import SamplingParams
from engine.runtime.template import check_history_thoughts
from engine.system.errors import PonderError


@dataclass(frozen=True)
class TextDelta:
    """New text on one channel ("reasoning" or "answer"), with the tokens generated so far and the rate."""

    text: str
    channel: str
    tokens: int
    tokens_per_s: float


@dataclass(frozen=True)
class Notice:
    """Something the caller should know while generating: ``context_trimmed`` (``value`` turns dropped),
    ``loop_detected`` (``value`` = the loop's length in tokens; call ``answer_now()`` or ``cancel()``) or
    ``thinking_budget`` (the thought used its ``value`` tokens and was closed; the answer follows). Remote engines
    add ``control_unsupported`` (a reasoning control the server cannot honour; the message says which and what
    happens instead) and ``thinking_not_disabled`` (asked not to think, the remote thinks anyway)."""

    kind: str
    message: str
    value: int = 0


@dataclass(frozen=True)
class Stats:
    """Figures for one reply."""

    prompt_tokens: int
    reused_tokens: int
    generated_tokens: int
    reasoning_tokens: int
    answer_tokens: int
    time_to_first_token_s: float
    reasoning_s: float
    answer_s: float
    prefill_tokens_per_s: float
    decode_tokens_per_s: float
    total_s: float
    provider: str
    provider_reason: str = ""
    dropped_turns: int = 0
    context_used: int = 0
    context_size: int = 0
    reasoning_closed_by: str = ""  # "budget" or "answer_now" when the thought was closed for the model
    draft_acceptance: float | None = None  # speculative decoding: drafts kept / drafts proposed (None: no draft)


@dataclass(frozen=True)
class Finished:
    """The end of a reply: why it ended ("stop", "length", "stop_string", "cancelled") and what it said."""

    finish_reason: str
    reasoning: str
    answer: str
    reasoning_unfinished: bool
    stats: Stats
    token_ids: tuple[int, ...] = ()


Event = TextDelta | Notice | Finished


class Controls:
    """What the caller can do while a reply streams, from any thread: cancel, or end the reasoning now."""

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self._answer_now = threading.Event()

    def cancel(self) -> None:
        """Stop generating before the next token."""
        self._cancel.set()

    def answer_now(self) -> None:
        """Close the reasoning block; the model continues with the answer."""
        self._answer_now.set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancel.is_set()

    def take_answer_now(self) -> bool:
        """True (once) if :meth:`answer_now` was requested."""
        if self._answer_now.is_set():
            self._answer_now.clear()
            return True
        return False


THINKING_PRESETS = {"minimal": 256, "low": 1024, "medium": 4096, "high": 16384}
"""Thinking budgets by name, in tokens (the API's ``reasoning_effort``; the window's presets beside "no limit")."""


@dataclass(frozen=True)
class GenerationConfig:
    """Per-reply settings. ``thinking_budget``: the most reasoning tokens (None: no limit), then the thought is
    closed and the model answers. ``enable_thinking`` False: "don't think", only where the template supports it.
    ``history_thoughts``: "drop" or "keep" earlier turns' thoughts in the prompt (None: the model's default)."""

    sampling: SamplingParams = field(default_factory=SamplingParams)
    max_new_tokens: int = 2048
    stop: tuple[str, ...] = ()
    thinking_budget: int | None = None
    enable_thinking: bool = True
    history_thoughts: str | None = None

    def __post_init__(self) -> None:
        if self.thinking_budget is not None and (isinstance(self.thinking_budget, bool)
                                                 or not isinstance(self.thinking_budget, int)
                                                 or self.thinking_budget < 0):
            raise PonderError(f"The thinking budget must be a whole number of tokens, 0 or more, not "
                              f"{self.thinking_budget!r}.", "Give a token count, or none for no limit.")
        if self.history_thoughts is not None:
            check_history_thoughts(self.history_thoughts)
