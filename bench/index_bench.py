"""Benchmark: document-index query latency (vector + keyword, fused) at 10k and 100k chunks of 384 dims.

Usage: python bench/index_bench.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.documents.chunk import Chunk
from engine.documents.index import DocumentIndex

# a Zipf-distributed vocabulary of 20,000 words, like real text (a few very common words, a long tail)
VOCAB = [f"w{i}" for i in range(20_000)]


def main() -> None:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        index = DocumentIndex(Path(tmp) / "d.db")
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


if __name__ == "__main__":
    main()
