"""Remote engines: OpenAI-compatible servers elsewhere (vLLM, Ollama, exo, another Ponder) that Ponder chats with.

The list lives in ``remotes.json`` under the data folder (name and URL only); each engine's key goes to the OS
keyring. :class:`RemoteChatModel` streams a remote model's reply as the same events as the local
:class:`engine.runtime.generate.ChatModel` -- reasoning from ``reasoning_content`` (or ``reasoning``) deltas, or
from ``<think>...</think>`` inside the text -- so a conversation can use either.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from engine.runtime.generate import Controls, Event, Finished, GenerationConfig, Stats, TextDelta, collect
from engine.runtime.reasoning import ANSWER, REASONING, ReasoningSplitter
from engine.runtime.sampling import SamplingParams
from engine.runtime.template import Message, strip_reasoning
from engine.system import network_log, privacy
from engine.system.errors import PonderError
from engine.system.paths import ponder_home
from engine.system.secrets import Secret
from engine.system.verify import read_json, write_json_atomic

REMOTES_FILE = "remotes.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 600.0  # a busy engine may queue a request for a while before the first token
_FINISH = {"stop": "stop", "length": "length"}


@dataclass(frozen=True)
class RemoteEngine:
    """A remote OpenAI-compatible server: ``url`` is its API base (e.g. ``http://host:8000/v1``)."""

    name: str
    url: str

    @property
    def encrypted(self) -> bool:
        """False when its key and messages would cross the network in clear text (http:// beyond loopback)."""
        parts = urlsplit(self.url)
        if parts.scheme == "https":
            return True
        host = parts.hostname or ""
        try:
            return host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False


def check_engine_name(name: str) -> str:
    """A remote engine's name: letters, digits, '.', '_' and '-', at most 64, starting with a letter or digit."""
    if not _NAME.match(name):
        raise PonderError(f"Invalid engine name {name!r}.",
                          "Use letters, digits, '.', '_' or '-' (up to 64), starting with a letter or digit.")
    return name


def normalize_url(url: str) -> str:
    """The API base URL for what a person typed: http(s) only, no credentials, query or fragment; a bare
    ``http://host:port`` gets ``/v1``; no trailing slash."""
    text = url.strip()
    parts = urlsplit(text)
    hint = "Give the server's address, e.g. http://192.168.1.20:8000/v1."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PonderError(f"Not an http(s) URL: {url!r}.", hint)
    if parts.username or parts.password:
        raise PonderError("The URL must not contain a user name or password.", "Give the key separately.")
    if parts.query or parts.fragment:
        raise PonderError(f"The URL must not have a query or fragment: {url!r}.", hint)
    try:
        parts.port  # noqa: B018 -- validates the port
    except ValueError as err:
        raise PonderError(f"Invalid port in {url!r}.", hint) from err
    path = parts.path.rstrip("/") or "/v1"
    return f"{parts.scheme}://{parts.netloc.lower()}{path}"


def _secret(name: str) -> Secret:
    return Secret(f"remote-engine:{name}")


def _client(read_timeout: float = READ_TIMEOUT_S) -> httpx.Client:
    # trust_env=False: a key is never sent through a proxy configured in the environment
    return httpx.Client(timeout=httpx.Timeout(read_timeout, connect=CONNECT_TIMEOUT_S), follow_redirects=False,
                        trust_env=False)


def _activity(engine: RemoteEngine, what: str) -> contextlib.AbstractContextManager[network_log.Activity]:
    """A request to ``engine``, listed in the Network activity; refused with a clear error in offline mode (one
    rule for every engine, wherever it runs: offline means no remote engines)."""
    reason = privacy.offline_reason()
    if reason:
        network_log.record_blocked(network_log.REMOTE, f"{engine.name}: {what}", engine.url, reason)
        raise PonderError(f"Cannot reach the remote engine {engine.name}: {reason[0].lower()}{reason[1:]}.",
                          "Switch offline mode off in Settings › Privacy and network to use remote engines.")
    return network_log.activity(network_log.REMOTE, f"{engine.name}: {what}", engine.url)


def _headers(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


def _unreachable(engine: RemoteEngine, err: httpx.HTTPError) -> PonderError:
    if isinstance(err, httpx.TimeoutException) and not isinstance(err, httpx.ConnectTimeout):
        return PonderError(f"The remote engine {engine.name} at {engine.url} stopped answering ({err or 'timeout'}).",
                           "Check that it is still running, then try again.")
    return PonderError(f"Cannot reach the remote engine {engine.name} at {engine.url}: {err or type(err).__name__}.",
                       "Check that it is running and that the URL is right ('ponder remote list').")


def _refused(engine: RemoteEngine, response: httpx.Response, model: str = "") -> PonderError:
    try:
        detail = response.json().get("error", {})
        message = str(detail.get("message") if isinstance(detail, dict) else detail)
    except (ValueError, AttributeError):
        message = response.text[:200]
    where = f"The remote engine {engine.name} at {engine.url}"
    if response.status_code in (401, 403):
        return PonderError(f"{where} refused the key (HTTP {response.status_code}: {message}).",
                           f"Set its key: ponder remote add {engine.name} {engine.url} --key --replace.")
    if response.status_code == 404 and model:
        return PonderError(f"{where} has no model {model!r} ({message}).",
                           f"See its models: ponder remote models {engine.name}.")
    return PonderError(f"{where} answered HTTP {response.status_code}: {message}.",
                       "Check the engine's own log for the cause.")


class RemoteEngines:
    """The saved remote engines (``remotes.json`` under the data folder; keys in the keyring)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or ponder_home() / REMOTES_FILE

    def engines(self) -> list[RemoteEngine]:
        """The saved engines, sorted by name (entries that are not valid are skipped)."""
        data = read_json(self.path)
        rows = data.get("engines") if isinstance(data, dict) else None
        out = []
        for row in rows if isinstance(rows, list) else []:
            try:
                out.append(RemoteEngine(check_engine_name(str(row["name"])), normalize_url(str(row["url"]))))
            except (PonderError, KeyError, TypeError):
                continue
        return sorted(out, key=lambda e: e.name)

    def _save(self, engines: list[RemoteEngine]) -> None:
        write_json_atomic(self.path, {"engines": [{"name": e.name, "url": e.url} for e in engines]})

    def get(self, name: str) -> RemoteEngine:
        """The engine called ``name``; PonderError naming the saved ones if there is none."""
        for engine in self.engines():
            if engine.name == name:
                return engine
        names = ", ".join(e.name for e in self.engines()) or "none"
        raise PonderError(f"No remote engine named {name!r} (saved: {names}).",
                          "Add it with 'ponder remote add NAME URL'.")

    def add(self, name: str, url: str, key: str | None = None, *, replace: bool = False) -> RemoteEngine:
        """Save an engine; ``key`` goes to the keyring (None: the engine needs none, and any old key is
        forgotten). Refuses an existing name unless ``replace``."""
        engine = RemoteEngine(check_engine_name(name), normalize_url(url))
        engines = self.engines()
        if any(e.name == name for e in engines) and not replace:
            raise PonderError(f"A remote engine named {name!r} already exists.",
                              "Choose another name, or pass --replace to change it.")
        slot = _secret(name)
        if key:
            slot.set(key)
        else:
            slot.clear()
        self._save([e for e in engines if e.name != name] + [engine])
        return engine

    def remove(self, name: str) -> None:
        """Forget an engine and its key."""
        self.get(name)
        self._save([e for e in self.engines() if e.name != name])
        _secret(name).clear()

    def key(self, name: str) -> str | None:
        """The engine's key from the keyring, or None."""
        return _secret(name).get()

    def models(self, name: str, timeout: float = 15.0) -> list[str]:
        """The model names the engine serves (``GET /models``)."""
        engine = self.get(name)
        try:
            with _client(timeout) as http, _activity(engine, "models") as activity:
                response = http.get(f"{engine.url}/models", headers=_headers(self.key(name)))
                activity.received(response.num_bytes_downloaded)
        except httpx.HTTPError as err:
            raise _unreachable(engine, err) from err
        if response.status_code != 200:
            raise _refused(engine, response)
        try:
            rows = response.json()["data"]
            return [str(row["id"]) for row in rows]
        except (ValueError, KeyError, TypeError) as err:
            raise PonderError(f"{engine.url}/models did not answer with a model list.",
                              "Check that the URL is the server's OpenAI-compatible API (it usually ends in /v1).") \
                from err

    def chat_model(self, name: str, model: str) -> RemoteChatModel:
        """A chat client for ``model`` on engine ``name``."""
        return RemoteChatModel(self.get(name), model, self.key(name))


class _CancelWatch:
    """Shuts the response's socket when the caller cancels, so a read waiting for the next token ends at once."""

    def __init__(self, controls: Controls, response: httpx.Response) -> None:
        self._controls, self._response = controls, response
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="ponder-remote-cancel", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.wait(0.05):
            if self._controls.cancelled:
                stream = self._response.extensions.get("network_stream")
                sock = stream.get_extra_info("socket") if stream is not None else None
                with contextlib.suppress(OSError):  # already closed: the read has ended anyway
                    if isinstance(sock, socket.socket):
                        sock.shutdown(socket.SHUT_RDWR)
                    else:
                        self._response.close()
                return

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


class _Reply:
    """The state of one streamed remote reply."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.first = 0.0
        self.close = 0.0
        self.chunks = {REASONING: 0, ANSWER: 0}
        self.text = {REASONING: "", ANSWER: ""}
        self.splitter = ReasoningSplitter(starts_in_reasoning=False)
        self.reasoning_field = False
        self.finish = ""
        self.usage: dict[str, Any] = {}

    def _rate(self) -> float:
        n = sum(self.chunks.values())
        elapsed = time.perf_counter() - self.first
        return (n - 1) / elapsed if n > 1 and elapsed > 0 else 0.0

    def delta(self, channel: str, text: str) -> TextDelta:
        now = time.perf_counter()
        self.first = self.first or now
        if channel == ANSWER and not self.close:
            self.close = now
        self.chunks[channel] += 1
        self.text[channel] += text
        return TextDelta(text, channel, sum(self.chunks.values()), self._rate())

    def chunk(self, data: dict[str, Any]) -> Iterator[TextDelta]:
        if isinstance(data.get("usage"), dict):
            self.usage = data["usage"]
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return
        choice = choices[0]
        delta = _dict(choice.get("delta"))
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            self.reasoning_field = True
            yield self.delta(REASONING, reasoning)
        content = delta.get("content")
        if isinstance(content, str) and content:
            for piece in self.splitter.feed(content):
                yield self.delta(piece.channel, piece.text)
        if choice.get("finish_reason"):
            self.finish = _FINISH.get(str(choice["finish_reason"]), "stop")

    def end(self) -> Iterator[TextDelta]:
        for piece in self.splitter.finish():
            yield self.delta(piece.channel, piece.text)
        answer, orphan = self.text[ANSWER], self.splitter.orphan_close
        if not self.reasoning_field and not self.splitter.closed and orphan is not None:
            # a reasoning model whose prompt opened <think> itself (no reasoning parser on the server)
            self.text[REASONING], self.text[ANSWER] = answer[:orphan].strip(), answer[orphan:].lstrip()

    def finished(self, engine: RemoteEngine, cancelled: bool) -> Finished:
        end = time.perf_counter()
        finish = "cancelled" if cancelled else (self.finish or "stop")
        usage = self.usage
        details, cached = _dict(usage.get("completion_tokens_details")), _dict(usage.get("prompt_tokens_details"))
        generated = _int(usage.get("completion_tokens")) or sum(self.chunks.values())
        reasoning_tokens = _int(details.get("reasoning_tokens")) or min(self.chunks[REASONING], generated)
        prompt = _int(usage.get("prompt_tokens"))
        first = self.first or end
        close = self.close or end
        unfinished = self.splitter.unfinished or (
            bool(self.text[REASONING]) and not self.text[ANSWER] and finish != "stop")
        stats = Stats(
            prompt_tokens=prompt, reused_tokens=_int(cached.get("cached_tokens")), generated_tokens=generated,
            reasoning_tokens=reasoning_tokens, answer_tokens=max(0, generated - reasoning_tokens),
            time_to_first_token_s=first - self.start,
            reasoning_s=max(0.0, close - first) if self.text[REASONING] else 0.0,
            answer_s=max(0.0, end - close) if self.text[ANSWER] else 0.0,
            prefill_tokens_per_s=0.0,
            decode_tokens_per_s=(generated - 1) / (end - first) if generated > 1 and end > first else 0.0,
            total_s=end - self.start, provider="remote", provider_reason=f"{engine.name} ({engine.url})",
            context_used=prompt + generated,
        )
        return Finished(finish, self.text[REASONING], self.text[ANSWER], unfinished, stats)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class RemoteChatModel:
    """Chat with ``model`` on a remote engine; :meth:`stream_chat` yields the local model's event types."""

    def __init__(self, engine: RemoteEngine, model: str, key: str | None = None) -> None:
        self.engine, self.model, self._key = engine, model, key

    @property
    def label(self) -> str:
        """Which engine and model answer, for the conversation's record (e.g. ``"lab-vllm"``)."""
        return self.engine.name

    def default_sampling(self, seed: int | None = None) -> SamplingParams:
        """Ponder's usual sampling (the remote's own defaults are not known)."""
        return SamplingParams(seed=seed)

    def _body(self, messages: Sequence[Message], config: GenerationConfig) -> dict[str, Any]:
        s = config.sampling
        body: dict[str, Any] = {
            "model": self.model, "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": m.role, "content": strip_reasoning(m.content) if m.role == "assistant"
                          else m.content} for m in messages],
            "max_tokens": config.max_new_tokens, "temperature": s.temperature, "top_p": s.top_p,
        }
        extras = {"seed": s.seed, "top_k": s.top_k or None, "min_p": s.min_p or None,
                  "repetition_penalty": s.repetition_penalty if s.repetition_penalty != 1.0 else None,
                  "stop": list(config.stop[:4]) or None}
        return body | {k: v for k, v in extras.items() if v is not None}

    def stream_chat(self, messages: Sequence[Message], config: GenerationConfig | None = None,
                    controls: Controls | None = None) -> Iterator[Event]:
        """Stream the remote reply (see the module doc). Connection and HTTP errors raise PonderError naming
        the engine's URL; cancelling ends it with ``finish_reason == "cancelled"``."""
        config = config or GenerationConfig(sampling=self.default_sampling())
        return self._events(messages, config, controls or Controls())

    def _events(self, messages: Sequence[Message], config: GenerationConfig, controls: Controls) -> Iterator[Event]:
        reply = _Reply()
        body = self._body(messages, config)
        with _client() as http, _activity(self.engine, f"chat with {self.model}") as activity:
            try:
                request = http.build_request("POST", f"{self.engine.url}/chat/completions", json=body,
                                             headers=_headers(self._key))
                activity.sent(len(request.content))
                response = http.send(request, stream=True)
                try:
                    if response.status_code != 200:
                        response.read()
                        raise _refused(self.engine, response, self.model)
                    watch = _CancelWatch(controls, response)
                    try:
                        yield from self._read(response, reply, controls)
                    finally:
                        watch.stop()
                finally:
                    response.close()
                    activity.received(response.num_bytes_downloaded)
            except httpx.HTTPError as err:
                if not controls.cancelled:
                    raise _unreachable(self.engine, err) from err
        yield from reply.end()
        yield reply.finished(self.engine, controls.cancelled)

    def _read(self, response: httpx.Response, reply: _Reply, controls: Controls) -> Iterator[TextDelta]:
        for line in response.iter_lines():
            if controls.cancelled:
                return
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            if payload == "[DONE]":
                return
            try:
                data = json.loads(payload)
            except json.JSONDecodeError as err:
                raise PonderError(f"{self.engine.url} sent a malformed event: {payload[:100]!r}.",
                                  "Check that the URL is an OpenAI-compatible API.") from err
            if isinstance(data, dict) and data.get("error"):
                error = data["error"]
                message = error.get("message") if isinstance(error, dict) else error
                raise PonderError(f"The remote engine {self.engine.name} failed: {message}.",
                                  "Check the engine's own log for the cause.")
            if isinstance(data, dict):
                yield from reply.chunk(data)

    def chat(self, messages: Sequence[Message], config: GenerationConfig | None = None,
             controls: Controls | None = None) -> Finished:
        """The whole reply (the collected stream)."""
        return collect(self.stream_chat(messages, config, controls))
