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


@dataclass(frozen=True)
class Message:
    """One turn: role is "system", "user" or "assistant"."""

    role: str
    content: str


def strip_reasoning(text: str) -> str:
    """The answer part of an assistant message: everything after the last ``</think>``, trimmed."""
    return text.rsplit(THINK_CLOSE, 1)[-1].lstrip() if THINK_CLOSE in text else text


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

    def render(self, messages: Sequence[Message], add_generation_prompt: bool = True) -> str:
        """Prompt text for ``messages`` (earlier assistant turns lose their reasoning first)."""
        turns = [{"role": m.role, "content": strip_reasoning(m.content) if m.role == "assistant" else m.content}
                 for m in messages]
        try:
            return self._template.render(messages=turns, add_generation_prompt=add_generation_prompt,
                                         bos_token=self.bos_token, eos_token=self.eos_token)
        except TemplateError as err:
            raise PonderError(f"The model's chat template failed: {err}.", "Check the conversation's roles.") from err

    def opens_think(self) -> bool:
        """True when the generation prompt already ends with ``<think>`` (DeepSeek-R1 distills)."""
        probe = self.render([Message("user", "x")])
        return probe.rstrip().endswith(THINK_OPEN)
