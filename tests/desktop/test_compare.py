"""Compare: one question sent to two real tiny models side by side; both replies stream into their own column,
reasoning included, and each is saved as a conversation of its own."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from desktop.chat.page import ChatPage
from desktop.workers import InferenceThread
from engine.chat.storage import ConversationStore
from engine.models.store import InstalledModel, install
from engine.runtime.session import KVSession
from engine.system.settings import Settings
from tests.desktop.chat_scenes import shoot_themes

SETTINGS = Settings(provider="cpu", temperature=0.0, max_tokens=60, context_length=512)


@pytest.fixture
def slow_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each decode step takes 15 ms longer, as on a bigger model, so the reasoning streams over many batches (the
    tiny model is so fast that a whole reply fits in one batch of the worker's 33 ms)."""
    original = KVSession.extend

    def extend(self: KVSession, tokens: Any, chunk: int = 512) -> Any:
        time.sleep(0.015)
        return original(self, tokens, chunk)

    monkeypatch.setattr(KVSession, "extend", extend)


def test_one_question_two_models_side_by_side(qtbot: Any, inference: InferenceThread, tiny_model: InstalledModel,
                                              converted: dict[tuple[str, str], Path], tmp_path: Path,
                                              screenshots: Path, themed: Any, slow_model: None) -> None:
    shutil.copytree(converted[("llama", "int4")], tmp_path / "llama-build")
    install(tmp_path / "llama-build", "tiny-llama")
    page = ChatPage(ConversationStore(tmp_path / "c.db"), inference, lambda: SETTINGS)
    qtbot.addWidget(page)
    page.resize(1280, 760)
    page.show()
    page.refresh_models()
    assert page.model_box.count() == 2
    page.header.compare_button.click()
    assert page.center.currentWidget() is page.compare
    left, right = page.compare.sides
    assert {left.model_box.currentText(), right.model_box.currentText()} == {"tiny", "tiny-llama"}

    reasoning_seen = {0: False, 1: False}

    def watch(n: int) -> Any:
        def seen(*_: Any) -> None:
            side = page.compare.sides[n]
            if side.live is not None and side.live.thinking and side.live.reasoning and side.live.reasoning_open:
                reasoning_seen[n] = True
        return seen

    left.model.dataChanged.connect(watch(0))
    right.model.dataChanged.connect(watch(1))
    with qtbot.waitSignal(page.compare.both_finished, timeout=180000):
        page.compare.input.setPlainText("What is 2+2?")
        page.compare.send()
    for side in (left, right):
        assert [r.role for r in side.model.rows] == ["user", "assistant"]
        reply = side.model.rows[-1]
        assert reply.content and not reply.streaming and reply.stats.get("generated_tokens")
        assert side.conversation_id is not None
        stored = page.store.messages(side.conversation_id)
        assert [m.role for m in stored] == ["user", "assistant"] and stored[-1].content == reply.content
    assert left.conversation_id != right.conversation_id
    assert all(side.model.rows[-1].reasoning.strip() for side in (left, right)), "a reply without its reasoning"
    assert reasoning_seen[0] and reasoning_seen[1], f"a reasoning stream was not shown while it streamed: " \
        f"{reasoning_seen}"
    assert left.model.rows[-1].model != right.model.rows[-1].model
    shoot_themes(qtbot, page, screenshots, "compare")
    page.show_compare(False)
    assert page.center.currentWidget() is page.conversation_pane
