"""Download a model snapshot from the Hugging Face Hub (or a mirror): safe names, resume, verify, cancel (what to
fetch is planned by :mod:`engine.models.hub_repo`).

Only data files are fetched (safetensors, ONNX, JSON, tokenizer files, text); pickles and code never are. Every
file is written to ``.partial/<name>.incomplete``, resumed with HTTP Range after a dropped connection or a
cancelled run, checked against the size and hash the Hub reported, and only then moved to its final name. A
folder counts as a complete snapshot only once ``.ponder-complete.json`` is written.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from huggingface_hub import hf_hub_url
from huggingface_hub.utils import build_hf_headers

from engine.models.hub_repo import (
    READ_TIMEOUT_S,
    RemoteFile,
    check_online,
    hub_endpoint,
    plan_download,
    resolve_token,
)
from engine.models.transfer import ByteProgress, Retryable, Transfer
from engine.system import network_log, pidlock
from engine.system.cancel import CancelToken
from engine.system.errors import Cancelled, DiskSpaceError, DownloadError, UnsafeNameError, VerificationError
from engine.system.paths import downloads_dir, resolve_inside
from engine.system.privacy import offline_reason
from engine.system.progress import Progress, ProgressCallback, Stage, format_bytes, ignore_progress
from engine.system.verify import file_digests, read_json, write_json_atomic

log = logging.getLogger(__name__)

STATE_FILE = ".ponder-download.json"
LOCK_FILE = ".ponder-download.lock"  # held while a process downloads into the folder (engine.system.pidlock)
COMPLETE_FILE = ".ponder-complete.json"
PARTIAL_DIR = ".partial"
CHUNK_SIZE = 128 * 1024  # small enough for steady progress on slow links
CONNECT_TIMEOUT_S = 10.0
MAX_ATTEMPTS = 5
BACKOFF_S = 0.5  # grows linearly with each failed attempt
PROGRESS_INTERVAL_S = 0.1
DISK_MARGIN = 0.05
_RETRY_FIX = "Check your connection and try again; the download resumes where it stopped."
_CORRUPT_FIX = "Retry the download; if it persists, the mirror may be corrupt."


@dataclass(frozen=True)
class Snapshot:
    """A downloaded, verified set of files of ``repo_id`` at ``commit``, in ``path``."""

    repo_id: str
    revision: str
    commit: str
    path: Path
    files: list[RemoteFile]
    total_bytes: int


class _RangeNotSatisfiable(Exception):
    """The server answered 416 to a resume request."""


def _size_of(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


def _record(rf: RemoteFile) -> dict[str, Any]:
    return asdict(rf)


class _Downloader:
    def __init__(self, repo_id: str, commit: str, endpoint: str, token: str | None, dest: Path,
                 reporter: ByteProgress, cancel: CancelToken, activity: network_log.Activity) -> None:
        self.repo_id, self.commit, self.endpoint, self.dest = repo_id, commit, endpoint, dest
        self.headers = {**build_hf_headers(token=token or False), "Accept-Encoding": "identity"}
        self.reporter, self.cancel, self.activity = reporter, cancel, activity
        self.state_path = dest / STATE_FILE
        state = read_json(self.state_path)
        verified = state.get("verified") if isinstance(state, dict) else None
        self.verified: dict[str, Any] = verified if isinstance(verified, dict) else {}

    def part_path(self, rf: RemoteFile) -> Path:
        return resolve_inside(self.dest / PARTIAL_DIR, rf.name + ".incomplete")

    def is_done(self, rf: RemoteFile) -> bool:
        """True when the final file is there with the right size and was verified (now or in an earlier run)."""
        final = resolve_inside(self.dest, rf.name)
        if not final.is_file():
            return False
        if final.stat().st_size == rf.size and self.verified.get(rf.name) == _record(rf):
            return True
        try:  # present but not recorded (state lost): verify it instead of fetching it again
            self._verify(rf, final)
        except VerificationError:
            return False
        self._mark(rf)
        return True

    def _mark(self, rf: RemoteFile) -> None:
        self.verified[rf.name] = _record(rf)
        write_json_atomic(self.state_path, {"repo_id": self.repo_id, "commit": self.commit,
                                            "verified": self.verified})

    def _discard(self, part: Path) -> None:
        self.reporter.done -= _size_of(part)
        part.unlink(missing_ok=True)

    def _verify(self, rf: RemoteFile, path: Path) -> None:
        got_size = path.stat().st_size
        if got_size != rf.size:
            path.unlink(missing_ok=True)
            raise VerificationError(f"{rf.name} failed verification: expected {rf.size} bytes, got {got_size}; "
                                    "the file was deleted.", _CORRUPT_FIX)
        sha256, sha1 = file_digests(path, sha256=rf.sha256 is not None, git_sha1=rf.git_sha1 is not None,
                                    cancel=self.cancel, what="Download")
        for kind, want, got in (("sha256", rf.sha256, sha256), ("git sha1", rf.git_sha1, sha1)):
            if want is not None and got != want:
                path.unlink(missing_ok=True)
                raise VerificationError(f"{rf.name} failed verification: expected {kind} {want}, got {got}; "
                                        "the file was deleted.", _CORRUPT_FIX)

    def fetch(self, rf: RemoteFile) -> None:
        """Download (or resume) one file, verify it and move it to its final name."""
        part, final = self.part_path(rf), resolve_inside(self.dest, rf.name)
        part.parent.mkdir(parents=True, exist_ok=True)
        failures, restarted = 0, False
        while True:
            self.cancel.raise_if_cancelled("Download")
            offset = _size_of(part)
            if offset > rf.size:
                self._discard(part)
                continue
            if part.is_file() and offset == rf.size:
                break
            try:
                self._stream(rf, part, offset)
                break
            except _RangeNotSatisfiable:
                if restarted:
                    raise DownloadError(f"The server keeps refusing to resume {rf.name} (HTTP 416).",
                                        _CORRUPT_FIX) from None
                restarted = True
                log.info("Server refused to resume %s; starting it again", rf.name)
                self._discard(part)
            except Retryable as err:
                failures = 1 if _size_of(part) > offset else failures + 1  # count attempts that got nowhere
                log.info("Download of %s interrupted (%s), attempt %d of %d", rf.name, err, failures, MAX_ATTEMPTS)
                if failures >= MAX_ATTEMPTS:
                    raise DownloadError(f"Downloading {rf.name} failed {MAX_ATTEMPTS} times in a row (last: {err}).",
                                        _RETRY_FIX) from err
                if self.cancel.wait(BACKOFF_S * failures):
                    raise Cancelled("Download") from None
        self._verify(rf, part)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, final)
        self._mark(rf)
        self.reporter.add(0, rf.name, force=True)

    def _stream(self, rf: RemoteFile, part: Path, offset: int) -> None:
        url = hf_hub_url(self.repo_id, rf.name, revision=self.commit, endpoint=self.endpoint)
        headers = dict(self.headers)
        if offset:
            headers["Range"] = f"bytes={offset}-"
        with Transfer(url, headers, chunk_size=CHUNK_SIZE, timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S)) as transfer:
            _, resp = transfer.next(self.cancel)
            self._check_status(resp.status_code, rf.name)
            total: int | None = None
            if resp.status_code == 206:
                match = re.match(r"bytes (\d+)-\d+/(\d+|\*)", resp.headers.get("Content-Range", ""))
                if not match or int(match.group(1)) != offset:
                    self._discard(part)
                    raise Retryable("server answered the wrong range")
                total = None if match.group(2) == "*" else int(match.group(2))
            else:
                if offset:
                    self._discard(part)
                    offset = 0
                length = resp.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
            if total is not None and total != rf.size:
                self._discard(part)
                raise VerificationError(f"{rf.name} failed verification: the Hub listed {rf.size} bytes but the "
                                        f"server sends {total}.", _CORRUPT_FIX)
            expected, received = rf.size - offset, 0
            with part.open("ab" if offset else "wb") as fh:
                for chunk in self._chunks(transfer):
                    received += len(chunk)
                    if received > expected:
                        break
                    fh.write(chunk)
                    self.reporter.add(len(chunk), rf.name)
                    self.activity.received(len(chunk))
            if received > expected:
                self._discard(part)
                raise VerificationError(f"{rf.name} failed verification: the server sent more than the "
                                        f"{rf.size} bytes the Hub listed.", _CORRUPT_FIX)
            if received < expected:
                raise Retryable(f"connection closed after {offset + received} of {rf.size} bytes")

    def _chunks(self, transfer: Transfer) -> Iterator[bytes]:
        while True:
            kind, value = transfer.next(self.cancel)
            if kind == "end":
                return
            yield value

    def _check_status(self, status: int, name: str) -> None:
        if status in (200, 206):
            return
        if status == 416:
            raise _RangeNotSatisfiable()
        if status in (401, 403):
            raise DownloadError(f"The Hub refused {name} of {self.repo_id} (HTTP {status}): a token with access "
                                "is needed.", f"Accept the terms on {self.endpoint}/{self.repo_id} and save a "
                                              "Hugging Face token in Settings.")
        if status == 404:
            raise DownloadError(f"{name} was not found in {self.repo_id} at {self.commit[:12]} (HTTP 404).",
                                "The repository may have changed; try again.")
        if status == 429 or status >= 500:
            raise Retryable(f"HTTP {status}")
        raise DownloadError(f"The Hub answered HTTP {status} for {name} of {self.repo_id}.", _RETRY_FIX)


def _snapshot_json(snap: Snapshot) -> dict[str, Any]:
    return {"format": 1, "repo_id": snap.repo_id, "revision": snap.revision, "commit": snap.commit,
            "total_bytes": snap.total_bytes, "files": [asdict(f) for f in snap.files]}


def load_snapshot(path: Path) -> Snapshot:
    """Read the complete snapshot in ``path``; DownloadError if it is not complete (or files went missing)."""
    data: Any = read_json(path / COMPLETE_FILE)
    try:
        files = [RemoteFile(str(f["name"]), int(f["size"]), f.get("sha256"), f.get("git_sha1"))
                 for f in data["files"]]
        snap = Snapshot(str(data["repo_id"]), str(data["revision"]), str(data["commit"]), path, files,
                        int(data["total_bytes"]))
    except (TypeError, KeyError, ValueError) as err:
        raise DownloadError(f"{path} is not a complete download.", "Download the model again.") from err
    for rf in files:
        target = resolve_inside(path, rf.name)
        if not target.is_file() or target.stat().st_size != rf.size:
            raise DownloadError(f"{path} is incomplete: {rf.name} is missing or has the wrong size.",
                                "Download the model again.")
    return snap


def is_complete_snapshot(path: Path) -> bool:
    """True if ``path`` holds a finished, verified download (its completion record and every listed file)."""
    try:
        load_snapshot(path)
    except (DownloadError, UnsafeNameError, OSError):
        return False
    return True


def download_snapshot(repo_id: str, revision: str = "main", *, dest: Path | None = None,
                      endpoint: str | None = None, token: str | bool | None = None, subfolder: str | None = None,
                      allow_patterns: Sequence[str] | None = None, progress: ProgressCallback = ignore_progress,
                      cancel: CancelToken | None = None) -> Snapshot:
    """Download the allowed files of ``repo_id`` at ``revision`` into ``dest``, resuming and verifying each.

    ``token``: None uses the saved token (TokenStore), False sends none. Raises DownloadError (network, HTTP,
    offline), VerificationError (file deleted), DiskSpaceError, UnsafeNameError or Cancelled (partial files are
    kept for the next call to resume; nothing is marked complete).
    """
    ep = hub_endpoint(endpoint)
    reason = offline_reason()
    if reason:  # refused before anything is sent, and listed as refused in the Network activity
        network_log.record_blocked(network_log.DOWNLOAD, f"{repo_id}@{revision}", ep, reason)
    check_online(repo_id, ep)
    with network_log.activity(network_log.DOWNLOAD, f"{repo_id}@{revision}", ep) as activity:
        return _download(repo_id, revision, dest, ep, resolve_token(token), subfolder, allow_patterns, progress,
                         cancel or CancelToken(), activity)


def _download(repo_id: str, revision: str, dest: Path | None, ep: str, tok: str | None, subfolder: str | None,
              allow_patterns: Sequence[str] | None, progress: ProgressCallback, cancel: CancelToken,
              activity: network_log.Activity) -> Snapshot:
    commit, files, skipped = plan_download(repo_id, revision, endpoint=ep, token=tok or False, subfolder=subfolder,
                                           allow_patterns=allow_patterns, cancel=cancel)
    if not files:
        raise DownloadError(f"{repo_id} has no files Ponder can use (safetensors, ONNX, JSON, tokenizer).",
                            "Choose a repository with safetensors or ONNX weights.")
    if skipped:
        log.info("Skipping %d file(s) of types Ponder never downloads: %s", len(skipped), ", ".join(skipped[:10]))
    target = dest if dest is not None else downloads_dir() / repo_id.replace("/", "--") / commit
    target.mkdir(parents=True, exist_ok=True)
    snap = Snapshot(repo_id, revision, commit, target, files, sum(f.size for f in files))
    with pidlock.hold(target / LOCK_FILE, f"{repo_id} is already being downloaded",
                      "Wait for that download to finish (or stop it), then try again."):
        return _fetch_into(snap, ep, tok, progress, cancel, activity)


def _fetch_into(snap: Snapshot, ep: str, tok: str | None, progress: ProgressCallback, cancel: CancelToken,
                activity: network_log.Activity) -> Snapshot:
    """Fetch what ``snap`` lists that is not already there (its folder's lock is held)."""
    repo_id, commit, target, files = snap.repo_id, snap.commit, snap.path, snap.files
    if is_complete_snapshot(target):
        old = load_snapshot(target)
        if old.commit == commit and set(files) <= set(old.files):
            progress(Progress(stage=Stage.DOWNLOAD, done=snap.total_bytes, total=snap.total_bytes,
                              message="Already downloaded"))
            return snap
    (target / COMPLETE_FILE).unlink(missing_ok=True)

    reporter = ByteProgress(progress, snap.total_bytes, PROGRESS_INTERVAL_S)
    loader = _Downloader(repo_id, commit, ep, tok, target, reporter, cancel, activity)
    pending = [rf for rf in files if not loader.is_done(rf)]
    partial = {rf.name: min(_size_of(loader.part_path(rf)), rf.size) for rf in pending}
    reporter.done = snap.total_bytes - sum(rf.size - partial[rf.name] for rf in pending)
    needed = sum(rf.size - partial[rf.name] for rf in pending)
    free = shutil.disk_usage(target).free
    if needed and needed * (1 + DISK_MARGIN) > free:
        raise DiskSpaceError(f"Not enough disk space to download {repo_id}: needs "
                             f"{format_bytes(needed * (1 + DISK_MARGIN))}, {format_bytes(free)} free at {target}.",
                             "Free some space, then try again.")
    log.info("Downloading %s@%s: %d file(s), %s to fetch, into %s", repo_id, commit[:12], len(pending),
             format_bytes(needed), target)
    reporter.add(0, pending[0].name if pending else "", force=True)
    for rf in pending:
        loader.fetch(rf)
    write_json_atomic(target / COMPLETE_FILE, _snapshot_json(snap))
    for folder in sorted((target / PARTIAL_DIR).glob("**/"), key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only empty folders go; leftovers of other plans stay
    reporter.add(0, "", force=True)
    return snap
