"""Running the models behind the API: one worker thread owns the loaded chat model (ONNX Runtime sessions are
used from one thread), so requests queue and run one at a time; events stream back to the asyncio handler
through a queue. Cancelling a request's :class:`Controls` (the client went away) stops it while queued or
generating.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from engine.api.schemas import ApiError, ChatRequest
from engine.chat.reasoning import ANSWER
from engine.errors import PonderError
from engine.runtime.generate import ChatModel, Controls, Event, Finished, GenerationConfig, TextDelta, _StopStrings

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
    """Loads installed models on demand (one at a time, cached) and runs their generations one by one."""

    def __init__(self, resolve: Callable[[str], Path], *, provider: str = "auto", threads: int | None = None,
                 context: int | None = None, max_tokens: int = 4096, max_waiting: int = MAX_WAITING) -> None:
        self._resolve = resolve
        self.provider, self.threads, self.context = provider, threads, context
        self.max_tokens, self.max_waiting = max_tokens, max_waiting
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ponder-api-chat")
        self._model: tuple[Path, ChatModel] | None = None  # touched only on the worker thread
        self._active: set[Controls] = set()
        self._lock = threading.Lock()
        self._closed = False

    def path(self, name: str) -> Path:
        """The folder of installed model ``name``; a 404 ApiError when there is none."""
        try:
            return self._resolve(name)
        except PonderError as err:
            raise ApiError(404, str(err), param="model", code="model_not_found") from err

    def _load(self, path: Path) -> ChatModel:
        if self._model is None or self._model[0] != path:
            self._model = None  # free the previous model first
            self._model = (path, ChatModel(path, provider=self.provider, threads=self.threads, context=self.context))
        return self._model[1]

    def _config(self, model: ChatModel, req: ChatRequest) -> GenerationConfig:
        s = model.default_sampling(seed=req.seed)
        sampling = replace(s, temperature=_given(req.temperature, s.temperature), top_p=_given(req.top_p, s.top_p),
                           top_k=_given(req.top_k, s.top_k), min_p=_given(req.min_p, s.min_p),
                           repetition_penalty=_given(req.repetition_penalty, s.repetition_penalty))
        return GenerationConfig(sampling, max_new_tokens=req.max_tokens or self.max_tokens)

    def _run(self, req: ChatRequest, path: Path, bridge: _Bridge) -> None:
        """On the worker thread: load, generate, forward every event; always ends with _END."""
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
                self._executor.submit(self._run, req, path, bridge)
            except RuntimeError as err:  # the executor was shut down
                raise ApiError(503, "The server is shutting down.") from err
            while (item := await bridge.queue.get()) is not _END:
                if isinstance(item, ApiError):
                    raise item
                yield item
        finally:
            controls.cancel()  # no-op when it finished; stops it when the client left
            with self._lock:
                self._active.discard(controls)

    def close(self) -> None:
        """Refuse new requests, cancel the others (queued ones then end at once), wait for the worker (at most
        one token, or a model load in progress) and free the model."""
        with self._lock:
            self._closed = True
            for controls in self._active:
                controls.cancel()
        self._executor.shutdown(wait=True)
        self._model = None


class EmbedHost:
    """The documents' embedder behind ``/v1/embeddings``: loaded on first use, run on its own thread."""

    def __init__(self, folder: Callable[[], Path]) -> None:
        self._folder = folder
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ponder-api-embed")
        self._embedder: Any = None

    def name(self) -> str | None:
        """The embedder's model name (its folder name), or None when none is installed."""
        try:
            return self._folder().name
        except PonderError:
            return None

    def _embed(self, texts: list[str]) -> tuple[np.ndarray, int]:
        from engine.documents.embed import Embedder

        folder = self._folder()
        if self._embedder is None or self._embedder.folder != folder:
            self._embedder = Embedder(folder)
        limit = self._embedder.max_seq_length
        tokens = sum(min(self._embedder.count_tokens(t), limit) for t in texts)
        return self._embedder.embed(texts), tokens

    async def embed(self, model: str, texts: list[str]) -> tuple[np.ndarray, int]:
        """Unit vectors for ``texts`` and the tokens they took; 404 unless ``model`` is the embedder's name."""
        name = self.name()
        if name is None or model != name:
            hint = f"the embedding model is {name!r}" if name else "no embedding model is installed (ponder docs " \
                                                                   "embedder PATH)"
            raise ApiError(404, f"No embedding model named {model!r}: {hint}.", param="model",
                           code="model_not_found")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, self._embed, texts)
        except PonderError as err:
            raise ApiError(500, str(err)) from err

    def close(self) -> None:
        """Stop the worker and free the embedder."""
        with contextlib.suppress(RuntimeError):
            self._executor.shutdown(wait=True, cancel_futures=True)
        self._embedder = None
