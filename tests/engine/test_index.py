"""The document index: fused retrieval, all-or-nothing file updates, change detection, surviving a kill."""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

import numpy as np
import pytest

from engine.documents.chunk import Chunk
from engine.documents.index import DocumentIndex
from tests.fixtures.processes import kill_writer_midway


def unit(seed: int, dims: int = 16) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(dims).astype(np.float32)
    return v / np.linalg.norm(v)


def chunks(texts: list[str], page: int = 1) -> list[Chunk]:
    out, pos = [], 0
    for t in texts:
        out.append(Chunk(t, pos, pos + len(t), page, ("Doc",)))
        pos += len(t) + 2
    return out


@pytest.fixture
def index(tmp_path: Path) -> DocumentIndex:
    idx = DocumentIndex(tmp_path / "d.db")
    idx.create_collection("c")
    return idx


def test_vector_and_keyword_retrieval_fused(index: DocumentIndex) -> None:
    texts = ["The capybara is the largest rodent.", "Photosynthesis turns light into sugar.",
             "Ponder runs models on your own computer.", "配置文件位于用户数据目录中。"]
    vecs = np.stack([unit(i) for i in range(4)])
    index.put_file("c", "/docs/a.md", size=1, mtime_ns=1, sha256="x", kind="md", title="A", chunks=chunks(texts),
                   embeddings=vecs)
    by_vector = index.search("c", vecs[1], "", top_k=2)
    assert by_vector[0].text == texts[1] and by_vector[0].vector_rank == 0 and by_vector[0].keyword_rank is None
    by_keyword = index.search("c", unit(99), "capybara rodent", top_k=1)
    assert by_keyword[0].text == texts[0] and by_keyword[0].keyword_rank == 0
    both = index.search("c", vecs[2], "Ponder models", top_k=4)
    assert both[0].text == texts[2] and both[0].vector_rank == 0 and both[0].keyword_rank == 0
    chinese = index.search("c", unit(98), "用户数据目录", top_k=1)
    assert chinese[0].text == texts[3]
    hit = both[0]
    assert (hit.path, hit.page, hit.heading, hit.title) == ("/docs/a.md", 1, ("Doc",), "A")


def test_a_failed_update_keeps_the_old_chunks(index: DocumentIndex) -> None:
    index.put_file("c", "f", size=1, mtime_ns=1, sha256="a", kind="txt", title="", chunks=chunks(["old text"]),
                   embeddings=unit(1)[None, :])
    bad = [Chunk("new", 0, 3, 1, ()), Chunk("broken", None, 0, 1, ())]  # type: ignore[arg-type]
    with pytest.raises(sqlite3.IntegrityError):
        index.put_file("c", "f", size=2, mtime_ns=2, sha256="b", kind="txt", title="", chunks=bad,
                       embeddings=np.stack([unit(2), unit(3)]))
    state = index.file_state("c", "f")
    assert state is not None and state.size == 1 and state.chunks == 1
    assert [h.text for h in index.search("c", unit(1), "", top_k=5)] == ["old text"]


def test_change_detection_failures_and_removal(index: DocumentIndex) -> None:
    assert index.add_pending("c", "f", 10, 5)  # unknown: queued
    index.put_file("c", "f", size=10, mtime_ns=5, sha256="h", kind="txt", title="", chunks=chunks(["x"]),
                   embeddings=unit(0)[None, :])
    assert not index.add_pending("c", "f", 10, 5)  # indexed as it is now
    assert index.add_pending("c", "f", 11, 6)  # changed: queued again
    assert index.confirm_unchanged("c", "f", 11, 6, "h")  # touched but same content
    assert index.file_state("c", "f").status == "indexed"  # type: ignore[union-attr]
    index.mark_failed("c", "g.pdf", "g.pdf is encrypted (password-protected).", size=3, mtime_ns=3)
    failed = index.file_state("c", "g.pdf")
    assert failed is not None and failed.status == "failed" and "encrypted" in failed.error
    assert not index.add_pending("c", "g.pdf", 3, 3)  # not retried until it changes
    index.remove_file("c", "f")
    assert index.search("c", unit(0), "", top_k=5) == []


WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from pathlib import Path
    from engine.documents.chunk import Chunk
    from engine.documents.index import DocumentIndex
    idx = DocumentIndex(Path(sys.argv[1]))
    idx.create_collection("c")
    rng = np.random.default_rng(0)
    for i in range(100000):
        n = 50
        cs = [Chunk(f"file {i} chunk {j} " * 20, j, j + 1, 1, ()) for j in range(n)]
        idx.put_file("c", f"file{i}.txt", size=i, mtime_ns=i, sha256=str(i), kind="txt", title="",
                     chunks=cs, embeddings=rng.standard_normal((n, 384)).astype(np.float32))
        if i == 3:
            print("indexing", flush=True)
""")


def test_kill_during_indexing_leaves_every_file_whole(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    kill_writer_midway(WRITER, db, "indexing", 0.5)
    con = sqlite3.connect(db)
    rows = con.execute("SELECT f.chunks, COUNT(c.id) FROM files f LEFT JOIN chunks c ON c.file_id = f.id "
                       "GROUP BY f.id").fetchall()
    assert len(rows) >= 4 and all(declared == actual == 50 for declared, actual in rows)
    index = DocumentIndex(db)
    assert len(index.search("c", np.ones(384, np.float32) / np.sqrt(384), "chunk", top_k=3)) == 3


def test_keyword_terms_drop_common_words_and_segment_chinese() -> None:
    from engine.documents.index import keyword_terms

    assert keyword_terms("How do I write the output of time to a file?") == ["output", "write", "time", "file"]
    assert keyword_terms("What's ninja_required_version for?")[0] == "ninja_required_version"
    assert {"ninja", "required", "version"} <= set(keyword_terms("What's ninja_required_version for?"))
    terms = keyword_terms("如何设置man的搜索路径？")
    assert set(terms) == {"设置", "man", "搜索", "路径"}  # words; 如何 and 的 are common words
    assert keyword_terms("what is it?") == [] and keyword_terms("这是什么？") == []


def test_an_index_of_trigrams_only_gains_words(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    index = DocumentIndex(db)
    index.create_collection("c")
    index.put_file("c", "f", size=1, mtime_ns=1, sha256="a", kind="txt", title="",
                   chunks=chunks(["配置文件位于用户数据目录中。", "Unrelated text."]),
                   embeddings=np.stack([unit(1), unit(2)]))
    index.close()
    con = sqlite3.connect(db)  # as an earlier version left it: the trigram table only
    con.executescript("DROP TRIGGER chunk_words_ad; DROP TABLE chunk_words;")
    con.close()
    index = DocumentIndex(db)
    assert index.keyword_search("c", "数据 目录") == index.trigram_search("c", "用户数据目录") == [1]
    assert index.search("c", unit(9), "数据", top_k=1)[0].text == "配置文件位于用户数据目录中。"


def test_vectors_fill_in_behind_the_keywords(index: DocumentIndex) -> None:
    texts = ["The capybara is the largest rodent.", "Photosynthesis turns light into sugar.", "Penguins cannot fly."]
    index.put_file("c", "f", size=1, mtime_ns=1, sha256="h", kind="txt", title="", chunks=chunks(texts))
    state = index.file_state("c", "f")
    assert state is not None and state.searchable and index.pending("c") == ["f"]
    assert index.search("c", unit(1), "", top_k=3) == []  # no vector yet: nothing found by vector...
    assert [h.text for h in index.search("c", unit(1), "rodent")] == [texts[0]]  # ...but by keywords
    missing = index.unembedded("c", "f")
    assert [t for _, t, _ in missing] == texts and missing[0][2] == ("Doc",)
    assert not index.put_vectors("c", "f", [missing[1][0]], unit(1)[None, :])  # one of three: still pending
    assert index.search("c", unit(1), "", top_k=3)[0].text == texts[1]  # the cached matrix grew
    assert not index.put_vectors("c", "f", [missing[1][0]], unit(5)[None, :])  # already has one: unchanged
    assert index.put_vectors("c", "f", [missing[0][0], missing[2][0]], np.stack([unit(0), unit(2)]))
    state = index.file_state("c", "f")
    assert state is not None and state.status == "indexed" and state.embedded == 3 and index.pending("c") == []
    by_vector = index.search("c", unit(1), "", top_k=3)
    assert len(by_vector) == 3 and by_vector[0].text == texts[1]  # all three by vector now
    index.put_file("c", "f", size=2, mtime_ns=2, sha256="g", kind="txt", title="", chunks=chunks(["new"]))
    assert not index.put_vectors("c", "f", [missing[0][0]], unit(0)[None, :])  # a replaced chunk: ignored
    assert index.search("c", unit(0), "", top_k=3) == [] and index.search("c", unit(0), "new")[0].text == "new"
