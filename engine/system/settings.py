"""The person's settings, kept in ``settings.json`` under the data folder (secrets never: they go to the keyring)."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from engine.system.paths import ponder_home
from engine.system.verify import write_json_atomic

log = logging.getLogger(__name__)
THEMES = ("system", "light", "dark")
LANGUAGES = ("system", "en", "zh_CN")
PROVIDER_CHOICES = ("auto", "cpu", "cuda", "dml", "coreml")


@dataclass(frozen=True)
class Settings:
    """Everything the Settings panel changes. ``threads == 0`` means automatic (one per physical core)."""

    provider: str = "auto"
    threads: int = 0
    temperature: float = 0.6
    top_p: float = 0.95
    max_tokens: int = 4096
    context_length: int = 8192
    system_prompt: str = ""
    hub_endpoint: str = ""
    offline: bool = False
    theme: str = "system"
    font_size: int = 11
    language: str = "system"
    default_model: str = ""
    embedder: str = ""  # the documents' embedding model (an installed one's folder name); "" = the catalog default
    reranker: str = ""  # the documents' reranker (an installed one's folder name); "" = none: reranking is off
    api_enabled: bool = False  # the local OpenAI-compatible API (127.0.0.1 only; the key is in the keyring)
    api_port: int = 8765
    unload_after_min: int = 60  # a loaded model unused this long is released (LM Studio's TTL); 0 = never

    def validated(self) -> Settings:
        """A copy with every out-of-range value replaced by its default (a hand-edited file never breaks the app)."""
        base = Settings()
        fixes: dict[str, Any] = {}
        checks = {
            "provider": self.provider in PROVIDER_CHOICES, "threads": 0 <= self.threads <= 256,
            "temperature": 0 <= self.temperature <= 2, "top_p": 0 < self.top_p <= 1,
            "max_tokens": 1 <= self.max_tokens <= 131072, "context_length": 256 <= self.context_length <= 131072,
            "theme": self.theme in THEMES, "font_size": 6 <= self.font_size <= 32,
            "language": self.language in LANGUAGES, "api_port": 1024 <= self.api_port <= 65535,
            "unload_after_min": 0 <= self.unload_after_min <= 24 * 60,
        }
        for name, ok in checks.items():
            if not ok:
                fixes[name] = getattr(base, name)
        return replace(self, **fixes) if fixes else self


def settings_path() -> Path:
    """Where the settings live."""
    return ponder_home() / "settings.json"


def load_settings(path: Path | None = None) -> Settings:
    """Read the settings; missing, unreadable or mistyped values fall back to their defaults."""
    path = path or settings_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, json.JSONDecodeError) as err:
        log.warning("Ignoring unreadable settings %s: %s", path, err)
        return Settings()
    defaults = Settings()
    known: dict[str, Any] = {f.name: value for f in fields(Settings) if f.name in raw
             and (value := _coerce(getattr(defaults, f.name), raw[f.name])) is not None}
    return Settings(**known).validated()


def _coerce(default: object, value: object) -> object | None:
    """``value`` as the type of ``default``, or None when it is not that type (bools are not numbers here)."""
    if isinstance(default, bool) or isinstance(value, bool):
        return value if isinstance(default, bool) and isinstance(value, bool) else None
    if isinstance(default, float):
        return float(value) if isinstance(value, int | float) else None
    return value if isinstance(value, type(default)) else None


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write the settings atomically."""
    write_json_atomic(path or settings_path(), asdict(settings.validated()))
