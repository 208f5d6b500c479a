"""The ASGI app: ``GET /v1/models``, ``POST /v1/chat/completions`` (JSON or server-sent events) and
``POST /v1/embeddings``, behind :class:`engine.serve.api.auth.Guard`. No other route exists; no CORS headers.

Reasoning goes in ``reasoning_content`` (as DeepSeek's API does) and the answer in ``content``. A chat request may
limit or switch off the thinking (``thinking_budget``, ``reasoning_effort``, ``enable_thinking``) and choose whether
earlier thoughts stay in the prompt (``history_thoughts``): see :mod:`engine.serve.api.schemas`. A client that
closes its connection cancels its request, queued or generating.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from engine.models.store import InstalledModel
from engine.runtime.generate import Controls, Event, Finished, Notice, TextDelta
from engine.serve.api.auth import MAX_BODY_BYTES, Guard, HostPolicy
from engine.serve.api.models import ChatHost, EmbedHost, Loaded
from engine.serve.api.schemas import ApiError, ChatRequest, parse_chat, parse_embeddings, parse_json_object

T = TypeVar("T")
FINISH_REASONS = {"stop": "stop", "stop_string": "stop", "length": "length", "cancelled": "stop"}


class _ClientGone(Exception):
    """The client closed the connection before the reply was ready."""


async def _read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"The request body is larger than {limit // 2**20} MiB.")
        chunks.append(chunk)
    return b"".join(chunks)


async def _until_disconnect(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _unless_gone(work: Awaitable[T], request: Request) -> T:
    """Await ``work`` unless the client disconnects first (then ``work`` is cancelled and _ClientGone raised)."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_until_disconnect(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise _ClientGone
    return task.result()


def _usage(finished: Finished) -> dict[str, Any]:
    s = finished.stats
    return {"prompt_tokens": s.prompt_tokens, "completion_tokens": s.generated_tokens,
            "total_tokens": s.prompt_tokens + s.generated_tokens,
            "prompt_tokens_details": {"cached_tokens": s.reused_tokens},
            "completion_tokens_details": {"reasoning_tokens": s.reasoning_tokens}}


def _error(err: ApiError) -> JSONResponse:
    return JSONResponse(err.body(), err.status)


class _Api:
    """The route handlers, sharing the model hosts."""

    def __init__(self, chat: ChatHost, embed: EmbedHost, installed: Callable[[], Sequence[InstalledModel]]) -> None:
        self.chat, self.embed, self.installed = chat, embed, installed

    async def models(self, request: Request) -> Response:
        data = [{"id": m.name, "object": "model", "created": int(m.path.stat().st_mtime), "owned_by": "ponder"}
                for m in self.installed()]
        if (name := self.embed.name()) is not None:
            data.append({"id": name, "object": "model", "created": 0, "owned_by": "ponder"})
        return JSONResponse({"object": "list", "data": data})

    async def embeddings(self, request: Request) -> Response:
        req = parse_embeddings(parse_json_object(await _read_body(request)))
        vectors, tokens = await self.embed.embed(req.model, req.inputs)
        if req.dimensions is not None and req.dimensions != vectors.shape[1]:
            raise ApiError(400, f"{req.model} gives {vectors.shape[1]} dimensions, not {req.dimensions}.",
                           param="dimensions")
        data = [{"object": "embedding", "index": i,
                 "embedding": base64.b64encode(v.astype("<f4").tobytes()).decode("ascii") if req.base64
                 else [float(x) for x in v]} for i, v in enumerate(vectors)]
        return JSONResponse({"object": "list", "data": data, "model": req.model,
                             "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    async def chat_completions(self, request: Request) -> Response:
        req = parse_chat(parse_json_object(await _read_body(request)))
        events = self.chat.generate(req, Controls())
        if req.stream:
            try:
                await _unless_gone(anext(events), request)  # queued, then loaded: errors still get a status
            except _ClientGone:
                return Response(status_code=499)
            except BaseException:
                await events.aclose()
                raise
            return StreamingResponse(_sse(req, events), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        async with contextlib.aclosing(events):
            try:
                finished = await _unless_gone(_last(events), request)
            except _ClientGone:
                return Response(status_code=499)
        message = {"role": "assistant", "content": finished.answer, "reasoning_content": finished.reasoning or None}
        return JSONResponse({"id": _completion_id(), "object": "chat.completion", "created": int(time.time()),
                             "model": req.model, "system_fingerprint": None,
                             "choices": [{"index": 0, "message": message, "logprobs": None,
                                          "finish_reason": FINISH_REASONS.get(finished.finish_reason, "stop")}],
                             "usage": _usage(finished)})


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


async def _last(events: AsyncGenerator[Loaded | Event, None]) -> Finished:
    async for event in events:
        if isinstance(event, Finished):
            return event
    raise ApiError(500, "The generation ended without a result.")


def _sse_line(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def _sse(req: ChatRequest, events: AsyncGenerator[Loaded | Event, None]) -> AsyncIterator[bytes]:
    """The reply as OpenAI chunks; the generation is cancelled if the client goes (the iterator is closed)."""
    head = {"id": _completion_id(), "object": "chat.completion.chunk", "created": int(time.time()),
            "model": req.model, "system_fingerprint": None}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return _sse_line({**head, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                               "finish_reason": finish}]})

    async with contextlib.aclosing(events):
        yield chunk({"role": "assistant", "content": ""})
        try:
            async for event in events:
                if isinstance(event, TextDelta) and event.text:
                    key = "content" if event.channel == "answer" else "reasoning_content"
                    yield chunk({key: event.text})
                elif isinstance(event, Finished):
                    yield chunk({}, FINISH_REASONS.get(event.finish_reason, "stop"))
                    if req.include_usage:
                        yield _sse_line({**head, "choices": [], "usage": _usage(event)})
                elif isinstance(event, Notice | Loaded):
                    continue
        except ApiError as err:
            yield _sse_line(err.body())
            return
        yield b"data: [DONE]\n\n"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    body = ApiError(exc.status_code, "No such route." if exc.status_code == 404 else str(exc.detail)).body()
    return JSONResponse(body, exc.status_code, headers=exc.headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error(exc)


async def _server_error(request: Request, exc: Exception) -> Response:
    return _error(ApiError(500, "Internal server error; see Ponder's log."))


def build_app(chat: ChatHost, embed: EmbedHost, installed: Callable[[], Sequence[InstalledModel]], key: str,
              hosts: HostPolicy) -> ASGIApp:
    """The guarded ASGI app serving ``chat`` and ``embed``; ``installed`` lists the chat models."""
    api = _Api(chat, embed, installed)
    app = Starlette(routes=[
        Route("/v1/models", api.models, methods=["GET"]),
        Route("/v1/chat/completions", api.chat_completions, methods=["POST"]),
        Route("/v1/embeddings", api.embeddings, methods=["POST"]),
    ], exception_handlers={HTTPException: _http_error, ApiError: _api_error, Exception: _server_error})
    app.router.redirect_slashes = False
    return Guard(app, key, hosts)
