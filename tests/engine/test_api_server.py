"""The local OpenAI-compatible API driven by the official ``openai`` client: a real uvicorn server on loopback,
real tiny ONNX models and the real documents embedder."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from engine.cli import main
from engine.documents.embed import Embedder
from engine.models.store import install
from engine.runtime.generate import ChatModel, Finished
from engine.serve.api.server import ApiServer
from tests.fixtures.embedder import embedder_dir
from tests.fixtures.keyrings import MemoryKeyring

__all__ = ["embedder_dir"]

QUESTION: list[ChatCompletionMessageParam] = [{"role": "user", "content": "What is 2+2?"}]
REASONING = "Two plus two. Add them: the sum is four."
ANSWER = "The answer is 4."


@pytest.fixture
def served(converted: dict[tuple[str, str], Path], tmp_path: Path, memory_keyring: MemoryKeyring) -> Iterator[
        ApiServer]:
    """An ApiServer on a free loopback port with the tiny Qwen2 model installed as "tiny"."""
    shutil.copytree(converted[("qwen2", "int4")], tmp_path / "m")
    install(tmp_path / "m", "tiny")
    server = ApiServer(port=0, provider="cpu")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def client(server: ApiServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url, api_key=server.key, max_retries=0, timeout=60)


@pytest.fixture
def slow_and_counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Make every generation pause ``delay`` s per event and record how many ran at once and how each ended."""
    record: dict[str, Any] = {"delay": 0.0, "running": 0, "most": 0, "finishes": [], "calls": 0}
    lock = threading.Lock()
    original = ChatModel.stream_chat

    def stream_chat(self: ChatModel, *args: Any, **kwargs: Any) -> Iterator[Any]:
        with lock:
            record["calls"] += 1
            record["running"] += 1
            record["most"] = max(record["most"], record["running"])
        try:
            for event in original(self, *args, **kwargs):
                time.sleep(record["delay"])
                if isinstance(event, Finished):
                    record["finishes"].append(event.finish_reason)
                yield event
        finally:
            with lock:
                record["running"] -= 1

    monkeypatch.setattr(ChatModel, "stream_chat", stream_chat)
    return record


def test_models_lists_installed_models(served: ApiServer) -> None:
    ids = [m.id for m in client(served).models.list()]
    assert ids == ["tiny"]


def test_chat_completion_separates_reasoning_and_counts_usage(served: ApiServer) -> None:
    reply = client(served).chat.completions.create(model="tiny", messages=QUESTION,
                                                   temperature=0, max_tokens=60)
    choice = reply.choices[0]
    assert choice.message.content == ANSWER and choice.finish_reason == "stop"
    assert choice.message.model_extra is not None
    assert choice.message.model_extra["reasoning_content"].strip() == REASONING
    usage = reply.usage
    assert usage is not None and usage.prompt_tokens > 5 and usage.completion_tokens > 10
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.completion_tokens_details is not None
    assert 0 < (usage.completion_tokens_details.reasoning_tokens or 0) < usage.completion_tokens
    assert reply.model == "tiny" and reply.id.startswith("chatcmpl-")


def test_streaming_sends_reasoning_then_answer_then_usage(served: ApiServer) -> None:
    stream = client(served).chat.completions.create(model="tiny", messages=QUESTION,
                                                    temperature=0, stream=True,
                                                    stream_options={"include_usage": True})
    reasoning, answer, order, finish, usage = "", "", [], None, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            extra = choice.delta.model_extra or {}
            if extra.get("reasoning_content"):
                reasoning += extra["reasoning_content"]
                order.append("r")
            if choice.delta.content:
                answer += choice.delta.content
                order.append("a")
            finish = choice.finish_reason or finish
    assert reasoning.strip() == REASONING and answer == ANSWER and finish == "stop"
    assert order == sorted(order, reverse=True) and len(order) > 5  # all reasoning first, token by token
    assert usage is not None and usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens


def test_stop_ends_the_answer_only_and_max_tokens_the_reply(served: ApiServer) -> None:
    api = client(served)
    stopped = api.chat.completions.create(model="tiny", messages=QUESTION, temperature=0,
                                          stop=["is"])
    message = stopped.choices[0].message
    assert message.content == "The answer " and stopped.choices[0].finish_reason == "stop"
    assert (message.model_extra or {})["reasoning_content"].strip() == REASONING  # "is" in it did not stop it
    short = api.chat.completions.create(model="tiny", messages=QUESTION, temperature=0,
                                        max_tokens=3)
    assert short.choices[0].finish_reason == "length" and short.usage is not None
    assert short.usage.completion_tokens == 3 and short.choices[0].message.content == ""


def test_seed_reproduces_sampling(served: ApiServer) -> None:
    api = client(served)

    def ask(seed: int) -> str:
        reply = api.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Hi"}],
                                            temperature=1.5, top_p=1.0, seed=seed, max_tokens=25)
        return (reply.choices[0].message.model_extra or {}).get("reasoning_content", "") + "|" + (
            reply.choices[0].message.content or "")

    runs = {seed: ask(seed) for seed in (1, 2, 3)}
    assert ask(1) == runs[1] and ask(2) == runs[2]
    assert len(set(runs.values())) > 1  # the seed does change the sample


