"""The reasoning/answer split on scripted streams, with tags cut at every possible point; the loop guard."""

from __future__ import annotations

import pytest

from engine.runtime.reasoning import ANSWER, REASONING, LoopGuard, ReasoningSplitter
from engine.runtime.template import strip_reasoning


def run(chunks: list[str], starts_in_reasoning: bool = True) -> tuple[str, str, ReasoningSplitter]:
    splitter = ReasoningSplitter(starts_in_reasoning)
    text = {REASONING: "", ANSWER: ""}
    for chunk in chunks:
        for piece in splitter.feed(chunk):
            text[piece.channel] += piece.text
    for piece in splitter.finish():
        text[piece.channel] += piece.text
    return text[REASONING], text[ANSWER], splitter


def every_split(text: str) -> list[list[str]]:
    """The text as one chunk, as single characters, and cut in two at every position."""
    return [[text], list(text)] + [[text[:i], text[i:]] for i in range(1, len(text))]


@pytest.mark.parametrize("chunks", every_split("Let me think.\n</think>\n\nThe answer is 4."))
def test_no_opening_tag_everything_before_close_is_reasoning(chunks: list[str]) -> None:
    reasoning, answer, splitter = run(chunks)
    assert reasoning == "Let me think.\n" and answer == "The answer is 4."
    assert splitter.closed and not splitter.unfinished


@pytest.mark.parametrize("chunks", every_split("<think>\nHmm, 2+2.</think>Four."))
def test_output_that_opens_with_think(chunks: list[str]) -> None:
    assert run(chunks)[:2] == ("Hmm, 2+2.", "Four.")


@pytest.mark.parametrize("chunks", every_split("<think>plan</think>\n\nDone"))
def test_non_reasoning_model_that_thinks_anyway(chunks: list[str]) -> None:
    assert run(chunks, starts_in_reasoning=False)[:2] == ("plan", "Done")


def test_non_reasoning_model_plain_answer() -> None:
    reasoning, answer, splitter = run(["Hello ", "<b>there</b>"], starts_in_reasoning=False)
    assert (reasoning, answer) == ("", "Hello <b>there</b>") and not splitter.unfinished


@pytest.mark.parametrize("chunks", every_split("Still thinking about </thi"))
def test_generation_ending_before_close_is_unfinished(chunks: list[str]) -> None:
    reasoning, answer, splitter = run(chunks)
    assert reasoning == "Still thinking about </thi" and answer == "" and splitter.unfinished


def test_a_lookalike_tag_is_text() -> None:
    assert run(["a </thinking> b </think>c"])[:2] == ("a </thinking> b ", "c")


def test_only_the_first_close_ends_reasoning_and_stray_tags_are_never_text() -> None:
    assert run(["x</think>y</think>z"])[:2] == ("x", "yz")


@pytest.mark.parametrize("chunks", every_split("a<think>b\n</think>\n\n</think><think>Four</think>. <thi"))
def test_stray_tags_are_dropped_from_both_channels(chunks: list[str]) -> None:
    reasoning, answer, splitter = run(chunks)
    assert (reasoning, answer) == ("ab\n", "Four. <thi") and splitter.closed


@pytest.mark.parametrize("chunks", every_split("<think>plan</think>\n<think>\nDone</think>"))
def test_stray_tags_after_a_model_opened_thought(chunks: list[str]) -> None:
    assert run(chunks, starts_in_reasoning=False)[:2] == ("plan", "Done")


def test_strip_reasoning_from_history() -> None:
    assert strip_reasoning("I think...\n</think>\n\nAnswer") == "Answer"
    assert strip_reasoning("Plain answer") == "Plain answer"


def test_loop_guard_fires_on_a_repeated_span_once() -> None:
    guard = LoopGuard(min_period=4, repeats=4)
    fired = [guard.push(t) for t in list(range(100, 137)) + [1, 2, 3, 4, 5, 6] * 6]
    periods = [p for p in fired if p]
    assert periods == [6]


def test_loop_guard_ignores_varied_text() -> None:
    guard = LoopGuard()
    assert not any(guard.push((i * 7919) % 1000) for i in range(3000))
