"""Two-stage indexing: a dropped file is searchable by keywords before its vectors exist, retrieval gains the
vectors as they arrive, and a run stopped while embedding resumes with the missing vectors only — real embedder
(all-MiniLM-L6-v2 on ONNX Runtime), real sandboxed extraction."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from engine.documents.embed import Embedder
from engine.documents.index import DocumentIndex
from engine.documents.pipeline import BATCH, IndexStage, index_paths, index_pending, queue_paths
from engine.documents.retrieve import retrieve
from engine.system.cancel import CancelToken
from engine.system.errors import Cancelled
from tests.fixtures.documents import text_pdf
from tests.fixtures.embedder import embedder_dir

__all__ = ["embedder_dir"]


class CountingEmbedder:
    """The real embedder, counting the passages it embeds (to prove what a resumed run recomputes)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.passages = inner, 0
        self.identity, self.dims, self.max_seq_length = inner.identity, inner.dims, inner.max_seq_length

    def embed_queries(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        return self.inner.embed_queries(texts, batch_size)

    def embed_passages(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        self.passages += len(texts)
        return self.inner.embed_passages(texts, batch_size)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def count_tokens_batch(self, texts: list[str]) -> list[int]:
        return self.inner.count_tokens_batch(texts)


def test_searchable_by_keywords_before_vectors_and_better_after(tmp_path: Path, embedder_dir: Path) -> None:
    manual = text_pdf(tmp_path / "manual.pdf", ["Chapter one explains installing Ponder on Windows.",
                                                "The capybara is the largest living rodent in the world.",
                                                "Chapter three covers uninstalling."])
    index, embedder = DocumentIndex(tmp_path / "d.db"), Embedder(embedder_dir)
    steps = index_paths(index, [manual], embedder, collection="c")
    stages = []
    for p in steps:
        stages.append(p.stage)
        if p.stage == IndexStage.SEARCHABLE:
            break
    assert stages == ["extract", "searchable"]
    state = index.file_state("c", str(manual.resolve()))
    assert state is not None and state.searchable and state.embedded == 0 and state.status == "pending"

    before = retrieve(index, embedder, "c", "largest rodent")
    assert before and before[0].hit.page == 2 and "capybara" in before[0].hit.text
    assert before[0].hit.keyword_rank == 0 and before[0].hit.vector_rank is None and before[0].hit.similarity == 0
    paraphrase = "Which animal is the biggest gnawing mammal on Earth?"  # no word in common with the passage
    assert all("capybara" not in s.hit.text for s in retrieve(index, embedder, "c", paraphrase))

    rest = [p.stage for p in steps]  # stage two: the vectors
    assert "embed" in rest and rest[-1] == "indexed"
    state = index.file_state("c", str(manual.resolve()))
    assert state is not None and state.status == "indexed" and state.embedded == state.chunks > 0

    after = retrieve(index, embedder, "c", "largest rodent")
    assert after[0].hit.chunk_id == before[0].hit.chunk_id and after[0].hit.vector_rank == 0
    assert after[0].hit.similarity > 0.3 and after[0].hit.score > before[0].hit.score
    found = retrieve(index, embedder, "c", paraphrase)
    assert found and "capybara" in found[0].hit.text and found[0].hit.keyword_rank is None


@pytest.fixture
def long_note(tmp_path: Path) -> Path:
    note = tmp_path / "note.md"
    paragraphs = [f"Paragraph {i} tells about topic number {i} and its many details. " * 12 for i in range(80)]
    note.write_text("# Note\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return note


def test_cancel_while_embedding_resumes_the_missing_vectors_only(tmp_path: Path, long_note: Path,
                                                                  embedder_dir: Path) -> None:
    index, embedder = DocumentIndex(tmp_path / "d.db"), CountingEmbedder(Embedder(embedder_dir))
    queue_paths(index, [long_note], "c")
    token = CancelToken()
    with pytest.raises(Cancelled):
        for p in index_pending(index, embedder, "c", cancel=token):
            if p.stage == IndexStage.EMBED:
                token.cancel()  # e.g. the app quits after the first batch of vectors was committed
    key = str(long_note.resolve())
    state = index.file_state("c", key)
    assert state is not None and state.chunks > 2 * BATCH and state.embedded == BATCH and state.searchable
    assert index.pending("c") == [key]  # still queued: it is not indexed until every vector is there
    assert retrieve(index, embedder, "c", "topic number 17")  # searchable meanwhile

    index.close()
    index = DocumentIndex(tmp_path / "d.db")  # as after a restart
    embedder.passages = 0
    stages = [p.stage for p in index_pending(index, embedder, "c")]
    assert "extract" not in stages and stages[0] == "searchable" and stages[-1] == "indexed"
    assert embedder.passages == state.chunks - BATCH  # only the missing ones
    final = index.file_state("c", key)
    assert final is not None and final.status == "indexed" and final.embedded == final.chunks == state.chunks

    # a file changed while only searchable is extracted again, not resumed
    queue_paths(index, [long_note], "c")
    assert index.pending("c") == []  # unchanged and indexed: nothing to do
    long_note.write_text("# Note\n\nNow it is about penguins only.\n", encoding="utf-8")
    queue_paths(index, [long_note], "c")
    steps = index_pending(index, embedder, "c")
    assert [next(steps).stage, next(steps).stage] == ["extract", "searchable"]
    steps.close()
    long_note.write_text("# Note\n\nNow it is about puffins instead.\n", encoding="utf-8")  # changed again
    queue_paths(index, [long_note], "c")
    stages = [p.stage for p in index_pending(index, embedder, "c")]
    assert stages[:2] == ["extract", "searchable"] and stages[-1] == "indexed"
    assert "puffins" in retrieve(index, embedder, "c", "puffins")[0].hit.text
