"""Run :func:`engine.documents.extract.extract` in a child process with time and memory limits.

A hostile or broken file can at worst kill that child: the app gets a :class:`DocumentError`, and a file that
crashed, hung or exhausted the parser is put in a :class:`Quarantine` so it is not retried on every start (no crash
loop) until the person releases it.

The child is ``python -m engine.documents.sandbox`` (frozen app: ``<exe> _extract-worker``, whose entry point must
call :func:`main`). The request (path, limits) goes in as one JSON object on stdin, so no file name is ever parsed
as a command-line option; the result comes back as one JSON line on stdout.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Generator
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from engine.documents.extract import DocumentError, Extracted, Limits, extract
from engine.documents.ocr_cache import OcrCache
from engine.system.cancel import CancelToken
from engine.system.paths import ponder_home
from engine.system.privacy import OFFLINE_ENV, child_environment
from engine.system.verify import read_json, write_json_atomic

_HEAD_BYTES = 1 << 20


def worker_command() -> list[str]:
    """How to start the extraction worker: ``python -m engine.documents.sandbox`` or the frozen app's subcommand."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "_extract-worker"]
    return [sys.executable, "-m", "engine.documents.sandbox"]


def _display(path: Path) -> str:
    return repr(path.name) if not path.name.isprintable() else f"'{path.name}'"


def fingerprint(path: Path) -> dict[str, Any]:
    """Identify a file: resolved path, size, mtime and the SHA-256 of its first 1 MB."""
    st = path.stat()
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        digest.update(fh.read(_HEAD_BYTES))
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "sha256_head": digest.hexdigest()}


