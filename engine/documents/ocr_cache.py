"""What OCR read from a file, kept so it is read once: opening a citation of a scanned page (which re-reads the
document to find the passage) then takes a moment instead of seconds per page.

Entries are keyed by the SHA-256 of the whole file and the OCR models' version, in ``ocr-cache/`` in the data
folder; an edited file has another hash, so it is read again. Only documents that OCR read are kept.
"""

from __future__ import annotations

import contextlib
from importlib import metadata
from pathlib import Path

from engine.documents.extract import Extracted
from engine.system.paths import ponder_home
from engine.system.verify import file_digests, read_json, write_json_atomic

FORMAT = 1


def _ocr_version() -> str:
    try:
        return metadata.version("rapidocr")
    except metadata.PackageNotFoundError:
        return "none"


class OcrCache:
    """Extracted documents that needed OCR, by file content."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder if folder is not None else ponder_home() / "ocr-cache"

    def _entry(self, path: Path) -> Path | None:
        try:
            sha, _ = file_digests(path, sha256=True, git_sha1=False)
        except OSError:
            return None
        return self.folder / f"{sha}-{FORMAT}-{_ocr_version()}.json" if sha else None

    def get(self, path: Path) -> Extracted | None:
        """The document as OCR read it before, or None (never read, changed since, or an unreadable entry)."""
        entry = self._entry(path)
        data = read_json(entry) if entry is not None and entry.is_file() else None
        if not isinstance(data, dict):
            return None
        try:
            doc = Extracted.from_dict(data)
        except (KeyError, TypeError, ValueError):
            return None
        return Extracted(path=str(path), kind=doc.kind, title=doc.title, text=doc.text, sections=doc.sections,
                         ocr_pages=doc.ocr_pages, ocr_boxes=doc.ocr_boxes)

    def put(self, path: Path, doc: Extracted) -> None:
        """Keep ``doc`` when OCR read part of it (a full disk only means it is read again next time)."""
        if not doc.ocr_pages and not doc.ocr_boxes:
            return
        entry = self._entry(path)
        if entry is None:
            return
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
            write_json_atomic(entry, doc.to_dict())
