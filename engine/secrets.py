"""The Hugging Face token: kept in the OS keyring, never written to disk in plaintext."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from dataclasses import dataclass

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends import fail, null

log = logging.getLogger(__name__)

SERVICE = "Ponder"
HF_TOKEN_KEY = "huggingface-token"


@dataclass(frozen=True)
class KeyringStatus:
    """Whether a usable keyring backend exists, its name, and why not when it does not."""

    available: bool
    backend: str
    reason: str = ""


def platform_backends() -> list[type[KeyringBackend]]:
    """The OS keyrings Ponder uses on this platform, best first.

    keyring finds its backends through package metadata at run time, which frozen (PyInstaller) apps easily lose;
    importing them by name makes the installers bundle them, and lets :func:`keyring_status` say why each one is
    unusable.
    """
    if sys.platform == "win32":
        from keyring.backends import Windows

        return [Windows.WinVaultKeyring]
    if sys.platform == "darwin":
        from keyring.backends import macOS

        return [macOS.Keyring]
    from keyring.backends import SecretService, kwallet, libsecret

    return [SecretService.Keyring, libsecret.Keyring, kwallet.DBusKeyring]


def _unusable(backend: type[KeyringBackend]) -> str:
    """Why ``backend`` cannot be used here ("" when it can)."""
    try:
        backend.priority  # noqa: B018 (keyring backends raise from this property when not viable)
    except Exception as err:  # each backend raises its own error type; the text is the reason
        return f"{(backend.__doc__ or backend.__name__).strip().splitlines()[0]}: {err}"
    return ""


_frozen_checked = False


def _frozen_fallback() -> None:
    """In a frozen app whose keyring discovery found nothing, pick the best working OS backend by name."""
    global _frozen_checked
    if _frozen_checked or not getattr(sys, "frozen", False):
        return
    _frozen_checked = True
    if isinstance(keyring.get_keyring(), fail.Keyring):
        for backend in platform_backends():
            if not _unusable(backend):
                log.info("Keyring discovery found no backend; using %s", backend.__name__)
                keyring.set_keyring(backend())
                return


def keyring_status() -> KeyringStatus:
    """Describe the keyring backend in use; without one, say which OS keyrings were tried and why they failed."""
    _frozen_fallback()
    backend = keyring.get_keyring()
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    if isinstance(backend, fail.Keyring | null.Keyring):
        tried = "; ".join(filter(None, (_unusable(b) for b in platform_backends())))
        return KeyringStatus(False, name, "No OS keyring backend was found" + (f" ({tried})" if tried else "")
                             + "; secrets are kept in memory only for this session.")
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
