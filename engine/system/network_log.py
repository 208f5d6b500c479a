"""The Network activity list: every connection Ponder itself made, so a person can see that nothing else went out.

Code that uses the network because the person asked for it (a model or embedder download, a chat with a remote
engine) wraps the work in :func:`activity`; the record it leaves says what, where (host, and the addresses really
connected to), when, how long, how many bytes and how it ended. Connections are seen by the socket audit hook in
:mod:`engine.system.privacy`: one made inside an activity is added to it, and one made outside any activity is
recorded on
its own as unexpected (loopback connections, e.g. to the local API, never leave the machine and are not listed).
A download refused by offline mode is recorded too, as blocked.

Bytes are the payload Ponder's own loops read and wrote (file contents, request and reply bodies); the few
kilobytes of HTTP headers and Hub metadata are not counted.

Records are JSON lines in ``network.jsonl`` under the data folder, appended with one write each, so the window, the
CLI and the API server can all add to it. Each process's activity is tracked per thread and per task (a
``ContextVar``); threads that do the work of an activity are started with :func:`run_in_context` to carry it.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from engine.system.errors import Cancelled
from engine.system.paths import ponder_home

log = logging.getLogger(__name__)
LOG_FILE = "network.jsonl"
KEEP_RECORDS = 2000  # the file is trimmed to this many records once it grows past TRIM_BYTES
TRIM_BYTES = 2 * 2**20
UNEXPECTED_REPEAT_S = 60.0  # the same unexpected address is recorded at most once a minute per process
DOWNLOAD, REMOTE, UNEXPECTED = "download", "remote engine", "unexpected"


@dataclass(frozen=True)
class NetworkRecord:
    """One use of the network. ``kind`` is "download", "remote engine" or "unexpected"; ``result`` is "ok",
    "cancelled", "blocked: <why>" or "failed: <why>"."""

    time: float
    kind: str
    detail: str
    host: str
    addresses: tuple[str, ...]
    received: int
    sent: int
    duration_s: float
    result: str
    process: str

    @staticmethod
    def from_json(data: dict[str, Any]) -> NetworkRecord:
        """A record from its stored form (raises KeyError, TypeError or ValueError when it is not one)."""
        return NetworkRecord(
            time=float(data["time"]), kind=str(data["kind"]), detail=str(data["detail"]), host=str(data["host"]),
            addresses=tuple(str(a) for a in data.get("addresses", ())), received=int(data.get("received", 0)),
            sent=int(data.get("sent", 0)), duration_s=float(data.get("duration_s", 0.0)),
            result=str(data.get("result", "")), process=str(data.get("process", "")))


@dataclass
class Activity:
    """A network use in progress; count its payload bytes with :meth:`received` and :meth:`sent`."""

    kind: str
    detail: str
    host: str
    started: float = field(default_factory=time.time)
    addresses: list[str] = field(default_factory=list)
    bytes_in: int = 0
    bytes_out: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def received(self, n: int) -> None:
        """Count ``n`` payload bytes read."""
        with self._lock:
            self.bytes_in += n

    def sent(self, n: int) -> None:
        """Count ``n`` payload bytes written."""
        with self._lock:
            self.bytes_out += n

    def connected(self, address: str) -> None:
        """Note a name looked up or an address connected to (called by the socket hook)."""
        with self._lock:
            if address not in self.addresses:
                self.addresses.append(address)


_current: contextvars.ContextVar[Activity | None] = contextvars.ContextVar("ponder_network_activity", default=None)
_process_label = ""
_unexpected_seen: dict[str, float] = {}
_unexpected_lock = threading.Lock()


def log_path() -> Path:
    """Where the records are kept."""
    return ponder_home() / LOG_FILE


def set_process_label(label: str) -> None:
    """Name this process in its records (e.g. "window", "ponder pull")."""
    global _process_label
    _process_label = label


def _process() -> str:
    if _process_label:
        return _process_label
    args = [a for a in sys.argv[1:2] if not a.startswith("-")]
    return " ".join(["ponder", *args])


def host_of(url: str) -> str:
    """``host[:port]`` of a URL, as the list shows it."""
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1] or url


def _result(err: BaseException | None) -> str:
    from engine.system.privacy import OfflineError

    if err is None:
        return "ok"
    if isinstance(err, Cancelled | KeyboardInterrupt | GeneratorExit):
        return "cancelled"
    if isinstance(err, OfflineError):
        return f"blocked: {err.problem}"
    return f"failed: {str(err).splitlines()[0][:300] if str(err) else type(err).__name__}"


@contextlib.contextmanager
def activity(kind: str, detail: str, url: str) -> Iterator[Activity]:
    """Record one network use the person asked for: ``kind`` ("download", "remote engine"), ``detail`` (what: a
    repo id, an engine and model), ``url`` (where). The record is written when the block ends, however it ends;
    an exception passes through unchanged."""
    act = Activity(kind, detail, host_of(url))
    outer = _current.get()
    _current.set(act)  # (not reset by token: a streaming generator may be closed from another context)
    error: BaseException | None = None
    try:
        yield act
    except BaseException as err:
        error = err
        raise
    finally:
        _current.set(outer)
        _write(NetworkRecord(time=act.started, kind=kind, detail=detail, host=act.host,
                             addresses=tuple(act.addresses), received=act.bytes_in, sent=act.bytes_out,
                             duration_s=time.time() - act.started, result=_result(error), process=_process()))


def record_blocked(kind: str, detail: str, url: str, reason: str) -> None:
    """Record a network use that offline mode refused before anything was sent."""
    _write(NetworkRecord(time=time.time(), kind=kind, detail=detail, host=host_of(url), addresses=(), received=0,
                         sent=0, duration_s=0.0, result=f"blocked: {reason}", process=_process()))


def current() -> Activity | None:
    """The activity this thread is working for, if any."""
    return _current.get()


def run_in_context(fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn`` bound to the caller's context, for a thread that does part of the caller's activity."""
    ctx = contextvars.copy_context()
    return lambda: ctx.run(fn)


