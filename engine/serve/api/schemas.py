"""Request validation for the OpenAI-compatible routes, and OpenAI's error shape.

Only what Ponder can honour is accepted: unknown fields are ignored (clients send many optional ones), but a
field whose effect Ponder cannot give (tools, several choices, log-probabilities, penalties) is refused with a
400 rather than silently dropped.

Reasoning controls a chat request may add to OpenAI's fields:

- ``thinking_budget`` (integer >= 0): the most reasoning tokens; when the thought has used them it is closed and
  the model answers (``usage.completion_tokens_details.reasoning_tokens`` stays within it).
- ``reasoning_effort``: OpenAI's presets as budgets (:data:`EFFORT_BUDGETS`: minimal 256, low 1024, medium 4096,
  high 16384 tokens), or ``"none"`` for ``enable_thinking: false``. Give it or ``thinking_budget``, not both.
- ``enable_thinking`` (boolean; also read from ``chat_template_kwargs``, as vLLM takes it): false answers without
  thinking where the model's template can (Qwen3); a model that must think (DeepSeek-R1 distills) answers 400.
- ``history_thoughts`` ("drop" or "keep"): whether earlier assistant turns' thoughts (their ``reasoning_content``,
  or a ``<think>`` block in their content) stay in the prompt; the default is the model's ("drop" for R1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from engine.runtime.generate import THINKING_PRESETS
from engine.runtime.template import Message

MAX_STOPS = 4
MAX_EMBED_INPUTS = 2048
EFFORT_BUDGETS = THINKING_PRESETS
"""``reasoning_effort`` presets as thinking budgets, in tokens."""
_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
_STATUS_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                 404: "not_found_error", 405: "invalid_request_error", 413: "invalid_request_error",
                 429: "rate_limit_error", 500: "server_error", 503: "server_error"}


class ApiError(Exception):
    """An error answered as ``{"error": {"message", "type", "param", "code"}}`` with an HTTP status."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code

    def body(self) -> dict[str, Any]:
        """The JSON body OpenAI clients parse."""
        return {"error": {"message": self.message, "type": _STATUS_TYPES.get(self.status, "invalid_request_error"),
                          "param": self.param, "code": self.code}}


def _bad(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code="invalid_value" if param else None)


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or a 400."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise _bad(f"The request body is not valid JSON: {err}.") from err
    if not isinstance(data, dict):
        raise _bad("The request body must be a JSON object.")
    return data


def _number(data: dict[str, Any], name: str, low: float, high: float, *, low_open: bool = False) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(f"'{name}' must be a number.", name)
    if value > high or value < low or (low_open and value == low):
        raise _bad(f"'{name}' must be in {'(' if low_open else '['}{low}, {high}], not {value}.", name)
    return float(value)


def _integer(data: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"'{name}' must be an integer.", name)
    if not low <= value <= high:
        raise _bad(f"'{name}' must be between {low} and {high}, not {value}.", name)
    return value


def _text_content(content: Any, where: str) -> str:
    """A message's content: a string, or a list of text parts (other part types are refused)."""
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise _bad(f"{where}: only text content is supported.", "messages")
            parts.append(part["text"])
        return "".join(parts)
    raise _bad(f"{where}: 'content' must be a string or a list of text parts.", "messages")


def _messages(raw: Any) -> list[Message]:
    if not isinstance(raw, list) or not raw:
        raise _bad("'messages' must be a non-empty list.", "messages")
    out = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict):
            raise _bad(f"messages[{i}] must be an object.", "messages")
        name = m.get("role")
        role = _ROLES.get(name) if isinstance(name, str) else None
        if role is None:
            raise _bad(f"messages[{i}]: role {m.get('role')!r} is not supported (system, user, assistant).",
                       "messages")
        thought = m.get("reasoning_content") if role == "assistant" else None
        if thought is not None and not isinstance(thought, str):
            raise _bad(f"messages[{i}]: 'reasoning_content' must be a string.", "messages")
        out.append(Message(role, _text_content(m.get("content"), f"messages[{i}]"), thought or ""))
    if out[-1].role == "assistant":
        raise _bad("The last message must not be the assistant's (continuing a reply is not supported).",
                   "messages")
    return out


def _stops(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    stops = [raw] if isinstance(raw, str) else raw
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops) or len(stops) > MAX_STOPS:
        raise _bad(f"'stop' must be a string or a list of at most {MAX_STOPS} strings.", "stop")
    return tuple(s for s in stops if s)


def _model(data: dict[str, Any]) -> str:
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("'model' is required (see GET /v1/models).", "model")
    return model


@dataclass(frozen=True)
class ChatRequest:
    """A validated ``POST /v1/chat/completions`` body. None means "the model's default"."""

    model: str
    messages: list[Message]
    stream: bool = False
    include_usage: bool = False
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    repetition_penalty: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = field(default=())
    thinking_budget: int | None = None
    enable_thinking: bool = True
    history_thoughts: str | None = None


