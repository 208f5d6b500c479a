"""Settings persist, and a damaged or hand-edited file never breaks the app."""

from __future__ import annotations

import json
from pathlib import Path

from engine.system.settings import Settings, load_settings, save_settings, settings_path


def test_round_trip() -> None:
    s = Settings(provider="cpu", threads=2, temperature=0.3, language="zh_CN", theme="dark", system_prompt="Hi")
    save_settings(s)
    assert load_settings() == s


def test_bad_values_fall_back_to_defaults(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"provider": "tpu", "threads": "many", "temperature": 9, "font_size": 12,
                                "offline": 1, "unknown": True, "top_p": 1}))
    s = load_settings(path)
    assert s.provider == "auto" and s.threads == 0 and s.temperature == 0.6 and s.font_size == 12
    assert s.offline is False and s.top_p == 1.0
    path.write_text("{not json")
    assert load_settings(path) == Settings()


def test_missing_file_is_defaults() -> None:
    assert not settings_path().exists() and load_settings() == Settings()
