"""Every secret Ponder keeps: the Hugging Face token, the local API's key and the remote engines' keys.

One rule for all of them: a secret lives in the OS keyring (service "Ponder"); where there is no usable keyring,
or the keyring fails, it is kept in this process's memory for the session only, and :func:`keyring_status` says
so. Never written to disk in plaintext.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import sys
from dataclasses import dataclass

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends import fail, null

log = logging.getLogger(__name__)

SERVICE = "Ponder"
HF_TOKEN_KEY = "huggingface-token"
API_KEY_NAME = "api-server-key"


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


_MEMORY: dict[str, str] = {}  # the fallback without a keyring: this process only, shared by every Secret


class Secret:
    """One named secret in the keyring, or in memory (this session only) when there is no usable keyring."""

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
        """Forget the value everywhere Ponder kept it."""
        _MEMORY.pop(self.name, None)
        if keyring_status().available:
            with contextlib.suppress(keyring.errors.PasswordDeleteError):  # nothing stored: already cleared
                keyring.delete_password(SERVICE, self.name)


class TokenStore(Secret):
    """The Hugging Face token; ``$HF_TOKEN`` is used when none is stored."""

    def __init__(self) -> None:
        super().__init__(HF_TOKEN_KEY)

    def get(self) -> str | None:
        """The stored token, or ``$HF_TOKEN``; None if there is none."""
        return super().get() or os.environ.get("HF_TOKEN") or None

    def set(self, token: str) -> KeyringStatus:  # type: ignore[override]
        """Store ``token``; returns the keyring status so the caller can tell the person where it went."""
        super().set(token)
        return keyring_status()


def new_api_key() -> str:
    """A fresh random key for the local API (256 bits)."""
    return "ponder-" + secrets.token_urlsafe(32)


def api_key() -> str:
    """The local API's key, created and stored the first time."""
    slot = Secret(API_KEY_NAME)
    key = slot.get()
    if not key:
        key = new_api_key()
        slot.set(key)
    return key


def reset_api_key() -> str:
    """Replace the local API's key with a new one (clients must be given the new key); returns it."""
    key = new_api_key()
    Secret(API_KEY_NAME).set(key)
    return key
