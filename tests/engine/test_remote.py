"""Remote engines: the saved list and its keys, and chatting through :class:`RemoteChatModel` with a Ponder
server on loopback (the real API and tiny model) and, for the inline ``<think>`` cases, a scripted fake."""

from __future__ import annotations

import io
import json
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from engine.cli import main
from engine.models.store import install
from engine.runtime.generate import Controls, Finished, GenerationConfig, Notice, TextDelta
from engine.runtime.sampling import SamplingParams
from engine.runtime.template import Message
from engine.serve.api.server import ApiServer
from engine.serve.remote_chat import RemoteChatModel
from engine.serve.remote_engines import REMOTES_FILE, RemoteEngines, normalize_url
from engine.serve.remote_http import RemoteEngine
from engine.system.errors import PonderError
from tests.fixtures.keyrings import MemoryKeyring
from tests.fixtures.ports import free_port
from tests.fixtures.remote import FakeRemote, fake

__all__ = ["fake"]

QUESTION = [Message("user", "What is 2+2?")]
GREEDY = GenerationConfig(SamplingParams(temperature=0), max_new_tokens=60)


@pytest.fixture
def ponder_remote(converted: dict[tuple[str, str], Path], tmp_path: Path, memory_keyring: MemoryKeyring) -> Iterator[
        ApiServer]:
    """Another Ponder serving the tiny Qwen2 model as "tiny" on loopback."""
    shutil.copytree(converted[("qwen2", "int4")], tmp_path / "m")
    install(tmp_path / "m", "tiny")
    with ApiServer(port=0, provider="cpu") as server:
        yield server


def collect(model: RemoteChatModel, controls: Controls | None = None,
            config: GenerationConfig = GREEDY) -> tuple[list[TextDelta], Finished]:
    events = list(model.stream_chat(QUESTION, config, controls))
    done = events[-1]
    assert isinstance(done, Finished)
    return [e for e in events if isinstance(e, TextDelta)], done


def test_engines_are_saved_with_their_keys_in_the_keyring(memory_keyring: MemoryKeyring, ponder_home: Path) -> None:
    engines = RemoteEngines()
    lab = engines.add("lab", "http://10.0.0.5:8000", key="sk-secret-123")
    assert lab == RemoteEngine("lab", "http://10.0.0.5:8000/v1") and not lab.encrypted
    engines.add("ollama", "http://localhost:11434/v1/")
    assert [e.name for e in RemoteEngines().engines()] == ["lab", "ollama"]
    text = (ponder_home / REMOTES_FILE).read_text(encoding="utf-8")
    assert "sk-secret-123" not in text and "10.0.0.5" in text
    assert "sk-secret-123" in memory_keyring.store.values() and engines.key("lab") == "sk-secret-123"
    assert engines.key("ollama") is None and engines.get("ollama").encrypted
    with pytest.raises(PonderError, match="already exists"):
        engines.add("lab", "http://10.0.0.6:8000")
    engines.add("lab", "https://lab.example/api/v1", replace=True)
    assert engines.get("lab").url == "https://lab.example/api/v1" and engines.key("lab") is None
    engines.remove("lab")
    with pytest.raises(PonderError, match="No remote engine named 'lab'"):
        engines.get("lab")
    assert [e.name for e in engines.engines()] == ["ollama"]


def test_bad_urls_and_names_are_refused(memory_keyring: MemoryKeyring) -> None:
    for url in ("ftp://host/v1", "host:8000", "http://user:pw@host/v1", "http://host/v1?x=1", "http://host:99999",
                "file:///etc/passwd", "http:///v1"):
        with pytest.raises(PonderError):
            normalize_url(url)
    assert normalize_url("HTTP://Host:8000/") == "http://host:8000/v1"
    for name in ("", "../x", "a b", "-x"):
        with pytest.raises(PonderError, match="Invalid engine name"):
            RemoteEngines().add(name, "http://host")


def test_a_ponder_server_as_a_remote_engine(ponder_remote: ApiServer) -> None:
    engines = RemoteEngines()
    engines.add("other-ponder", ponder_remote.url, key=ponder_remote.key)
    assert engines.models("other-ponder") == ["tiny"]
    deltas, done = collect(engines.chat_model("other-ponder", "tiny"))
    channels = [d.channel for d in deltas]
    assert channels == sorted(channels, key=lambda c: c == "answer") and len(set(channels)) == 2
    assert done.finish_reason == "stop" and done.answer == "The answer is 4."
    assert done.reasoning.strip() == "Two plus two. Add them: the sum is four."
    assert "".join(d.text for d in deltas if d.channel == "answer") == done.answer
    s = done.stats
    assert s.prompt_tokens > 5 and s.reasoning_tokens > 0 and s.generated_tokens > s.reasoning_tokens
    assert s.provider == "remote" and ponder_remote.url in s.provider_reason
    assert deltas[-1].tokens > 1


def test_sampling_stop_and_max_tokens_reach_the_remote(ponder_remote: ApiServer) -> None:
    model = RemoteChatModel(RemoteEngine("p", ponder_remote.url), "tiny", ponder_remote.key)
    _, stopped = collect(model, config=GenerationConfig(SamplingParams(temperature=0), stop=("is",)))
    assert stopped.answer == "The answer " and stopped.finish_reason == "stop"
    _, short = collect(model, config=GenerationConfig(SamplingParams(temperature=0), max_new_tokens=3))
    assert short.finish_reason == "length" and short.stats.generated_tokens == 3 and short.reasoning_unfinished


