"""Scenes of the chat page for design tests and screenshots: replies are streamed into the page through the same
events the inference thread sends (ReplyStarted, TextDelta, Notice, Finished), so what is drawn is what a real
reply draws; the model runs in the chat tests (test_chat_page.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QWidget

from desktop.chat.page import ChatPage
from engine.chat.conversation import ReplyStarted
from engine.runtime.generate import Finished, Stats, TextDelta

MODEL = "DeepSeek-R1-Distill-Qwen-1.5B"
REASONING = ("The user asks for the sum of the first 100 integers. Gauss's trick: pair 1 with 100, 2 with 99, "
             "… each pair makes 101 and there are 50 pairs, so 50 × 101 = 5050. Let me check with the formula "
             "n(n+1)/2 = 100·101/2 = 5050. ")
LONG_ANSWER = ("Here is the idea, then code and a check.\n\n> Pair the numbers from both ends: every pair has the "
               "same sum.\n\nThe sum of the first $n$ integers is\n\n$$\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}$$\n\n"
               "```python\ndef triangular(n: int) -> int:\n    \"\"\"1 + 2 + … + n.\"\"\"\n    return n * (n + 1) "
               "// 2\n\nassert triangular(100) == 5050\n```\n\n| n | sum | pairs |\n|---:|---:|---:|\n| 10 | 55 | 5 |\n"
               "| 100 | 5050 | 50 |\n| 1000 | 500500 | 500 |\n\nSo the answer is $\\boxed{5050}$.")


def stats(**changes: Any) -> Stats:
    values: dict[str, Any] = dict(prompt_tokens=42, reused_tokens=0, generated_tokens=412, reasoning_tokens=340,
                                  answer_tokens=72, time_to_first_token_s=0.31, reasoning_s=12.4, answer_s=2.6,
                                  prefill_tokens_per_s=900.0, decode_tokens_per_s=27.4, total_s=15.3,
                                  provider="cuda", provider_reason="", context_used=454, context_size=4096)
    values.update(changes)
    return Stats(**values)


def begin(page: ChatPage, question: str) -> tuple[str, Any]:
    """Open a new conversation with ``question`` and start a reply to it, as the inference thread would."""
    conv_id = page.conversation_id or page.new_conversation()
    user = page.store.append(conv_id, "user", question)
    reply = page.store.append(conv_id, "assistant", "", state="streaming", model=MODEL)
    page._job = (None, None, conv_id)  # type: ignore[assignment]  # as if a reply were running
    page._on_events([ReplyStarted(conv_id, reply, user)])
    return conv_id, reply


def stream(page: ChatPage, text: str, channel: str, start_tokens: int = 0, words: int = 0) -> int:
    """Send ``text`` word by word on ``channel``; returns the token count reached."""
    tokens = start_tokens
    for word in text.split(" ")[: words or None]:
        tokens += 1
        page._on_events([TextDelta(word + " ", channel, tokens, 27.4)])
    return tokens


def finish(page: ChatPage, reasoning: str, answer: str, **stat_changes: Any) -> None:
    page._on_events([Finished("stop", reasoning, answer, False, stats(**stat_changes))])
    page._on_done()


def full_reply(page: ChatPage, question: str, reasoning: str, answer: str, **stat_changes: Any) -> None:
    begin(page, question)
    tokens = stream(page, reasoning, "reasoning")
    stream(page, answer, "answer", tokens)
    finish(page, reasoning, answer, **stat_changes)


def rendered_docs(page: ChatPage, row_index: int = -1) -> list[QTextDocument]:
    """The laid-out documents of a message, as the view paints them."""
    row = page.model.rows[row_index]
    _x, _y, width = page.delegate.text_origin(0, 0, page.view.viewport().width())
    return list(page.delegate.layout(row, width, page.view.palette()).docs)


def rendered_text(page: ChatPage, row_index: int = -1) -> str:
    return "\n".join(doc.toPlainText() for doc in rendered_docs(page, row_index))


def shoot(widget: QWidget, folder: Path, name: str) -> Path:
    widget.repaint()
    path = folder / name
    widget.grab().save(str(path))
    return path


def wait_a_moment(seconds: float = 0.05) -> None:
    time.sleep(seconds)


def shoot_themes(qtbot: Any, widget: QWidget, folder: Path, stem: str) -> list[Path]:
    """Screenshots of ``widget`` in the light and the dark theme (``stem``-light.png, ``stem``-dark.png); the
    application's look is restored afterwards."""
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    from desktop.theme import apply_theme

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    style, palette, font, sheet = app.style().name(), QPalette(app.palette()), app.font(), app.styleSheet()
    paths = []
    try:
        for theme in ("light", "dark"):
            apply_theme(app, theme, 10)
            qtbot.wait(100)  # let the palette change reach every widget
            paths.append(shoot(widget, folder, f"{stem}-{theme}.png"))
    finally:
        app.setStyle(style)
        app.setPalette(palette)
        app.setFont(font)
        app.setStyleSheet(sheet)
        app.setProperty("ponderTheme", None)
    return paths
