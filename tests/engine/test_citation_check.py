"""The citation check: a cited sentence against the passage it cites, with the real MiniLM embedder and the real
Chinese segmentation; and a documents reply, checked once complete, keeps its verdicts on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.chat.conversation import CitationsChecked, Reply, ReplyStarted, Send, send
from engine.chat.storage import ConversationStore
from engine.documents.citations import check_citations, check_sources, cited_claims, embedding_similarity
from engine.documents.embed import Embedder
from engine.documents.index import DocumentIndex
from engine.documents.pipeline import index_paths
from engine.documents.retrieve import Source, retrieve
from engine.runtime.generate import ChatModel, Controls, Finished, GenerationConfig
from engine.runtime.sampling import SamplingParams
from engine.system.errors import PonderError
from tests.fixtures.documents import text_pdf
from tests.fixtures.embedder import embedder_dir

__all__ = ["embedder_dir"]
GREEDY = GenerationConfig(SamplingParams(temperature=0), max_new_tokens=12)

RODENTS = ("The capybara is the largest living rodent in the world. It lives in South America, near rivers and "
           "lakes, and can stay under water for five minutes.")
INSTALL = ("To install Ponder on Windows, run the installer and choose a folder. The installer needs about 300 MB "
           "of free disk space and does not need administrator rights.")
MAN_CONFIG = "配置文件中的空行或以 # 开头的行将视为注释并忽略。每一行定义一个手册页路径。"
MAN_EXIT = "mandb 的退出状态：0 表示程序成功；2 表示命令行语法错误；3 表示子进程失败。"


@pytest.fixture(scope="module")
def embedder(embedder_dir: Path) -> Embedder:
    return Embedder(embedder_dir)


def test_sentences_and_their_citations_are_found() -> None:
    answer = ("Capybaras are the largest rodents. [1] They swim well [1] and need 300 MB [2, 3]. Nothing cited here.\n"
              "```\nx = items[1]\n```\n配置文件里以 # 开头的行是注释[4]。退出码 3 表示子进程失败。[5]")
    claims = cited_claims(answer)
    assert [(c.text, c.numbers, c.marker) for c in claims] == [
        ("Capybaras are the largest rodents.", (1,), 0),  # the group after the full stop cites that sentence
        ("They swim well", (1,), 1),
        ("and need 300 MB", (2, 3), 2),  # the words since the previous group of the same sentence
        ("配置文件里以 # 开头的行是注释", (4,), 3),  # nothing in the code block counts, nor uncited sentences
        ("退出码 3 表示子进程失败。", (5,), 4),
    ]
    assert answer[claims[0].start:claims[0].end].strip() == "Capybaras are the largest rodents."


def test_a_passage_that_does_not_contain_the_claim_is_marked_unsupported(embedder: Embedder) -> None:
    answer = "The capybara is the largest living rodent [1]. The installer needs about 300 MB of disk space [1]."
    verdicts = check_citations(answer, {1: RODENTS, 2: INSTALL}, embedding_similarity(embedder))
    assert [(v.marker, v.number, v.supported) for v in verdicts] == [(0, 1, True), (1, 1, False)]
    wrong = verdicts[1]
    assert wrong.sentence == "The installer needs about 300 MB of disk space"
    assert "300" in wrong.reason and wrong.overlap < 0.5 and wrong.similarity is not None
    assert wrong.similarity < verdicts[0].similarity  # type: ignore[operator]


def test_a_passage_that_contains_the_claim_in_other_words_supports_it(embedder: Embedder) -> None:
    answer = ("Ponder installs on Windows without administrator rights [2]. "
              "Capybaras, the biggest rodents alive, live near rivers in South America [1].")
    verdicts = check_citations(answer, {1: RODENTS, 2: INSTALL}, embedding_similarity(embedder))
    assert [(v.number, v.supported) for v in verdicts] == [(2, True), (1, True)], verdicts
    assert all(v.score >= 0.62 for v in verdicts)


def test_the_same_sentence_citing_the_wrong_source_is_unsupported(embedder: Embedder) -> None:
    answer = "Ponder installs on Windows without administrator rights [1][2]."
    verdicts = check_citations(answer, {1: RODENTS, 2: INSTALL}, embedding_similarity(embedder))
    assert [(v.number, v.supported) for v in verdicts] == [(1, False), (2, True)]
    assert verdicts[0].marker == 0 and verdicts[1].marker == 1


def test_a_changed_number_is_unsupported_even_when_the_words_match(embedder: Embedder) -> None:
    verdicts = check_citations("The installer needs about 800 MB of free disk space [1].", {1: INSTALL},
                               embedding_similarity(embedder))
    assert not verdicts[0].supported and "800" in verdicts[0].reason and verdicts[0].overlap > 0.8


def test_chinese_citations_are_checked(embedder: Embedder) -> None:
    answer = ("配置文件中以 # 开头的行会被当作注释忽略[1]。mandb 的退出状态 3 表示子进程失败[2]。"
              "配置文件的注释以 # 开头[2]。")
    verdicts = check_citations(answer, {1: MAN_CONFIG, 2: MAN_EXIT}, embedding_similarity(embedder))
    assert [(v.number, v.supported) for v in verdicts] == [(1, True), (2, True), (2, False)], verdicts
    assert "注释" in verdicts[2].missing and verdicts[2].overlap < 0.5
    changed = check_citations("mandb 的退出状态 4 表示子进程失败[1]。", {1: MAN_EXIT}, embedding_similarity(embedder))
    assert not changed[0].supported and "4" in changed[0].reason


def test_spaced_chinese_text_of_man_pages_is_read_as_words() -> None:
    spaced = "-r 此 參 數 是 用 來 建 立 系 統 帳 號 。 系 統 帳 號 的 UID 會 比 較 小 。"
    verdicts = check_citations("useradd 的這個參數是用來建立系統帳號的[1]。", {1: spaced})  # keywords alone
    assert verdicts[0].supported and verdicts[0].similarity is None and verdicts[0].overlap > 0.5


def test_uncited_sentences_and_unknown_sources(embedder: Embedder) -> None:
    assert check_citations("No citation in this answer at all.", {1: RODENTS}, embedding_similarity(embedder)) == []
    verdicts = check_sources("Capybaras are rodents [7].", [{"number": 1, "text": RODENTS}], embedder)
    assert len(verdicts) == 1 and not verdicts[0].supported and "not among" in verdicts[0].reason
    assert verdicts[0].to_dict()["supported"] is False and verdicts[0].to_dict()["marker"] == 0


def test_a_documents_reply_is_checked_once_complete_and_the_verdicts_are_kept(
        tmp_path: Path, embedder: Embedder, converted: dict[tuple[str, str], Path]) -> None:
    manual = text_pdf(tmp_path / "manual.pdf", ["Chapter one explains installing Ponder on Windows.", RODENTS])
    index = DocumentIndex(tmp_path / "d.db")
    list(index_paths(index, [manual], embedder, collection="c"))
    model = ChatModel(converted[("qwen2", "int4")], provider="cpu")
    calls: list[tuple[str, list[dict[str, Any]]]] = []

    def retriever(question: str) -> list[Source]:
        return retrieve(index, embedder, "c", question, top_k=3)

    def checker(answer: str, sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
        calls.append((answer, sources))
        # the model's own answer cites nothing; a cited sentence beside it shows the verdicts travel
        cited = answer + " The capybara lives near rivers in South America [1]. It needs 300 MB of disk [1]."
        return [v.to_dict() for v in check_sources(cited, sources, embedder)]

    store = ConversationStore(tmp_path / "c.db")
    conv = store.create()
    events = list(send(store, Send(conv.id, "Which animal is the largest rodent?"),
                       Reply(model, "tiny", GREEDY, Controls(), retriever, checker=checker)))
    assert isinstance(events[0], ReplyStarted)
    finished, checked = events[-2], events[-1]
    assert isinstance(finished, Finished) and isinstance(checked, CitationsChecked)  # after the answer is complete
    assert calls == [(finished.answer, events[0].sources)] and "capybara" in calls[0][1][0]["text"]
    assert [v["supported"] for v in checked.verdicts] == [True, False]
    reply = store.messages(conv.id)[-1]
    assert reply.id == checked.message_id and reply.state == "complete" and reply.content == finished.answer
    assert reply.stats["citations"] == checked.verdicts  # kept: reopening the conversation shows them
    assert reply.stats["sources"] and reply.stats["generated_tokens"] > 0  # beside the sources and the figures

    def broken(answer: str, sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
        raise PonderError("The embedder is gone.", "Get it again.")

    list(send(store, Send(conv.id, "Which animal is the largest rodent?"),
              Reply(model, "tiny", GREEDY, Controls(), retriever, checker=broken)))
    reply = store.messages(conv.id)[-1]
    assert reply.state == "complete" and "citations" not in reply.stats  # the answer stands, unchecked

    no_documents = list(send(store, Send(conv.id, "What is 2+2?"), Reply(model, "tiny", GREEDY, checker=checker)))
    assert not any(isinstance(e, CitationsChecked) for e in no_documents) and len(calls) == 1
