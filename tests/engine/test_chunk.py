"""Chunking keeps structure, sizes and spans."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from engine.documents.chunk import chunk_sections


@dataclass(frozen=True)
class Sec:
    text: str
    page: int | None
    heading: tuple[str, ...]
    start: int


def words(text: str) -> int:
    return len(text.split())


def test_chunks_never_cross_sections_and_keep_spans() -> None:
    full = "Intro para one.\n\nIntro para two.\n\nPage two text here."
    sections = [Sec(full[:32], 1, (), 0), Sec(full[34:], 2, (), 34)]
    chunks = chunk_sections(sections, words, max_tokens=100)
    assert [c.page for c in chunks] == [1, 2]
    for c in chunks:
        assert full[c.start:c.end] == c.text


def test_long_sections_split_at_sentences_with_overlap() -> None:
    paragraphs = [" ".join(f"w{p}_{i}" for i in range(30)) + "." for p in range(10)]
    text = "\n\n".join(paragraphs)
    chunks = chunk_sections([Sec(text, None, ("Guide", "Setup"), 100)], words, max_tokens=70, overlap_tokens=30)
    assert len(chunks) > 3
    assert all(words(c.text) <= 70 for c in chunks)
    assert all(c.heading == ("Guide", "Setup") for c in chunks)
    for a, b in itertools.pairwise(chunks):
        assert b.start < a.end, "consecutive chunks overlap"
        assert text[b.start - 100:b.end - 100] == b.text
    covered = set()
    for c in chunks:
        covered.update(range(c.start - 100, c.end - 100))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_a_single_huge_sentence_is_cut_hard() -> None:
    text = " ".join(["token"] * 1000)
    chunks = chunk_sections([Sec(text, 3, (), 0)], words, max_tokens=100)
    assert all(words(c.text) <= 101 for c in chunks) and len(chunks) >= 10


def test_chinese_sentences() -> None:
    text = "。".join(["这是一个很长的句子用来测试分块" * 3] * 20) + "。"
    chunks = chunk_sections([Sec(text, 1, (), 0)], lambda t: len(t), max_tokens=200, overlap_tokens=0)
    assert all(len(c.text) <= 200 for c in chunks) and "".join(c.text for c in chunks).replace("。", "") == \
        text.replace("。", "")


def test_paragraphs_under_one_heading_pack_together_and_the_heading_is_embedded() -> None:
    from engine.documents.chunk import embedding_text

    parts = ["Install", "Run the installer.", "Then restart.", "Use", "Open the app."]
    full = "\n\n".join(parts)
    starts = list(itertools.accumulate([0] + [len(p) + 2 for p in parts[:-1]]))
    headings = [("Install",), ("Install",), ("Install",), ("Use",), ("Use",)]
    sections = [Sec(p, None, h, s) for p, h, s in zip(parts, headings, starts, strict=True)]
    chunks = chunk_sections(sections, words, max_tokens=100)
    assert [c.text for c in chunks] == ["Install\n\nRun the installer.\n\nThen restart.", "Use\n\nOpen the app."]
    assert all(full[c.start:c.end] == c.text for c in chunks)
    assert embedding_text(chunks[1]) == "Use\nUse\n\nOpen the app."
