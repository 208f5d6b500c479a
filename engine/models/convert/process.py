"""Run a conversion stage in the worker process, relaying progress and honouring cancel within a second."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.system.cancel import CancelToken
from engine.system.errors import Cancelled, ConversionError
from engine.system.privacy import OFFLINE_ENV, child_environment


@dataclass(frozen=True)
class StageResult:
    """What a finished stage reported."""

    peak_rss: int


def worker_command() -> list[str]:
    """How to start the worker: ``python -m engine.models.convert.worker``, or the frozen app's hidden subcommand."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "_convert-worker"]
    return [sys.executable, "-m", "engine.models.convert.worker"]


def _kill(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is not None:
        return
    if os.name == "posix":
        os.killpg(proc.pid, signal.SIGKILL)
    else:
        proc.kill()
    proc.wait()


def run_stage(args: list[str], *, on_progress: Callable[[int, int], None], cancel: CancelToken | None,
              what: str, log_path: Path) -> StageResult:
    """Run the worker with ``args``; call ``on_progress(done, total)``; raise Cancelled or ConversionError.

    The worker's own output (warnings, tracebacks) goes to ``log_path``, which the error message names.
    """
    # offline: a conversion reads local files only, so the worker refuses every connection (engine.system.privacy)
    env = child_environment({OFFLINE_ENV: "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                             "PYTHONIOENCODING": "utf-8"})
    with log_path.open("w+", encoding="utf-8", errors="replace") as log:
        proc = subprocess.Popen(worker_command() + args, stdout=subprocess.PIPE, stderr=log, text=True, env=env,
                                encoding="utf-8", start_new_session=(os.name == "posix"))
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        result: StageResult | None = None
        error = ""
        try:
            while True:
                if cancel is not None and cancel.cancelled:
                    _kill(proc)
                    raise Cancelled(what)
                try:
                    line = lines.get(timeout=0.2)
                except queue.Empty:
                    continue
                if line is None:
                    break
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if event.get("event") == "progress":
                    on_progress(int(event["done"]), int(event["total"]))
                elif event.get("event") == "done":
                    result = StageResult(peak_rss=int(event.get("peak_rss", 0)))
                elif event.get("event") == "error":
                    error = str(event.get("message", ""))
            proc.wait()
        finally:
            _kill(proc)
        if proc.returncode == 0 and result is not None:
            return result
        log.seek(0)
        tail = log.read()[-2000:].strip().splitlines()[-5:]
        detail = error or (tail[-1] if tail else f"exit code {proc.returncode}")
        if proc.returncode and proc.returncode < 0 and not error:
            detail = f"the converter was killed by signal {-proc.returncode} (out of memory?)"
        raise ConversionError(f"{what} failed: {detail}",
                              f"Details are in {log_path}. Check free memory and disk, then run it again: "
                              "finished stages are kept.")
