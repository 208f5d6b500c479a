"""The chat screen end to end through the real runtime and a real tiny ONNX model."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from desktop.chat.page import ChatPage
from desktop.chat.transcript import Row
from desktop.workers import InferenceThread
from engine.chat.storage import ConversationStore
from engine.models.store import InstalledModel
from engine.runtime.session import KVSession
from engine.system.settings import Settings

SETTINGS = Settings(provider="cpu", temperature=0.0, max_tokens=120, context_length=512)


@pytest.fixture
def slow_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each decode step takes 15 ms longer, like a bigger model on a slower machine, so the stream is visible."""
    original = KVSession.extend

    def extend(self: KVSession, tokens: Any, chunk: int = 512) -> Any:
        time.sleep(0.015)
        return original(self, tokens, chunk)

    monkeypatch.setattr(KVSession, "extend", extend)


def make_page(qtbot: Any, inference: InferenceThread, tmp_path: Path) -> ChatPage:
    page = ChatPage(ConversationStore(tmp_path / "c.db"), inference, lambda: SETTINGS)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    return page


def ask(qtbot: Any, page: ChatPage, text: str) -> None:
    qtbot.keyClicks(page.input, text)
    qtbot.keyClick(page.input, Qt.Key.Key_Return)


def snapshots(page: ChatPage) -> list[tuple[bool, str, str]]:
    seen: list[tuple[bool, str, str]] = []
    original = page._on_events

    def spy(events: list[Any]) -> None:
        original(events)
        live = page._live
        if live is not None:
            seen.append((live.reasoning_open, live.reasoning, live.content))

    page._job_spy = spy  # type: ignore[attr-defined]
    page._on_events = spy  # type: ignore[method-assign]
    return seen


def live_row(page: ChatPage) -> Row:
    return page.model.rows[-1]


def wait_done(qtbot: Any, page: ChatPage, trigger: Callable[[], None], timeout: int = 60000) -> Any:
    with qtbot.waitSignal(page.reply_finished, timeout=timeout) as blocker:
        trigger()
    qtbot.waitUntil(lambda: not page.busy, timeout=timeout)
    return blocker.args[0]


def test_question_streams_reasoning_then_answer_and_is_saved(qtbot: Any, inference: InferenceThread,
                                                             tiny_model: InstalledModel, slow_model: None,
                                                             tmp_path: Path, screenshots: Path) -> None:
    page = make_page(qtbot, inference, tmp_path)
    seen = snapshots(page)
    shot: dict[str, bool] = {}

    def screenshot_while_thinking() -> None:
        if page._live is not None and page._live.thinking and len(page._live.reasoning) > 12 and not shot:
            page.view.viewport().repaint()
            page.grab().save(str(screenshots / "chat-reasoning-open.png"))
            shot["open"] = True

    page.model.dataChanged.connect(lambda *_: screenshot_while_thinking())
    done = wait_done(qtbot, page, lambda: ask(qtbot, page, "What is 2+2?"))
    assert done.answer == "The answer is 4."
    thinking = [s for s in seen if s[0] and s[1] and not s[2]]
    answering = [s for s in seen if s[2]]
    assert thinking, "the reasoning block was never shown open while the model thought"
    assert len({s[1] for s in thinking}) > 1, "the reasoning did not stream"
    assert answering and not answering[-1][0], "the reasoning block did not collapse when the answer started"
    assert len({s[2] for s in answering}) > 1, "the answer did not stream"
    row = live_row(page)
    assert row.content == "The answer is 4." and not row.reasoning_open
    page.view.viewport().repaint()
    page.grab().save(str(screenshots / "chat-reasoning-collapsed.png"))
    assert shot.get("open")

    # saved, and there after a restart
    conv_id = page.conversation_id
    page2 = make_page(qtbot, inference, tmp_path)
    assert page2.conversations.count() == 1 and page2.conversations.item(0).text() == "What is 2+2?"
    page2.conversations.setCurrentRow(0)
    assert page2.conversation_id == conv_id
    assert [(r.role, r.content) for r in page2.model.rows] == [("user", "What is 2+2?"),
                                                                ("assistant", "The answer is 4.")]
    assert "Two plus two" in page2.model.rows[1].reasoning


def test_reasoning_block_toggles(qtbot: Any, inference: InferenceThread, tiny_model: InstalledModel,
                                 tmp_path: Path) -> None:
    page = make_page(qtbot, inference, tmp_path)
    wait_done(qtbot, page, lambda: ask(qtbot, page, "What is 2+2?"))
    row = live_row(page)
    assert not row.reasoning_open
    page._on_action("toggle", row.id, "")
    assert row.reasoning_open
    page._on_action("toggle", row.id, "")
    assert not row.reasoning_open


def test_stop_mid_answer(qtbot: Any, inference: InferenceThread, tiny_model: InstalledModel, slow_model: None,
                         tmp_path: Path) -> None:
    page = make_page(qtbot, inference, tmp_path)
    page.model.dataChanged.connect(lambda *_: page.stop() if page._live and page._live.content else None)
    done = wait_done(qtbot, page, lambda: ask(qtbot, page, "What is 2+2?"))
    assert done.finish_reason == "cancelled"
    assert done.answer and done.answer != "The answer is 4." and "The answer is 4.".startswith(done.answer)
    stored = page.store.messages(page.conversation_id or "")[-1]
    assert stored.state == "cancelled" and stored.content == done.answer
    assert live_row(page).state == "cancelled"