def test_concurrent_requests_queue_and_both_complete(served: ApiServer, slow_and_counted: dict[str, Any]) -> None:
    slow_and_counted["delay"] = 0.01
    results: list[str | None] = [None, None]

    def ask(i: int) -> None:
        api = client(served)
        if i:
            stream = api.chat.completions.create(model="tiny", messages=QUESTION, temperature=0, stream=True)
            results[i] = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        else:
            reply = api.chat.completions.create(model="tiny", messages=QUESTION, temperature=0)
            results[i] = reply.choices[0].message.content

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [ANSWER, ANSWER]
    assert slow_and_counted["calls"] == 2 and slow_and_counted["most"] == 1


def _open_stream(server: ApiServer, max_tokens: int = 2000) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    body = json.dumps({"model": "tiny", "messages": QUESTION, "stream": True, "max_tokens": max_tokens,
                       "temperature": 0})
    conn.request("POST", "/v1/chat/completions", body, {"Authorization": f"Bearer {server.key}",
                                                         "Content-Type": "application/json"})
    return conn


def test_closing_the_connection_cancels_the_generation(served: ApiServer, slow_and_counted: dict[str, Any]) -> None:
    slow_and_counted["delay"] = 0.5  # a full reply would take ~15 s
    conn = _open_stream(served)
    response = conn.getresponse()
    assert response.status == 200
    assert response.readline().startswith(b"data: ")  # the first chunk arrived
    conn.sock.shutdown(2)  # type: ignore[union-attr]
    conn.close()
    deadline = time.monotonic() + 5
    while not slow_and_counted["finishes"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert slow_and_counted["finishes"] == ["cancelled"]

    slow_and_counted["delay"] = 0.0
    started = time.monotonic()
    reply = client(served).chat.completions.create(model="tiny", messages=QUESTION,
                                                   temperature=0)
    assert reply.choices[0].message.content == ANSWER and time.monotonic() - started < 5


def test_a_request_cancelled_while_queued_never_runs(served: ApiServer, slow_and_counted: dict[str, Any]) -> None:
    slow_and_counted["delay"] = 0.2
    first = _open_stream(served)
    first_response = first.getresponse()
    assert first_response.readline().startswith(b"data: ")
    second = _open_stream(served)  # queued behind the first
    time.sleep(0.3)
    second.sock.shutdown(2)  # type: ignore[union-attr]
    second.close()
    time.sleep(0.3)
    first.sock.shutdown(2)  # type: ignore[union-attr]
    first.close()
    deadline = time.monotonic() + 5
    while not slow_and_counted["finishes"] and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    assert slow_and_counted["calls"] == 1 and slow_and_counted["finishes"] == ["cancelled"]


def test_openai_errors_for_unknown_models_and_bad_parameters(served: ApiServer) -> None:
    api = client(served)
    with pytest.raises(openai.NotFoundError, match="No installed model named 'nope'"):
        api.chat.completions.create(model="nope", messages=QUESTION)
    with pytest.raises(openai.NotFoundError):
        api.chat.completions.create(model="nope", messages=QUESTION, stream=True)
    bad: dict[str, Any]
    for bad in ({"temperature": -1}, {"n": 2}, {"top_p": 0}, {"stop": ["a"] * 5}, {"max_tokens": 0},
                {"tools": [{"type": "function", "function": {"name": "f"}}]}, {"messages": []}):
        kwargs: dict[str, Any] = {"model": "tiny", "messages": QUESTION, **bad}
        with pytest.raises(openai.BadRequestError) as info:
            api.chat.completions.create(**kwargs)
        assert info.value.body is not None and "message" in info.value.body  # type: ignore[operator]


def test_embeddings_come_from_the_documents_embedder(served: ApiServer, embedder_dir: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PONDER_EMBEDDER", str(embedder_dir))
    api = client(served)
    assert embedder_dir.name in [m.id for m in api.models.list()]
    texts = ["The capybara is a large rodent.", "今天天气很好"]
    as_base64 = api.embeddings.create(model=embedder_dir.name, input=texts)  # the client's default: base64
    as_floats = api.embeddings.create(model=embedder_dir.name, input=texts, encoding_format="float")
    expected = Embedder(embedder_dir).embed(texts)
    for reply in (as_base64, as_floats):
        got = np.array([d.embedding for d in reply.data], dtype=np.float32)
        assert got.shape == expected.shape and np.allclose(got, expected, atol=1e-5)
        assert reply.usage.prompt_tokens > 5
    with pytest.raises(openai.NotFoundError):
        api.embeddings.create(model="tiny", input="x")


def test_serve_refuses_other_interfaces_without_allow_remote(memory_keyring: MemoryKeyring,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 1
    assert "--allow-remote" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_ponder_serve_runs_until_ctrl_c(ponder_home: Path) -> None:
    env = {**os.environ, "PONDER_HOME": str(ponder_home), "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "serve", "--port", "0"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split(" at ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        assert httpx.get(f"{url}/models", trust_env=False).status_code == 401
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
    finally:
        proc.kill()
        proc.wait()


def test_serve_shows_and_renews_the_key(memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--show-key"]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("ponder-") and key in memory_keyring.store.values()
    assert main(["serve", "--show-key"]) == 0 and capsys.readouterr().out.strip() == key
    assert main(["serve", "--new-key"]) == 0
    new = capsys.readouterr().out.strip()
    assert new != key and new in memory_keyring.store.values()
