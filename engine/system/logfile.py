"""The log file under the data folder (``<data folder>/logs/ponder.log``, rotated at 1 MB, three old files kept).

The window logs there (a worker's failure with its traceback, models loaded and unloaded), so a bug a person meets
leaves a trace they can send. Nothing in it leaves the machine.
"""

from __future__ import annotations

import logging
import sys
import threading
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType

from engine.system.paths import ponder_home

MAX_BYTES = 1_000_000
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s [%(threadName)s] %(name)s: %(message)s"


def log_path() -> Path:
    """Where the log file is."""
    return ponder_home() / "logs" / "ponder.log"


def start_log_file(level: int = logging.INFO) -> Path:
    """Send this process's log records (``level`` and above) to the log file, and log uncaught exceptions of any
    thread there with their tracebacks. Idempotent; returns the file's path."""
    path = log_path()
    root = logging.getLogger()
    if not any(isinstance(h, RotatingFileHandler) and Path(h.baseFilename) == path for h in root.handlers):
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.setLevel(level)
        root.addHandler(handler)
        if root.level > level or root.level == logging.NOTSET:
            root.setLevel(level)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_thread_uncaught
    return path


def _log_uncaught(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
    logging.getLogger("ponder").critical("Uncaught exception", exc_info=(kind, error, trace))
    sys.__excepthook__(kind, error, trace)


def _log_thread_uncaught(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        logging.getLogger("ponder").critical("Uncaught exception in thread %s",
                                             args.thread.name if args.thread else "?",
                                             exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
    threading.__excepthook__(args)