class Quarantine:
    """Files that crashed, hung or exhausted the parser; kept in ``quarantine.json`` in the data folder.

    A file matches an entry when it is the same file (path, size, mtime, head hash) or a copy of it (same size and
    head hash at another path).
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else ponder_home() / "quarantine.json"

    def entries(self) -> list[dict[str, Any]]:
        data = read_json(self.path)
        if not isinstance(data, dict) or not isinstance(data.get("files"), list):
            return []
        return [e for e in data["files"] if isinstance(e, dict)]

    def _save(self, entries: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.path, {"version": 1, "files": entries})

    @staticmethod
    def _matches(entry: dict[str, Any], fp: dict[str, Any]) -> bool:
        same = all(entry.get(k) == fp[k] for k in ("path", "size", "mtime_ns", "sha256_head"))
        copy = entry.get("size") == fp["size"] and entry.get("sha256_head") == fp["sha256_head"]
        return same or copy

    def reason(self, path: Path) -> str | None:
        """Why ``path`` is quarantined, or None when it is not (or cannot be read: extraction will say why)."""
        try:
            fp = fingerprint(path)
        except OSError:
            return None
        for entry in self.entries():
            if self._matches(entry, fp):
                return str(entry.get("reason", "it made the parser fail"))
        return None

    def add(self, path: Path, reason: str) -> None:
        try:
            fp = fingerprint(path)
        except OSError:
            return
        entries = [e for e in self.entries() if not self._matches(e, fp)]
        entries.append({**fp, "reason": reason, "when": time.time()})
        self._save(entries)

    def release(self, path: Path) -> bool:
        """Forget ``path`` (and copies of it) so the next extraction tries again; True if it was quarantined."""
        resolved = str(Path(path).resolve())
        try:
            fp: dict[str, Any] | None = fingerprint(Path(path))
        except OSError:
            fp = None
        entries = self.entries()
        kept = [e for e in entries if e.get("path") != resolved and not (fp is not None and self._matches(e, fp))]
        if len(kept) != len(entries):
            self._save(kept)
            return True
        return False


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    else:
        proc.kill()
    proc.wait()


OCR_PAGE_S = 300.0  # seconds one scanned page (or picture) may take to OCR, on top of ``timeout_s`` for the parse:
# an A4 page takes about 14 s of CPU; a busy 2-core machine stretched that to 105 s of wall time while measured.
# Address space the child may use once OCR starts (after the file was parsed under ``memory_mb``): ONNX Runtime's
# detector on a full page at 200 dpi peaks near 1 GB; the images it sees are bounded by the renderer (MAX_SIDE).
OCR_MEMORY_MB = 2560


def extract_in_sandbox(path: Path, limits: Limits | None = None, timeout_s: float = 60, memory_mb: int = 1024,
                       quarantine: Quarantine | None = None, cancel: CancelToken | None = None) -> Extracted:
    """Extract ``path`` in a limited child process; raise :class:`DocumentError` on refusal, crash or timeout.

    The same as :func:`extract_steps` without its progress."""
    steps = extract_steps(path, limits, timeout_s=timeout_s, memory_mb=memory_mb, quarantine=quarantine,
                          cancel=cancel)
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            result: Extracted = stop.value
            return result


def extract_steps(path: Path, limits: Limits | None = None, *, timeout_s: float = 60, memory_mb: int = 1024,
                  quarantine: Quarantine | None = None, cancel: CancelToken | None = None,
                  ocr_page_s: float = OCR_PAGE_S, cache: OcrCache | None = None
                  ) -> Generator[tuple[int, int], None, Extracted]:
    """Extract ``path`` in a limited child process, yielding ``(done, total)`` as OCR reads scanned pages or
    pictures, and return the :class:`Extracted`; raise :class:`DocumentError` on refusal, crash or timeout and
    :class:`~engine.system.errors.Cancelled` (the child killed) when ``cancel`` is set.

    Time: the parse has ``timeout_s``; then each page OCR reads has ``ocr_page_s`` more (the clock restarts at each
    page). What OCR read is kept in ``cache`` (default: the data folder's), so reading the file again is quick."""
    path = Path(path)
    limits = limits or Limits()
    cache = cache or OcrCache()
    if path.suffix.lower() in (".pdf", ".docx"):
        cached = cache.get(path)
        if cached is not None:
            return cached
    request = {"mode": "extract", "path": str(path.resolve()), "limits": asdict(limits), "ocr_page_s": ocr_page_s}
    event = yield from _run(path, request, timeout_s, memory_mb, quarantine or Quarantine(), cancel, ocr_page_s)
    doc = Extracted.from_dict(event["result"])
    cache.put(path, doc)
    return doc


def render_page_in_sandbox(path: Path, page: int, *, limits: Limits | None = None, timeout_s: float = 60,
                           memory_mb: int = 1024) -> bytes:
    """Page ``page`` (from 1) of a PDF as PNG bytes, rendered in the sandbox exactly as it was for OCR (the
    :attr:`Extracted.ocr_boxes` fall on its pixels)."""
    path = Path(path)
    request = {"mode": "page_image", "path": str(path.resolve()), "limits": asdict(limits or Limits()), "page": page}
    steps = _run(path, request, timeout_s, memory_mb, Quarantine(), None, 0.0)
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return base64.b64decode(stop.value["png"])


def _pump(stream: IO[bytes], lines: queue.Queue[bytes | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _run(path: Path, request: dict[str, Any], timeout_s: float, memory_mb: int, quarantine: Quarantine,
         cancel: CancelToken | None, ocr_page_s: float) -> Generator[tuple[int, int], None, dict[str, Any]]:
    """Run one request in the worker; yield its progress, return its final event (a "done" or "image" one)."""
    name = _display(path)
    reason = quarantine.reason(path)
    if reason is not None:
        raise DocumentError(f"{name} is quarantined: {reason}.",
                            "Release it from quarantine to try again (it may crash the parser again).")
    request = {**request, "memory_mb": memory_mb, "cpu_s": max(1, int(timeout_s) + 1)}
    # offline: a parser has no business with the network, so the child refuses every connection (engine.system.privacy)
    env = child_environment({OFFLINE_ENV: "1", "PYTHONIOENCODING": "utf-8", "PYTHONFAULTHANDLER": "1"})
    proc = subprocess.Popen(worker_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, start_new_session=(os.name == "posix"))
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    lines: queue.Queue[bytes | None] = queue.Queue()
    errors: list[bytes] = []
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
    err_reader = threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True)  # type: ignore
    err_reader.start()
    event: dict[str, Any] = {}
    limit_s, deadline = timeout_s, time.monotonic() + timeout_s
    try:
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.write(json.dumps(request).encode("utf-8"))
            proc.stdin.close()
        while True:
            if cancel is not None and cancel.cancelled:
                _kill(proc)
                cancel.raise_if_cancelled("Reading the document")
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                if time.monotonic() > deadline:
                    _kill(proc)
                    why = f"the parser took longer than {limit_s:g} s on {name}"
                    quarantine.add(path, why)
                    raise DocumentError(f"Could not read {name}: {why} and was stopped; the file is quarantined.",
                                        "It may be hostile or damaged; release it from quarantine to try again."
                                        ) from None
                continue
            if line is None:
                break
            candidate = _event(line)
            if candidate.get("event") == "progress":
                limit_s, deadline = ocr_page_s, time.monotonic() + ocr_page_s  # each page has its own time
                yield int(candidate.get("done", 0)), int(candidate.get("total", 0))
            elif candidate:
                event = candidate
        try:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill(proc)
    finally:
        _kill(proc)
    err_reader.join(timeout=5)
    if proc.returncode == 0 and event.get("event") in ("done", "image"):
        return event
    if proc.returncode == 0 and event.get("event") == "refused":
        raise DocumentError(str(event.get("problem", "")), str(event.get("hint", "")))
    code = proc.returncode
    if event.get("event") == "memory" or code == -signal.SIGKILL:
        why = f"the parser ran out of memory (over {memory_mb} MB) on {name}"
    elif os.name == "posix" and code == -signal.SIGXCPU:
        why = f"the parser took longer than {limit_s:g} s of CPU time on {name}"
    elif code is not None and code < 0:
        why = f"the parser crashed (signal {-code}) on {name}"
    else:
        err = b"".join(errors)
        tail = err.decode("utf-8", errors="replace").strip().splitlines()[-1:] or [f"exit code {code}"]
        why = f"the parser crashed on {name} ({tail[0][:200]})"
    quarantine.add(path, why)
    raise DocumentError(f"Could not read {name}: {why}; the file is quarantined.",
                        "It may be hostile or damaged; release it from quarantine to try again.")


def _event(line: bytes) -> dict[str, Any]:
    try:
        candidate = json.loads(line.decode("utf-8", errors="replace"))
    except ValueError:
        return {}
    return candidate if isinstance(candidate, dict) and "event" in candidate else {}


def _apply_limits(memory_mb: int, cpu_s: int | None) -> None:
    """Bound this (child) process's address space and CPU time (None: leave it); a no-op where the platform lacks
    rlimits."""
    try:
        import resource
    except ImportError:  # Windows: the timeout still applies
        return
    for which, value in ((getattr(resource, "RLIMIT_AS", None), memory_mb * 1024 * 1024),
                         (getattr(resource, "RLIMIT_CPU", None), cpu_s)):
        if which is None or value is None:
            continue
        with contextlib.suppress(ValueError, OSError):  # macOS refuses RLIMIT_AS; keep the others
            _soft, hard = resource.getrlimit(which)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (value, hard))


def _allow_cpu(seconds: float) -> None:
    """Let this (child) process use ``seconds`` more of wall time's worth of CPU on every OCR thread."""
    try:
        import resource
    except ImportError:
        return
    from engine.documents.extract.ocr import ocr_threads

    with contextlib.suppress(ValueError, OSError):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        used = usage.ru_utime + usage.ru_stime
        _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        want = int(used + seconds * ocr_threads()) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (want if hard == resource.RLIM_INFINITY else min(want, hard), hard))


