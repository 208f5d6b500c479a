"""A lock file that names its owner: ``{"pid": ..., "started": ..., "token": ...}``, created exclusively.

Pull jobs hold one per model and downloads one per snapshot folder, so two processes (``ponder pull`` in a terminal
and the window, say) never work on the same files at once. A lock whose process is gone (killed, crashed, or the
computer restarted and the pid now belongs to another program, told apart by the process's start time) is stale:
the next taker removes it. Within one process the lock is also exclusive between threads.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from engine.system.errors import PonderError

_START_SLACK_S = 1.0  # process start times are read back with limited precision
_HELD: dict[Path, str] = {}  # lock path -> token, for the locks this process holds
_GUARD = threading.Lock()


class LockedError(PonderError):
    """Another process (or another job of this one) holds the lock."""

    def __init__(self, problem: str, hint: str, pid: int) -> None:
        super().__init__(problem, hint)
        self.pid = pid


def _start_time(pid: int) -> float | None:
    """The start time of live process ``pid``, or None when there is none (zombies count as gone)."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return float(proc.create_time())
    except psutil.NoSuchProcess:
        return None
    except psutil.AccessDenied:
        return -1.0  # it exists but we may not look: treat it as alive


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # torn or foreign: judged stale below, since it names no live owner
    return data if isinstance(data, dict) else {}


def _live_owner(path: Path, data: dict[str, Any]) -> int | None:
    pid, started = data.get("pid"), data.get("started")
    if not isinstance(pid, int) or pid <= 0:
        return None
    if pid == os.getpid():
        return pid if _HELD.get(path) == data.get("token") else None
    now_started = _start_time(pid)
    if now_started is None:
        return None
    if now_started >= 0 and isinstance(started, int | float) and abs(now_started - started) > _START_SLACK_S:
        return None  # the pid was reused by another program
    return pid


def lock_owner(path: Path) -> int | None:
    """The pid of the live process holding the lock at ``path``, or None when it is free or stale."""
    data = _read(path)
    return None if data is None else _live_owner(path, data)


def _break_stale(path: Path, seen: dict[str, Any]) -> None:
    """Remove a stale lock, unless another taker replaced it meanwhile (then put theirs back)."""
    tomb = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.stale")
    try:
        os.rename(path, tomb)
    except FileNotFoundError:
        return  # someone else broke it first
    if _read(tomb) != seen:
        with contextlib.suppress(FileExistsError):
            os.link(tomb, path)  # a fresh lock was taken between our read and the rename: restore it
    tomb.unlink(missing_ok=True)


def _create(path: Path, body: str) -> bool:
    """Create ``path`` holding ``body`` in one step (a hard link of a finished file, so no reader sees it empty);
    False when it exists."""
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.new")
    tmp.write_text(body, encoding="utf-8")
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: create exclusively, then write
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(body)
        return True
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def hold(path: Path, what: str, hint: str) -> Iterator[None]:
    """Hold the lock at ``path`` for the ``with`` block; LockedError naming the owner's pid when a live process (or
    another thread here) has it. ``what`` names the locked thing in the message ("tiny-r1-int4 is already being
    pulled"), ``hint`` says what to do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    body = json.dumps({"pid": os.getpid(), "started": _start_time(os.getpid()), "token": token})
    with _GUARD:
        for _ in range(5):
            if _create(path, body):
                _HELD[path] = token
                break
            data = _read(path)
            if data is None:
                continue  # released just now
            owner = _live_owner(path, data)
            if owner is not None:
                where = "another job of this process" if owner == os.getpid() else f"process {owner}"
                raise LockedError(f"{what} by {where}.", hint, owner)
            _break_stale(path, data)
        else:
            raise LockedError(f"{what}: its lock file {path} keeps changing.", hint, 0)
    try:
        yield
    finally:
        with _GUARD:
            _HELD.pop(path, None)
            data = _read(path)
            if data is not None and data.get("token") == token:
                path.unlink(missing_ok=True)
