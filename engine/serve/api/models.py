"""Running the models behind the API on the process's :class:`~engine.runtime.host.ModelHost` (the window's, when
the API runs inside the app: a model the window chats with is not loaded again). Requests queue on the host's
thread and run one at a time; events stream back to the asyncio handler through a queue. Cancelling a request's
:class:`Controls` (the client went away) stops it while queued or generating.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from engine.runtime.generate import ChatModel, Controls, Event, Finished, GenerationConfig, TextDelta, _StopStrings
from engine.runtime.host import ChatKey, ModelHost
from engine.runtime.reasoning import ANSWER
from engine.serve.api.schemas import ApiError, ChatRequest
from engine.system.errors import PonderError

log = logging.getLogger(__name__)
MAX_WAITING = 32
T = TypeVar("T")


@dataclass(frozen=True)
class Loaded:
    """The request's model is loaded and its generation starts."""


_END = object()


class _Bridge:
    """Carries items from the worker thread to the event loop; drops them once the loop is gone."""

    def __init__(self, loop: asyncio.AbstractEventLoop, controls: Controls) -> None:
        self.loop, self.controls = loop, controls
        self.queue: asyncio.Queue[Any] = asyncio.Queue()

    def put(self, item: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the server's loop closed: nobody is listening any more
            self.controls.cancel()


def _answer_stops(events: Iterator[Event], stops: tuple[str, ...], controls: Controls) -> Iterator[Event]:
    """Apply ``stops`` to the answer only (a stop string inside the reasoning does not end the reply): at the
    first match the rest of the answer is dropped, generation is cancelled and the finish reason is
    "stop_string"."""
    if not stops:
        yield from events
        return
    watch = _StopStrings(stops)
    answer, hit = "", False
    for event in events:
        if isinstance(event, TextDelta) and event.channel == ANSWER:
            if hit:
                continue
            text, hit = watch.feed(event.text)
            if hit:
                controls.cancel()
            if text:
                answer += text
                yield replace(event, text=text)
        elif isinstance(event, Finished):
            tail = "" if hit else watch.flush()
            if tail:
                answer += tail
                yield TextDelta(tail, ANSWER, event.stats.generated_tokens, 0.0)
            yield replace(event, answer=answer, finish_reason="stop_string" if hit else event.finish_reason)
        else:
            yield event


def _given(value: T | None, default: T) -> T:
    return default if value is None else value


class ChatHost:
    """Runs the API's chat requests one by one on the model host, which loads (and shares) the models."""

    def __init__(self, resolve: Callable[[str], Path], *, host: ModelHost | None = None, provider: str = "auto",
                 threads: int | None = None, context: int | None = None, max_tokens: int = 4096,
                 max_waiting: int = MAX_WAITING) -> None:
        self._resolve = resolve
        self._own_host = host is None  # ``ponder serve`` has no window: the server owns a host of its own
        self.host = host or ModelHost()
        self.provider, self.threads, self.context = provider, threads, context
        self.max_tokens, self.max_waiting = max_tokens, max_waiting
        self._active: set[Controls] = set()
        self._jobs: set[Future[None]] = set()
        self._lock = threading.Lock()
        self._closed = False

    def path(self, name: str) -> Path:
        """The folder of installed model ``name``; a 404 ApiError when there is none."""
        try:
            return self._resolve(name)
        except PonderError as err:
            raise ApiError(404, str(err), param="model", code="model_not_found") from err

    def _load(self, path: Path) -> ChatModel:
        return self.host.chat(ChatKey(path, self.provider, self.threads, self.context))

    def _config(self, model: ChatModel, req: ChatRequest) -> GenerationConfig:
        s = model.default_sampling(seed=req.seed)
        sampling = replace(s, temperature=_given(req.temperature, s.temperature), top_p=_given(req.top_p, s.top_p),
                           top_k=_given(req.top_k, s.top_k), min_p=_given(req.min_p, s.min_p),
                           repetition_penalty=_given(req.repetition_penalty, s.repetition_penalty))
        return GenerationConfig(sampling, max_new_tokens=req.max_tokens or self.max_tokens,
                                thinking_budget=req.thinking_budget, enable_thinking=req.enable_thinking,
                                history_thoughts=req.history_thoughts)

    def _run(self, req: ChatRequest, path: Path, bridge: _Bridge) -> None:
        """On the host's thread: load, generate, forward every event; always ends with _END."""
        controls = bridge.controls
        loaded = False
        try:
            if controls.cancelled:
                return
            model = self._load(path)
            loaded = True
            bridge.put(Loaded())
            events = model.stream_chat(req.messages, self._config(model, req), controls)
            for event in _answer_stops(events, req.stop, controls):
                bridge.put(event)
        except PonderError as err:  # after loading: the request cannot be served (e.g. the prompt is too long)
            bridge.put(ApiError(400 if loaded else 500, str(err)))
        except Exception as err:
            log.exception("Generation failed for %s", req.model)
            bridge.put(ApiError(500, f"Generation failed: {err}"))
        finally:
            bridge.put(_END)

    async def generate(self, req: ChatRequest, controls: Controls) -> AsyncGenerator[Loaded | Event, None]:
        """The request's events: first :class:`Loaded`, then the model's events ending in Finished. Raises
        :class:`ApiError` (unknown model, busy, failure). Closing the iterator early cancels the generation."""
        path = self.path(req.model)
        with self._lock:
            if self._closed:
                raise ApiError(503, "The server is shutting down.")
            if len(self._active) >= self.max_waiting:
                raise ApiError(429, f"{len(self._active)} requests are already waiting; try again later.")
            self._active.add(controls)
        bridge = _Bridge(asyncio.get_running_loop(), controls)
        try:
            try:
                job = self.host.submit(lambda: self._run(req, path, bridge))
            except PonderError as err:  # the host was closed
                raise ApiError(503, "The server is shutting down.") from err
            with self._lock:
                self._jobs.add(job)
            job.add_done_callback(self._forget)
            while (item := await bridge.queue.get()) is not _END:
                if isinstance(item, ApiError):
                    raise item
                yield item
        finally:
            controls.cancel()  # no-op when it finished; stops it when the client left
            with self._lock:
                self._active.discard(controls)

    def _forget(self, job: Future[None]) -> None:
        with self._lock:
            self._jobs.discard(job)

    def close(self) -> None:
        """Refuse new requests, cancel the others (queued ones then end at once) and wait for them (at most one
        token, or a model load in progress). A host of its own is closed too, which frees its models; the
        window's host keeps them for the window."""
        with self._lock:
            self._closed = True
            for controls in self._active:
                controls.cancel()
            jobs = list(self._jobs)
        for job in jobs:
            with contextlib.suppress(Exception):  # each job already reported its own error to its request
                job.result(timeout=60)
        if self._own_host:
            self.host.close()


class EmbedHost:
    """The documents' embedder behind ``/v1/embeddings``, loaded on first use by the model host (shared with the
    window's retrieval)."""

    def __init__(self, folder: Callable[[], Path], host: ModelHost) -> None:
        self._folder = folder
        self.host = host

    def name(self) -> str | None:
        """The embedder's model name (its folder name), or None when none is installed."""
        try:
            return self._folder().name
        except PonderError:
            return None

    def _embed(self, texts: list[str]) -> tuple[np.ndarray, int]:
        from engine.documents.embed import hosted_embedder

        embedder = hosted_embedder(self.host, self._folder())
        limit = embedder.max_seq_length
        tokens = sum(min(embedder.count_tokens(t), limit) for t in texts)
        return embedder.embed(texts), tokens

    async def embed(self, model: str, texts: list[str]) -> tuple[np.ndarray, int]:
        """Unit vectors for ``texts`` and the tokens they took; 404 unless ``model`` is the embedder's name."""
        name = self.name()
        if name is None or model != name:
            hint = f"the embedding model is {name!r}" if name else "no embedding model is installed (ponder docs " \
                                                                   "embedder PATH)"
            raise ApiError(404, f"No embedding model named {model!r}: {hint}.", param="model",
                           code="model_not_found")
        try:
            return await asyncio.wrap_future(self.host.submit(lambda: self._embed(texts)))
        except PonderError as err:
            raise ApiError(500, str(err)) from err

    def close(self) -> None:
        """Nothing to stop: the embedder belongs to the model host (closed with the chat host's, or the window's)."""
