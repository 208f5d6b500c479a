"""What a reply looks like in the transcript: the reasoning block (live, then collapsed with its duration), the
stats line under it, code blocks with a header, tables, quotes, math typeset as images, and no special token as
text. Replies are streamed through the page's own event handler (see chat_scenes.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QImage, QTextDocument, QTextImageFormat

from desktop.chat.page import ChatPage
from desktop.chat.render import render_markdown
from desktop.chat.transcript import message_html
from desktop.workers import InferenceThread
from engine.chat.storage import ConversationStore
from engine.system.settings import Settings
from tests.desktop.chat_scenes import (
    LONG_ANSWER,
    MODEL,
    REASONING,
    begin,
    finish,
    full_reply,
    rendered_docs,
    rendered_text,
    stream,
)


def make_page(qtbot: Any, inference: InferenceThread, tmp_path: Path) -> ChatPage:
    page = ChatPage(ConversationStore(tmp_path / "c.db"), inference, lambda: Settings())
    qtbot.addWidget(page)
    page.resize(1100, 760)
    page.show()
    return page


def images_of(doc: QTextDocument) -> list[str]:
    names = []
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fmt = it.fragment().charFormat()
            if fmt.isImageFormat():
                names.append(QTextImageFormat(fmt).name())
            it += 1
        block = block.next()
    return names


def test_stats_line_says_speed_tokens_first_token_model_and_hardware(qtbot: Any, inference: InferenceThread,
                                                                     tmp_path: Path) -> None:
    page = make_page(qtbot, inference, tmp_path)
    full_reply(page, "What is 1 + … + 100?", REASONING, "It is 5050.")
    text = rendered_text(page)
    assert "27.4 tok/s" in text and "412 tokens" in text and "0.31 s to first token" in text
    assert f"{MODEL} · CUDA" in text
    # the hardware that really ran it, with the reason when it was not the one chosen
    full_reply(page, "Again?", REASONING, "Still 5050.", provider="cpu",
               provider_reason="CUDA was chosen but its runtime is not installed")
    text = rendered_text(page)
    assert f"{MODEL} · CPU" in text and "CUDA was chosen but its runtime is not installed" in text
    assert "instead of the chosen hardware" in text


def test_reasoning_block_is_live_then_one_line_with_duration(qtbot: Any, inference: InferenceThread,
                                                             tmp_path: Path) -> None:
    page = make_page(qtbot, inference, tmp_path)
    begin(page, "What is 1 + … + 100?")
    tokens = stream(page, REASONING, "reasoning")
    page._render_live()
    live = rendered_text(page)
    assert f"Thinking… 0 s · {tokens} tokens" in live and "Gauss's trick" in live  # the thought streams, shown
    stream(page, "It is 5050.", "answer", tokens)
    page._render_live()
    answering = rendered_text(page)
    assert "Thought for 0 s" in answering and "Gauss's trick" not in answering  # collapsed to one line
    finish(page, REASONING, "It is 5050.")
    row = page.model.rows[-1]
    assert "Thought for 0 s · 340 tokens" in rendered_text(page)  # the engine's count once it has finished
    page._on_action("toggle", row.id, "")  # expandable at any time
    assert "Gauss's trick" in rendered_text(page)


def test_loop_warning_sits_in_the_reasoning_block_with_answer_now(qtbot: Any, inference: InferenceThread,
                                                                 tmp_path: Path) -> None:
    from engine.runtime.generate import Notice

    page = make_page(qtbot, inference, tmp_path)
    _, reply = begin(page, "Loop?")
    stream(page, "again and again and again", "reasoning")
    page._on_events([Notice("loop_detected", "The reasoning repeats itself every 2 tokens.", 2)])
    html, _ = message_html(page.model.rows[-1], page.palette())
    assert f'href="ponder:answer-now/{reply.id}"' in html and "going in circles" in html
    assert html.index("going in circles") > html.index("ponder:toggle")  # under the reasoning's header


def test_no_special_token_reaches_the_rendered_text(qtbot: Any, inference: InferenceThread, tmp_path: Path) -> None:
    page = make_page(qtbot, inference, tmp_path)
    reasoning = "Check the sources.</think> <|im_end|>"
    answer = "</think>\n\nThe capybara is a rodent [1].<｜end▁of▁sentence｜></s><|endoftext|>"
    begin(page, "What is a capybara?")
    tokens = stream(page, reasoning, "reasoning")
    stream(page, answer, "answer", tokens)
    page._render_live()
    for text in (rendered_text(page),):
        assert "capybara is a rodent" in text
        for token in ("</think>", "<think>", "<|im_end|>", "<｜end▁of▁sentence｜>", "</s>", "<|endoftext|>"):
            assert token not in text
    finish(page, reasoning, answer)
    row = page.model.rows[-1]
    page._on_action("toggle", row.id, "")
    text = rendered_text(page)
    assert "Check the sources." in text and "</think>" not in text and "end▁of▁sentence" not in text
    # in code, what the model wrote is kept
    assert "</think>" in render_markdown("```\nprint('</think>')\n```").code_blocks[0]


def test_math_becomes_an_image_and_invalid_math_its_source(qtbot: Any, inference: InferenceThread,
                                                           tmp_path: Path) -> None:
    page = make_page(qtbot, inference, tmp_path)
    full_reply(page, "Formula?", "", "The sum is $$\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}$$ and inline "
               "$x^2$, so $\\boxed{5050}$; broken: $\\frac{1$.")
    first = rendered_text(page)  # typeset in the background: until then the formulas show as their source
    assert "x^2" in first and not [n for doc in rendered_docs(page) for n in images_of(doc)]
    qtbot.waitUntil(lambda: len([n for doc in rendered_docs(page) for n in images_of(doc)]) >= 3, timeout=60000)
    docs = rendered_docs(page)
    names = [name for doc in docs for name in images_of(doc)]
    assert len(names) >= 3 and all(n.startswith("ponder-math:") for n in names)
    for doc in docs:
        for name in images_of(doc):
            image = doc.resource(QTextDocument.ResourceType.ImageResource, QUrl(name))
            assert isinstance(image, QImage) and not image.isNull() and image.width() > 4
            assert image.pixelColor(0, 0).alpha() == 0  # transparent: it sits on a light or a dark page
    text = rendered_text(page)
    assert "\\frac{1" in text  # the invalid formula, as its source text
    assert "\\sum" not in text and "x^2" not in text  # the valid ones are images, not text
    assert "【" not in text  # the hand-written Unicode rules are gone


def test_code_block_has_a_header_with_language_and_copy_and_tables_and_quotes_render(
        qtbot: Any, inference: InferenceThread, tmp_path: Path) -> None:
    page = make_page(qtbot, inference, tmp_path)
    full_reply(page, "Show me", REASONING, LONG_ANSWER)
    html, codes = message_html(page.model.rows[-1], page.palette())
    assert codes and codes[0].startswith("def triangular")
    assert "python" in html and 'href="ponder:copy-code/' in html
    docs = rendered_docs(page)
    assert any(doc.toPlainText().count("5050") for doc in docs)
    assert any(("1000" in doc.toPlainText() and "500500" in doc.toPlainText()) for doc in docs)  # the table
    assert "Pair the numbers from both ends" in rendered_text(page)  # the quote


def test_a_theme_switch_redraws_messages_in_its_colours(qtbot: Any) -> None:
    from desktop.chat.transcript import MessageDelegate, Row
    from desktop.theme import DARK, LIGHT, dark_palette, light_palette

    delegate = MessageDelegate()
    row = Row(id=1, role="assistant", content="Hi", reasoning="Think.", model="m")
    light = "".join(p.html for p in delegate.layout(row, 500, light_palette()).pieces)
    dark = "".join(p.html for p in delegate.layout(row, 500, dark_palette()).pieces)
    assert LIGHT.code_bg in light and DARK.code_bg in dark and DARK.code_bg not in light
