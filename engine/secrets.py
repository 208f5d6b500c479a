"""The Hugging Face token: kept in the OS keyring, never written to disk in plaintext."""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass

import keyring
import keyring.errors
from keyring.backends import fail

log = logging.getLogger(__name__)

SERVICE = "Ponder"
HF_TOKEN_KEY = "huggingface-token"


@dataclass(frozen=True)
class KeyringStatus:
    """Whether a usable keyring backend exists, its name, and why not when it does not."""

    available: bool
    backend: str
    reason: str = ""


def keyring_status() -> KeyringStatus:
    """Describe the keyring backend in use."""
    backend = keyring.get_keyring()
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    if isinstance(backend, fail.Keyring):
        return KeyringStatus(False, name, "No OS keyring backend was found; secrets are kept in memory only "
                                          "for this session.")
    return KeyringStatus(True, name)


_MEMORY: dict[str, str] = {}  # the fallback without a keyring: this process only, shared by every TokenStore


class TokenStore:
    """Reads and writes the Hub token in the keyring, falling back to memory (and saying so) without one."""

    @property
    def _memory(self) -> str | None:
        return _MEMORY.get(HF_TOKEN_KEY)

    @_memory.setter
    def _memory(self, value: str | None) -> None:
        if value is None:
            _MEMORY.pop(HF_TOKEN_KEY, None)
        else:
            _MEMORY[HF_TOKEN_KEY] = value

    def get(self) -> str | None:
        """The saved token, the in-memory one, or ``$HF_TOKEN``; None if there is none."""
        if keyring_status().available:
            try:
                token = keyring.get_password(SERVICE, HF_TOKEN_KEY)
            except keyring.errors.KeyringError as err:
                log.warning("Could not read the Hugging Face token from the keyring: %s", err)
                token = None
            if token:
                return token
        return self._memory or os.environ.get("HF_TOKEN") or None

    def set(self, token: str) -> KeyringStatus:
        """Store ``token``; returns the keyring status so the caller can tell the person where it went."""
        status = keyring_status()
        if status.available:
            keyring.set_password(SERVICE, HF_TOKEN_KEY, token)
        else:
            self._memory = token
        return status

    def clear(self) -> None:
        """Forget the token everywhere Ponder kept it."""
        self._memory = None
        if keyring_status().available:
            with contextlib.suppress(keyring.errors.PasswordDeleteError):  # nothing stored: already cleared
                keyring.delete_password(SERVICE, HF_TOKEN_KEY)
