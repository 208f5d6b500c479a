"""Checked citations: after a documents answer is complete, each sentence that cites a source (``[1]``,
``[2, 3]``, as :func:`engine.documents.retrieve.cited_prompt` asks) is compared with the passage it cites, and a
citation the passage does not support is marked as such (never hidden).

Two signals, both cheap enough to run after every answer on the CPU:

- **keyword overlap**: the share of the sentence's words found in the passage, with the same words the keyword
  index uses (:func:`engine.documents.segment.words`: jieba's cut for Chinese, common words of both languages
  dropped) and English endings folded ("installs" = "installed" = "install");
- **embedding similarity**: the cosine between the sentence and the passage, with the embedder retrieval already
  loaded: the best of the whole passage and each of its sentences (a claim usually restates one of them).

A citation is supported when ``WEIGHT * similarity + (1 - WEIGHT) * overlap`` reaches :data:`THRESHOLD`
(both chosen by measurement on bench/data/citation_pairs.json with bench/citation_check.py), and no number
of the sentence (a version, a size, an exit code) is missing from the passage. Without an embedder, overlap alone
decides (against :data:`KEYWORD_THRESHOLD`).

Only sentences with a citation are checked; code blocks are left out. The verdicts are plain data
(:meth:`Verdict.to_dict`), kept with the answer so the transcript shows them again when the conversation is
reopened.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.documents.embed import TextEmbedder
from engine.documents.segment import words

# chosen on bench/data/citation_pairs.json (113 pairs, en + zh; bench/citation_check.py --sweep) with MiniLM int8:
# accuracy 0.938, and of the citations marked unsupported 0.966 are (recall 0.918); 0.60-0.64 at weights 0.4-0.6
# all measure within 0.02, so 0.62 sits in the middle. Keywords alone: accuracy 0.779 (precision 0.929).
WEIGHT = 0.5
THRESHOLD = 0.62
KEYWORD_THRESHOLD = 0.5

CITATION = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
"""A citation group as answers write it: ``[1]`` or ``[2, 3]`` (the same pattern the transcript links)."""
_FENCE = re.compile(r"^(?:```|~~~).*?(?:^(?:```|~~~)[^\n]*$|\Z)", re.S | re.M)
# a sentence ends after 。！？； (and their ASCII forms followed by a space or the end), or at a line break
_END = re.compile(r"[。！？；]+|[.!?;]+(?=\s|$|\[)|\n")
_NUMBER = re.compile(r"(?<![A-Za-z\d.])\d+(?:\.\d+)*")
_MARKUP = re.compile(r"(?m)^\s*(?:[-*+]|\d+[.)]|#+|>)\s+|\*\*|__|`")
_SUFFIX = re.compile(r"(?:ing|ed|es|s)$")
# rendered man pages and some PDFs put a space between Chinese characters ("建 立 系 統"): words need them joined
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff\uf900-\ufaff]) +(?=[\u3400-\u9fff\uf900-\ufaff])")

SimilarityFn = Callable[[Sequence[tuple[str, str]]], list[float]]
"""Cosine similarity of each (sentence, passage) pair."""


@dataclass(frozen=True)
class Claim:
    """A cited sentence: its text without the citation markers, the sources it cites, the span of the cited text
    in the answer, and which citation group of the answer it is (counted from 0, code blocks left out)."""

    text: str
    numbers: tuple[int, ...]
    start: int
    end: int
    marker: int


@dataclass(frozen=True)
class Verdict:
    """Whether source ``number`` supports ``sentence`` (the citation group ``marker`` of the answer), with the
    figures that decided it and why, in words."""

    marker: int
    number: int
    sentence: str
    supported: bool
    score: float
    similarity: float | None
    overlap: float
    missing: tuple[str, ...]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The verdict as kept with an answer (JSON)."""
        return {"marker": self.marker, "number": self.number, "sentence": self.sentence,
                "supported": self.supported, "score": round(self.score, 4),
                "similarity": None if self.similarity is None else round(self.similarity, 4),
                "overlap": round(self.overlap, 4), "missing": list(self.missing), "reason": self.reason}


def _without_code(answer: str) -> str:
    """``answer`` with fenced code blocks blanked out (same length, so spans stay valid)."""
    return _FENCE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), answer)


def _clean(text: str) -> str:
    text = CITATION.sub(" ", text)
    text = _MARKUP.sub(" ", text)
    return " ".join(text.split()).strip(" ,;:，、：")


def cited_claims(answer: str) -> list[Claim]:
    """The cited sentences of ``answer``, one per citation group, in order.

    A group right after the end of a sentence ("… on Windows. [1]") cites that sentence; inside a sentence
    ("Ponder runs on Windows [1] and Linux [2].") it cites the words since the previous group of the sentence
    (the whole sentence so far when those are too few to say anything)."""
    text = _without_code(answer)
    ends = [m.end() for m in _END.finditer(text)]
    claims: list[Claim] = []
    previous_marker_end = 0
    for marker, match in enumerate(CITATION.finditer(text)):
        numbers = tuple(dict.fromkeys(int(n) for n in match.group(1).split(",")))
        # the sentence the group belongs to: from the last sentence end before it that leaves some words
        start = 0
        for end in ends:
            if end > match.start():
                break
            if _clean(text[end:match.start()]):
                start = end
        since = max(start, previous_marker_end)
        piece = _clean(text[since:match.start()])
        if len(words(piece)) < 2:
            since = start
            piece = _clean(text[start:match.start()])
        previous_marker_end = match.end()
        if piece:
            claims.append(Claim(piece, numbers, since, match.start(), marker))
    return claims


