"""Words for the keyword index, in Chinese as in English: text is cut into words by rjieba (jieba's dictionary and
HMM, in Rust), the same way when a passage is indexed and when a question is asked. The trigram index of earlier
versions stays beside it (:func:`trigram_terms`): retrieval fuses both keyword lists with the vector one, which
measured best on bench/retrieval_quality.py (see engine/documents/index.py).

The index stores each chunk as its words separated by spaces, in an FTS5 column whose tokenizer only splits at
spaces and punctuation (``unicode61``, with ``_`` kept inside words, Porter stemming for English). Chinese, written
without spaces, becomes searchable by words instead of overlapping 3-character pieces: a two-character word such as
"路径" is a term (the trigram index could not search anything shorter than three characters, and its pieces across
word boundaries, such as "的搜索", matched unrelated passages). The search mode of the cut also gives the parts of
long words and identifiers ("配置文件" → 配置, 文件, 配置文件; ``embed_passages`` → embed, passages,
embed_passages), so a question that uses a part still finds the whole. Common words of both languages
(:mod:`engine.documents.stopwords`) are dropped on both sides.

rjieba opens no connection and writes no cache file; its dictionary is compiled in and loads on first use (about
0.3 s).
"""

from __future__ import annotations

import re
from functools import cache
from types import ModuleType

from engine.documents.stopwords import STOPWORDS

FTS_TOKENIZER = "porter unicode61 remove_diacritics 2 tokenchars '_'"
MAX_TERMS = 16
_HAS_WORD_CHAR = re.compile(r"[^\W_]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_CJK_RUN = re.compile(_CJK.pattern + "+")
_LATIN_WORD = re.compile(r"[^\W_]+(?:[-'._][^\W_]+)*")


@cache
def _jieba() -> ModuleType:
    import rjieba  # imported on first use: loading its dictionary takes about 0.3 s

    return rjieba


def words(text: str) -> list[str]:
    """The words of ``text`` that can say what it is about: cut by jieba's search mode (long words also as their
    parts), lower-cased, without punctuation, spaces or common words, in order (repeats kept)."""
    out: list[str] = []
    for token in _jieba().cut_for_search(text):
        word = token.strip().lower().strip("_'")
        if word and _HAS_WORD_CHAR.search(word) and word not in STOPWORDS:
            out.append(word)
    return out


def index_text(text: str) -> str:
    """What the keyword index stores for a passage: its :func:`words` separated by spaces."""
    return " ".join(words(text))


def keyword_terms(text: str) -> list[str]:
    """The search terms of a question: its distinct :func:`words`, without single letters or digits (a single
    Chinese character is kept: 猫 is a word); at most :data:`MAX_TERMS`, longest first."""
    unique = [w for w in dict.fromkeys(words(text)) if len(w) > 1 or _CJK.match(w)]
    return sorted(unique, key=len, reverse=True)[:MAX_TERMS]


def trigram_terms(text: str) -> list[str]:
    """The search terms of a question for the trigram index kept beside the words: words of 3+ characters (not
    common ones), and runs of Chinese/Japanese/Korean as overlapping 3-character pieces; at most :data:`MAX_TERMS`,
    longest first."""
    terms: list[str] = []
    for run in _CJK_RUN.findall(text):
        terms.extend(run[i:i + 3] for i in range(len(run) - 2))
    for word in _LATIN_WORD.findall(_CJK_RUN.sub(" ", text)):
        if len(word) >= 3 and word.lower().split("'")[0] not in STOPWORDS:
            terms.append(word)
    unique = list(dict.fromkeys(terms))
    return sorted(unique, key=len, reverse=True)[:MAX_TERMS]


def match_query(terms: list[str]) -> str:
    """An FTS5 MATCH expression for any of ``terms`` (each quoted, so no word is read as an operator)."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
