"""Math typeset in a child process, so a streaming reply never waits for it.

mathtext (matplotlib) holds the interpreter lock for tens of milliseconds at a time, and on first use for hundreds
(imports, fonts): typeset on a thread of the window's process, it stalled the GUI thread by up to 100 ms per
formula (bench/gui_bench.py). The child is started on the first formula, at a lower priority, offline, and
speaks JSON lines: ``{"keys": [[tex, colour, boxed colour, points], …]}`` in, ``{"results": [null | [[name,
base64 PNG, width, height], …], …]}`` out, one answer per request. ``python -m desktop.chat.math_worker`` (or the
frozen app's ``_math-worker``) runs it.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import sys
from collections.abc import Callable

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment

from desktop.chat.typeset import Formula, MathKey, typeset
from engine.system.privacy import OFFLINE_ENV, child_environment

log = logging.getLogger(__name__)
Result = tuple[Formula, ...] | None


def worker_command() -> list[str]:
    """How to start the worker: ``python -m desktop.chat.math_worker`` or the frozen app's hidden subcommand."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "_math-worker"]
    return [sys.executable, "-m", "desktop.chat.math_worker"]


def encode(results: list[Result]) -> str:
    """The answer line for ``results`` (in the order of the request's keys)."""
    return json.dumps({"results": [None if r is None else
                                   [[f.name, base64.b64encode(f.png).decode("ascii"), f.width, f.height] for f in r]
                                   for r in results]})


def decode(line: bytes | str, keys: list[MathKey]) -> dict[MathKey, Result]:
    """The typeset formulas of an answer line, by the request's keys; ValueError when it is not a valid answer."""
    answer = json.loads(line)
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list) or len(results) != len(keys):
        raise ValueError("the math worker's answer does not match its request")
    out: dict[MathKey, Result] = {}
    for key, result in zip(keys, results, strict=True):
        out[key] = None if result is None else tuple(
            Formula(str(name), base64.b64decode(png), int(width), int(height)) for name, png, width, height in result)
    return out


def serve() -> int:
    """The child's loop: typeset each request from stdin, answer on stdout, until stdin closes."""
    if hasattr(os, "nice"):
        os.nice(5)  # the window's own work comes first
    for line in sys.stdin:
        request = json.loads(line)
        keys = [(str(tex), str(color), str(boxed), float(points)) for tex, color, boxed, points in request["keys"]]
        sys.stdout.write(encode([typeset(*key) for key in keys]) + "\n")
        sys.stdout.flush()
    return 0


class MathProcess(QObject):
    """The window's side of the worker: one request at a time; ``done`` gets the formulas by key, ``failed`` the
    keys of a request the worker could not answer (it stopped or could not start; it is not started again)."""

    def __init__(self, done: Callable[[dict[MathKey, Result]], None], failed: Callable[[list[MathKey]], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._done, self._failed = done, failed
        self._process: QProcess | None = None
        self._keys: list[MathKey] | None = None  # the request being answered
        self._buffer = b""
        self.broken = False

    def typeset(self, keys: list[MathKey]) -> None:
        """Ask for ``keys`` (the answer comes to ``done``)."""
        assert self._keys is None, "one request at a time"
        self._keys = keys
        if self._process is None:
            self._start()
        assert self._process is not None
        self._process.write(json.dumps({"keys": [list(k) for k in keys]}).encode("utf-8") + b"\n")

    def _start(self) -> None:
        process = QProcess(self)
        env = QProcessEnvironment()
        for name, value in child_environment({OFFLINE_ENV: "1", "QT_QPA_PLATFORM": "offscreen",
                                              "PYTHONIOENCODING": "utf-8"}).items():
            env.insert(name, value)
        process.setProcessEnvironment(env)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        process.readyReadStandardOutput.connect(self._read)
        process.readyReadStandardError.connect(self._log_errors)
        process.errorOccurred.connect(self._stopped)
        process.finished.connect(self._stopped)
        command = worker_command()
        self._process = process
        process.start(command[0], command[1:])

    def _read(self) -> None:
        if self._process is None:  # closed: what it still says is not waited for
            return
        self._buffer += bytes(self._process.readAllStandardOutput().data())
        while b"\n" in self._buffer and self._keys is not None:
            line, self._buffer = self._buffer.split(b"\n", 1)
            keys, self._keys = self._keys, None
            try:
                results = decode(line, keys)
            except (ValueError, TypeError, KeyError) as err:
                log.error("The math worker answered something else: %s", err)
                self._failed(keys)
                continue
            self._done(results)

    def _log_errors(self) -> None:
        if self._process is not None:
            text = bytes(self._process.readAllStandardError().data()).decode("utf-8", "replace").strip()
            if text:
                log.debug("math worker: %s", text)

    def _stopped(self, *_: object) -> None:
        """The worker stopped or could not start: the request in flight is handed back."""
        if self.broken:
            return
        self.broken = True
        log.warning("The math worker stopped; formulas are typeset in the window's process from now on")
        keys, self._keys = self._keys, None
        if keys is not None:
            self._failed(keys)

    def close(self) -> None:
        """Stop the worker (its stdin closes; it is killed if it does not end at once)."""
        process, self._process = self._process, None
        if process is None or process.state() == QProcess.ProcessState.NotRunning:
            return
        self.broken = True  # its end is not a failure to report
        process.closeWriteChannel()
        if not process.waitForFinished(1000):
            process.kill()
            process.waitForFinished(1000)


if __name__ == "__main__":
    sys.exit(serve())
