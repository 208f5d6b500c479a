"""Desktop test helpers: a real tiny model installed in the test's data folder, and the screenshot folder."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from desktop.workers import BackgroundJobs, InferenceThread
from engine.models.store import InstalledModel, install

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tiny_model(converted: dict[tuple[str, str], Path], tmp_path: Path) -> InstalledModel:
    """The trained tiny Qwen2 model (int4) installed as "tiny" in this test's PONDER_HOME."""
    shutil.copytree(converted[("qwen2", "int4")], tmp_path / "tiny-build")
    return install(tmp_path / "tiny-build", "tiny")


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where tests save screenshots of the main screens (PONDER_SCREENSHOTS, default artifacts/screenshots)."""
    folder = Path(os.environ.get("PONDER_SCREENSHOTS", ROOT / "artifacts" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def inference(qtbot: Any) -> Iterator[InferenceThread]:
    """The thread that owns model sessions, stopped after the test."""
    runner = InferenceThread()
    yield runner
    runner.stop()


@pytest.fixture
def runners(qtbot: Any) -> Iterator[tuple[InferenceThread, BackgroundJobs]]:
    """The inference thread and the background jobs, both stopped after the test."""
    inference, jobs = InferenceThread(), BackgroundJobs()
    yield inference, jobs
    jobs.stop_all(30000)
    inference.stop()


@pytest.fixture
def app_look(qapp: Any) -> Iterator[Any]:
    """Restore the application's style sheet, style, palette and font after a test changes the theme (the sheet
    first: under Ponder's style sheet Qt wraps the style)."""
    from PySide6.QtGui import QPalette

    style, palette, font, sheet = qapp.style().name(), QPalette(qapp.palette()), qapp.font(), qapp.styleSheet()
    yield qapp
    qapp.setStyleSheet(sheet)
    qapp.setStyle(style)
    qapp.setPalette(palette)
    qapp.setFont(font)
    qapp.setProperty("ponderTheme", None)


@pytest.fixture
def themed(app_look: Any) -> Iterator[Any]:
    """The application in Ponder's light theme for the test (screenshots), restored afterwards."""
    from desktop.theme import apply_theme

    apply_theme(app_look, "light", 10)
    yield app_look
