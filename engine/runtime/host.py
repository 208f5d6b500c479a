"""One owner for every loaded model of a process: :class:`ModelHost`.

The window's chat, its documents retrieval and indexing, and the local API server all get their chat models and
embedders from the one host the process creates, so a model the window chats with and the API serves is loaded
once (a 7B int4 model is about 4.5 GB; twice would not fit a 16 GB computer beside the rest).

One thread runs every job that touches a loaded model, in the order they were submitted, and the host loads,
evicts and unloads only between jobs on that thread. One thread in all, not one per model, because:

- ONNX Runtime sessions are used from one thread at a time, and a generation already keeps every core busy (intra-op
  threads), so two generations side by side would each run at half speed while holding two KV caches;
- on the 16 GB computers Ponder aims at, one chat model is loaded at a time anyway (loading another evicts it);
- eviction and idle unload never race with a generation.

Idle unload (LM Studio's "TTL"): a model not used for ``idle_unload_s`` seconds is released; the next job that
asks for it loads it again. Before loading, the host compares what the model needs (its weights plus the KV cache
it starts with: the cache grows in steps as the conversation does, and growing checks memory again) with the
memory available (counting what evicting the loaded models frees) and refuses with the
figures when it will not fit.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import psutil

from engine.runtime.load_times import LoadTimes
from engine.system.errors import PonderError, StoreError

if TYPE_CHECKING:
    from engine.runtime.generate import ChatModel

log = logging.getLogger(__name__)
T = TypeVar("T")
GIB = 1024 ** 3
LOAD_OVERHEAD = 1.15  # ORT's arenas and the graph's work buffers beside weights and cache (measured 1.05-1.12)


@dataclass(frozen=True)
class ChatKey:
    """What identifies a loaded chat model: the same folder with another provider, thread count or context is
    another session."""

    path: Path
    provider: str = "auto"
    threads: int | None = None
    context: int | None = None

    @property
    def name(self) -> str:
        """The model's folder name."""
        return self.path.name


@dataclass(frozen=True)
class HostEvent:
    """Something the host did: ``loading`` (``expected_s``: how long the same model took to load here last time,
    0.0 if never; engine.runtime.load_times), ``loaded`` (``seconds`` it took), ``unloaded`` (``reason``: idle,
    evicted, closed, asked) or ``refused`` (``reason``: the figures)."""

    kind: str
    name: str
    seconds: float = 0.0
    reason: str = ""
    expected_s: float = 0.0


@dataclass
class _Slot:
    model: Any
    name: str
    kind: str  # "chat" or "other"
    need: int
    last_used: float


