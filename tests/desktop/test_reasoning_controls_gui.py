"""The reasoning controls in the window, on the real tiny model: the budget and the policy for earlier thoughts are
stored per conversation and reach the engine's config; "Think before answering" shows only where the template has
the switch; the context meter measures the next prompt after a reply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from desktop.chat.page import ChatPage
from desktop.workers import InferenceThread
from engine.chat.conversation import conversation_config
from engine.chat.storage import ConversationStore
from engine.models.store import InstalledModel
from engine.runtime.generate import GenerationConfig
from engine.runtime.template import ChatTemplate
from engine.system.settings import Settings

SETTINGS = Settings(provider="cpu", temperature=0.0, max_tokens=60, context_length=512)


def test_controls_are_stored_per_conversation_and_the_meter_measures(qtbot: Any, inference: InferenceThread,
                                                                      tiny_model: InstalledModel,
                                                                      tmp_path: Path) -> None:
    page = ChatPage(ConversationStore(tmp_path / "c.db"), inference, lambda: SETTINGS)
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    page.refresh_models()
    panel = page.reasoning
    qtbot.waitUntil(lambda: panel.abilities is not None, timeout=30000)
    template = ChatTemplate.from_model_dir(tiny_model.path)
    assert panel.think.isVisibleTo(panel) == template.supports_disable_thinking()
    keep_item = panel.history.model().item(1)  # type: ignore[attr-defined]
    assert keep_item.isEnabled() == template.keeps_thoughts()

    conv_id = page.new_conversation()
    panel.budget.setCurrentIndex(panel.budget.findData(512))
    panel.budget.activated.emit(panel.budget.currentIndex())
    panel.history.setCurrentIndex(panel.history.findData("drop"))
    panel.history.activated.emit(panel.history.currentIndex())
    conv = page.store.get(conv_id)
    assert conv.reasoning_settings() == {"thinking_budget": 512, "history_thoughts": "drop"}
    config = conversation_config(GenerationConfig(), conv)
    assert config.thinking_budget == 512 and config.history_thoughts == "drop"
    panel.budget.setCurrentIndex(panel.budget.findData(None))
    panel.budget.activated.emit(panel.budget.currentIndex())
    assert page.store.get(conv_id).reasoning_settings()["thinking_budget"] is None  # "no limit", stored

    other = page.new_conversation()  # another conversation has its own (default) controls
    assert panel.conversation_id == other and panel.budget.currentData() is None
    page.open_conversation(conv_id)

    with qtbot.waitSignal(page.reply_finished, timeout=120000):
        qtbot.keyClicks(page.input, "What is 2+2?")
        qtbot.keyClick(page.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel.meter_value is not None, timeout=60000)
    meter = panel.meter_value
    assert meter is not None and meter.context_size == 512
    assert meter.question_tokens > 0 and meter.answer_tokens > 0 and meter.used <= 512
    assert "512" in panel.meter.text()
    page.reasoning_button = page.header.reasoning_button
    assert page.header.reasoning_button.accessibleName()
