"""Secrets Ponder keeps in the OS keyring (falling back to memory, and saying so, without one): the local API's
key and the keys of remote engines. Never written to disk in plaintext."""

from __future__ import annotations

import contextlib
import logging
import secrets

import keyring
import keyring.errors

from engine.secrets import SERVICE, keyring_status

log = logging.getLogger(__name__)

API_KEY_NAME = "api-server-key"
_MEMORY: dict[str, str] = {}  # without a keyring: this process only


class KeyringSecret:
    """One named secret in the keyring (service "Ponder"), or in memory when there is no keyring."""

    def __init__(self, name: str) -> None:
        self.name = name

    def get(self) -> str | None:
        """The stored value, or None."""
        if keyring_status().available:
            try:
                value = keyring.get_password(SERVICE, self.name)
            except keyring.errors.KeyringError as err:
                log.warning("Could not read %s from the keyring: %s", self.name, err)
                value = None
            if value:
                return value
        return _MEMORY.get(self.name)

    def set(self, value: str) -> bool:
        """Store ``value``; True when it went to the OS keyring, False when only to memory (this session)."""
        if keyring_status().available:
            try:
                keyring.set_password(SERVICE, self.name, value)
                _MEMORY.pop(self.name, None)
                return True
            except keyring.errors.KeyringError as err:
                log.warning("Could not save %s in the keyring (kept in memory): %s", self.name, err)
        _MEMORY[self.name] = value
        return False

    def clear(self) -> None:
        """Forget the value everywhere."""
        _MEMORY.pop(self.name, None)
        if keyring_status().available:
            with contextlib.suppress(keyring.errors.PasswordDeleteError):  # nothing stored: already cleared
                keyring.delete_password(SERVICE, self.name)


def new_api_key() -> str:
    """A fresh random key (256 bits)."""
    return "ponder-" + secrets.token_urlsafe(32)


def api_key() -> str:
    """The local API's key, created and stored in the keyring the first time."""
    slot = KeyringSecret(API_KEY_NAME)
    key = slot.get()
    if not key:
        key = new_api_key()
        slot.set(key)
    return key


def reset_api_key() -> str:
    """Replace the local API's key with a new one (clients must be given the new key); returns it."""
    key = new_api_key()
    KeyringSecret(API_KEY_NAME).set(key)
    return key
