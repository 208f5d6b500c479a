"""Chinese keyword retrieval by words (rjieba): questions of two-character words find their passages in a small
corpus with known answers, where the trigram index of earlier versions found nothing; mixed Chinese/English text
and code identifiers keep working; common words of both languages are not searched."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from engine.documents.chunk import Chunk
from engine.documents.index import DocumentIndex
from engine.documents.segment import index_text, keyword_terms, words

NO_VECTOR = np.zeros(16, np.float32)  # the corpus has no vectors: retrieval is by keywords alone
# passage, then questions whose answer is that passage (each built of two-character words)
CORPUS: list[tuple[str, list[str]]] = [
    ("备份数据之前，请先关闭程序，然后把整个文件夹复制到移动硬盘。", ["怎么备份数据？", "硬盘 复制"]),
    ("如果忘记密码，可以在登录页面点击重置，系统会发送邮件。", ["忘记密码怎么办", "重置 邮件"]),
    ("打印机卡纸时，打开前盖，慢慢取出纸张，不要用力拉扯。", ["打印机卡纸", "取出纸张"]),
    ("电池续航不足的原因通常是屏幕亮度太高或者后台应用太多。", ["电池续航为什么短", "屏幕亮度"]),
    ("更新软件可以修复漏洞，建议每月检查一次新版本。", ["修复漏洞", "检查新版本"]),
    ("网络连接失败时，先检查路由器，再重启电脑。", ["网络连接失败", "重启 路由器"]),
    ("搜索路径由环境变量决定，也可以在配置文件中修改。", ["搜索路径", "环境变量"]),
    ("咖啡因会影响睡眠质量，晚上最好少喝咖啡。", ["睡眠质量", "咖啡"]),
]


@pytest.fixture
def index(tmp_path: Path) -> DocumentIndex:
    idx = DocumentIndex(tmp_path / "d.db")
    idx.create_collection("c")
    texts = [passage for passage, _ in CORPUS]
    texts += ["The output of ninja_required_version is checked first.", "Ponder 使用 ONNX Runtime 在本地运行模型。"]
    chunks, pos = [], 0
    for t in texts:
        chunks.append(Chunk(t, pos, pos + len(t), 1, ()))
        pos += len(t) + 2
    idx.put_file("c", "zh.txt", size=1, mtime_ns=1, sha256="x", kind="txt", title="", chunks=chunks)  # no vectors
    return idx


def test_two_character_word_questions_find_their_passages(index: DocumentIndex) -> None:
    for passage, questions in CORPUS:
        for question in questions:
            hits = index.search("c", NO_VECTOR, question, top_k=3)  # keywords only: no vector exists
            assert hits and hits[0].text == passage, (question, [h.text for h in hits])


def test_the_trigram_index_found_none_of_them(tmp_path: Path) -> None:
    """What the words replace: an FTS5 trigram index cannot match a two-character word at all."""
    con = sqlite3.connect(tmp_path / "t.db")
    con.execute("CREATE VIRTUAL TABLE t USING fts5(text, tokenize='trigram')")
    con.executemany("INSERT INTO t (text) VALUES (?)", [(p,) for p, _ in CORPUS])
    for word in ("备份", "密码", "路径", "咖啡"):
        assert con.execute("SELECT COUNT(*) FROM t WHERE t MATCH ?", (f'"{word}"',)).fetchone()[0] == 0
    assert len(keyword_terms("搜索路径")) == 2  # the same question as words: 搜索, 路径


def test_mixed_text_identifiers_and_common_words(index: DocumentIndex) -> None:
    assert index.search("c", NO_VECTOR, "ONNX 本地 模型")[0].text.startswith("Ponder 使用")
    assert index.search("c", NO_VECTOR, "What does ninja_required_version do?")[0].text.startswith("The output")
    assert index.search("c", NO_VECTOR, "required version")[0].text.startswith("The output")  # parts of the identifier
    assert index.search("c", NO_VECTOR, "Runtime")[0].text.startswith("Ponder")
    assert words("这是什么？What is the output?") == ["output"]  # common words of both languages dropped
    assert "配置文件" in index_text("配置文件") and "配置" in index_text("配置文件")  # long words and their parts
    assert keyword_terms("outputs") == ["outputs"] and index.search("c", NO_VECTOR, "outputs")  # English stems match