def _fold(word: str) -> str:
    """An English word without its common ending (so "installs" matches "installed"); other words as they are."""
    if word.isascii() and len(word) > 4:
        return _SUFFIX.sub("", word)
    return word


def _terms(text: str) -> list[str]:
    """The words of ``text`` that carry its content, folded; numbers and single letters left out."""
    out: list[str] = []
    for w in words(_CJK_GAP.sub("", text)):
        if w.isdigit() or (len(w) == 1 and w.isascii()):
            continue
        out.append(_fold(w))
    return list(dict.fromkeys(out))


def numbers_of(text: str) -> set[str]:
    """The numbers written in ``text`` ("10.1", "8" in "8GB"; not the 2 of "bzip2")."""
    return set(_NUMBER.findall(text))


def keyword_overlap(sentence: str, passage: str) -> tuple[float, tuple[str, ...]]:
    """The share of the sentence's content words that the passage contains (1.0 for a sentence without any), and
    the words it lacks."""
    terms = _terms(sentence)
    if not terms:
        return 1.0, ()
    have = set(_terms(passage))
    missing = tuple(t for t in terms if t not in have)
    return 1 - len(missing) / len(terms), missing


def judge(claim: Claim, number: int, passage: str, similarity: float | None) -> Verdict:
    """The verdict on one citation: ``claim`` citing source ``number`` whose text is ``passage`` (a pure function:
    ``similarity`` is the embedding cosine of the two, None to decide on keywords alone)."""
    overlap, missing = keyword_overlap(claim.text, passage)
    if similarity is None:
        score, threshold = overlap, KEYWORD_THRESHOLD
    else:
        score, threshold = WEIGHT * similarity + (1 - WEIGHT) * overlap, THRESHOLD
    absent = sorted(numbers_of(claim.text) - numbers_of(passage))
    if not passage.strip():
        supported, reason = False, f"source [{number}] is not among the answer's sources"
    elif absent:
        supported, reason = False, f"the passage does not contain {', '.join(absent)}"
    elif score < threshold:
        supported = False
        reason = (f"the passage shares {overlap:.0%} of the sentence's words"
                  + (f" and is {similarity:.2f} similar" if similarity is not None else "")
                  + f" (score {score:.2f} < {threshold:.2f})")
    else:
        supported, reason = True, f"score {score:.2f} ≥ {threshold:.2f}"
    return Verdict(claim.marker, number, claim.text, supported, score, similarity, overlap, missing, reason)


def check_citations(answer: str, passages: Mapping[int, str], similarity: SimilarityFn | None = None
                    ) -> list[Verdict]:
    """One verdict per citation of ``answer`` (a sentence citing two sources gets two), in order.

    ``passages`` maps each source number to its text; a citation of a number not there is unsupported.
    ``similarity`` gives the embedding cosine of (sentence, passage) pairs (see :func:`embedding_similarity`);
    without it the check uses keyword overlap alone."""
    pairs = [(claim, n) for claim in cited_claims(answer) for n in claim.numbers]
    scored = [(c.text, passages[n]) for c, n in pairs if passages.get(n, "").strip()]
    cosines = iter(similarity(scored) if similarity is not None and scored else [])
    out: list[Verdict] = []
    for claim, n in pairs:
        passage = passages.get(n, "")
        cosine = next(cosines) if similarity is not None and passage.strip() else None
        out.append(judge(claim, n, passage, cosine))
    return out


def passage_sentences(passage: str) -> list[str]:
    """The sentences of a passage (at least its whole text), for comparing a claim with each."""
    parts = [p.strip() for p in re.split(r"(?<=[。！？；.!?;])\s+|(?<=[。！？；])|\n+", passage)]
    return [p for p in parts if len(p) >= 8] or [passage.strip()]


def embedding_similarity(embedder: TextEmbedder) -> SimilarityFn:
    """A :data:`SimilarityFn` run by ``embedder``: for each pair, the best cosine of the sentence (as a query)
    against the whole passage and against each of its sentences (as passages). All texts go in two batches."""

    def similarity(pairs: Sequence[tuple[str, str]]) -> list[float]:
        if not pairs:
            return []
        claims = list(dict.fromkeys(c for c, _ in pairs))
        pieces: dict[str, list[str]] = {}
        for _, passage in pairs:
            if passage not in pieces:
                pieces[passage] = list(dict.fromkeys([passage.strip(), *passage_sentences(passage)]))
        texts = list(dict.fromkeys(t for group in pieces.values() for t in group))
        claim_vec = dict(zip(claims, embedder.embed_queries(claims), strict=True))
        text_vec = dict(zip(texts, embedder.embed_passages(texts), strict=True))
        out: list[float] = []
        for claim, passage in pairs:
            matrix = np.stack([text_vec[t] for t in pieces[passage]])
            out.append(float(np.max(matrix @ claim_vec[claim])))
        return out

    return similarity


def check_sources(answer: str, sources: Sequence[Mapping[str, Any]], embedder: TextEmbedder | None
                  ) -> list[Verdict]:
    """:func:`check_citations` for an answer and its sources as kept with it (``number`` and ``text`` of each,
    see :meth:`engine.documents.retrieve.Source.to_dict`), with ``embedder``'s similarity when given."""
    passages = {int(s["number"]): str(s.get("text", "")) for s in sources}
    return check_citations(answer, passages, embedding_similarity(embedder) if embedder is not None else None)
