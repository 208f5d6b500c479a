"""The model host remembers how long each model took to load here, and says so when it loads it again (the
window's loading bar is a fraction of that: engine.runtime.load_times)."""

from __future__ import annotations

import time
from pathlib import Path

from engine.runtime.host import HostEvent, ModelHost
from engine.runtime.load_times import LoadTimes


def test_record_and_expected(tmp_path: Path) -> None:
    times = LoadTimes(tmp_path / "t.json")
    assert times.expected("a") == 0.0
    times.record("a", 3.14159)
    times.record("b", 1.0)
    assert times.expected("a") == 3.14 and times.expected("b") == 1.0
    assert LoadTimes(tmp_path / "t.json").expected("a") == 3.14  # kept on disk


def test_damaged_record_only_costs_the_estimate(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text("{not json", encoding="utf-8")
    times = LoadTimes(path)
    assert times.expected("a") == 0.0
    times.record("a", 2.0)  # replaces the damaged file
    assert times.expected("a") == 2.0


def test_second_load_reports_the_first_ones_time(tmp_path: Path) -> None:
    host = ModelHost(load_times=LoadTimes(tmp_path / "t.json"))
    events: list[HostEvent] = []
    host.subscribe(events.append)

    def slow() -> object:
        time.sleep(0.2)
        return object()

    def load() -> object:
        return host.get("embedder", "embedder", lambda: 1, slow)

    try:
        host.submit(load).result(10)
        host.unload_all().result(10)
        host.submit(load).result(10)
    finally:
        host.close()
    loading = [e for e in events if e.kind == "loading"]
    loaded = [e for e in events if e.kind == "loaded"]
    assert loading[0].expected_s == 0.0  # never loaded here
    assert abs(loading[1].expected_s - round(loaded[0].seconds, 2)) < 1e-9 and loading[1].expected_s >= 0.2
