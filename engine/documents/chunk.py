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


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of the sentences of ``text[start:end]`` (the whitespace between them left out)."""
    out: list[tuple[int, int]] = []
    pos = start
    for match in _SENTENCE.finditer(text, start, end):
        if match.end() > pos and match.start() > pos:
            out.append((pos, match.start()))
            pos = match.end()
    if pos < end:
        out.append((pos, end))
    return out


def _paragraphs(text: str) -> list[list[tuple[int, int]]]:
    """The non-blank paragraphs of ``text``, each as its sentence spans."""
    out: list[list[tuple[int, int]]] = []
    pos = 0
    for match in [*_PARAGRAPH.finditer(text), None]:
        end = match.start() if match else len(text)
        if text[pos:end].strip():
            out.append(_sentences(text, pos, end))
        pos = match.end() if match else len(text)
    return out


def _pieces(text: str, paragraphs: list[list[tuple[int, int]]], sizes: dict[tuple[int, int], int], special: int,
            count: Callable[[str], int], max_tokens: int) -> list[tuple[int, int, int]]:
    """Spans with their token counts: whole paragraphs, or their sentences when a paragraph is too long, or hard
    cuts of a sentence too long itself. A paragraph's count is the sum of its sentences' (each counted once, in
    one batch) less the special tokens counted with each."""
    spans: list[tuple[int, int, int]] = []
    for sentences in paragraphs:
        total = sum(sizes[s] for s in sentences) - special * (len(sentences) - 1)
        if total <= max_tokens:
            spans.append((sentences[0][0], sentences[-1][1], total))
            continue
        for s, e in sentences:
            size = sizes[(s, e)]
            if size <= max_tokens:
                spans.append((s, e, size))
                continue
            step = max(1, (e - s) * max_tokens // max(1, size))  # hard cut, proportional in characters
            spans.extend((i, min(e, i + step), count(text[i:min(e, i + step)])) for i in range(s, e, step))
    return spans


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
                   overlap_tokens: int = 32, count_batch: Callable[[list[str]], list[int]] | None = None
                   ) -> list[Chunk]:
    """Chunks of at most ``max_tokens`` (paragraphs of a heading packed together; long ones split at sentences),
    each repeating up to ``overlap_tokens`` of the previous chunk's end when both come from the same run of
    sections (same heading, same page).

    Every sentence is counted once; ``count_batch`` (the tokenizer's batch encode) counts them all in one call,
    which for a book is many times faster than one ``count_tokens`` call per sentence."""
    runs = _runs(sections)
    paragraphs = [_paragraphs(run.text) for run in runs]
    keys = [(r, span) for r, run_paragraphs in enumerate(paragraphs) for sentences in run_paragraphs
            for span in sentences]
    texts = [runs[r].text[s:e] for r, (s, e) in keys]
    counts = count_batch(texts) if count_batch is not None else [count_tokens(t) for t in texts]
    sizes: list[dict[tuple[int, int], int]] = [{} for _ in runs]
    for (r, span), n in zip(keys, counts, strict=True):
        sizes[r][span] = n
    special = count_tokens("")  # tokens every count includes ([CLS] and [SEP])
    chunks: list[Chunk] = []
    for section, run_paragraphs, run_sizes in zip(runs, paragraphs, sizes, strict=True):
        text = section.text
        pieces = _pieces(text, run_paragraphs, run_sizes, special, count_tokens, max_tokens)
        spans = [(s, e) for s, e, _ in pieces]
        sizes_ = [n for _, _, n in pieces]
        i, previous_first = 0, -1
        while i < len(spans):
            # overlap: repeat the previous chunk's last pieces that fit the budget (never its first piece)
            back, budget = i, overlap_tokens
            while back - 1 > previous_first and sizes_[back - 1] <= budget:
                back -= 1
                budget -= sizes_[back]
            total = sum(sizes_[back:i]) + sizes_[i]
            if total > max_tokens:
                back, total = i, sizes_[i]
            j = i + 1
            while j < len(spans) and total + sizes_[j] <= max_tokens:
                total += sizes_[j]
                j += 1
            begin, end = spans[back][0], spans[j - 1][1]
            chunks.append(Chunk(text[begin:end], section.start + begin, section.start + end, section.page,
                                tuple(section.heading)))
            previous_first, i = back, j
    return chunks
