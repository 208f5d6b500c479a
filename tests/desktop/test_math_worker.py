"""Math is typeset in a child process (desktop/chat/math_worker.py) so a streaming reply never waits for
matplotlib; the formulas it sends back are the ones the window's own typesetter makes, and when the child cannot
run the window typesets them itself."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtGui import QImage

from desktop.chat import math_worker
from desktop.chat.mathstore import MathStore
from desktop.chat.typeset import MathKey, typeset
from desktop.workers import BackgroundJobs

SUM: MathKey = (r"\sum_{k=1}^{n} k = \boxed{4}", "#1f2328", "#0969da", 12.5)
BAD: MathKey = (r"\frac{1}{", "#1f2328", "#0969da", 10.5)


def sizes(formulas: object) -> list[tuple[int, int, int, int]]:
    """Each image's shown size and its pixel size (decoded from its PNG)."""
    assert isinstance(formulas, tuple) and formulas
    images = [(f, QImage.fromData(f.png)) for f in formulas]
    return [(f.width, f.height, image.width(), image.height()) for f, image in images if not image.isNull()]


def test_answer_line_round_trip() -> None:
    formulas = typeset(*SUM)
    assert formulas is not None
    assert math_worker.decode(math_worker.encode([formulas, None]), [SUM, BAD]) == {SUM: formulas, BAD: None}
    with pytest.raises(ValueError):
        math_worker.decode(math_worker.encode([None]), [SUM, BAD])  # an answer to another request


def test_child_process_typesets_what_the_window_would(qtbot: Any) -> None:
    store = MathStore(BackgroundJobs())
    try:
        with qtbot.waitSignal(store.ready, timeout=120000):
            store.request(SUM)
            store.request(BAD)
        qtbot.waitUntil(lambda: store.idle, timeout=120000)
        assert store._process is not None and store._process._process is not None  # it ran in the child
        assert not store._process.broken
        assert sizes(store.get(SUM)) == sizes(typeset(*SUM))  # the same formula images (the frame's antialiasing
        # may differ by a few pixels' values between processes)
        assert store.get(BAD) is None  # invalid TeX: its source text is shown
    finally:
        store.close()


def test_without_the_child_the_window_typesets(qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(math_worker, "worker_command", lambda: ["/nonexistent/ponder-math-worker"])
    store = MathStore(BackgroundJobs())
    with qtbot.waitSignal(store.ready, timeout=120000):
        store.request(SUM)
    assert store._process is not None and store._process.broken
    assert sizes(store.get(SUM)) == sizes(typeset(*SUM))
