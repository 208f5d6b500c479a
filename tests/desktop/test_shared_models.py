"""The window and the API server share the model host: a model the window chats with is not loaded again when the
API serves it, and an idle model is released and loaded again by the next message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import Qt

from desktop.chat.page import ChatPage
from desktop.settings import SettingsPage
from desktop.workers import BackgroundJobs, InferenceThread
from engine.chat.storage import ConversationStore
from engine.models.store import InstalledModel
from engine.runtime.host import HostEvent
from engine.system.secrets import api_key
from engine.system.settings import Settings
from tests.fixtures.ort_sessions import sessions
from tests.fixtures.ports import free_port

__all__ = ["sessions"]

pytestmark = pytest.mark.usefixtures("memory_keyring")
SETTINGS = Settings(provider="cpu", temperature=0.0, max_tokens=60, context_length=512)


def ask(qtbot: Any, page: ChatPage, text: str) -> Any:
    with qtbot.waitSignal(page.reply_finished, timeout=60000) as done:
        qtbot.keyClicks(page.input, text)
        qtbot.keyClick(page.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not page.busy, timeout=30000)
    return done.args[0]


def test_the_window_and_the_api_share_one_loaded_model(qtbot: Any, runners: tuple[InferenceThread, BackgroundJobs],
                                                       tiny_model: InstalledModel, tmp_path: Path,
                                                       sessions: list[Path]) -> None:
    inference, jobs = runners
    chat = ChatPage(ConversationStore(tmp_path / "c.db"), inference, lambda: SETTINGS, jobs=jobs)
    qtbot.addWidget(chat)
    assert ask(qtbot, chat, "What is 2+2?").answer == "The answer is 4."
    model_sessions = [s for s in sessions if s.parent.name == tiny_model.path.name]
    assert len(model_sessions) == 1

    settings = SettingsPage(SETTINGS, inference, jobs)
    qtbot.addWidget(settings)
    settings.server.port.setValue(free_port())
    settings.server.enabled.setChecked(True)
    qtbot.waitUntil(lambda: settings.server.server is not None, timeout=30000)
    url = settings.server.server.url
    answer = httpx.post(f"{url}/chat/completions", headers={"Authorization": f"Bearer {api_key()}"}, timeout=120,
                        json={"model": "tiny", "messages": [{"role": "user", "content": "What is 2+2?"}],
                              "temperature": 0})
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"] == "The answer is 4."
    chat.new_conversation()
    assert ask(qtbot, chat, "What is 2+2?").answer == "The answer is 4."  # and the window again, after the API

    model_sessions = [s for s in sessions if s.parent.name == tiny_model.path.name]
    assert len(model_sessions) == 1, f"the model was loaded {len(model_sessions)} times: {model_sessions}"
    assert inference.host.loads == 1
    settings.server.enabled.setChecked(False)
    qtbot.waitUntil(lambda: settings.server.state.text() == "Off", timeout=30000)
    assert inference.host.loaded() == [tiny_model.path.name]  # stopping the API keeps the window's model


def test_an_idle_model_is_released_and_the_next_message_loads_it(qtbot: Any, runners: tuple[InferenceThread,
                                                                 BackgroundJobs], tiny_model: InstalledModel,
                                                                 tmp_path: Path, sessions: list[Path]) -> None:
    inference, jobs = runners
    events: list[HostEvent] = []
    inference.host.subscribe(events.append)
    inference.host.set_idle_unload(0.5)
    chat = ChatPage(ConversationStore(tmp_path / "c.db"), inference, lambda: SETTINGS, jobs=jobs)
    qtbot.addWidget(chat)
    ask(qtbot, chat, "What is 2+2?")
    qtbot.waitUntil(lambda: any(e.kind == "unloaded" for e in events), timeout=10000)
    assert inference.host.loaded() == [] and events[-1].reason == "idle"
    chat.new_conversation()
    assert ask(qtbot, chat, "What is 2+2?").answer == "The answer is 4."
    assert inference.host.loads == 2
    assert len([s for s in sessions if s.parent.name == tiny_model.path.name]) == 2
