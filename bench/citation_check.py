"""Benchmark: how well the citation check (engine/documents/citations.py) tells a passage that supports a cited
sentence from one that does not, on a labelled set of (sentence, passage) pairs in English and Chinese.

The set is bench/data/citation_pairs.json, built with ``--build`` from the real documents of the retrieval
benchmark (bench/retrieval_quality.py: Debian manuals and Chinese man pages on this machine) and the hand-written
sentences of bench/data/citation_claims.json. Each sentence is paired with:

- the chunk of its document that holds the known answer (label: supported);
- the chunk of the same document that shares most words with the question but lacks the answer (unsupported: the
  passage a retriever would rank next to the right one, so a plausible wrong citation);
- for some, the same sentence with one fact changed (a number), against the right chunk (unsupported).

Chunks are cut as the index cuts them (engine/documents/chunk.py, sized in the embedder's tokens). The labels come
from the answer strings, so a wrong-citation passage that happens to say the same thing in other words would be
mislabelled; the set was read through for that.

Printed: for each signal alone (keyword overlap, embedding similarity) and for the combined check at the engine's
constants, accuracy, and precision/recall of *flagging* (the positive class is "unsupported": precision = of the
citations marked unsupported, the share that really are; recall = of the unsupported ones, the share marked),
per language and overall; with ``--sweep``, the best weight/threshold on the set.

Embedder: --embedder FOLDER, else $PONDER_EMBEDDER, else all-MiniLM-L6-v2 exported into --work (as the tests do).

Usage: python bench/citation_check.py [--build] [--sweep] [--work DIR] [--embedder DIR] [--show-errors]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.retrieval_quality import QUESTIONS, normalize, prepare_documents, resolve_embedder
from engine.documents import citations
from engine.documents.chunk import chunk_sections
from engine.documents.citations import Claim, embedding_similarity, judge, keyword_overlap
from engine.documents.embed import Embedder
from engine.documents.extract import extract
from engine.documents.segment import keyword_terms

DATA = Path(__file__).resolve().parent / "data"
CLAIMS = DATA / "citation_claims.json"
PAIRS = DATA / "citation_pairs.json"


def lang_of(doc: str) -> str:
    return "zh" if doc.startswith("zh-") else "en"


def build(embedder: Embedder, work: Path) -> list[dict[str, Any]]:
    """The labelled pairs from the documents and the hand-written sentences."""
    spec = json.loads(QUESTIONS.read_text(encoding="utf-8"))
    questions = {(q["doc"], q["answer"]): q["question"] for q in spec["questions"]}
    paths = prepare_documents(spec["documents"], work)
    claims = json.loads(CLAIMS.read_text(encoding="utf-8"))["claims"]
    chunks: dict[str, list[str]] = {}
    max_tokens = max(32, min(224, embedder.max_seq_length - 32))  # as engine/documents/pipeline.py
    pairs: list[dict[str, Any]] = []
    for c in claims:
        doc = c["doc"]
        if doc not in paths:
            print(f"skipped {doc}: document missing", file=sys.stderr)
            continue
        if doc not in chunks:
            sections = extract(paths[doc]).sections
            chunks[doc] = [ch.text for ch in chunk_sections(sections, embedder.count_tokens, max_tokens=max_tokens,
                                                            count_batch=embedder.count_tokens_batch)]
        answer = normalize(c["answer"])
        right = [t for t in chunks[doc] if answer in normalize(t)]
        if not right:
            print(f"skipped {doc}: no chunk holds {c['answer']!r}", file=sys.stderr)
            continue
        terms = keyword_terms(questions[(doc, c["answer"])])
        others = [t for t in chunks[doc] if answer not in normalize(t)]
        wrong = max(others, key=lambda t: sum(term in t.lower() for term in terms))
        lang = lang_of(doc)
        pairs.append({"lang": lang, "doc": doc, "kind": "right", "sentence": c["claim"], "passage": right[0],
                      "supported": True})
        pairs.append({"lang": lang, "doc": doc, "kind": "wrong passage", "sentence": c["claim"], "passage": wrong,
                      "supported": False})
        if "altered" in c:
            pairs.append({"lang": lang, "doc": doc, "kind": "altered fact", "sentence": c["altered"],
                          "passage": right[0], "supported": False})
    return pairs


def scores(pairs: list[dict[str, Any]], embedder: Embedder) -> list[dict[str, Any]]:
    """Each pair with its overlap and similarity."""
    cosines = embedding_similarity(embedder)([(p["sentence"], p["passage"]) for p in pairs])
    out = []
    for p, cos in zip(pairs, cosines, strict=True):
        overlap, _ = keyword_overlap(p["sentence"], p["passage"])
        out.append({**p, "overlap": overlap, "similarity": cos})
    return out


def metrics(rows: list[dict[str, Any]], flagged: Callable[[dict[str, Any]], bool]) -> str:
    """Accuracy and precision/recall of flagging (positive: unsupported) as one line."""
    tp = sum(1 for r in rows if flagged(r) and not r["supported"])
    fp = sum(1 for r in rows if flagged(r) and r["supported"])
    fn = sum(1 for r in rows if not flagged(r) and not r["supported"])
    correct = sum(1 for r in rows if flagged(r) != r["supported"])
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return (f"accuracy {correct / len(rows):.3f}  precision {precision:.3f}  recall {recall:.3f}  "
            f"(n={len(rows)}, unsupported {tp + fn}, flagged {tp + fp}, wrongly flagged {fp})")


def verdict(row: dict[str, Any], weight: float | None = None, threshold: float | None = None) -> bool:
    """The engine's verdict on a row (True: supported), optionally with other constants."""
    saved = citations.WEIGHT, citations.THRESHOLD
    try:
        if weight is not None:
            citations.WEIGHT = weight
        if threshold is not None:
            citations.THRESHOLD = threshold
        return judge(Claim(row["sentence"], (1,), 0, 0, 0), 1, row["passage"], row["similarity"]).supported
    finally:
        citations.WEIGHT, citations.THRESHOLD = saved


