"""Cooperative cancellation shared by every long operation."""

from __future__ import annotations

import threading

from engine.system.errors import Cancelled


class CancelToken:
    """A flag a caller sets from any thread; long work checks it often and stops within a second."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the operation to stop."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._event.is_set()

    def raise_if_cancelled(self, what: str = "Operation") -> None:
        """Raise :class:`Cancelled` if cancellation was requested."""
        if self._event.is_set():
            raise Cancelled(what)

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking early on cancel; returns True if cancelled."""
        return self._event.wait(seconds)