def test_wrong_key_and_unknown_model_are_explained(ponder_remote: ApiServer) -> None:
    engines = RemoteEngines()
    engines.add("p", ponder_remote.url, key="wrong")
    with pytest.raises(PonderError, match=r"refused the key.*ponder remote add p"):
        engines.models("p")
    with pytest.raises(PonderError, match="refused the key"):
        collect(engines.chat_model("p", "tiny"))
    engines.add("p", ponder_remote.url, key=ponder_remote.key, replace=True)
    with pytest.raises(PonderError, match=r"has no model 'nope'.*ponder remote models p"):
        collect(engines.chat_model("p", "nope"))


def test_an_unreachable_engine_names_its_url(memory_keyring: MemoryKeyring) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    engines = RemoteEngines()
    engines.add("gone", url)
    for call in (lambda: engines.models("gone"), lambda: collect(engines.chat_model("gone", "m"))):
        with pytest.raises(PonderError) as info:
            call()
        assert url in str(info.value) and "Check that it is running" in str(info.value)


@pytest.mark.parametrize(("chunks", "reasoning", "answer"), [
    ([{"content": "<th"}, {"content": "ink>\nBecause"}, {"content": " reasons.</th"}, {"content": "ink>\n\nHi"},
      {"content": " there."}], "Because reasons.", "Hi there."),
    ([{"reasoning_content": "Because"}, {"reasoning_content": " reasons."}, {"content": "Hi there."}],
     "Because reasons.", "Hi there."),
    ([{"reasoning": "Because reasons."}, {"content": "Hi there."}], "Because reasons.", "Hi there."),
    ([{"content": "Just "}, {"content": "an answer."}], "", "Just an answer."),
])
def test_reasoning_from_fields_or_inline_think_tags(fake: tuple[FakeRemote, str], chunks: list[dict[str, Any]],
                                                     reasoning: str, answer: str) -> None:
    remote, url = fake
    remote.chunks = chunks
    deltas, done = collect(RemoteChatModel(RemoteEngine("fake", url), "fake-r1"))
    assert done.reasoning.strip() == reasoning and done.answer == answer and not done.reasoning_unfinished
    assert "".join(d.text for d in deltas if d.channel == "reasoning").strip() == reasoning
    assert "".join(d.text for d in deltas if d.channel == "answer") == answer
    body = remote.requests[-1]
    assert body["stream"] is True and body["model"] == "fake-r1" and body["temperature"] == 0
    assert body["messages"] == [{"role": "user", "content": "What is 2+2?"}] and body["max_tokens"] == 60


def test_reasoning_closed_without_an_opening_tag_is_split_at_the_end(fake: tuple[FakeRemote, str]) -> None:
    remote, url = fake  # an R1 distill on a server without a reasoning parser: its prompt opened <think>
    remote.chunks = [{"content": "Because."}, {"content": "</think>"}, {"content": "\n\nHi."}]
    _, done = collect(RemoteChatModel(RemoteEngine("fake", url), "fake-r1"))
    assert done.reasoning == "Because." and done.answer == "Hi."


def test_cancel_ends_a_stalled_remote_stream_at_once(fake: tuple[FakeRemote, str]) -> None:
    remote, url = fake
    remote.chunks, remote.hang_after = [{"content": "Hello"}, {"content": " never"}], 1
    controls = Controls()
    model = RemoteChatModel(RemoteEngine("fake", url), "fake-r1")
    started = time.monotonic()
    events = []
    for event in model.stream_chat(QUESTION, GREEDY, controls):
        events.append(event)
        if isinstance(event, TextDelta):
            threading.Timer(0.2, controls.cancel).start()
    done = events[-1]
    assert isinstance(done, Finished) and done.finish_reason == "cancelled" and done.answer == "Hello"
    assert time.monotonic() - started < 3
    assert remote.closed.wait(5)  # the remote saw the connection close


def test_cli_add_list_models_remove(ponder_remote: ApiServer, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str], ponder_home: Path) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(ponder_remote.key + "\n"))
    assert main(["remote", "add", "home", ponder_remote.url, "--key"]) == 0
    assert "key in the keyring" in capsys.readouterr().out
    assert ponder_remote.key not in (ponder_home / REMOTES_FILE).read_text(encoding="utf-8")
    assert main(["remote", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"name": "home", "url": ponder_remote.url, "key": True}]
    assert main(["remote", "models", "home"]) == 0 and capsys.readouterr().out.split() == ["tiny"]
    assert main(["remote", "add", "home", "http://x"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["remote", "remove", "home"]) == 0
    assert main(["remote", "models", "home"]) == 1
    assert "No remote engine named 'home'" in capsys.readouterr().err


@pytest.mark.parametrize("budget", [0, 3])
def test_another_ponder_keeps_the_thinking_budget(ponder_remote: ApiServer, budget: int) -> None:
    model = RemoteChatModel(RemoteEngine("p", ponder_remote.url), "tiny", ponder_remote.key)
    free = model.chat(QUESTION, GREEDY)
    events = list(model.stream_chat(QUESTION, replace(GREEDY, thinking_budget=budget)))
    done = events[-1]
    assert isinstance(done, Finished) and free.stats.reasoning_tokens > budget + 3
    assert done.stats.reasoning_tokens <= budget and done.answer and done.finish_reason == "stop"
    assert done.stats.reasoning_closed_by == "budget" and len(done.reasoning) < len(free.reasoning)
    assert [e.kind for e in events if isinstance(e, Notice)] == ["thinking_budget"]


def test_another_ponder_refuses_dont_think_for_a_model_that_must_think(ponder_remote: ApiServer) -> None:
    model = RemoteChatModel(RemoteEngine("p", ponder_remote.url), "tiny", ponder_remote.key)
    with pytest.raises(PonderError, match="always thinks"):
        model.chat(QUESTION, replace(GREEDY, enable_thinking=False))
