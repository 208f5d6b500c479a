"""The reasoning controls of a reply (:class:`engine.runtime.events.GenerationConfig`: thinking budget, "don't
think", the policy for earlier thoughts) translated for a remote engine, by the kind of server it is.

:func:`server_kind` tells the servers apart by their address (OpenAI's and DeepSeek's APIs) or by the ``owned_by``
of their ``GET /models`` rows (``ponder``, ``vllm``, ``sglang``, ``llamacpp``; Ollama's ``library`` or its port
11434); anything else is :data:`GENERIC`. :func:`plan_request` gives what the request carries and what the client
must do itself:

- history policy (the same rule as local, default "drop"): earlier assistant turns are sent without their thought,
  or with it as ``reasoning_content`` under "keep" (another Ponder also gets ``history_thoughts``). DeepSeek's API
  refuses ``reasoning_content`` in input and OpenAI's returns no thought to keep: there the thoughts are dropped,
  with a Notice.
- "don't think": ``enable_thinking: false`` to another Ponder; ``reasoning_effort: "none"`` to Ollama;
  ``chat_template_kwargs: {"enable_thinking": false}`` to vLLM, SGLang, llama.cpp's server and unknown servers;
  OpenAI's reasoning models only go down to ``reasoning_effort: "low"`` and DeepSeek's cannot stop (Notices).
- thinking budget: another Ponder takes ``thinking_budget`` and closes the thought itself, exactly; OpenAI gets
  ``reasoning_effort`` (budgets below 4096 tokens ask "low", below 16384 "medium", else "high"), with a Notice that
  it is approximate. Every server except another Ponder also gets the client-side budget
  (:attr:`RemotePlan.client_budget`), enforced by :class:`engine.serve.remote_chat.RemoteChatModel`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from engine.runtime.events import GenerationConfig, Notice
from engine.runtime.template import DROP, KEEP, THINK_CLOSE, THINK_OPEN, Message, split_reasoning

PONDER, VLLM, SGLANG, LLAMACPP, OLLAMA, OPENAI, DEEPSEEK, GENERIC = (
    "ponder", "vllm", "sglang", "llamacpp", "ollama", "openai", "deepseek", "generic")
SERVER_NAMES = {PONDER: "Ponder", VLLM: "vLLM", SGLANG: "SGLang", LLAMACPP: "llama.cpp's server", OLLAMA: "Ollama",
                OPENAI: "OpenAI's API", DEEPSEEK: "DeepSeek's API", GENERIC: "this server"}
CONTINUES = frozenset({VLLM, SGLANG, LLAMACPP, OLLAMA, GENERIC})
"""Servers that continue a final assistant message (vLLM and SGLang with ``continue_final_message``, llama.cpp's
server and Ollama by themselves; unknown servers are asked as vLLM is): a thought cut at the budget can be closed
there and the model asked for the answer."""
CHARS_PER_TOKEN = 4
UNSUPPORTED = "control_unsupported"
"""The kind of :class:`Notice` for a reasoning control the remote cannot honour (the message says which and why)."""
NOT_DISABLED = "thinking_not_disabled"
"""The kind of :class:`Notice` when a remote asked not to think sends a thought anyway."""


def server_kind(url: str, owners: Sequence[str] = ()) -> str:
    """The kind of server at ``url`` from its address, or the ``owned_by`` values of its model list."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host == "api.openai.com":
        return OPENAI
    if host == "api.deepseek.com":
        return DEEPSEEK
    found = {o.lower() for o in owners}
    for kind, names in ((PONDER, {"ponder"}), (VLLM, {"vllm"}), (SGLANG, {"sglang"}),
                        (LLAMACPP, {"llamacpp", "llama.cpp"}), (OLLAMA, {"library", "ollama"})):
        if found & names:
            return kind
    return OLLAMA if parts.port == 11434 else GENERIC


def controls_set(config: GenerationConfig) -> bool:
    """True when ``config`` sets a reasoning control whose request fields depend on the kind of server."""
    return config.thinking_budget is not None or not config.enable_thinking or config.history_thoughts == KEEP


def effort(budget: int) -> str:
    """OpenAI's ``reasoning_effort`` for a thinking budget: the largest preset not above it (at least "low")."""
    return "high" if budget >= 16384 else "medium" if budget >= 4096 else "low"


