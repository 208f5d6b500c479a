"""File hashing and atomic JSON state for downloads: the checks a fetched file must pass before it is kept."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from engine.system.cancel import CancelToken

HASH_CHUNK = 4 * 1024 * 1024


def git_blob_sha1_prefix(size: int) -> bytes:
    """The header git hashes before a blob's content: ``b"blob <size>\\0"``."""
    return b"blob %d\0" % size


def file_digests(path: Path, *, sha256: bool, git_sha1: bool, cancel: CancelToken | None = None,
                 what: str = "Verification") -> tuple[str | None, str | None]:
    """Hash ``path`` in one pass: its sha256 and/or its git blob sha1 (hex), None for those not asked for.

    Checks ``cancel`` between chunks and raises :class:`~engine.system.errors.Cancelled` (named ``what``).
    """
    h256 = hashlib.sha256() if sha256 else None
    h1 = hashlib.sha1(git_blob_sha1_prefix(path.stat().st_size)) if git_sha1 else None  # git object id, not security
    with path.open("rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            if cancel is not None:
                cancel.raise_if_cancelled(what)
            if h256 is not None:
                h256.update(chunk)
            if h1 is not None:
                h1.update(chunk)
    return (h256.hexdigest() if h256 else None, h1.hexdigest() if h1 else None)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` so readers see the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def replace_folder(work: Path, dest: Path) -> None:
    """Put the finished folder ``work`` at ``dest`` (a sibling), replacing what is there: the old folder is moved
    aside first and removed only once the new one is in place, so ``dest`` is never half-written."""
    old = None
    if dest.exists():
        old = dest.parent / f".{dest.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(dest, old)
    os.replace(work, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_json(path: Path) -> Any | None:
    """The JSON in ``path``, or None when it is missing or unreadable (a torn or hand-edited state file)."""
    try:
        with path.open("r", encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None
