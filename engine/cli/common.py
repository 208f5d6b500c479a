"""What several ``ponder`` command groups share: the progress line, sizes in GB, the provider choices."""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from typing import TextIO, TypeAlias

from engine.system.progress import Progress

PROVIDERS = ("auto", "cpu", "cuda", "dml", "coreml")
"""The ``--provider`` choices ("auto" picks the best one that works on this computer)."""

PRECISIONS = ("int4", "fp16", "fp32")

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What ``add_subparsers`` returns: each command group adds its commands to it."""


class ProgressPrinter:
    """Renders progress reports as one updating line on a terminal, or a line every few seconds otherwise."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr  # looked up now, not at import: redirections made since count
        self._tty = self._stream.isatty()
        self._last = 0.0
        self._stage = ""

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        final = p.total > 0 and p.done >= p.total
        if p.stage == self._stage and not final and now - self._last < (0.1 if self._tty else 5.0):
            return
        self._last, self._stage = now, p.stage
        if p.unit == "bytes":
            pct = f"{100 * p.fraction:5.1f}%" if p.fraction is not None else "     "
            eta = f" ETA {p.eta_s:.0f}s" if p.eta_s is not None else ""
            text = (f"{p.stage}: {pct} {p.done / 2**20:,.0f}/{p.total / 2**20:,.0f} MiB "
                    f"{p.rate / 2**20:.1f} MiB/s{eta} {p.message}")
        else:
            text = f"{p.stage}: {p.message}"
        if self._tty:
            width = 20
            filled = int(width * (p.fraction or 0))
            self._stream.write(f"\r\033[K[{'#' * filled}{'.' * (width - filled)}] {text[:100]}")
            if final:
                self._stream.write("\n")
        else:
            self._stream.write(text + "\n")
        self._stream.flush()


def gb(n: int) -> str:
    return f"{n / 1e9:.1f} GB"


def auto_provider(requested: str) -> str:
    """``requested``, or for "auto" the provider this computer runs best."""
    if requested != "auto":
        return requested
    from engine.models.recommend import auto_provider as best
    from engine.system.hardware import probe

    return best(probe())


def read_secret(prompt: str) -> str:
    """A secret from the terminal (not echoed) or the first line of standard input; never from argv."""
    return getpass.getpass(prompt) if sys.stdin.isatty() else sys.stdin.readline().strip()