def sweep(rows: list[dict[str, Any]]) -> None:
    best: list[tuple[float, float, float]] = []
    for w in [i / 10 for i in range(11)]:
        for t in [i / 100 for i in range(20, 91, 2)]:
            acc = sum(1 for r in rows if verdict(r, w, t) == r["supported"]) / len(rows)
            best.append((acc, w, t))
    best.sort(reverse=True)
    print("best weight/threshold on the set:")
    for _, w, t in best[:8]:
        print(f"  weight {w:.1f}  threshold {t:.2f}  {metrics(rows, lambda r, w=w, t=t: not verdict(r, w, t))}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", action="store_true", help="rebuild bench/data/citation_pairs.json first")
    parser.add_argument("--sweep", action="store_true", help="also search weight and threshold on the set")
    parser.add_argument("--work", type=Path, help="work folder (the exported embedder, rendered man pages)")
    parser.add_argument("--embedder", help="embedder folder (default: $PONDER_EMBEDDER, else MiniLM)")
    parser.add_argument("--show-errors", action="store_true", help="print the pairs the check gets wrong")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="citation-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    embedder = Embedder(resolve_embedder(args.embedder, work))
    if args.build:
        pairs = build(embedder, work)
        PAIRS.write_text(json.dumps({"description": "Built by bench/citation_check.py --build; see its docstring.",
                                     "pairs": pairs}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {len(pairs)} pairs to {PAIRS}")
    pairs = json.loads(PAIRS.read_text(encoding="utf-8"))["pairs"]
    started = time.perf_counter()
    rows = scores(pairs, embedder)
    seconds = time.perf_counter() - started
    print(f"embedder {embedder.folder.name} ({embedder.precision}); {len(rows)} pairs scored in {seconds:.2f} s")
    print(f"constants: WEIGHT {citations.WEIGHT}, THRESHOLD {citations.THRESHOLD}, "
          f"KEYWORD_THRESHOLD {citations.KEYWORD_THRESHOLD}")
    for lang in ("en", "zh", "all"):
        part = [r for r in rows if lang in ("all", r["lang"])]
        print(f"[{lang}]")
        print(f"  keywords only   {metrics(part, lambda r: r['overlap'] < citations.KEYWORD_THRESHOLD)}")
        print(f"  embedding only  {metrics(part, lambda r: r['similarity'] < citations.THRESHOLD)}")
        print(f"  the check       {metrics(part, lambda r: not verdict(r))}")
        for kind in ("right", "wrong passage", "altered fact"):
            some = [r for r in part if r["kind"] == kind]
            if some:
                ok = sum(1 for r in some if verdict(r) == r["supported"])
                print(f"    {kind:14} {ok}/{len(some)} judged right")
    if args.sweep:
        sweep(rows)
    if args.show_errors:
        for r in rows:
            if verdict(r) != r["supported"]:
                print(f"WRONG ({r['kind']}, overlap {r['overlap']:.2f}, similarity {r['similarity']:.2f}): "
                      f"{r['sentence']}\n    passage: {' '.join(r['passage'].split())[:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