def saw(address: str, what: str, blocked: str | None = None) -> None:
    """Called by the socket hook before each connection ("connection") or name lookup ("name lookup") that is not
    of this machine; ``blocked`` is the reason when offline mode refuses it. Inside an activity the address is
    added to it; outside any, it is recorded as unexpected (once a minute per address and process)."""
    act = _current.get()
    if act is not None:
        act.connected(address)
        return
    now = time.monotonic()
    with _unexpected_lock:
        if now - _unexpected_seen.get(address, -UNEXPECTED_REPEAT_S) < UNEXPECTED_REPEAT_S:
            return
        _unexpected_seen[address] = now
    log.warning("Network use outside any download or remote-engine request: %s to %s%s", what, address,
                " (refused: offline mode)" if blocked else "")
    _write(NetworkRecord(time=time.time(), kind=UNEXPECTED, detail=f"{what} outside any request", host=address,
                         addresses=(address,), received=0, sent=0, duration_s=0.0,
                         result=f"blocked: {blocked}" if blocked else "ok", process=_process()))


def _write(record: NetworkRecord) -> None:
    line = json.dumps(asdict(record), ensure_ascii=False) + "\n"
    try:
        path = log_path()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))  # one write: lines from several processes never interleave
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        if size > TRIM_BYTES:
            _trim(path)
    except OSError as err:  # the record is lost, the download or chat is not: say so in the log
        log.warning("Could not record network activity in the data folder: %s", err)


def _trim(path: Path) -> None:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)[-KEEP_RECORDS:]
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text("".join(lines), encoding="utf-8")
    os.replace(tmp, path)


def read_activity(limit: int = 500, path: Path | None = None) -> list[NetworkRecord]:
    """The newest ``limit`` records, newest first (lines that are not records are skipped)."""
    try:
        text = (path or log_path()).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    out: list[NetworkRecord] = []
    for line in reversed(text.splitlines()):
        if len(out) >= limit:
            break
        try:
            out.append(NetworkRecord.from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return out


def clear_activity() -> None:
    """Forget every record."""
    log_path().unlink(missing_ok=True)
