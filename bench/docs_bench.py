"""Benchmark: document indexing throughput (pages per second, extraction + chunking + embedding + indexing) on
real documents found on this machine (PDFs and HTML shipped by Debian packages under /usr/share/doc).

Needs an exported embedder: PONDER_EMBEDDER=folder (see `ponder docs embedder PATH`).
Usage: PONDER_EMBEDDER=... python bench/docs_bench.py [FILES...]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pypdf import PdfReader

from engine.documents.embed import Embedder
from engine.documents.index import DocumentIndex
from engine.documents.pipeline import embedder_folder, index_paths

DEFAULT = [Path("/usr/share/doc/libtasn1-doc/libtasn1.pdf"),
           Path("/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf")]


def main() -> None:
    files = [Path(a) for a in sys.argv[1:]] or [p for p in DEFAULT if p.is_file()]
    if not files:
        sys.exit("no documents found; pass some PDF files")
    pages = sum(len(PdfReader(str(f)).pages) for f in files if f.suffix == ".pdf")
    embedder = Embedder(embedder_folder(), threads=os.cpu_count())
    with tempfile.TemporaryDirectory() as tmp:
        index = DocumentIndex(Path(tmp) / "d.db")
        t0 = time.perf_counter()
        chunks = 0
        for p in index_paths(index, files, embedder, collection="bench"):
            if p.stage == "indexed":
                chunks += p.done
            if p.stage == "failed":
                print("failed:", p.message)
        seconds = time.perf_counter() - t0
    print(f"{len(files)} files, {pages} PDF pages, {chunks} chunks in {seconds:.1f} s: "
          f"{pages / seconds:.1f} pages/s, {chunks / seconds:.1f} chunks/s (embedder {embedder.precision})")


if __name__ == "__main__":
    main()
