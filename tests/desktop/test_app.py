"""The window opens offscreen and shows the catalog and the hardware found."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from desktop.app import MainWindow


def test_main_window_lists_catalog_and_providers(qtbot: pytest.FixtureRequest) -> None:
    window = MainWindow()
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.show()
    assert window.models.rowCount() == 6
    assert window.models.item(0, 0).text() == "DeepSeek-R1-Distill-Qwen-1.5B"
    qtbot.waitUntil(lambda: window.hardware.rowCount() == 4, timeout=30000)  # type: ignore[attr-defined]
    rows = {window.hardware.item(r, 0).text(): window.hardware.item(r, 1).text() for r in range(4)}
    assert rows["CPUExecutionProvider"] == "yes"
    assert window.models.item(0, 5).text() in ("fits", "slow", "won't fit")