def chat_load_bytes(path: Path, context: int | None) -> int:
    """Memory a chat model needs once loaded: its ONNX files, the KV cache it starts with (at most
    :data:`~engine.runtime.session.INITIAL_CAPACITY` tokens of ``context``; it grows in steps later) and ORT's
    overhead."""
    from engine.runtime.session import INITIAL_CAPACITY

    weights = sum(f.stat().st_size for f in path.glob("model.onnx*") if f.is_file())
    cache = 0
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        heads = int(config["num_attention_heads"])
        head_dim = int(config.get("head_dim") or int(config["hidden_size"]) // heads)
        kv_heads = int(config.get("num_key_value_heads") or heads)
        limit = int(config.get("max_position_embeddings") or 4096)
        tokens = min(context or 4096, limit, INITIAL_CAPACITY)
        element = 1 if _kv_cache_type(path) == "int8" else 4  # fp32 on CPU: the most a float cache takes
        cache = int(config["num_hidden_layers"]) * 2 * kv_heads * head_dim * tokens * element
    except (OSError, ValueError, KeyError, TypeError) as err:  # a model without config.json: weights only
        log.info("No KV-cache estimate for %s: %s", path.name, err)
    return int((weights + cache) * LOAD_OVERHEAD)


def _kv_cache_type(path: Path) -> str:
    from engine.models.convert.manifest import read_manifest

    try:
        return read_manifest(path).kv_cache
    except StoreError as err:  # loading it will say so; until then, count a float cache
        log.info("No manifest for %s: %s", path.name, err)
        return "float"


def available_memory() -> int:
    """Bytes of memory available to a new model now."""
    return int(psutil.virtual_memory().available)


class ModelHost:
    """Loads, caches and unloads a process's chat models and embedders; runs every job that uses them on its one
    thread. ``idle_unload_s`` None or 0 keeps models until evicted or closed."""

    def __init__(self, *, idle_unload_s: float | None = None, max_chat_models: int = 1,
                 memory: Callable[[], int] = available_memory, load_times: LoadTimes | None = None) -> None:
        self._idle = idle_unload_s or None
        self._load_times = load_times or LoadTimes()
        self._max_chat = max_chat_models
        self._memory = memory
        self._jobs: queue.Queue[tuple[Callable[[], Any], Future[Any]] | None] = queue.Queue()
        self._slots: dict[Hashable, _Slot] = {}  # touched only on the host thread
        self._listeners: list[Callable[[HostEvent], None]] = []
        self._lock = threading.Lock()
        self._closed = False
        self.loads = 0  # models loaded since start (chat and embedders): the figure tests and the log count
        self._thread = threading.Thread(target=self._loop, name="ponder-models", daemon=True)
        self._thread.start()

    # --- any thread ---------------------------------------------------------------------------------------------

    def submit(self, job: Callable[[], T]) -> Future[T]:
        """Run ``job`` on the host thread after the jobs before it; its result or exception arrives in the
        future. Only jobs may call :meth:`chat` and :meth:`get`."""
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise PonderError("The model host was closed.", "Restart Ponder.")
            self._jobs.put((job, future))
        return future

    def subscribe(self, listener: Callable[[HostEvent], None]) -> None:
        """Call ``listener`` (on the host thread) for every :class:`HostEvent`."""
        self._listeners.append(listener)

    def set_idle_unload(self, seconds: float | None) -> None:
        """Release models unused for ``seconds`` (None or 0: never); takes effect at once."""
        self._idle = seconds or None
        self._jobs.put((lambda: None, Future()))  # wake the thread so it re-reads the time-out

    @property
    def idle_unload_s(self) -> float | None:
        """The idle time-out in seconds, or None."""
        return self._idle

    def loaded(self) -> list[str]:
        """Names of the models loaded now (a snapshot; exact only on the host thread)."""
        return [slot.name for slot in list(self._slots.values())]

    def unload_all(self) -> Future[None]:
        """Release every loaded model after the jobs already queued."""
        return self.submit(lambda: self._release(list(self._slots), "asked"))

    def close(self, timeout_s: float = 30.0) -> None:
        """Finish the queued jobs, release every model and end the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._jobs.put(None)
        self._thread.join(timeout_s)

    # --- the host thread ----------------------------------------------------------------------------------------

    def _on_host_thread(self) -> None:
        if threading.current_thread() is not self._thread:
            raise RuntimeError("ModelHost models are used only inside a job (ModelHost.submit)")

    def chat(self, key: ChatKey) -> ChatModel:
        """The loaded chat model for ``key``, loading it (and evicting other chat models) when needed. Raises
        :class:`PonderError` when it will not fit in memory."""
        self._on_host_thread()
        from engine.runtime.generate import ChatModel

        key = replace(key, path=key.path.resolve())  # the window and the API name one folder differently
        slot = self._slots.get(key)
        if slot is None:
            others = [k for k, s in self._slots.items() if s.kind == "chat"]
            evict = others[: max(0, len(others) - self._max_chat + 1)]
            need = chat_load_bytes(key.path, key.context)
            self._check_fits(key.name, need, evict)
            self._release(evict, "evicted")
            slot = self._load(key, key.name, "chat", need,
                              lambda: ChatModel(key.path, provider=key.provider, threads=key.threads,
                                                context=key.context))
        slot.last_used = time.monotonic()
        return slot.model  # type: ignore[no-any-return]

    def get(self, key: Hashable, name: str, need: Callable[[], int], make: Callable[[], T]) -> T:
        """The model loaded under ``key`` (any hashable that identifies it), made by ``make`` when not loaded yet;
        ``need()`` is the memory it takes, asked and checked only before loading. For models beside the chat model
        (the documents' embedder: :func:`engine.documents.embed.hosted_embedder`)."""
        self._on_host_thread()
        slot = self._slots.get(key)
        if slot is None:
            need_bytes = need()
            self._check_fits(name, need_bytes, [])
            slot = self._load(key, name, "other", need_bytes, make)
        slot.last_used = time.monotonic()
        return slot.model  # type: ignore[no-any-return]

    def _check_fits(self, name: str, need: int, evict: list[Hashable]) -> None:
        freed = sum(self._slots[k].need for k in evict)
        available = self._memory() + freed
        if need > available:
            reason = (f"{name} needs about {need / GIB:.1f} GiB of memory to load; {available / GIB:.1f} GiB is "
                      "available")
            self._emit(HostEvent("refused", name, reason=reason))
            raise PonderError(f"{reason}.", "Close other programs, choose a shorter context length in Settings, or "
                                            "pick a smaller model.")

    def _load(self, key: Hashable, name: str, kind: str, need: int, make: Callable[[], Any]) -> _Slot:
        record = f"{kind}:{key!r}"  # the same folder, provider, threads and context
        self._emit(HostEvent("loading", name, expected_s=self._load_times.expected(record)))
        start = time.monotonic()
        model = make()
        seconds = time.monotonic() - start
        self._load_times.record(record, seconds)
        self.loads += 1
        slot = self._slots[key] = _Slot(model, name, kind, need, time.monotonic())
        log.info("Loaded %s in %.1f s", name, seconds)
        self._emit(HostEvent("loaded", name, seconds=seconds))
        return slot

    def _release(self, keys: list[Hashable], reason: str) -> None:
        for key in keys:
            slot = self._slots.pop(key, None)
            if slot is None:
                continue
            name = slot.name
            del slot  # the session's memory goes with the last reference
            log.info("Unloaded %s (%s)", name, reason)
            self._emit(HostEvent("unloaded", name, reason=reason))

    def _emit(self, event: HostEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a listener's bug must not stop the models' thread; it is logged with its trace
                log.exception("ModelHost listener failed on %s", event)

    def _expired(self) -> list[Hashable]:
        if self._idle is None:
            return []
        now = time.monotonic()
        return [k for k, s in self._slots.items() if now - s.last_used >= self._idle]

    def _wait_s(self) -> float | None:
        if self._idle is None or not self._slots:
            return None
        oldest = min(s.last_used for s in self._slots.values())
        return max(0.0, oldest + self._idle - time.monotonic())

    def _loop(self) -> None:
        while True:
            try:
                item = self._jobs.get(timeout=self._wait_s())
            except queue.Empty:
                self._release(self._expired(), "idle")
                continue
            if item is None:
                break
            job, future = item
            started = time.monotonic()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(job())
                except BaseException as err:  # the job's own error, delivered to whoever waits on it
                    future.set_exception(err)
            now = time.monotonic()
            for slot in self._slots.values():  # a model the job used was in use until the job ended
                if slot.last_used >= started:
                    slot.last_used = now
            self._release(self._expired(), "idle")
        self._release(list(self._slots), "closed")
