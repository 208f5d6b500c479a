"""Chat with a model on a remote OpenAI-compatible engine: :class:`RemoteChatModel` streams the reply as the same
events as the local :class:`engine.runtime.generate.ChatModel` -- reasoning from ``reasoning_content`` (or
``reasoning``) deltas, or from ``<think>...</think>`` inside the text -- so a conversation can use either.

The reply's reasoning controls are translated for the server by :mod:`engine.serve.remote_reasoning` (a control it
cannot honour is a :class:`Notice` of kind ``control_unsupported``, shown like any other). The thinking budget is
also enforced here, for every server but another Ponder (which closes the thought itself, exactly):

- the streamed thought is counted approximately (:func:`engine.serve.remote_reasoning.estimate_tokens`: one token
  per chunk, or per four characters when that is more); a piece that would take it past the budget is not shown;
- where the server continues a final assistant message (vLLM, SGLang, llama.cpp's server, Ollama, and unknown
  servers, asked as vLLM is), the stream is closed there -- the server stops generating -- and a second request
  sends the thought closed with ``</think>`` as the start of the assistant's turn, so the model answers, as the
  local loop's Answer now does (a ``thinking_budget`` Notice says so; ``Stats.reasoning_closed_by`` is "budget").
  Everything that request streams is answer text. A server that refuses it ends the reply with its thought and a
  ``control_unsupported`` Notice (``finish_reason`` "length", the reasoning unfinished). A template that strips
  thoughts from assistant turns (DeepSeek-R1's) does not show the model the cut thought: it answers from the
  question alone.
- where it cannot be asked to continue (OpenAI's and DeepSeek's APIs), the reasoning display ends at the budget
  with a ``thinking_budget`` Notice; the server keeps thinking, unseen, and its answer follows.

:meth:`Controls.answer_now` cuts a remote thought the same way (``reasoning_closed_by`` "answer_now"; on servers
that cannot continue, the rest of the thought is hidden with a ``control_unsupported`` Notice).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from engine.runtime.events import Controls, Event, Finished, GenerationConfig, Notice, Stats, TextDelta
from engine.runtime.generate import collect
from engine.runtime.reasoning import ANSWER, REASONING, ReasoningSplitter
from engine.runtime.sampling import SamplingParams
from engine.runtime.template import THINK_CLOSE, THINK_OPEN, Message
from engine.serve import remote_http as http_
from engine.serve.remote_http import RemoteEngine
from engine.serve.remote_reasoning import (
    CONTINUES,
    GENERIC,
    NOT_DISABLED,
    UNSUPPORTED,
    RemotePlan,
    controls_set,
    estimate_tokens,
    plan_request,
    server_kind,
)
from engine.system.errors import PonderError

_FINISH = {"stop": "stop", "length": "length"}


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
    """The state of one streamed remote reply (one request, or two when the thought was cut at the budget)."""

    def __init__(self, plan: RemotePlan, controls: Controls) -> None:
        self.plan, self.controls = plan, controls
        self.start = time.perf_counter()
        self.first = 0.0
        self.close = 0.0
        self.chunks = {REASONING: 0, ANSWER: 0}
        self.text = {REASONING: "", ANSWER: ""}
        self.splitter = ReasoningSplitter(starts_in_reasoning=False)
        self.reasoning_field = False
        self.finish = ""
        self.usage: dict[str, Any] = {}
        self.cut = False  # the thought reached the client-side budget (or Answer now): the stream must end here
        self.cut_by = ""  # "budget" or "answer_now"
        self.continued = False  # the second request: everything is answer text
        self.hiding = False  # the budget is spent but the server keeps thinking: its reasoning is not shown
        self.warned_thinking = False
        self.refusal = ""  # why the server refused to continue after a cut thought

    def _rate(self) -> float:
        n = sum(self.chunks.values())
        elapsed = time.perf_counter() - self.first
        return (n - 1) / elapsed if n > 1 and elapsed > 0 else 0.0

    def reasoning_tokens(self) -> int:
        """The shown thought's tokens, estimated (see :func:`estimate_tokens`)."""
        return estimate_tokens(self.chunks[REASONING], len(self.text[REASONING]))

    def delta(self, channel: str, text: str) -> TextDelta:
        now = time.perf_counter()
        self.first = self.first or now
        if channel == ANSWER and not self.close:
            self.close = now
        self.chunks[channel] += 1
        self.text[channel] += text
        return TextDelta(text, channel, sum(self.chunks.values()), self._rate())

    def piece(self, channel: str, text: str) -> Iterator[Event]:
        """The events for one piece of streamed text, with the budget and "don't think" applied."""
        if self.continued:
            text = text.replace(THINK_OPEN, "").replace(THINK_CLOSE, "")
            if text:
                yield self.delta(ANSWER, text)
            return
        if channel == REASONING:
            if self.hiding or self.cut:
                self.chunks[REASONING] += int(self.hiding)
                return
            if self.plan.no_thinking and not self.warned_thinking:
                self.warned_thinking = True
                yield Notice(NOT_DISABLED, "The remote model thinks although it was asked not to: its server or "
                             "chat template ignores the switch.")
            budget = self.plan.client_budget
            over = budget is not None and estimate_tokens(self.chunks[REASONING] + 1,
                                                          len(self.text[REASONING]) + len(text)) > budget
            if over or self.controls.take_answer_now():
                self.cut_by = "budget" if over else "answer_now"
                if self.plan.kind in CONTINUES:
                    self.cut = True
                    return
                self.hiding = True
                self.chunks[REASONING] += 1
                spent = f"The thinking budget of {budget} tokens is spent" if over else "Answer now"
                yield Notice("thinking_budget" if over else UNSUPPORTED, f"{spent}: the remote cannot be stopped "
                             "mid-thought, so the rest of its reasoning is not shown. Its answer follows when it "
                             "has finished thinking.", self.reasoning_tokens())
                return
        yield self.delta(channel, text)

    def chunk(self, data: dict[str, Any]) -> Iterator[Event]:
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
            yield from self.piece(REASONING, reasoning)
        content = delta.get("content")
        if isinstance(content, str) and content:
            if self.continued:
                yield from self.piece(ANSWER, content)
            else:
                for piece in self.splitter.feed(content):
                    yield from self.piece(piece.channel, piece.text)
        if choice.get("finish_reason"):
            self.finish = _FINISH.get(str(choice["finish_reason"]), "stop")

    def continue_after_cut(self) -> None:
        """The second request begins: its text is the answer, its usage is the answer's."""
        self.continued, self.usage, self.finish = True, {}, ""

    def end(self) -> Iterator[Event]:
        if self.continued or self.cut:
            return
        for piece in self.splitter.finish():
            yield from self.piece(piece.channel, piece.text)
        answer, orphan = self.text[ANSWER], self.splitter.orphan_close
        if not self.reasoning_field and not self.splitter.closed and orphan is not None:
            # a reasoning model whose prompt opened <think> itself (no reasoning parser on the server)
            self.text[REASONING], self.text[ANSWER] = answer[:orphan].strip(), answer[orphan:].lstrip()

    def finished(self, engine: RemoteEngine, cancelled: bool) -> Finished:
        end = time.perf_counter()
        usage = self.usage
        details, cached = _dict(usage.get("completion_tokens_details")), _dict(usage.get("prompt_tokens_details"))
        if self.continued:  # the thought as counted here; the second request generated the answer
            finish = "cancelled" if cancelled else (self.finish or ("length" if self.refusal else "stop"))
            reasoning_tokens = self.reasoning_tokens()
            answer_tokens = _int(usage.get("completion_tokens")) or self.chunks[ANSWER]
            generated = reasoning_tokens + answer_tokens
        else:
            finish = "cancelled" if cancelled else (self.finish or "stop")
            generated = _int(usage.get("completion_tokens")) or sum(self.chunks.values())
            reasoning_tokens = (_int(details["reasoning_tokens"]) if "reasoning_tokens" in details  # 0 is a count
                                else min(self.chunks[REASONING], generated))
            answer_tokens = max(0, generated - reasoning_tokens)
        prompt = _int(usage.get("prompt_tokens"))
        first = self.first or end
        close = self.close or end
        unfinished = bool(self.refusal) or (not self.continued and (self.splitter.unfinished or (
            bool(self.text[REASONING]) and not self.text[ANSWER] and finish != "stop")))
        budget = self.plan.server_budget
        closed_by = self.cut_by if self.continued and not self.refusal else "budget" if (
            budget is not None and self.text[ANSWER] and reasoning_tokens >= budget and not self.plan.no_thinking) \
            else ""
        stats = Stats(
            prompt_tokens=prompt, reused_tokens=_int(cached.get("cached_tokens")), generated_tokens=generated,
            reasoning_tokens=reasoning_tokens, answer_tokens=answer_tokens,
            time_to_first_token_s=first - self.start,
            reasoning_s=max(0.0, close - first) if self.text[REASONING] else 0.0,
            answer_s=max(0.0, end - close) if self.text[ANSWER] else 0.0,
            prefill_tokens_per_s=0.0,
            decode_tokens_per_s=(generated - 1) / (end - first) if generated > 1 and end > first else 0.0,
            total_s=end - self.start, provider="remote", provider_reason=f"{engine.name} ({engine.url})",
            context_used=prompt + (answer_tokens if self.continued else generated), reasoning_closed_by=closed_by,
        )
        return Finished(finish, self.text[REASONING], self.text[ANSWER], unfinished, stats)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class RemoteChatModel:
    """Chat with ``model`` on a remote engine; :meth:`stream_chat` yields the local model's event types.

    ``server``: the kind of server (:mod:`engine.serve.remote_reasoning`); None finds it when a reasoning control
    first needs it, from the address or else from ``GET /models`` (one request, remembered by this object)."""

    def __init__(self, engine: RemoteEngine, model: str, key: str | None = None, server: str | None = None) -> None:
        self.engine, self.model, self._key, self._server = engine, model, key, server

    @property
    def label(self) -> str:
        """Which engine and model answer, for the conversation's record (e.g. ``"lab-vllm"``)."""
        return self.engine.name

    def default_sampling(self, seed: int | None = None) -> SamplingParams:
        """Ponder's usual sampling (the remote's own defaults are not known)."""
        return SamplingParams(seed=seed)

    def server_kind(self, config: GenerationConfig) -> str:
        """The kind of server, probed only when ``config`` sets a control that depends on it."""
        if self._server is None and controls_set(config):
            kind = server_kind(self.engine.url)
            if kind == GENERIC:
                try:
                    rows = http_.model_rows(self.engine, self._key)
                except PonderError:  # no model list (or no answer): the chat request says what is wrong
                    rows = []
                kind = server_kind(self.engine.url, [str(row.get("owned_by", "")) for row in rows])
            self._server = kind
        return self._server or server_kind(self.engine.url)

    def _body(self, plan: RemotePlan, config: GenerationConfig) -> dict[str, Any]:
        s = config.sampling
        body: dict[str, Any] = {
            "model": self.model, "stream": True, "stream_options": {"include_usage": True},
            "messages": plan.messages, "max_tokens": config.max_new_tokens, "temperature": s.temperature,
            "top_p": s.top_p,
        }
        extras = {"seed": s.seed, "top_k": s.top_k or None, "min_p": s.min_p or None,
                  "repetition_penalty": s.repetition_penalty if s.repetition_penalty != 1.0 else None,
                  "stop": list(config.stop[:4]) or None}
        return body | {k: v for k, v in extras.items() if v is not None} | plan.fields

    def stream_chat(self, messages: Sequence[Message], config: GenerationConfig | None = None,
                    controls: Controls | None = None) -> Iterator[Event]:
        """Stream the remote reply (see the module doc for the reasoning controls). Connection and HTTP errors
        raise PonderError naming the engine's URL; cancelling ends it with ``finish_reason == "cancelled"``."""
        config = config or GenerationConfig(sampling=self.default_sampling())
        return self._events(messages, config, controls or Controls())

    def _events(self, messages: Sequence[Message], config: GenerationConfig, controls: Controls) -> Iterator[Event]:
        plan = plan_request(self.server_kind(config), messages, config)
        yield from plan.notices
        reply = _Reply(plan, controls)
        body = self._body(plan, config)
        yield from self._request(body, reply, controls, f"chat with {self.model}")
        if reply.cut and not controls.cancelled:
            spent = reply.reasoning_tokens()
            if reply.cut_by == "budget":
                yield Notice("thinking_budget", f"The thinking budget of {plan.client_budget} tokens is spent; the "
                             "remote model answers now.", spent)
            messages_sent, extra = plan.continuation(reply.text[REASONING])
            reply.continue_after_cut()
            yield from self._request(body | extra | {"messages": messages_sent,
                                                     "max_tokens": max(1, config.max_new_tokens - spent)},
                                     reply, controls, f"answer from {self.model} after the thinking budget")
            if reply.refusal:
                yield Notice(UNSUPPORTED, f"{self.engine.name} could not be asked for the answer after the cut "
                             f"thought ({reply.refusal}); the reply ends with the thought. Raise the budget, or "
                             "use no limit, for this engine.")
        yield from reply.end()
        done = reply.finished(self.engine, controls.cancelled)
        if plan.server_budget is not None and done.stats.reasoning_closed_by == "budget":
            yield Notice("thinking_budget", f"The thinking budget of {plan.server_budget} tokens was spent; "
                         f"{self.engine.name} closed the thought and answered.", done.stats.reasoning_tokens)
        yield done

    def _request(self, body: dict[str, Any], reply: _Reply, controls: Controls, what: str) -> Iterator[Event]:
        """One streamed request; a second one (after a cut thought) that the server refuses sets
        ``reply.refusal`` instead of raising."""
        with http_.client() as http, http_.activity(self.engine, what) as activity:
            try:
                request = http.build_request("POST", f"{self.engine.url}/chat/completions", json=body,
                                             headers=http_.headers(self._key))
                activity.sent(len(request.content))
                response = http.send(request, stream=True)
                try:
                    if response.status_code != 200:
                        response.read()
                        if reply.continued and response.status_code not in (401, 403):
                            reply.refusal = f"HTTP {response.status_code}: {http_.error_message(response)}"
                            return
                        raise http_.refused(self.engine, response, self.model)
                    watch = _CancelWatch(controls, response)
                    try:
                        yield from self._read(response, reply, controls)
                    finally:
                        watch.stop()
                finally:
                    response.close()  # after a cut thought this ends the stream: the server stops generating
                    activity.received(response.num_bytes_downloaded)
            except httpx.HTTPError as err:
                if not controls.cancelled:
                    raise http_.unreachable(self.engine, err) from err

    def _read(self, response: httpx.Response, reply: _Reply, controls: Controls) -> Iterator[Event]:
        for line in response.iter_lines():
            if controls.cancelled or (reply.cut and not reply.continued):
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
                if reply.cut and not reply.continued:
                    return

    def chat(self, messages: Sequence[Message], config: GenerationConfig | None = None,
             controls: Controls | None = None) -> Finished:
        """The whole reply (the collected stream)."""
        return collect(self.stream_chat(messages, config, controls))
