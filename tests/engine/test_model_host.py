"""The model host: one owner of loaded models (engine/runtime/host.py), run with the real tiny converted model."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from engine.runtime.generate import GenerationConfig
from engine.runtime.host import ChatKey, HostEvent, ModelHost, chat_load_bytes
from engine.runtime.sampling import SamplingParams
from engine.runtime.template import Message
from engine.system.errors import PonderError
from tests.fixtures.ort_sessions import sessions

__all__ = ["sessions"]

GREEDY = GenerationConfig(SamplingParams(temperature=0.0), max_new_tokens=8)


@pytest.fixture
def model(converted: dict[tuple[str, str], Path]) -> Path:
    return converted[("qwen2", "int4")]


def reply(host: ModelHost, key: ChatKey) -> str:
    def job() -> str:
        return host.chat(key).chat([Message("user", "What is 2+2?")], GREEDY).answer

    return host.submit(job).result(timeout=120)


def test_one_load_serves_every_caller_of_the_same_model(model: Path, sessions: list[Path]) -> None:
    host = ModelHost()
    try:
        key = ChatKey(model, "cpu", None, 512)
        first = reply(host, key)
        again = reply(host, ChatKey(model.parent / "." / model.name, "cpu", None, 512))  # another spelling
        assert first == again
        assert host.loads == 1 and [s.name for s in sessions] == ["model.onnx"]
        reply(host, ChatKey(model, "cpu", None, 256))  # another context is another session, replacing the first
        assert host.loads == 2 and len(host.loaded()) == 1
    finally:
        host.close()
    assert host.loaded() == []


def test_an_idle_model_is_released_and_loaded_again_on_next_use(model: Path, sessions: list[Path]) -> None:
    host = ModelHost(idle_unload_s=0.5)
    events: list[HostEvent] = []
    unloaded = threading.Event()
    host.subscribe(events.append)
    host.subscribe(lambda e: unloaded.set() if e.kind == "unloaded" else None)
    try:
        key = ChatKey(model, "cpu", None, 512)
        reply(host, key)
        assert host.loaded() == [model.name]
        assert unloaded.wait(10), "the idle model was not released"
        assert host.loaded() == []
        reply(host, key)
        assert host.loads == 2 and len(sessions) == 2
    finally:
        host.close()
    kinds = [(e.kind, e.reason) for e in events]
    assert kinds[:3] == [("loading", ""), ("loaded", ""), ("unloaded", "idle")]
    assert events[1].seconds > 0


def test_a_model_in_use_is_not_released_however_long_the_job(model: Path) -> None:
    host = ModelHost(idle_unload_s=0.3)
    try:
        def long_job() -> list[str]:
            host.chat(ChatKey(model, "cpu", None, 512))
            time.sleep(1.0)  # longer than the idle time, inside one job
            return host.loaded()

        assert host.submit(long_job).result(timeout=120) == [model.name]
    finally:
        host.close()


def test_a_model_that_does_not_fit_is_refused_with_the_figures(model: Path, sessions: list[Path]) -> None:
    host = ModelHost(memory=lambda: 1024 ** 2)
    refused: list[HostEvent] = []
    host.subscribe(lambda e: refused.append(e) if e.kind == "refused" else None)
    try:
        with pytest.raises(PonderError) as err:
            reply(host, ChatKey(model, "cpu", None, 512))
    finally:
        host.close()
    need = chat_load_bytes(model, 512)
    assert f"needs about {need / 1024 ** 3:.1f} GiB" in str(err.value) and "0.0 GiB is available" in str(err.value)
    assert "smaller model" in str(err.value) and sessions == [] and len(refused) == 1


def test_the_kv_cache_counts_in_what_a_model_needs(model: Path) -> None:
    assert chat_load_bytes(model, 2048) > chat_load_bytes(model, 256) > sum(
        f.stat().st_size for f in model.glob("model.onnx*"))


def test_models_are_used_only_inside_jobs_and_job_errors_reach_the_caller(model: Path) -> None:
    host = ModelHost()
    try:
        with pytest.raises(RuntimeError, match="only inside a job"):
            host.chat(ChatKey(model))

        def broken() -> None:
            raise ValueError("bad input")

        with pytest.raises(ValueError, match="bad input"):
            host.submit(broken).result(timeout=10)
        assert host.submit(lambda: 42).result(timeout=10) == 42  # the thread survives a failed job
    finally:
        host.close()
    with pytest.raises(PonderError, match="closed"):
        host.submit(lambda: None)
