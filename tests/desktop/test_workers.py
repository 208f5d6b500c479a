"""The generic worker: signals, batching, errors, cancel; the inference thread runs jobs on one thread."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Generator
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from desktop.workers import GeneratorWorker, InferenceThread
from engine.system.errors import DownloadError
from engine.system.logfile import start_log_file


def collect(worker: GeneratorWorker) -> dict[str, Any]:
    seen: dict[str, Any] = {"items": [], "batches": 0, "events": []}

    def on_batch(batch: list[Any]) -> None:
        seen["items"] += batch
        seen["batches"] += 1

    worker.started.connect(lambda: seen["events"].append("started"))
    worker.yielded.connect(on_batch)
    worker.finished.connect(lambda r: seen.update(result=r) or seen["events"].append("finished"))
    worker.failed.connect(lambda m: seen.update(error=m) or seen["events"].append("failed"))
    worker.cancelled.connect(lambda: seen["events"].append("cancelled"))
    return seen


def test_items_arrive_in_order_batched_with_the_return_value(qtbot: Any, inference: InferenceThread) -> None:
    threads: set[int] = set()

    def gen() -> Generator[int, None, str]:
        for i in range(300):
            threads.add(threading.get_ident())
            time.sleep(0.001)
            yield i
        return "done"

    worker = GeneratorWorker(gen, interval_s=0.05)
    seen = collect(worker)
    with qtbot.waitSignal(worker.finished, timeout=10000):
        inference.submit(worker)
    assert seen["items"] == list(range(300)) and seen["result"] == "done"
    assert seen["events"] == ["started", "finished"]
    assert 2 <= seen["batches"] < 100  # throttled: far fewer emissions than items
    assert threads and threading.get_ident() not in threads


def test_errors_become_a_message(qtbot: Any, inference: InferenceThread) -> None:
    def gen() -> Generator[int, None, None]:
        yield 1
        raise DownloadError("The Hub refused the file.", "Save a token in Settings.")

    worker = GeneratorWorker(gen)
    seen = collect(worker)
    with qtbot.waitSignal(worker.failed, timeout=5000):
        inference.submit(worker)
    assert seen["error"] == "The Hub refused the file. Save a token in Settings."
    assert seen["items"] == [1]


def test_cancel_stops_the_generator(qtbot: Any, inference: InferenceThread) -> None:
    closed = threading.Event()

    def gen() -> Generator[int, None, None]:
        try:
            i = 0
            while True:
                time.sleep(0.005)
                i += 1
                yield i
        finally:
            closed.set()

    worker = GeneratorWorker(gen)
    seen = collect(worker)
    worker.yielded.connect(lambda _: worker.cancel())
    with qtbot.waitSignal(worker.cancelled, timeout=5000):
        inference.submit(worker)
    assert closed.is_set() and "finished" not in seen["events"]


def test_jobs_run_one_after_another_on_one_thread(qtbot: Any, inference: InferenceThread) -> None:
    order: list[str] = []
    idents: set[int] = set()

    def job(name: str) -> Generator[str, None, None]:
        idents.add(threading.get_ident())
        order.append(f"{name}-start")
        time.sleep(0.05)
        order.append(f"{name}-end")
        yield name

    first, second = GeneratorWorker(lambda: job("a")), GeneratorWorker(lambda: job("b"))
    with qtbot.waitSignal(second.finished, timeout=5000):
        inference.submit(first)
        inference.submit(second)
    assert order == ["a-start", "a-end", "b-start", "b-end"] and len(idents) == 1


def test_a_bug_in_a_worker_is_logged_with_its_traceback_and_shown_in_words(qtbot: Any, inference: InferenceThread,
                                                                           tmp_path: Any,
                                                                           monkeypatch: Any) -> None:
    monkeypatch.setenv("PONDER_HOME", str(tmp_path))
    root = logging.getLogger()
    before = (list(root.handlers), root.level, sys.excepthook, threading.excepthook)
    try:
        path = start_log_file()

        def broken_step() -> Generator[int, None, None]:
            yield 1
            raise KeyError("missing-field")

        worker = GeneratorWorker(broken_step)
        seen = collect(worker)
        with qtbot.waitSignal(worker.failed, timeout=5000):
            inference.submit(worker)
        for handler in root.handlers:
            handler.flush()
    finally:
        for handler in root.handlers[:]:
            if handler not in before[0]:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(before[1])
        sys.excepthook, threading.excepthook = before[2], before[3]
    assert seen["error"] == "KeyError: 'missing-field'"
    assert path == tmp_path / "logs" / "ponder.log"
    text = path.read_text(encoding="utf-8")
    assert "A background job failed" in text and "Traceback (most recent call last)" in text
    assert "in broken_step" in text and "KeyError: 'missing-field'" in text


def test_finished_jobs_are_deleted_on_the_gui_thread_and_never_left_to_the_collector(
        qtbot: Any, inference: InferenceThread) -> None:
    """Every background runner releases what it made for a job (worker, QThread, the callbacks' job object) with
    deleteLater on the GUI thread once the job has ended; a garbage collection on another thread afterwards finds no
    live QObject to destroy (that deadlocked the window once: Qt lock against the GIL)."""
    import gc

    import shiboken6
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QWidget

    from desktop.jobs import _LIVE, call, run_background, run_inference
    from desktop.workers import BackgroundJobs

    jobs, owner = BackgroundJobs(), QWidget()
    results: list[Any] = []
    workers = [run_background(jobs, owner, call(lambda i=i: i * 2), results.append) for i in range(5)]
    workers += [run_inference(inference, owner, call(lambda: "model"), results.append, results.append)]
    failing = run_background(jobs, owner, call(lambda: 1 / 0), lambda r: None, results.append)
    qtbot.waitUntil(lambda: len(results) == 7, timeout=10000)
    expected = ["0", "2", "4", "6", "8", "model", "ZeroDivisionError: division by zero"]
    assert sorted(map(str, results)) == sorted(expected)
    qtbot.waitUntil(lambda: (jobs.running, inference.running) == (0, 0), timeout=10000)

    def deleted() -> bool:  # the window's event loop runs deferred deletes; qtbot's processEvents() does not
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        return not any(shiboken6.isValid(w) for w in [*workers, failing])

    qtbot.waitUntil(deleted, timeout=10000)
    assert not any(shiboken6.isValid(job) for job in _LIVE)

    collected: list[int] = []
    collector = threading.Thread(target=lambda: collected.append(gc.collect()))
    collector.start()
    collector.join(10)
    assert not collector.is_alive() and collected


def test_a_callback_is_not_called_once_its_widget_is_gone(qtbot: Any) -> None:
    from PySide6.QtWidgets import QWidget

    from desktop.jobs import call, run_background
    from desktop.workers import BackgroundJobs

    jobs, owner = BackgroundJobs(), QWidget()
    gate, called = threading.Event(), []
    run_background(jobs, owner, call(gate.wait, 5), called.append)
    owner.deleteLater()
    qtbot.waitUntil(lambda: not __import__("shiboken6").isValid(owner), timeout=5000)
    gate.set()
    qtbot.waitUntil(lambda: jobs.running == 0, timeout=10000)
    assert called == []
