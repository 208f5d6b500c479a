"""What the GUI thread does while a reply streams (bench/gui_bench.py measures the stalls): a chunk of the answer
is rendered again only when a formula it waited for has been typeset, and Python's full garbage collection waits
until the reply has ended."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

from desktop.chat import pieces
from desktop.chat.page import ChatPage
from desktop.chat.replying import FULL_COLLECTION_DEFERRED
from desktop.workers import InferenceThread
from engine.chat.storage import ConversationStore
from engine.system.settings import Settings
from tests.desktop.chat_scenes import begin, finish, rendered_docs, stream


def make_page(qtbot: Any, inference: InferenceThread, tmp_path: Path) -> ChatPage:
    page = ChatPage(ConversationStore(tmp_path / "c.db"), inference, lambda: Settings())
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    return page


def test_a_typeset_chunk_is_not_rendered_again_when_other_math_arrives(
        qtbot: Any, inference: InferenceThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = make_page(qtbot, inference, tmp_path)
    first = "The sum is $$\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}$$\n\n" + "Words to fill the chunk. " * 20 + "\n\n"
    begin(page, "q")
    tokens = stream(page, first, "answer")
    page._render_live()
    qtbot.waitUntil(lambda: page.math.idle, timeout=120000)
    page._render_live()
    assert any(doc.toHtml().count("ponder-math:") for doc in rendered_docs(page))  # the formula is an image
    rendered: list[str] = []
    real = pieces.render_markdown

    def counting(text: str, **kwargs: Any) -> Any:
        rendered.append(text)
        return real(text, **kwargs)

    monkeypatch.setattr(pieces, "render_markdown", counting)
    with qtbot.waitSignal(page.math.ready, timeout=120000):  # another formula, in a new chunk, is typeset
        stream(page, "And $x^2 + y^2 = z^2$ too.", "answer", tokens)
        page._render_live()
    page._render_live()
    qtbot.waitUntil(lambda: page.math.idle, timeout=120000)
    page._render_live()
    assert rendered and all("x^2" in text for text in rendered)  # only the chunk that waited was rendered again
    finish(page, "", first + "And $x^2 + y^2 = z^2$ too.")


def test_full_collection_waits_while_a_reply_streams(qtbot: Any, inference: InferenceThread, tmp_path: Path) -> None:
    page = make_page(qtbot, inference, tmp_path)
    before = gc.get_threshold()
    begin(page, "q")
    assert gc.get_threshold()[:2] == before[:2] and gc.get_threshold()[2] == FULL_COLLECTION_DEFERRED
    stream(page, "Hello there.", "answer")
    finish(page, "", "Hello there.")
    assert gc.get_threshold() == before