def _emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event, ensure_ascii=True) + "\n")
    sys.stdout.flush()


def main() -> int:
    """The worker: read one JSON request on stdin, extract, write one JSON line on stdout."""
    request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    _apply_limits(int(request["memory_mb"]), int(request["cpu_s"]))
    if os.environ.get("PONDER_TEST_CRASH_EXTRACT") == "1":  # test hook: a parser crash
        os.abort()
    if os.environ.get("PONDER_TEST_HANG_EXTRACT") == "1":  # test hook: a parser hang
        while True:
            time.sleep(60)
    limits = Limits(**request["limits"])
    ocr_page_s = float(request.get("ocr_page_s", OCR_PAGE_S))

    def progress(done: int, total: int) -> None:
        if done == 0:
            _apply_limits(max(int(request["memory_mb"]), OCR_MEMORY_MB), None)
        _allow_cpu(ocr_page_s)  # each OCR page has its own time, like the parent's clock
        _emit({"event": "progress", "done": done, "total": total})

    try:
        if request.get("mode") == "page_image":
            from engine.documents.extract.pdf_ocr import render_png

            png = render_png(Path(request["path"]), int(request["page"]), limits)
            _emit({"event": "image", "png": base64.b64encode(png).decode("ascii")})
            return 0
        result = extract(Path(request["path"]), limits, progress)
    except DocumentError as exc:
        _emit({"event": "refused", "problem": exc.problem, "hint": exc.hint})
        return 0
    except MemoryError:
        _emit({"event": "memory"})
        return 3
    try:
        _emit({"event": "done", "result": result.to_dict()})
    except MemoryError:
        _emit({"event": "memory"})
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
