"""Shared pytest fixtures: an isolated PONDER_HOME for every test, and the loopback Hub server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.system import privacy
from tests.fixtures.hub_server import hub_env, hub_server
from tests.fixtures.keyrings import memory_keyring
from tests.fixtures.models import converted, tiny_checkpoints

__all__ = ["converted", "hub_env", "hub_server", "memory_keyring", "tiny_checkpoints"]


@pytest.fixture(autouse=True)
def ponder_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point PONDER_HOME at a fresh temporary folder so no test touches the real data folder; every test starts
    online (offline mode is process-wide: a test that switches it on must not leave it on)."""
    home = tmp_path / "ponder-home"
    monkeypatch.setenv("PONDER_HOME", str(home))
    for name in ("PONDER_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    privacy.set_offline(False)
    yield home
    privacy.set_offline(False)
