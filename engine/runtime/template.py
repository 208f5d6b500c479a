"""Prompts built with the model's own chat template (jinja, from its tokenizer config), rendered in a sandbox."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.system.errors import PonderError

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
DROP, KEEP = "drop", "keep"
HISTORY_THOUGHTS = (DROP, KEEP)
"""The policies for earlier assistant turns' thoughts in the next prompt: leave them out, or keep them."""
_PROBE_THOUGHT = "ponder-probe-thought-7f3a"


@dataclass(frozen=True)
class Message:
    """One turn: role is "system", "user" or "assistant"; an assistant turn may carry its thought in ``reasoning``
    (or, as older callers pass it, inside ``content`` before ``</think>``)."""

    role: str
    content: str
    reasoning: str = ""


def strip_reasoning(text: str) -> str:
    """The answer part of an assistant message: everything after the last ``</think>``, trimmed."""
    return text.rsplit(THINK_CLOSE, 1)[-1].lstrip() if THINK_CLOSE in text else text


def split_reasoning(message: Message) -> tuple[str, str]:
    """(thought, answer) of an assistant message, whether the thought is in ``reasoning`` or inside ``content``."""
    if THINK_CLOSE not in message.content:
        return message.reasoning.strip(), message.content
    head, answer = message.content.rsplit(THINK_CLOSE, 1)
    thought = message.reasoning or head.split(THINK_OPEN, 1)[-1]
    return thought.strip(), answer.lstrip()


def check_history_thoughts(policy: str) -> str:
    """``policy`` if it is one of :data:`HISTORY_THOUGHTS`, else a clear error."""
    if policy not in HISTORY_THOUGHTS:
        raise PonderError(f"Unknown policy for earlier thoughts: {policy!r}.", "Use 'drop' or 'keep'.")
    return policy


def _raise(message: str) -> None:
    raise TemplateError(message)


def _special(config: dict[str, Any], key: str) -> str:
    value = config.get(key)
    if isinstance(value, dict):
        return str(value.get("content", ""))
    return str(value or "")


class ChatTemplate:
    """Renders conversations to prompt text exactly as the model was trained to read them."""

    def __init__(self, source: str, bos_token: str = "", eos_token: str = "") -> None:
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, autoescape=False)
        env.globals["raise_exception"] = _raise
        env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
        env.filters["tojson"] = lambda v, indent=None: json.dumps(v, ensure_ascii=False, indent=indent)
        try:
            self._template = env.from_string(source)
        except TemplateError as err:
            raise PonderError(f"The model's chat template is invalid: {err}.", "Convert the model again.") from err
        self.bos_token, self.eos_token = bos_token, eos_token
        self._probes: dict[str, bool] = {}

    @classmethod
    def from_model_dir(cls, folder: Path) -> ChatTemplate:
        """Load the template from ``chat_template.jinja`` or ``tokenizer_config.json`` in a model folder."""
        config_path = folder / "tokenizer_config.json"
        config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
        source = config.get("chat_template")
        if isinstance(source, list):  # named templates: take the default one
            source = next((t["template"] for t in source if t.get("name") == "default"), None)
        jinja = folder / "chat_template.jinja"
        if not source and jinja.is_file():
            source = jinja.read_text(encoding="utf-8")
        if not source:
            raise PonderError(f"{folder.name} has no chat template.", "Use a chat (instruct) model.")
        return cls(source, _special(config, "bos_token"), _special(config, "eos_token"))

    def render(self, messages: Sequence[Message], add_generation_prompt: bool = True, *, keep_thoughts: bool = False,
               enable_thinking: bool = True) -> str:
        """Prompt text for ``messages``. Earlier assistant turns lose their thought unless ``keep_thoughts`` (then it
        is given to the template both as ``reasoning_content`` and as a ``<think>`` block before the answer, the two
        forms templates read; a template that strips thoughts still strips them, see :meth:`keeps_thoughts`).
        ``enable_thinking`` is passed as the template variable of that name (Qwen3's switch; others ignore it)."""
        turns = [self._turn(m, keep_thoughts) for m in messages]
        try:
            return self._template.render(messages=turns, add_generation_prompt=add_generation_prompt,
                                         bos_token=self.bos_token, eos_token=self.eos_token,
                                         enable_thinking=enable_thinking)
        except TemplateError as err:
            raise PonderError(f"The model's chat template failed: {err}.", "Check the conversation's roles.") from err

    @staticmethod
    def _turn(message: Message, keep_thoughts: bool) -> dict[str, str]:
        if message.role != "assistant":
            return {"role": message.role, "content": message.content}
        thought, answer = split_reasoning(message)
        if not keep_thoughts or not thought:
            return {"role": "assistant", "content": answer}
        return {"role": "assistant", "content": f"{THINK_OPEN}\n{thought}\n{THINK_CLOSE}\n\n{answer}",
                "reasoning_content": thought}

    def opens_think(self, enable_thinking: bool = True) -> bool:
        """True when the generation prompt already ends with ``<think>`` (DeepSeek-R1 distills)."""
        key = f"opens_think:{enable_thinking}"
        if key not in self._probes:
            probe = self.render([Message("user", "x")], enable_thinking=enable_thinking)
            self._probes[key] = probe.rstrip().endswith(THINK_OPEN)
        return self._probes[key]

    def supports_disable_thinking(self) -> bool:
        """True when the template can turn thinking off (Qwen3's ``enable_thinking``): the prompt changes and does
        not leave a thought open. False for models that must think (R1 distills always open ``<think>``) and for
        templates without the switch: hide "Don't think" then."""
        if "disable_thinking" not in self._probes:
            question = [Message("user", "x")]
            off = self.render(question, enable_thinking=False)
            self._probes["disable_thinking"] = (off != self.render(question, enable_thinking=True)
                                                and not off.rstrip().endswith(THINK_OPEN))
        return self._probes["disable_thinking"]

    def keeps_thoughts(self) -> bool:
        """True when an earlier turn's thought reaches the prompt under the "keep" policy; False when the template
        strips thoughts itself (DeepSeek-R1's does), so only "drop" is possible."""
        if "keeps_thoughts" not in self._probes:
            turns = [Message("user", "x"), Message("assistant", "y", _PROBE_THOUGHT), Message("user", "z")]
            self._probes["keeps_thoughts"] = _PROBE_THOUGHT in self.render(turns, keep_thoughts=True)
        return self._probes["keeps_thoughts"]

    def default_history_thoughts(self) -> str:
        """The policy for earlier thoughts the template implies: "keep" when it renders them, else "drop"."""
        return KEEP if self.keeps_thoughts() else DROP