def test_answer_now_mid_reasoning(qtbot: Any, inference: InferenceThread, tiny_model: InstalledModel,
                                  slow_model: None, tmp_path: Path) -> None:
    page = make_page(qtbot, inference, tmp_path)

    def maybe_answer_now(*_: Any) -> None:
        if page._live and page._live.thinking and len(page._live.reasoning) >= 8 and page.answer_now_button.isVisible():
            qtbot.mouseClick(page.answer_now_button, Qt.MouseButton.LeftButton)

    page.model.dataChanged.connect(maybe_answer_now)
    done = wait_done(qtbot, page, lambda: ask(qtbot, page, "What is 2+2?"))
    assert not done.reasoning_unfinished and done.answer
    assert len(done.reasoning.strip()) < len("Two plus two. Add them: the sum is four.")
    assert not page.answer_now_button.isVisible()


def test_regenerate_and_edit_and_resend(qtbot: Any, inference: InferenceThread, tiny_model: InstalledModel,
                                        tmp_path: Path) -> None:
    page = make_page(qtbot, inference, tmp_path)
    wait_done(qtbot, page, lambda: ask(qtbot, page, "What is 2+2?"))
    first_reply = live_row(page).id
    wait_done(qtbot, page, lambda: page._on_action("regenerate", first_reply, ""))
    assert [r.role for r in page.model.rows] == ["user", "assistant"]
    assert live_row(page).id != first_reply and live_row(page).content == "The answer is 4."

    user = page.model.rows[0]
    page.edit(user.id)
    assert page.input.toPlainText() == "What is 2+2?" and page.edit_label.isVisible()
    page.input.clear()
    wait_done(qtbot, page, lambda: ask(qtbot, page, "Name a fast animal."))
    assert [(r.role, r.content) for r in page.model.rows] == [("user", "Name a fast animal."),
                                                               ("assistant", "The cheetah.")]
    stored = page.store.messages(page.conversation_id or "")
    assert [m.content for m in stored] == ["Name a fast animal.", "The cheetah."]


def test_sidebar_search_rename_export_delete(qtbot: Any, inference: InferenceThread, tiny_model: InstalledModel,
                                             tmp_path: Path) -> None:
    page = make_page(qtbot, inference, tmp_path)
    wait_done(qtbot, page, lambda: ask(qtbot, page, "Say hello in Chinese."))
    conv_id = page.conversation_id or ""
    page.new_conversation()
    wait_done(qtbot, page, lambda: ask(qtbot, page, "Name a fast animal."))
    page.search.setText("你好")
    assert [page.conversations.item(i).text() for i in range(page.conversations.count())] == ["Say hello in Chinese."]
    page.search.clear()
    page.rename(conv_id, "Greetings")
    assert "Greetings" in [page.conversations.item(i).text() for i in range(page.conversations.count())]
    page.export(conv_id, "md", tmp_path / "c.md")
    assert (tmp_path / "c.md").read_text(encoding="utf-8").startswith("# Greetings")
    page.delete(conv_id, confirm=False)
    assert page.conversations.count() == 1


def test_markdown_output_is_not_executed_or_fetched(qtbot: Any, inference: InferenceThread, tmp_path: Path) -> None:
    from desktop.chat.transcript import message_html

    page = make_page(qtbot, inference, tmp_path)
    row = Row(id=1, role="assistant", content='<img src="http://example.com/x.png"> ![t](http://example.com/y.png) '
              "<script>alert(1)</script> [site](http://example.com)")
    html, _ = message_html(row, page.palette())
    assert "<img" not in html and "<script" not in html and 'href="http' not in html
    assert "&lt;img" in html


def test_loop_warning_is_visible(qtbot: Any, inference: InferenceThread, tmp_path: Path) -> None:
    from engine.chat.conversation import ReplyStarted
    from engine.runtime.generate import Notice

    page = make_page(qtbot, inference, tmp_path)
    conv = page.store.create("loop")
    page.open_conversation(conv.id)
    msg = page.store.append(conv.id, "assistant", "", state="streaming")
    page._job = (None, None, conv.id)  # type: ignore[assignment]  # as if a reply were running
    page._on_events([ReplyStarted(conv.id, msg, None),
                     Notice("loop_detected", "The reasoning repeats itself every 6 tokens.", 6)])
    assert page.warning.isVisible() and "Answer now" in page.warning.text()
    assert page.answer_now_button.isVisible()
    assert "⚠" in message_html_of(page)


def message_html_of(page: ChatPage) -> str:
    from desktop.chat.transcript import message_html

    return message_html(page.model.rows[-1], page.palette())[0]


def test_a_reply_cut_off_by_a_crash_shows_as_interrupted(qtbot: Any, tmp_path: Path) -> None:
    from desktop.app import MainWindow
    from engine.chat.storage import ConversationStore as Store
    from engine.system.paths import ponder_home

    store = Store(ponder_home() / "conversations.db")
    conv = store.create("Crashed")
    store.append(conv.id, "user", "Tell me a story")
    reply = store.append(conv.id, "assistant", "", state="streaming")
    store.save_progress(reply.id, content="Once upon a", reasoning="A story.", state="streaming")
    store.close()
    window = MainWindow(SETTINGS)
    qtbot.addWidget(window)
    window.chat.open_conversation(conv.id)
    row = window.chat.model.rows[-1]
    assert row.state == "interrupted" and row.content == "Once upon a"
    assert "Interrupted" in message_html_of(window.chat)
    window.close()
