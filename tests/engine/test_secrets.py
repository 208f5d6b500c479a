"""One secrets module: without an OS keyring (or when it fails) every secret lives in memory for the session,
shared by every part of the app."""

from __future__ import annotations

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from engine.system.secrets import API_KEY_NAME, HF_TOKEN_KEY, Secret, TokenStore, api_key, keyring_status, reset_api_key


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


class BrokenKeyring(KeyringBackend):
    """A keyring that is there but fails every write (a locked or misbehaving backend)."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("the keyring is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.PasswordDeleteError("nothing stored")


@pytest.mark.parametrize("backend", [fail.Keyring, BrokenKeyring])
def test_every_secret_follows_one_fallback_rule(monkeypatch: pytest.MonkeyPatch,
                                                backend: type[KeyringBackend]) -> None:
    """The Hub token, the API key and a remote engine's key: kept in memory for the session when the keyring is
    missing or fails, readable by any other part of the app, and cleared from memory too."""
    monkeypatch.delenv("HF_TOKEN", raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(backend())
    try:
        TokenStore().set("hf_secret")
        key = api_key()
        assert Secret("remote-engine:lab").set("lab-key") is False  # False: memory only
        assert TokenStore().get() == "hf_secret" and api_key() == key and key.startswith("ponder-")
        assert Secret(API_KEY_NAME).get() == key and Secret("remote-engine:lab").get() == "lab-key"
        assert reset_api_key() != key and api_key() != key
        for name in (HF_TOKEN_KEY, API_KEY_NAME, "remote-engine:lab"):
            Secret(name).clear()
            assert Secret(name).get() is None
    finally:
        keyring.set_keyring(previous)
