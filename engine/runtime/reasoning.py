"""Splitting a model's output stream into reasoning and answer, and noticing reasoning that loops.

R1 distills' prompt ends with ``<think>\\n``, so output usually starts inside the reasoning and has no opening tag:
everything before the first ``</think>`` is reasoning. Outputs that do open with ``<think>`` are handled too, as
are tags split across tokens, and output that ends before ``</think>`` (reasoning left unfinished).

Stray tags are never text: a ``<think>`` inside the reasoning, and any ``<think>`` or ``</think>`` after the first
``</think>`` (a model that closes its thought twice), are dropped from both channels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.runtime.template import THINK_CLOSE, THINK_OPEN

REASONING = "reasoning"
ANSWER = "answer"
_START, _AFTER_OPEN, _REASONING, _AFTER_CLOSE, _ANSWER = range(5)


@dataclass(frozen=True)
class Piece:
    """Text of one channel."""

    channel: str
    text: str


def _partial_suffix(text: str, *tags: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of one of ``tags``."""
    for n in range(min(max(map(len, tags)) - 1, len(text)), 0, -1):
        if any(n < len(tag) and text.endswith(tag[:n]) for tag in tags):
            return n
    return 0


def _cut_strays(buf: str, strays: tuple[str, ...]) -> tuple[str, str]:
    """(``buf`` without the ``strays`` tags, the tail held back because it may still become a tag)."""
    for tag in strays:
        buf = buf.replace(tag, "")
    keep = _partial_suffix(buf, THINK_OPEN, THINK_CLOSE)
    return buf[: len(buf) - keep], buf[len(buf) - keep:]


class ReasoningSplitter:
    """Feed text deltas; get back pieces labelled reasoning or answer, with the tags removed."""

    def __init__(self, starts_in_reasoning: bool = True) -> None:
        self._default = _REASONING if starts_in_reasoning else _ANSWER
        self._state = _START
        self._held = ""
        self.closed = False  # saw </think>
        self._answer_chars = 0
        # where in the answer text a </think> came without any <think> before it, output having started in the
        # answer: the text before it was reasoning after all (a server that opened <think> in the prompt)
        self.orphan_close: int | None = None

    @property
    def in_reasoning(self) -> bool:
        """True while output is (or, at the start, will be by default) reasoning."""
        return self._state in (_AFTER_OPEN, _REASONING) or (self._state == _START and self._default == _REASONING)

    @property
    def unfinished(self) -> bool:
        """Reasoning that never reached ``</think>``."""
        return self.in_reasoning and not self.closed

    def feed(self, text: str) -> list[Piece]:
        """Split ``text`` (any size; tags may straddle calls) into pieces."""
        buf, self._held = self._held + text, ""
        out: list[Piece] = []
        while buf:
            if self._state == _START:
                head = buf.lstrip()
                if not head or (len(head) < len(THINK_OPEN) and THINK_OPEN.startswith(head)):
                    self._held = buf  # may still become "<think>"
                    break
                if head.startswith(THINK_OPEN):
                    self._state, buf = _AFTER_OPEN, head[len(THINK_OPEN):]
                else:
                    self._state = self._default
            elif self._state == _AFTER_OPEN:
                buf = buf.lstrip("\n")
                if buf:
                    self._state = _REASONING
            elif self._state == _REASONING:
                idx = buf.find(THINK_CLOSE)
                if idx >= 0:
                    text = buf[:idx].replace(THINK_OPEN, "")
                    if text:
                        out.append(Piece(REASONING, text))
                    self._state, self.closed, buf = _AFTER_CLOSE, True, buf[idx + len(THINK_CLOSE):]
                    continue
                text, self._held = _cut_strays(buf, (THINK_OPEN,))
                if text:
                    out.append(Piece(REASONING, text))
                break
            elif self._state == _AFTER_CLOSE:
                buf = buf.lstrip()
                tag = next((t for t in (THINK_OPEN, THINK_CLOSE) if buf.startswith(t)), None)
                if tag is not None:
                    buf = buf[len(tag):]  # a stray tag before the answer
                elif buf and _partial_suffix(buf, THINK_OPEN, THINK_CLOSE) == len(buf):
                    self._held = buf  # may still become a stray tag
                    break
                elif buf:
                    self._state = _ANSWER
            else:
                if self.orphan_close is None and not self.closed and THINK_CLOSE in buf:
                    before = buf[: buf.index(THINK_CLOSE)].replace(THINK_OPEN, "")
                    self.orphan_close = self._answer_chars + len(before)
                text, self._held = _cut_strays(buf, (THINK_OPEN, THINK_CLOSE))
                if text:
                    out.append(Piece(ANSWER, text))
                    self._answer_chars += len(text)
                break
        return out

    def finish(self) -> list[Piece]:
        """Release what is held back at the end of generation."""
        held, self._held = self._held, ""
        if self._state == _AFTER_CLOSE:
            held = held.lstrip()
        if not held or self._state == _AFTER_OPEN:
            return []
        return [Piece(REASONING if self.in_reasoning else ANSWER, held)]


class LoopGuard:
    """Detects reasoning stuck in a loop: the last ``repeats`` spans of some length (in tokens) are identical."""

    def __init__(self, min_period: int = 4, max_period: int = 200, repeats: int = 4, every: int = 4) -> None:
        self.min_period, self.max_period, self.repeats, self.every = min_period, max_period, repeats, every
        self._tokens: list[int] = []
        self._quiet_until = 0

    def push(self, token: int) -> int:
        """Add a token; return the loop's period in tokens when a loop is found (once per loop), else 0."""
        self._tokens.append(token)
        n = len(self._tokens)
        if n % self.every or n < self._quiet_until or n < self.min_period * self.repeats:
            return 0
        tail = np.asarray(self._tokens[-self.max_period * self.repeats:], dtype=np.int64)
        for period in range(self.min_period, min(self.max_period, tail.size // self.repeats) + 1):
            window = tail[-period * self.repeats:].reshape(self.repeats, period)
            if (window == window[0]).all():
                self._quiet_until = n + period * self.repeats  # report again only if it keeps looping
                return period
        return 0
