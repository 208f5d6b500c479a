"""Progress reports: small frozen values passed to a plain callback."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

T = TypeVar("T")


def format_bytes(n: float) -> str:
    """``1.7 GB``-style size (decimal units, as download sizes are usually given)."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


class Stage(StrEnum):
    """The stages of getting a model, as :class:`Progress` names them (a StrEnum: equal to these strings, which is
    how pull records keep them on disk)."""

    CHECK = "check"  # what the model is and needs, before anything large is fetched
    DOWNLOAD = "download"
    VERIFY = "verify"  # part of the download: sizes and hashes
    CONVERT = "convert"
    EXPORT = "export"  # an embedder's export to ONNX
    INSTALL = "install"


@dataclass(frozen=True)
class Progress:
    """One progress report.

    ``stage`` is a :class:`Stage`; ``done``/``total`` are in ``unit`` (bytes for downloads, steps otherwise);
    ``total`` is 0 when unknown.
    """

    stage: Stage
    done: int
    total: int
    unit: str = "bytes"
    rate: float = 0.0
    eta_s: float | None = None
    message: str = ""

    @property
    def fraction(self) -> float | None:
        """Completed fraction in [0, 1], or None when the total is unknown."""
        if self.total <= 0:
            return None
        return min(1.0, self.done / self.total)


ProgressCallback = Callable[[Progress], None]


def ignore_progress(_: Progress) -> None:
    """A callback that drops every report."""


class RateMeter:
    """Smoothed rate and ETA over a sliding window of (time, amount) samples."""

    def __init__(self, window_s: float = 3.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._window = window_s
        self._clock = clock
        self._samples: list[tuple[float, int]] = []

    def update(self, done: int) -> float:
        """Record the cumulative amount ``done`` now; return the rate in units per second."""
        now = self._clock()
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > self._window:
            self._samples.pop(0)
        t0, d0 = self._samples[0]
        return (done - d0) / (now - t0) if now > t0 else 0.0

    @staticmethod
    def eta(done: int, total: int, rate: float) -> float | None:
        """Seconds left at ``rate``, or None when it cannot be estimated."""
        if rate <= 0 or total <= 0:
            return None
        return max(0.0, (total - done) / rate)


def run_with_progress(func: Callable[..., T], *args: Any, **kwargs: Any) -> Generator[Progress, None, T]:
    """Turn a function that reports through a ``progress=`` callback into a generator of its reports.

    ``func`` runs on a helper thread; this generator yields each :class:`Progress` as it comes and returns
    ``func``'s result (or raises its exception). Closing the generator early does not stop ``func``: pass it a
    cancel token for that.
    """
    reports: queue.Queue[Progress | _Done] = queue.Queue()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = func(*args, progress=reports.put, **kwargs)
        except BaseException as err:  # handed to the caller's thread, re-raised there
            outcome["error"] = err
        finally:
            reports.put(_Done())

    threading.Thread(target=target, name=f"progress-{getattr(func, '__name__', 'task')}", daemon=True).start()
    while not isinstance(item := reports.get(), _Done):
        yield item
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]  # type: ignore[no-any-return]


class _Done:
    """Marks the end of a :func:`run_with_progress` stream."""
