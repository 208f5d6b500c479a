"""Documents in a conversation: the queue that survives a kill, answers that carry their sources, and a cited
passage found again in its file — real embedder, real sandboxed extraction, real model."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.chat.conversation import Regenerate, Reply, ReplyStarted, Send, regenerate, send
from engine.chat.storage import ConversationStore
from engine.documents.embed import Embedder
from engine.documents.extract import DocumentError
from engine.documents.index import DocumentIndex
from engine.documents.locate import locate
from engine.documents.pipeline import index_paths, index_pending, queue_paths
from engine.documents.retrieve import Source, retrieve
from engine.runtime import generate
from engine.runtime.generate import ChatModel, Controls, GenerationConfig
from engine.runtime.sampling import SamplingParams
from engine.runtime.template import Message
from tests.fixtures.documents import markdown_file, text_pdf
from tests.fixtures.embedder import embedder_dir

__all__ = ["embedder_dir"]
ROOT = Path(__file__).resolve().parents[2]
GREEDY = GenerationConfig(SamplingParams(temperature=0), max_new_tokens=12)


@pytest.fixture
def manual(tmp_path: Path) -> Path:
    return text_pdf(tmp_path / "manual.pdf", ["Chapter one explains installing Ponder on Windows.",
                                              "The capybara is the largest living rodent in the world.",
                                              "Chapter three covers uninstalling."])


def test_queue_survives_a_new_index_and_indexes_only_what_is_waiting(tmp_path: Path, manual: Path,
                                                                     embedder_dir: Path) -> None:
    guide = markdown_file(tmp_path / "guide.md")
    index = DocumentIndex(tmp_path / "d.db")
    assert queue_paths(index, [manual, guide], "c") == []
    index.close()
    index = DocumentIndex(tmp_path / "d.db")  # as after a restart: the queue is in the database
    assert index.pending("c") == [str(manual.resolve()), str(guide.resolve())]
    stages = [p.stage for p in index_pending(index, Embedder(embedder_dir), "c") if p.stage != "embed"]
    # both searchable by keywords first, then their vectors
    assert stages == ["extract", "searchable", "extract", "searchable", "indexed", "indexed"]
    assert index.pending("c") == []
    assert [p.stage for p in queue_paths(index, [manual, guide], "c")] == ["skipped", "skipped"]
    os.utime(guide)  # touched, same content: confirmed by hash, not embedded again
    assert queue_paths(index, [guide], "c") == [] and index.pending("c") == [str(guide.resolve())]
    assert [p.stage for p in index_pending(index, Embedder(embedder_dir), "c")] == ["skipped"]
    assert index.file_state("c", str(guide.resolve())).status == "indexed"  # type: ignore[union-attr]


KILLED_INDEXER = """
import sys
from pathlib import Path
from engine.cli import main
sys.exit(main(["docs", "add", sys.argv[1]]))
"""


def test_kill_during_indexing_then_restart_continues(tmp_path: Path, embedder_dir: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    for i in range(12):
        (folder / f"note{i:02}.md").write_text(f"# Note {i}\n\n" + f"Paragraph {i} about topic {i}. " * 200,
                                               encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PONDER_EMBEDDER": str(embedder_dir)}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_INDEXER, str(folder)], stdout=subprocess.PIPE, text=True,
                            env=env)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    while " indexed " not in first:  # every file is searchable by keywords first
        assert " searchable " in first, first
        first = proc.stdout.readline()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    db = Path(os.environ["PONDER_HOME"]) / "documents.db"
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = con.execute("SELECT f.status, f.chunks, COUNT(c.id) FROM files f LEFT JOIN chunks c ON c.file_id = f.id "
                       "GROUP BY f.id").fetchall()
    done_before = sum(status == "indexed" for status, _, _ in rows)
    assert 1 <= done_before < 12 and len(rows) == 12  # all searchable; some indexed, the rest still embedding
    assert all(declared == actual > 0 for status, declared, actual in rows if status == "indexed")
    con.close()

    out = subprocess.run([sys.executable, "-c", KILLED_INDEXER, str(folder)], capture_output=True, text=True,
                         env=env, check=True).stdout
    assert out.count(" skipped ") == done_before and out.count(" indexed ") == 12 - done_before
    assert out.count("] searchable ") == 12 - done_before
    states = DocumentIndex(db).files("default")
    assert len(states) == 12 and all(s.status == "indexed" for s in states)


@pytest.fixture
def model(converted: dict[tuple[str, str], Path]) -> ChatModel:
    return ChatModel(converted[("qwen2", "int4")], provider="cpu")


def test_a_reply_carries_its_sources_and_the_prompt_quotes_them(tmp_path: Path, manual: Path, embedder_dir: Path,
                                                                model: ChatModel,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    index, embedder = DocumentIndex(tmp_path / "d.db"), Embedder(embedder_dir)
    list(index_paths(index, [manual], embedder, collection="c"))
    prompts: list[list[Message]] = []
    original = generate.ChatModel.stream_chat

    def spy(self: ChatModel, messages: list[Message], *args: object, **kw: object) -> Iterator[object]:
        prompts.append(list(messages))
        return original(self, messages, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(generate.ChatModel, "stream_chat", spy)

    def retriever(question: str) -> list[Source]:
        return retrieve(index, embedder, "c", question, top_k=3)

    store = ConversationStore(tmp_path / "c.db")
    conv = store.create()
    events = list(send(store, Send(conv.id, "Which animal is the largest rodent?"),
                       Reply(model, "tiny", GREEDY, Controls(), retriever)))
    started = events[0]
    assert isinstance(started, ReplyStarted) and started.sources[0]["label"] == "manual.pdf, p. 2"
    user, reply = store.messages(conv.id)
    assert user.content == "Which animal is the largest rodent?"  # the person's words are kept as they wrote them
    assert reply.stats["sources"][0]["page"] == 2 and "capybara" in reply.stats["sources"][0]["text"]
    assert reply.stats["generated_tokens"] > 0  # the final stats keep the sources beside the figures
    assert "[1] (manual.pdf, p. 2)" in prompts[0][-1].content and "capybara" in prompts[0][-1].content

    nothing_relevant = Reply(model, "tiny", GREEDY, retriever=lambda q: [])
    list(regenerate(store, Regenerate(conv.id), nothing_relevant))
    assert store.messages(conv.id)[-1].stats["sources"] == []
    assert "could not find the answer in the documents" in prompts[1][-1].content
    assert prompts[1][-1].content.endswith("Question: Which animal is the largest rodent?")


def test_locate_finds_the_page_and_passage_even_after_the_file_changed(tmp_path: Path, manual: Path,
                                                                       embedder_dir: Path) -> None:
    index, embedder = DocumentIndex(tmp_path / "d.db"), Embedder(embedder_dir)
    list(index_paths(index, [manual], embedder, collection="c"))
    hit = retrieve(index, embedder, "c", "largest rodent", top_k=1)[0].hit
    passage = locate(Path(hit.path), hit.start, hit.end, hit.text)
    assert passage.page == 2 and passage.pages == [1, 2, 3] and not passage.moved
    assert passage.document.text[passage.start:passage.end] == hit.text
    a, b = passage.page_span(2)
    assert a <= passage.start < passage.end <= b

    text_pdf(manual, ["A new first page.", "Another page.", "The capybara is the largest living rodent in the world."])
    moved = locate(Path(hit.path), hit.start, hit.end, hit.text)
    assert moved.moved and moved.page == 3 and moved.document.text[moved.start:moved.end] == hit.text

    text_pdf(manual, ["Nothing about rodents any more."])
    with pytest.raises(DocumentError, match=r"no longer in manual\.pdf"):
        locate(Path(hit.path), hit.start, hit.end, hit.text)
    manual.unlink()
    with pytest.raises(DocumentError, match="is no longer at"):
        locate(Path(hit.path), hit.start, hit.end, hit.text)
