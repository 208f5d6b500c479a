"""The chat header shows the model's state from the model host's real events: loading with a bar, loaded, the
Unload button that frees it, the context used of the context size, and what switching the model means."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from desktop.chat.page import ChatPage
from desktop.workers import InferenceThread
from engine.chat.storage import ConversationStore
from engine.models.store import InstalledModel
from engine.runtime.host import ChatKey, HostEvent
from engine.system.settings import Settings
from tests.desktop.chat_scenes import full_reply


def make_page(qtbot: Any, inference: InferenceThread, tmp_path: Path) -> ChatPage:
    page = ChatPage(ConversationStore(tmp_path / "c.db"), inference, lambda: Settings(provider="cpu"))
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    return page


def test_model_loading_progress_then_loaded_then_unload(qtbot: Any, inference: InferenceThread,
                                                        tiny_model: InstalledModel, tmp_path: Path) -> None:
    page = make_page(qtbot, inference, tmp_path)
    header = page.header
    seen: list[tuple[str, bool, str, bool]] = []

    def after_header(event: HostEvent) -> None:  # connected after the header's own slot: sees what it showed
        seen.append((event.kind, header.load_bar.isVisible(), header.state.text(), header.unload_button.isVisible()))

    inference.host_event.connect(after_header)
    key = ChatKey(tiny_model.path, "cpu", None, 512)
    inference.host.submit(lambda: inference.host.chat(key)).result(120)
    qtbot.waitUntil(lambda: any(kind == "loaded" for kind, *_ in seen), timeout=10000)
    loading = next(s for s in seen if s[0] == "loading")
    assert loading[1] and loading[2].startswith("Loading tiny") and not loading[3]  # the bar moves, no Unload
    loaded = next(s for s in seen if s[0] == "loaded")
    assert not loaded[1] and "tiny loaded in" in loaded[2] and loaded[3]
    assert not header.loading

    qtbot.mouseClick(header.unload_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(kind == "unloaded" for kind, *_ in seen), timeout=10000)
    assert inference.host.loaded() == []
    assert "unloaded" in header.state.text() and not header.unload_button.isVisible()

    # loaded here before: the bar is a fraction of how long it took last time, and says it is an estimate
    seen.clear()
    inference.host.submit(lambda: inference.host.chat(key)).result(120)
    qtbot.waitUntil(lambda: any(kind == "loaded" for kind, *_ in seen), timeout=10000)
    loading = next(s for s in seen if s[0] == "loading")
    assert loading[1] and "(last time" in loading[2]
    assert header.load_bar.maximum() == 100 and "estimate" in header.load_bar.toolTip()


def test_context_meter_and_model_switch_note(qtbot: Any, inference: InferenceThread, tmp_path: Path) -> None:
    page = make_page(qtbot, inference, tmp_path)
    page.model_box.addItem("model-a", "/models/a")
    page.model_box.addItem("model-b", "/models/b")
    full_reply(page, "Hi", "", "Hello.", context_used=454, context_size=4096)
    assert page.header.context.text() == "Context 454 / 4,096"
    assert page.header.context_bar.isVisible() and page.header.context_bar.value() == 454
    page.model_box.activated.emit(0)  # the person's first pick sets where a switch starts from
    page.model_box.setCurrentIndex(1)
    page.model_box.activated.emit(1)
    note = page.warning.text()
    assert page.warning.isVisible() and "model-b" in note and "model-a" in note and "from the start" in note
