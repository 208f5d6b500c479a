"""Shared pytest fixtures: an isolated PONDER_HOME for every test, and the loopback Hub server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.hub_server import hub_env, hub_server
from tests.fixtures.keyrings import memory_keyring
from tests.fixtures.models import converted, tiny_checkpoints

__all__ = ["converted", "hub_env", "hub_server", "memory_keyring", "tiny_checkpoints"]


@pytest.fixture(autouse=True)
def ponder_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point PONDER_HOME at a fresh temporary folder so no test touches the real data folder."""
    home = tmp_path / "ponder-home"
    monkeypatch.setenv("PONDER_HOME", str(home))
    return home
