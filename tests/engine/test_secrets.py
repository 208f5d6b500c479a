"""Without an OS keyring the token lives in memory for the session — shared by every part of the app."""

from __future__ import annotations

import keyring
import pytest
from keyring.backends import fail

from engine.secrets import TokenStore, keyring_status


def test_no_keyring_keeps_the_token_in_memory_for_every_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        status = TokenStore().set("hf_secret")
        assert not status.available and "in memory only" in status.reason
        assert not keyring_status().available
        assert TokenStore().get() == "hf_secret"  # another part of the app (the downloader) sees it
        TokenStore().clear()
        assert TokenStore().get() is None
    finally:
        keyring.set_keyring(previous)
