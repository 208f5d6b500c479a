"""Chunking that respects structure: a chunk never crosses a page or heading boundary, is sized in tokens of the
embedding model, overlaps its predecessor within the same section, and keeps its character span."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

_PARAGRAPH = re.compile(r"\n\s*\n")
_SENTENCE = re.compile(r"(?<=[.!?。！？；;])\s*")


class SectionLike(Protocol):
    """What the chunker needs of an extracted section."""

    @property
    def text(self) -> str: ...
    @property
    def page(self) -> int | None: ...
    @property
    def heading(self) -> tuple[str, ...]: ...
    @property
    def start(self) -> int: ...


@dataclass(frozen=True)
class Chunk:
    """A retrievable piece of a document: its text, where it is (page or heading path) and its character span."""

    text: str
    start: int
    end: int
    page: int | None
    heading: tuple[str, ...]


def _pieces(text: str, count: Callable[[str], int], max_tokens: int) -> list[tuple[int, int]]:
    """Spans of paragraphs, split into sentences (and, failing that, hard cuts) when one is too long."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for match in [*_PARAGRAPH.finditer(text), None]:
        end = match.start() if match else len(text)
        if text[pos:end].strip():
            spans.extend(_split_long(text, pos, end, count, max_tokens))
        pos = match.end() if match else len(text)
    return spans


def _split_long(text: str, start: int, end: int, count: Callable[[str], int], max_tokens: int
                ) -> list[tuple[int, int]]:
    if count(text[start:end]) <= max_tokens:
        return [(start, end)]
    out: list[tuple[int, int]] = []
    pos = start
    for match in _SENTENCE.finditer(text, start, end):
        if match.end() > pos and match.start() > pos:
            out.append((pos, match.start()))
            pos = match.end()
    if pos < end:
        out.append((pos, end))
    result: list[tuple[int, int]] = []
    for s, e in out:
        if count(text[s:e]) <= max_tokens:
            result.append((s, e))
            continue
        step = max(1, (e - s) * max_tokens // max(1, count(text[s:e])))  # hard cut, proportional in characters
        result.extend((i, min(e, i + step)) for i in range(s, e, step))
    return result


@dataclass(frozen=True)
class _Run:
    """Consecutive sections under the same heading on the same page, as one text (joined as in the document)."""

    text: str
    page: int | None
    heading: tuple[str, ...]
    start: int


def _runs(sections: Sequence[SectionLike]) -> list[_Run]:
    """Sections merged while they follow each other (a blank line apart) with the same page and heading path, so
    a heading's paragraphs pack into chunks together instead of one tiny chunk per paragraph."""
    runs: list[_Run] = []
    for section in sections:
        last = runs[-1] if runs else None
        if (last is not None and last.page == section.page and last.heading == tuple(section.heading)
                and last.start + len(last.text) + 2 == section.start):
            runs[-1] = _Run(last.text + "\n\n" + section.text, last.page, last.heading, last.start)
        else:
            runs.append(_Run(section.text, section.page, tuple(section.heading), section.start))
    return runs


def embedding_text(chunk: Chunk) -> str:
    """What is embedded for a chunk: its heading path first (the context a paragraph alone lacks), then its text."""
    return " › ".join(chunk.heading) + "\n" + chunk.text if chunk.heading else chunk.text


def chunk_sections(sections: Sequence[SectionLike], count_tokens: Callable[[str], int], *, max_tokens: int = 256,
                   overlap_tokens: int = 32) -> list[Chunk]:
    """Chunks of at most ``max_tokens`` (paragraphs of a heading packed together; long ones split at sentences),
    each repeating up to ``overlap_tokens`` of the previous chunk's end when both come from the same run of
    sections (same heading, same page)."""
    chunks: list[Chunk] = []
    for section in _runs(sections):
        text = section.text
        spans = _pieces(text, count_tokens, max_tokens)
        sizes = [count_tokens(text[s:e]) for s, e in spans]
        i, previous_first = 0, -1
        while i < len(spans):
            # overlap: repeat the previous chunk's last pieces that fit the budget (never its first piece)
            back, budget = i, overlap_tokens
            while back - 1 > previous_first and sizes[back - 1] <= budget:
                back -= 1
                budget -= sizes[back]
            total = sum(sizes[back:i]) + sizes[i]
            if total > max_tokens:
                back, total = i, sizes[i]
            j = i + 1
            while j < len(spans) and total + sizes[j] <= max_tokens:
                total += sizes[j]
                j += 1
            begin, end = spans[back][0], spans[j - 1][1]
            chunks.append(Chunk(text[begin:end], section.start + begin, section.start + end, section.page,
                                tuple(section.heading)))
            previous_first, i = back, j
    return chunks
