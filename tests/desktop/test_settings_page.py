"""The Settings page: changes persist, an unusable provider says why, the token is never shown back, the hardware
probe fills the provider list, the speed test draws a bar, and the Chinese translation applies."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit

from desktop.i18n import install_translator, remove_translators, translation_for
from desktop.settings import SettingsPage
from desktop.settings.hardware import bench_model
from desktop.settings.sections import valid_endpoint
from desktop.theme import apply_theme
from desktop.workers import BackgroundJobs, InferenceThread
from engine.models.store import install
from engine.system.secrets import HF_TOKEN_KEY, SERVICE
from engine.system.settings import Settings, load_settings
from tests.fixtures.keyrings import MemoryKeyring

pytestmark = pytest.mark.usefixtures("memory_keyring")  # every test gets an empty in-memory keyring

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "hf_TopSecretValue1234567890"





def make_page(qtbot: Any, runners: tuple[InferenceThread, BackgroundJobs],
              settings: Settings | None = None) -> SettingsPage:
    page = SettingsPage(settings or load_settings(), *runners)
    qtbot.addWidget(page)
    page.resize(1000, 900)
    page.show()
    return page


def wait_probe(qtbot: Any, page: SettingsPage) -> None:
    qtbot.waitUntil(lambda: bool(page.hardware.provider_rows()), timeout=60000)


def screenshot(qtbot: Any, page: SettingsPage, name: str) -> Path:
    qtbot.wait(100)  # let queued layout work run
    folder = Path(os.environ.get("PONDER_SCREENSHOTS") or ROOT / "artifacts" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    assert page.grab().save(str(path))
    return path


def test_changes_persist_across_a_restart(qtbot: Any, runners: tuple[InferenceThread, BackgroundJobs],
                                          app_look: QApplication) -> None:
    page = make_page(qtbot, runners)
    emitted: list[Settings] = []
    page.settings_changed.connect(emitted.append)
    page.generation.temperature.setValue(1.25)
    page.generation.max_tokens.setValue(2048)
    page.generation.system_prompt.setPlainText("Answer in haiku.")
    page.hardware.threads.setValue(3)
    page.privacy.offline.setChecked(True)
    page.privacy.endpoint.setText("https://hf-mirror.example.org/")
    page.appearance.theme.setCurrentIndex(page.appearance.theme.findData("dark"))
    page.appearance.font_size.setValue(14)
    # typed text is saved after a pause without any further action
    qtbot.waitUntil(lambda: load_settings().system_prompt == "Answer in haiku.", timeout=5000)
    saved = load_settings()
    assert (saved.temperature, saved.max_tokens, saved.threads, saved.offline) == (1.25, 2048, 3, True)
    assert (saved.hub_endpoint, saved.theme, saved.font_size) == ("https://hf-mirror.example.org", "dark", 14)
    assert emitted and emitted[-1] == saved
    # the theme applied at once
    assert app_look.palette().color(QPalette.ColorRole.Window).lightness() < 80
    assert app_look.font().pointSize() == 14

    restarted = make_page(qtbot, runners, load_settings())
    assert restarted.generation.temperature.value() == pytest.approx(1.25)
    assert restarted.generation.max_tokens.value() == 2048
    assert restarted.generation.system_prompt.toPlainText() == "Answer in haiku."
    assert restarted.hardware.threads.value() == 3
    assert restarted.privacy.offline.isChecked()
    assert restarted.privacy.endpoint.text() == "https://hf-mirror.example.org"
    assert restarted.appearance.theme.currentData() == "dark"
    assert restarted.settings == saved
    restarted.generation.restore_defaults()
    assert (load_settings().temperature, load_settings().system_prompt) == (Settings().temperature, "")


def test_invalid_hub_address_is_flagged_and_not_saved(qtbot: Any,
                                                      runners: tuple[InferenceThread, BackgroundJobs]) -> None:
    assert valid_endpoint("") and valid_endpoint("http://127.0.0.1:8080")
    assert not valid_endpoint("ftp://mirror") and not valid_endpoint("hf-mirror.com")
    page = make_page(qtbot, runners)
    page.show_section("privacy")
    page.privacy.endpoint.setText("hf-mirror.com")
    page.commit()
    assert page.privacy.endpoint_error.isVisible()
    assert load_settings().hub_endpoint == ""
    page.privacy.endpoint.setText("https://hf-mirror.com")
    page.commit()
    assert not page.privacy.endpoint_error.isVisible()
    assert load_settings().hub_endpoint == "https://hf-mirror.com"


def test_hardware_lists_cpu_as_working(qtbot: Any, runners: tuple[InferenceThread, BackgroundJobs]) -> None:
    page = make_page(qtbot, runners)
    wait_probe(qtbot, page)
    rows = {name: (works, reason) for name, works, reason in page.hardware.provider_rows()}
    assert rows["CPUExecutionProvider"] == (True, "")
    assert set(rows) == {"CPUExecutionProvider", "CUDAExecutionProvider", "DmlExecutionProvider",
                         "CoreMLExecutionProvider"}
    assert all(reason for works, reason in rows.values() if not works)  # every unusable one says why
    assert page.hardware.device_labels["cores"].text() != "Checking…"
    works = [label for label in page.findChildren(QLabel) if label.text() == "✓ Works"]
    assert works and all(label.isVisible() for label in works)  # shown at once, not on a later event-loop turn
    assert "Models will run on" in page.hardware.provider_note.text()  # Auto: names the provider it picks


def test_unusable_provider_shows_its_reason_and_is_still_saved(
        qtbot: Any, runners: tuple[InferenceThread, BackgroundJobs]) -> None:
    page = make_page(qtbot, runners)
    wait_probe(qtbot, page)
    cuda = next(p for p in page.hardware.report.providers if p.key == "cuda")  # type: ignore[union-attr]
    if cuda.works:
        pytest.skip("CUDA works on this machine")
    combo = page.hardware.provider
    combo.setCurrentIndex(combo.findData("cuda"))
    note = page.hardware.provider_note
    assert note.isVisible() and note.property("error") is True
    assert "CUDA" in note.text() and "CPU instead" in note.text()
    assert load_settings().provider == "cuda"
    # the app keeps working: other changes still save, and choosing CPU clears the warning
    page.hardware.threads.setValue(2)
    assert load_settings().threads == 2
    combo.setCurrentIndex(combo.findData("cpu"))
    assert not note.isVisible() and load_settings().provider == "cpu"
    assert page.hardware.bench_providers() == ["cpu"]


def test_token_is_saved_to_the_keyring_and_never_shown(qtbot: Any, runners: tuple[InferenceThread, BackgroundJobs],
                                                       memory_keyring: MemoryKeyring) -> None:
    page = make_page(qtbot, runners)
    page.show_section("privacy")
    privacy = page.privacy
    qtbot.waitUntil(lambda: privacy.token_state is not None, timeout=5000)
    assert privacy.token_status.text() == "No token." and not privacy.remove_token.isEnabled()
    assert privacy.token.echoMode() == QLineEdit.EchoMode.Password
    qtbot.keyClicks(privacy.token, TOKEN)
    assert privacy.save_token.isEnabled()
    qtbot.mouseClick(privacy.save_token, Qt.MouseButton.LeftButton)
    assert privacy.token.text() == ""  # cleared at once, before the keyring even answers
    qtbot.waitUntil(lambda: privacy.token_status.text() == "✓ A token is saved.", timeout=5000)
    assert memory_keyring.store[(SERVICE, HF_TOKEN_KEY)] == TOKEN
    assert "MemoryKeyring" in privacy.keyring_note.text()
    shown = [w.text() for w in page.findChildren(QLineEdit)] + [w.text() for w in page.findChildren(QLabel)]
    assert not any(TOKEN in text for text in shown)
    # a new page (a restart) knows a token is saved but still shows nothing of it
    again = make_page(qtbot, runners)
    qtbot.waitUntil(lambda: again.privacy.token_state is not None, timeout=5000)
    assert again.privacy.token_status.text() == "✓ A token is saved." and again.privacy.token.text() == ""
    qtbot.mouseClick(again.privacy.remove_token, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: again.privacy.token_status.text() == "No token.", timeout=5000)
    assert (SERVICE, HF_TOKEN_KEY) not in memory_keyring.store


def test_speed_test_needs_an_installed_model(qtbot: Any, runners: tuple[InferenceThread, BackgroundJobs]) -> None:
    assert bench_model([], "") is None
    page = make_page(qtbot, runners)
    wait_probe(qtbot, page)
    qtbot.waitUntil(lambda: "Install a model first" in page.hardware.speed_button.toolTip(), timeout=5000)
    assert not page.hardware.speed_button.isEnabled()


@pytest.mark.slow
def test_speed_test_draws_a_bar_per_provider(qtbot: Any, runners: tuple[InferenceThread, BackgroundJobs],
                                             converted: dict[tuple[str, str], Path], tmp_path: Path) -> None:
    shutil.copytree(converted[("qwen2", "int4")], tmp_path / "m")
    install(tmp_path / "m", "tiny")
    page = make_page(qtbot, runners)
    wait_probe(qtbot, page)
    hardware = page.hardware
    qtbot.waitUntil(hardware.speed_button.isEnabled, timeout=5000)
    assert "tiny" in hardware.speed_button.toolTip()
    hardware.threads.setValue(1)
    qtbot.mouseClick(hardware.speed_button, Qt.MouseButton.LeftButton)
    assert not hardware.speed_button.isEnabled()  # one run at a time
    qtbot.waitUntil(hardware.speed_button.isEnabled, timeout=120000)
    bars = hardware.chart.bars()
    assert [b.label for b in bars] == ["CPU"]  # Auto tries every working provider: only the CPU here
    assert bars[0].value is not None and bars[0].value > 0
    assert hardware.speed_text.text().startswith("CPU: ") and "tokens/s" in hardware.speed_text.text()
    assert "Decode speed of tiny" in hardware.speed_status.text()


def test_theme_follows_the_choice(app_look: QApplication) -> None:
    apply_theme(app_look, "dark", 12)
    sheet = app_look.styleSheet()
    app_look.setStyleSheet("")  # under Ponder's style sheet Qt wraps the style (and reports no name)
    assert app_look.style().name().lower() == "fusion"
    app_look.setStyleSheet(sheet)
    assert app_look.palette().color(QPalette.ColorRole.Window).lightness() < 80
    apply_theme(app_look, "light", 10)
    assert app_look.palette().color(QPalette.ColorRole.Window).lightness() > 200
    assert app_look.font().pointSize() == 10
    system_dark = app_look.styleHints().colorScheme() == Qt.ColorScheme.Dark
    apply_theme(app_look, "system", 10)
    assert (app_look.palette().color(QPalette.ColorRole.Window).lightness() < 80) == system_dark


def test_language_choice_and_chinese_translation(qtbot: Any, runners: tuple[InferenceThread, BackgroundJobs],
                                                 app_look: QApplication) -> None:
    assert translation_for("zh_CN") == "zh_CN" and translation_for("en") is None
    assert translation_for("system", "zh_TW") == "zh_CN" and translation_for("system", "de_DE") is None
    assert install_translator(app_look, "en") is None
    apply_theme(app_look, "light", 11)

    english = make_page(qtbot, runners)
    wait_probe(qtbot, english)
    english.appearance.language.setCurrentIndex(english.appearance.language.findData("zh_CN"))
    assert english.appearance.restart_note.isHidden() is False  # applies after a restart
    assert load_settings().language == "zh_CN"
    english.show_section("hardware")
    screenshot(qtbot, english, "settings-en.png")
    english_texts = (english.nav.item(0).text(), english.hardware.speed_button.text())

    translator = install_translator(app_look, load_settings().language)
    try:
        assert translator is not None and not translator.isEmpty()
        chinese = make_page(qtbot, runners)
        wait_probe(qtbot, chinese)
        chinese_texts = (chinese.nav.item(0).text(), chinese.hardware.speed_button.text())
        assert chinese_texts == ("硬件", "速度测试") != english_texts
        assert chinese.appearance.restart_note.isHidden()  # the language in use is the one chosen
        screenshot(qtbot, chinese, "settings-zh_CN.png")
    finally:
        remove_translators(app_look)
    assert make_page(qtbot, runners).nav.item(0).text() == "Hardware"
