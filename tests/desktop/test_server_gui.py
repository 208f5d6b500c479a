"""Settings › API and remote engines: the switch serves the OpenAI-compatible API (key required) and stops it; a
remote engine (another Ponder on loopback) is added, its models appear in the chat, and a conversation records
which engine and model answered."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from PySide6.QtCore import Qt

from desktop.chat.page import ChatPage
from desktop.settings import SettingsPage
from desktop.workers import BackgroundJobs, InferenceThread
from engine.chat.storage import ConversationStore
from engine.models.store import InstalledModel
from engine.serve.api.server import ApiServer
from engine.system.secrets import api_key
from engine.system.settings import Settings, load_settings
from tests.fixtures.ports import free_port

pytestmark = pytest.mark.usefixtures("memory_keyring")
SETTINGS = Settings(provider="cpu", temperature=0.0, max_tokens=60, context_length=512)


def test_the_switch_serves_the_api_with_its_key_and_stops_it(qtbot: Any, runners: tuple[InferenceThread,
                                                             BackgroundJobs], tiny_model: InstalledModel) -> None:
    inference, jobs = runners
    port = free_port()
    page = SettingsPage(SETTINGS, inference, jobs)
    qtbot.addWidget(page)
    page.show_section("server")
    section = page.server
    section.port.setValue(port)
    section.enabled.setChecked(True)
    qtbot.waitUntil(lambda: section.server is not None, timeout=30000)
    assert load_settings().api_enabled and load_settings().api_port == port
    assert f"http://127.0.0.1:{port}/v1" in section.state.text()
    assert section.key.echoMode() != section.key.EchoMode.Normal and section.key.text() == api_key()
    base = f"http://127.0.0.1:{port}/v1"
    assert httpx.get(f"{base}/models").status_code == 401
    listed = httpx.get(f"{base}/models", headers={"Authorization": f"Bearer {api_key()}"})
    assert listed.status_code == 200 and "tiny" in [m["id"] for m in listed.json()["data"]]

    section.enabled.setChecked(False)
    qtbot.waitUntil(lambda: section.state.text() == "Off", timeout=30000)
    assert not load_settings().api_enabled
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/models", timeout=2)


def test_chat_with_a_remote_engines_model(qtbot: Any, runners: tuple[InferenceThread, BackgroundJobs],
                                          tiny_model: InstalledModel, tmp_path: Any) -> None:
    inference, jobs = runners
    with ApiServer("127.0.0.1", 0, key="lab-key", provider="cpu") as remote:
        settings = SettingsPage(SETTINGS, inference, jobs)
        qtbot.addWidget(settings)
        chat = ChatPage(ConversationStore(tmp_path / "c.db"), inference, lambda: SETTINGS, jobs=jobs)
        qtbot.addWidget(chat)
        chat.resize(900, 600)
        chat.show()
        settings.server.remotes_changed.connect(chat.refresh_remote)
        settings.server.add_engine("lab", remote.url, "lab-key")
        qtbot.waitUntil(lambda: "answers with" in settings.server.remote_state.text(), timeout=30000)
        assert settings.server.remotes.item(0).text().startswith(f"lab — {remote.url}")
        qtbot.waitUntil(lambda: chat.model_box.findText("tiny @ lab") >= 0, timeout=30000)
        chat.model_box.setCurrentIndex(chat.model_box.findText("tiny @ lab"))
        with qtbot.waitSignal(chat.reply_finished, timeout=60000) as done:
            qtbot.keyClicks(chat.input, "What is 2+2?")
            qtbot.keyClick(chat.input, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: not chat.busy, timeout=30000)
    assert done.args[0].answer == "The answer is 4."
    reply = chat.store.messages(chat.conversation_id or "")[-1]
    assert (reply.engine, reply.model, reply.content) == ("lab", "tiny", "The answer is 4.")
    assert "Two plus two" in reply.reasoning  # reasoning_content from the remote, kept apart from the answer
    row = chat.model.rows[-1]
    assert row.engine == "lab"
