"""Settings › Privacy and network: the offline switch reaches every button that would use the network, the
environment can force it, and the Network activity list shows the downloads Ponder made."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from desktop.app import SETTINGS, MainWindow
from engine.models import hub
from engine.serve.remote_engines import RemoteEngines
from engine.system import privacy
from engine.system.settings import Settings, load_settings
from tests.fixtures.hub_server import REPO_ID, HubServer
from tests.fixtures.keyrings import MemoryKeyring

pytestmark = pytest.mark.usefixtures("memory_keyring")


def network_buttons(window: MainWindow) -> dict[str, tuple[bool, str]]:
    """Each control that would use the network: (enabled, tooltip)."""
    get = next(iter(window.models.get_buttons.values()))
    server = window.settings_page.server
    docs = window.settings_page.documents
    docs.table.setCurrentItem(docs.table.topLevelItem(0))
    return {"models get": (get.isEnabled(), get.toolTip()),
            "add remote": (server.add_remote.isEnabled(), server.add_remote.toolTip()),
            "embedder get": (docs.get_button.isEnabled(), docs.get_button.toolTip()),
            "documents bar get": (window.chat.docs_bar.get_button.isEnabled(),
                                  window.chat.docs_bar.get_button.toolTip())}


def test_offline_switch_turns_off_every_network_button_and_says_why(qtbot: Any, memory_keyring: MemoryKeyring,
                                                                    screenshots: Path) -> None:
    RemoteEngines().add("lab", "http://127.0.0.1:9/v1")
    window = MainWindow(Settings())
    qtbot.addWidget(window)
    window.resize(1200, 900)
    window.show()
    qtbot.waitUntil(lambda: window.models.report is not None, timeout=30_000)
    assert all(enabled for enabled, _ in network_buttons(window).values())
    window.nav.setCurrentRow(SETTINGS)
    page = window.settings_page
    page.show_section("privacy")
    page.privacy.offline.click()

    assert load_settings().offline and privacy.is_offline()  # saved, and enforced in this process
    state = network_buttons(window)
    assert not any(enabled for enabled, _ in state.values()), state
    assert all("Offline mode is on" in tip for _, tip in state.values()), state
    assert page.server.remote_offline.isVisibleTo(page.server) and "Offline mode" in page.server.remote_offline.text()
    assert window.chat.remote_models == {} and "Offline mode" in window.chat.model_box.toolTip()
    qtbot.wait(200)
    page.grab().save(str(screenshots / "settings-privacy-offline.png"))

    page.privacy.offline.click()
    assert not privacy.is_offline() and not load_settings().offline
    assert all(enabled for enabled, _ in network_buttons(window).values())
    window.close()


def test_the_environment_forces_offline_and_the_switch_says_so(qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PONDER_OFFLINE", "1")
    window = MainWindow(Settings(offline=False))
    qtbot.addWidget(window)
    window.show()
    switch = window.settings_page.privacy.offline
    assert switch.isChecked() and not switch.isEnabled()
    assert "PONDER_OFFLINE=1" in window.settings_page.privacy.offline_forced.text()
    assert "PONDER_OFFLINE=1" in network_buttons(window)["add remote"][1]
    window.close()


def test_network_activity_lists_the_download_and_nothing_else(qtbot: Any, hub_env: HubServer,
                                                              memory_keyring: MemoryKeyring,
                                                              screenshots: Path) -> None:
    window = MainWindow(Settings())
    qtbot.addWidget(window)
    window.show()
    window.nav.setCurrentRow(SETTINGS)
    window.settings_page.show_section("privacy")
    activity = window.settings_page.privacy.activity
    qtbot.waitUntil(lambda: activity.table.topLevelItemCount() == 1, timeout=10_000)
    assert "no connection" in activity.table.topLevelItem(0).text(0)
    hub.download_snapshot(REPO_ID)
    activity.refresh()
    qtbot.waitUntil(lambda: len(activity.records) == 1, timeout=10_000)
    row = activity.table.topLevelItem(0)
    assert row.text(1) == f"Download: {REPO_ID}@main" and row.text(2) == hub_env.url.removeprefix("http://")
    assert row.text(3).startswith("↓ 3.") and row.text(4) == "Done"
    qtbot.wait(100)
    window.settings_page.grab().save(str(screenshots / "settings-privacy.png"))
    activity.clear_button.click()
    assert activity.records == [] and "no connection" in activity.table.topLevelItem(0).text(0)
    window.close()
