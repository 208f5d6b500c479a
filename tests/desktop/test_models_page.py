"""The Models and Welcome pages against the real engine: a loopback Hub serves a trained tiny checkpoint listed in
a test catalog (the real catalog plus "tiny-r1"), pulls run on BackgroundJobs, conversions in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from desktop.models import ModelsPage, WelcomePage
from desktop.workers import BackgroundJobs
from engine.models.catalog import load_catalog
from engine.models.pulljobs import JobState, PullSpec, Stage, list_jobs, remember
from engine.models.recommend import FALLBACK_ID
from engine.models.store import list_installed, staging_dir
from engine.system import privacy
from engine.system.hardware import CpuInfo, HardwareReport, ProviderStatus
from engine.system.paths import downloads_dir, models_dir, ponder_home
from engine.system.resources import resource_path
from engine.system.settings import Settings, load_settings
from tests.fixtures import pulls
from tests.fixtures.hub_server import HubServer, tiny_model_entry, use_hub
from tests.fixtures.pulls import NAME, WEIGHTS, cli_pull, fetch_count, partial_weights, resumed, stop, wait_for

REPO = "ponder-test/tiny-r1"
slow_hub = pulls.slow_hub
TIMEOUT_MS = 120_000
ROOT = Path(__file__).resolve().parents[2]


def tiny_entry() -> dict[str, object]:
    return tiny_model_entry(REPO)


@pytest.fixture
def tiny_hub(tiny_checkpoints: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[
        HubServer]:
    root = tmp_path / "repo"
    shutil.copytree(tiny_checkpoints["qwen2"], root)
    server = HubServer(root, REPO).start()
    real = json.loads(resource_path("catalog.json").read_text(encoding="utf-8"))
    use_hub(server, monkeypatch, tmp_path / "catalog.json", [*real["models"], tiny_entry()])
    yield server
    server.stop()


def cpu_report(cores: int = 2, ram_gb: float = 8) -> HardwareReport:
    return HardwareReport(os="Test OS", cpu=CpuInfo("Test CPU", "x86_64", cores, cores, ["avx2", "avx512f"]),
                          ram_total_bytes=int(ram_gb * 1e9), ram_available_bytes=int(ram_gb * 0.8e9), gpus=[],
                          providers=[ProviderStatus(k, k, True, k == "cpu") for k in ("cuda", "dml", "coreml", "cpu")])


@pytest.fixture
def jobs() -> Iterator[BackgroundJobs]:
    background = BackgroundJobs()
    yield background
    background.stop_all()


@pytest.fixture
def make_page(qtbot: Any, jobs: BackgroundJobs) -> Iterator[Callable[..., ModelsPage]]:
    pages: list[ModelsPage] = []

    def make(settings: Settings | None = None) -> ModelsPage:
        page = ModelsPage(jobs, lambda: settings or Settings(), probe_fn=cpu_report)
        qtbot.addWidget(page)
        page.resize(1100, 820)
        page.show()
        pages.append(page)
        qtbot.waitUntil(lambda: page.report is not None, timeout=30_000)
        return page

    yield make
    for page in pages:  # leave no job running past the test
        page.pause_all()
        qtbot.waitUntil(lambda p=page: all(j.state not in ("running", "pausing", "cancelling")
                                           for j in p.job_list.values()), timeout=30_000)


def screenshot(widget: QWidget, name: str) -> Path:
    folder = Path(os.environ.get("PONDER_SCREENSHOTS") or ROOT / "artifacts" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    assert widget.grab().save(str(path))
    return path


def wait_for_download(qtbot: Any, page: ModelsPage, key: str) -> None:
    def mid_download() -> bool:  # part of the weights are on disk
        p = page.job_list[key].last
        parts = list((downloads_dir() / "ponder-test--tiny-r1").rglob("model.safetensors.incomplete"))
        return p is not None and p.stage == "download" and bool(parts) and parts[0].stat().st_size > 0
    qtbot.waitUntil(mid_download, timeout=30_000)


KEY = "tiny-r1-int4"  # jobs are keyed by the name they install


def test_fit_badges_appear_after_the_probe(qtbot: Any, jobs: BackgroundJobs) -> None:
    page = ModelsPage(jobs, Settings)  # the real probe
    qtbot.addWidget(page)
    assert page.badges[(FALLBACK_ID, "int4")].text() == "…"
    qtbot.waitUntil(lambda: page.report is not None, timeout=30_000)
    assert page.badges[(FALLBACK_ID, "int4")].text() in ("fits", "slow", "won't fit")
    tip = page.badges[(FALLBACK_ID, "int4")].toolTip().splitlines()
    assert tip[0].endswith("(estimate).")
    # the memory at the context lengths people use, with either cache (the cache grows with the conversation)
    assert tip[1] == "Memory once a conversation reaches:" and tip[2].startswith("8k tokens: ")
    assert "with the int8 cache" in tip[2] and tip[-1].startswith("32k tokens: ")
    assert page.summary.text().count("·") >= 3
    assert page.catalog_table.rowCount() == len(load_catalog())


def test_get_installs_the_model_and_emits_model_installed(qtbot: Any, tiny_hub: HubServer,
                                                          make_page: Callable[..., ModelsPage]) -> None:
    page = make_page()
    changed: list[bool] = []
    page.models_changed.connect(lambda: changed.append(True))
    with qtbot.waitSignal(page.model_installed, timeout=TIMEOUT_MS) as installed:
        page.get_buttons["tiny-r1"].click()
        assert KEY in page.panels and [s.spec.model for s in list_jobs()] == ["tiny-r1"]  # recorded at once
    assert installed.args == ["tiny-r1-int4"] and changed
    assert [m.name for m in list_installed()] == ["tiny-r1-int4"]
    assert page.installed_table.item(0, 0).text() == "tiny-r1-int4"
    assert page.installed_table.item(0, 1).text() == "int4"
    assert page.get_buttons["tiny-r1"].text() == "Installed"
    qtbot.waitUntil(lambda: KEY not in page.panels)
    assert list_jobs() == []
    assert not (downloads_dir() / "ponder-test--tiny-r1").exists()  # the checkpoint is not kept
    page.layout().activate()
    qtbot.wait(200)  # let the tables lay out their buttons
    screenshot(page, "models.png")


def test_pause_then_resume_continues_with_a_range_request(qtbot: Any, tiny_hub: HubServer,
                                                          make_page: Callable[..., ModelsPage]) -> None:
    tiny_hub.faults.slow_chunk_s = 0.15
    page = make_page()
    page.get("tiny-r1")
    wait_for_download(qtbot, page, KEY)
    panel = page.panels[KEY]
    assert panel.pause_button.text() == "Pause" and "of" in panel.detail.text()
    from tests.desktop.chat_scenes import shoot_themes

    shoot_themes(qtbot, page, screenshot(page, "models-downloading.png").parent, "models-downloading")
    panel.pause_button.click()
    qtbot.waitUntil(lambda: page.job_list[KEY].state == "paused", timeout=30_000)
    assert panel.pause_button.text() == "Resume" and "Paused" in panel.detail.text()
    assert page.get_buttons["tiny-r1"].text() == "Resume"
    assert [(s.spec, s.state) for s in list_jobs()] == [(PullSpec.for_pull("tiny-r1", "int4", "cpu"),
                                                          JobState.PAUSED)]
    qtbot.wait(200)
    screenshot(page, "models-paused.png")
    assert list((downloads_dir() / "ponder-test--tiny-r1").rglob("*.incomplete"))  # the partial file is kept
    tiny_hub.faults.slow_chunk_s = 0.0
    with qtbot.waitSignal(page.model_installed, timeout=TIMEOUT_MS):
        panel.pause_button.click()
    ranges = [r.range for r in tiny_hub.resolve_requests("model.safetensors") if r.method == "GET"]
    assert any(r and r.startswith("bytes=") and not r.startswith("bytes=0-") for r in ranges)
    assert list_jobs() == []


def test_a_paused_pull_survives_a_restart(qtbot: Any, tiny_hub: HubServer,
                                          make_page: Callable[..., ModelsPage]) -> None:
    tiny_hub.faults.slow_chunk_s = 0.15
    first = make_page()
    first.get("tiny-r1")
    wait_for_download(qtbot, first, KEY)
    first.pause_all()  # what closing the window does
    qtbot.waitUntil(lambda: first.job_list[KEY].state == "paused", timeout=30_000)
    record = json.loads((ponder_home() / "pulls" / f"{KEY}.json").read_text())
    assert record["state"] == "paused" and record["stage"] == "download" and 0 < record["done"] < record["total"]
    assert record["spec"] == {"kind": "pull", "model": "tiny-r1", "name": KEY, "precision": "int4", "provider": "cpu",
                              "path": "", "prebuilt": True, "keep_download": False, "kv_cache": "float"}
    tiny_hub.faults.slow_chunk_s = 0.0
    second = make_page()  # the app opened again
    panel = second.panels[KEY]
    assert panel.pause_button.text() == "Resume" and panel.pause_button.isEnabled()
    assert "Paused at" in panel.detail.text() and panel.isVisibleTo(second)  # with the recorded progress
    with qtbot.waitSignal(second.model_installed, timeout=TIMEOUT_MS) as installed:
        panel.pause_button.click()
    assert installed.args == ["tiny-r1-int4"] and list_jobs() == []
    ranges = [r.range for r in tiny_hub.resolve_requests("model.safetensors") if r.method == "GET"]
    assert any(r and not r.startswith("bytes=0-") for r in ranges)


def test_cancel_removes_the_partial_download(qtbot: Any, tiny_hub: HubServer,
                                             make_page: Callable[..., ModelsPage]) -> None:
    tiny_hub.faults.slow_chunk_s = 0.15
    page = make_page()
    page.get("tiny-r1")
    wait_for_download(qtbot, page, KEY)
    assert (downloads_dir() / "ponder-test--tiny-r1").is_dir()
    page.panels[KEY].cancel_button.click()
    qtbot.waitUntil(lambda: KEY not in page.panels, timeout=30_000)
    assert not (downloads_dir() / "ponder-test--tiny-r1").exists()
    assert not (staging_dir() / "tiny-r1-int4").exists()
    assert list_jobs() == [] and list_installed() == []
    assert page.get_buttons["tiny-r1"].text() == "Get"


def test_failed_pull_is_shown_in_words(qtbot: Any, tiny_hub: HubServer,
                                       make_page: Callable[..., ModelsPage]) -> None:
    tiny_hub.faults.wrong_size["model.safetensors"] = 7
    page = make_page()
    page.get("tiny-r1")
    qtbot.waitUntil(lambda: page.job_list[KEY].state == "failed", timeout=60_000)
    panel = page.panels[KEY]
    assert "model.safetensors" in panel.detail.text() and panel.pause_button.text() == "Retry"
    panel.cancel_button.click()  # dismiss
    assert KEY not in page.job_list and list_jobs() == []


def test_the_menu_gets_a_build_with_the_int8_cache(qtbot: Any, tiny_hub: HubServer,
                                                   make_page: Callable[..., ModelsPage]) -> None:
    page = make_page()
    [action] = [a for a in page.get_buttons["tiny-r1"].menu().actions() if "int8 cache" in a.text()]
    with qtbot.waitSignal(page.model_installed, timeout=TIMEOUT_MS) as installed:
        action.trigger()
        assert [s.spec.kv_cache for s in list_jobs()] == ["int8"]
    assert installed.args == ["tiny-r1-int4-kv8"]
    [model] = list_installed()
    assert model.manifest.kv_cache == "int8"


def test_offline_mode_disables_get(qtbot: Any, make_page: Callable[..., ModelsPage]) -> None:
    key = remember(PullSpec.for_pull(FALLBACK_ID, "int4", "cpu")).name
    privacy.set_offline(True)  # what the main window does with Settings(offline=True)
    page = make_page(Settings(offline=True))
    button = page.get_buttons[FALLBACK_ID]
    assert not button.isEnabled() and "Offline" in button.toolTip()
    resume = page.panels[key].pause_button
    assert not resume.isEnabled() and "Offline" in resume.toolTip()
    page.get(FALLBACK_ID)
    assert page.job_list[key].state == "paused" and "Offline" in page.status.text()


def test_offline_forced_by_the_environment_says_so(qtbot: Any, make_page: Callable[..., ModelsPage],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PONDER_OFFLINE", "1")
    page = make_page(Settings(offline=False))
    button = page.get_buttons[FALLBACK_ID]
    assert not button.isEnabled() and "PONDER_OFFLINE=1" in button.toolTip()
    monkeypatch.delenv("PONDER_OFFLINE")
    page.refresh()
    assert page.get_buttons[FALLBACK_ID].isEnabled()


def install_copy(converted: dict[tuple[str, str], Path], name: str) -> None:
    shutil.copytree(converted[("qwen2", "int4")], models_dir() / name)


def test_delete_asks_then_removes_the_model(qtbot: Any, converted: dict[tuple[str, str], Path],
                                            make_page: Callable[..., ModelsPage],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    install_copy(converted, "tiny-a")
    page = make_page()
    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: answers.pop(0))
    page.installed_table.cellWidget(0, 5).click()  # "No": nothing happens
    assert [m.name for m in list_installed()] == ["tiny-a"]
    with qtbot.waitSignal(page.models_changed, timeout=30_000):
        page.installed_table.cellWidget(0, 5).click()
    assert list_installed() == [] and not (models_dir() / "tiny-a").exists()
    assert page.installed_table.item(0, 0).text().startswith("No models yet")


def test_set_as_default_saves_the_setting(qtbot: Any, converted: dict[tuple[str, str], Path],
                                          make_page: Callable[..., ModelsPage]) -> None:
    install_copy(converted, "tiny-a")
    install_copy(converted, "tiny-b")
    page = make_page()
    with qtbot.waitSignal(page.default_model_changed) as changed:
        page.installed_table.cellWidget(1, 4).click()
    assert changed.args == ["tiny-b"] and load_settings().default_model == "tiny-b"
    assert page.installed_table.cellWidget(1, 4).text() == "Default"
    assert not page.installed_table.cellWidget(1, 4).isEnabled()
    assert page.installed_table.cellWidget(0, 4).isEnabled()


def test_add_local_folder_converts_it(qtbot: Any, tiny_checkpoints: dict[str, Path], tmp_path: Path,
                                      make_page: Callable[..., ModelsPage], monkeypatch: pytest.MonkeyPatch) -> None:
    page = make_page()
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text, *a: warnings.append(text))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("not-a-checkpoint", True))
    page.add_folder_button.click()
    assert len(warnings) == 1 and "config.json" in warnings[0] and not page.job_list
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tiny_checkpoints["qwen2"]))
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("my-local", True))
    with qtbot.waitSignal(page.model_installed, timeout=TIMEOUT_MS) as installed:
        page.add_folder_button.click()
        assert page.panels["my-local"].job.spec.stages() == (Stage.CONVERT, Stage.INSTALL)
    assert installed.args == ["my-local"] and list_jobs() == []
    assert list_installed()[0].manifest.source["local_path"] == str(tiny_checkpoints["qwen2"].resolve())


def test_welcome_recommends_a_model_and_asks_for_it(qtbot: Any) -> None:
    page = WelcomePage()
    qtbot.addWidget(page)
    page.resize(760, 620)
    page.show()
    assert not page.get_button.isEnabled()
    page.set_report(cpu_report(cores=2, ram_gb=8))
    assert page.recommendation is not None and page.recommendation.entry.id == FALLBACK_ID
    assert page.model_name.text() == "DeepSeek-R1-Distill-Qwen-1.5B"
    assert "tokens/s on this computer (estimate)" in page.speed.text()
    assert "GB" in page.download_size.text() and "GB" in page.memory.text()
    screenshot(page, "welcome.png")
    with qtbot.waitSignal(page.get_requested) as requested:
        page.get_button.click()
    assert requested.args == [FALLBACK_ID, "int4"]
    with qtbot.waitSignal(page.show_all):
        page.all_button.click()


def test_welcome_probes_by_itself(qtbot: Any, jobs: BackgroundJobs) -> None:
    page = WelcomePage(jobs)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.recommendation is not None, timeout=30_000)
    assert page.get_button.isEnabled() and page.recommendation is not None and page.recommendation.entry.reasoning


def test_add_from_hugging_face_checks_then_gets_any_repo(qtbot: Any, tiny_checkpoints: dict[str, Path],
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         make_page: Callable[..., ModelsPage]) -> None:
    root = tmp_path / "hub-repo"
    shutil.copytree(tiny_checkpoints["qwen3"], root)
    server = HubServer(root, "lab-org/Tiny-Thinker", license="apache-2.0").start()
    real = json.loads(resource_path("catalog.json").read_text(encoding="utf-8"))
    use_hub(server, monkeypatch, tmp_path / "catalog.json", real["models"])  # the repo is not in the catalog
    try:
        page = make_page()
        box = page.hub_add
        box.field.setText("not a repo")
        box.check_button.click()
        assert "owner/name" in box.result.text() and not box.get_button.isEnabled()
        box.field.setText("lab-org/Tiny-Thinker")
        box.check_button.click()
        qtbot.waitUntil(lambda: box.model is not None, timeout=30_000)
        text = box.result.text()
        assert "qwen3" in text and "apache-2.0" in text and "converting needs" in text and "fits" in text
        assert not server.resolve_requests("model.safetensors")  # only config.json so far
        with qtbot.waitSignal(page.model_installed, timeout=TIMEOUT_MS) as installed:
            box.get_button.click()
        assert installed.args == ["tiny-thinker-int4"]
        [model] = list_installed()
        assert model.manifest.source["license"] == "apache-2.0" and model.manifest.architecture["family"] == "qwen3"
    finally:
        server.stop()


# ----- one job for the command line and the window: `ponder pull` in a terminal, the Models page in the app

@pytest.mark.skipif(sys.platform == "win32", reason="Ctrl+C and SIGKILL as on a POSIX terminal")
@pytest.mark.parametrize("how", ["interrupt", "kill"])
def test_a_pull_stopped_in_the_cli_resumes_from_the_models_page(how: str, qtbot: Any, slow_hub: HubServer,
                                                                make_page: Callable[..., ModelsPage]) -> None:
    proc = cli_pull()
    wait_for(lambda: partial_weights() > 0, what="the terminal's pull to be downloading the weights")
    page = make_page()  # the window opens while the terminal pulls: the pull shows, running elsewhere
    panel = page.panels[NAME]
    assert page.job_list[NAME].state == "elsewhere" and f"pid {proc.pid}" in panel.detail.text()
    assert not panel.pause_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert page.get_buttons["tiny-r1"].text() == "Downloading…"
    page.get("tiny-r1")  # no second pull of the same model
    assert page.job_list[NAME].state == "elsewhere" and fetch_count(slow_hub, WEIGHTS) == 1
    stop(proc, how)  # Ctrl+C in the terminal, or the process killed
    qtbot.waitUntil(lambda: page.job_list[NAME].state == "paused", timeout=10_000)
    assert "Paused at" in panel.detail.text() and panel.pause_button.text() == "Resume"
    assert panel.pause_button.isEnabled() and page.get_buttons["tiny-r1"].text() == "Resume"
    slow_hub.faults.slow_chunk_s = 0.0
    with qtbot.waitSignal(page.model_installed, timeout=TIMEOUT_MS) as installed:
        panel.pause_button.click()
    assert installed.args == [NAME] and [m.name for m in list_installed()] == [NAME]
    assert resumed(slow_hub) and fetch_count(slow_hub, "config.json") == 1  # finished files are not fetched again
    qtbot.waitUntil(lambda: NAME not in page.panels)
    assert list_jobs() == [] and not (downloads_dir() / "ponder-test--tiny-r1").exists()


def test_a_pull_paused_on_the_models_page_resumes_from_the_cli(qtbot: Any, slow_hub: HubServer,
                                                              make_page: Callable[..., ModelsPage]) -> None:
    page = make_page()
    page.get("tiny-r1")
    qtbot.waitUntil(lambda: partial_weights() > 0, timeout=30_000)
    page.panels[NAME].pause_button.click()
    qtbot.waitUntil(lambda: page.job_list[NAME].state == "paused", timeout=30_000)
    slow_hub.faults.slow_chunk_s = 0.0
    changed: list[bool] = []
    page.models_changed.connect(lambda: changed.append(True))
    proc = cli_pull()  # `ponder pull tiny-r1` in a terminal, the window still open
    out, err = proc.communicate(timeout=TIMEOUT_MS / 1000)
    assert proc.returncode == 0, err
    assert f"Ready: {NAME}" in out and resumed(slow_hub) and fetch_count(slow_hub, "config.json") == 1
    qtbot.waitUntil(lambda: NAME not in page.panels, timeout=10_000)  # the page saw it finish
    assert changed and page.installed_table.item(0, 0).text() == NAME and list_jobs() == []