def estimate_tokens(chunks: int, chars: int) -> int:
    """Approximate tokens of streamed text: one per chunk (vLLM, SGLang, llama.cpp and Ollama stream one token a
    chunk), or one per :data:`CHARS_PER_TOKEN` characters when that is more (servers that batch tokens)."""
    return max(chunks, -(-chars // CHARS_PER_TOKEN))


@dataclass
class RemotePlan:
    """What one remote request carries for the reasoning controls, and what the client does itself."""

    kind: str
    messages: list[dict[str, Any]]
    fields: dict[str, Any] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    client_budget: int | None = None  # the client cuts the thought after this many (estimated) tokens
    server_budget: int | None = None  # the server closes the thought itself at this many tokens
    no_thinking: bool = False  # "don't think" was asked: a thought that arrives anyway gets a Notice

    def continuation(self, thought: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Messages and extra fields that ask for the answer after ``thought``, closed as the local loop closes it
        (``<think>…</think>`` as the start of the assistant's turn, which the server continues)."""
        prefix = {"role": "assistant", "content": f"{THINK_OPEN}\n{thought.strip()}\n{THINK_CLOSE}\n\n"}
        extra = {} if self.kind in (LLAMACPP, OLLAMA) else {"continue_final_message": True,
                                                            "add_generation_prompt": False}
        return [*self.messages, prefix], extra


def _unsupported(kind: str, what: str, why: str) -> Notice:
    return Notice(UNSUPPORTED, f"{SERVER_NAMES[kind]} {why}; {what}.")


def plan_request(kind: str, messages: Sequence[Message], config: GenerationConfig) -> RemotePlan:
    """The messages and reasoning fields of a request to a server of ``kind`` (see the module doc)."""
    policy = config.history_thoughts or DROP
    keep = policy == KEEP and kind not in (OPENAI, DEEPSEEK)
    sent, had_thoughts = [], False
    for m in messages:
        if m.role != "assistant":
            sent.append({"role": m.role, "content": m.content})
            continue
        thought, answer = split_reasoning(m)
        had_thoughts = had_thoughts or bool(thought)
        sent.append({"role": "assistant", "content": answer} | ({"reasoning_content": thought}
                                                                if keep and thought else {}))
    plan = RemotePlan(kind, sent)
    if policy == KEEP and had_thoughts and not keep:
        why = "refuses earlier thoughts in a request" if kind == DEEPSEEK else "takes no earlier thoughts"
        plan.notices.append(_unsupported(kind, "they are left out", why))
    if kind == PONDER and config.history_thoughts is not None:
        plan.fields["history_thoughts"] = policy
    _thinking(plan, config)
    return plan


def _thinking(plan: RemotePlan, config: GenerationConfig) -> None:
    kind, budget = plan.kind, config.thinking_budget
    if not config.enable_thinking:
        plan.no_thinking = True
        if kind == PONDER:
            plan.fields["enable_thinking"] = False
        elif kind == OLLAMA:
            plan.fields["reasoning_effort"] = "none"
        elif kind == OPENAI:
            plan.fields["reasoning_effort"] = "low"
            plan.notices.append(_unsupported(kind, "asked for the lowest effort (\"low\") instead",
                                             "cannot turn a reasoning model's thinking off"))
        elif kind == DEEPSEEK:
            plan.notices.append(_unsupported(kind, "the model thinks as it always does",
                                             "has no switch to turn thinking off"))
        else:
            plan.fields["chat_template_kwargs"] = {"enable_thinking": False}
        if kind in (OPENAI, DEEPSEEK) and budget is None:
            return
    if budget is None:
        return
    if kind == PONDER:
        plan.fields["thinking_budget"] = budget
        plan.server_budget = budget
        return
    plan.client_budget = budget
    if kind == OPENAI and config.enable_thinking:
        plan.fields["reasoning_effort"] = effort(budget)
        plan.notices.append(_unsupported(
            kind, f"asked for reasoning_effort \"{effort(budget)}\" instead, which is approximate",
            f"does not stream the thought, so a budget of {budget} tokens cannot be enforced exactly"))