def parse_chat(data: dict[str, Any]) -> ChatRequest:
    """Validate a chat completion request (400 :class:`ApiError` naming the field otherwise)."""
    model = _model(data)
    messages = _messages(data.get("messages"))
    if data.get("tools") or data.get("functions"):
        raise _bad("Tool and function calling are not supported.", "tools")
    if data.get("n") not in (None, 1):
        raise _bad("'n' must be 1 (one choice per request).", "n")
    if data.get("logprobs"):
        raise _bad("'logprobs' is not supported.", "logprobs")
    for name in ("presence_penalty", "frequency_penalty"):
        if _number(data, name, -2, 2):
            raise _bad(f"'{name}' is not supported; use 'repetition_penalty'.", name)
    response_format = data.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") not in (None, "text"):
        raise _bad("Only the 'text' response format is supported.", "response_format")
    stream = data.get("stream", False)
    if not isinstance(stream, bool):
        raise _bad("'stream' must be true or false.", "stream")
    options = data.get("stream_options") or {}
    if not isinstance(options, dict):
        raise _bad("'stream_options' must be an object.", "stream_options")
    max_tokens = _integer(data, "max_completion_tokens", 1, 1 << 20)
    if max_tokens is None:
        max_tokens = _integer(data, "max_tokens", 1, 1 << 20)
    top_k = _integer(data, "top_k", -1, 1 << 20)
    return ChatRequest(
        model=model, messages=messages, stream=stream, include_usage=bool(options.get("include_usage")),
        max_tokens=max_tokens, temperature=_number(data, "temperature", 0, 2),
        top_p=_number(data, "top_p", 0, 1, low_open=True), top_k=None if top_k is None else max(top_k, 0),
        min_p=_number(data, "min_p", 0, 0.999), repetition_penalty=_number(data, "repetition_penalty", 0, 10,
                                                                            low_open=True),
        seed=_seed(data), stop=_stops(data.get("stop")), **_reasoning(data),
    )


def _reasoning(data: dict[str, Any]) -> dict[str, Any]:
    """The reasoning controls of a chat request (see the module doc)."""
    budget = _integer(data, "thinking_budget", 0, 1 << 20)
    effort = data.get("reasoning_effort")
    kwargs = data.get("chat_template_kwargs") or {}
    if not isinstance(kwargs, dict):
        raise _bad("'chat_template_kwargs' must be an object.", "chat_template_kwargs")
    enable = data.get("enable_thinking", kwargs.get("enable_thinking"))
    if enable is not None and not isinstance(enable, bool):
        raise _bad("'enable_thinking' must be true or false.", "enable_thinking")
    if effort is not None:
        if budget is not None:
            raise _bad("Give 'thinking_budget' or 'reasoning_effort', not both.", "reasoning_effort")
        if effort == "none":
            enable = False if enable is None else enable
        elif effort in EFFORT_BUDGETS:
            budget = EFFORT_BUDGETS[effort]
        else:
            raise _bad(f"'reasoning_effort' must be one of none, {', '.join(EFFORT_BUDGETS)}; not {effort!r}.",
                       "reasoning_effort")
    history = data.get("history_thoughts")
    if history is not None and history not in ("drop", "keep"):
        raise _bad(f"'history_thoughts' must be 'drop' or 'keep', not {history!r}.", "history_thoughts")
    return {"thinking_budget": budget, "enable_thinking": True if enable is None else enable,
            "history_thoughts": history}


def _seed(data: dict[str, Any]) -> int | None:
    """The seed as the non-negative integer numpy's generator takes (negative seeds wrap around)."""
    seed = _integer(data, "seed", -(1 << 63), (1 << 64) - 1)
    return None if seed is None else seed & ((1 << 64) - 1)


@dataclass(frozen=True)
class EmbeddingRequest:
    """A validated ``POST /v1/embeddings`` body."""

    model: str
    inputs: list[str]
    base64: bool = False
    dimensions: int | None = None


def parse_embeddings(data: dict[str, Any]) -> EmbeddingRequest:
    """Validate an embeddings request: text inputs only (token arrays are refused)."""
    model = _model(data)
    raw = data.get("input")
    inputs = [raw] if isinstance(raw, str) else raw
    if not isinstance(inputs, list) or not inputs or not all(isinstance(t, str) for t in inputs):
        raise _bad("'input' must be a string or a non-empty list of strings (token arrays are not supported).",
                   "input")
    if len(inputs) > MAX_EMBED_INPUTS:
        raise _bad(f"At most {MAX_EMBED_INPUTS} inputs per request.", "input")
    fmt = data.get("encoding_format") or "float"
    if fmt not in ("float", "base64"):
        raise _bad("'encoding_format' must be 'float' or 'base64'.", "encoding_format")
    return EmbeddingRequest(model, inputs, fmt == "base64", _integer(data, "dimensions", 1, 1 << 16))
