"""Finding a cited passage again in its file, for the source view: the document is re-read (in the sandbox) and
the passage located by its span, or by its text when the file changed since it was indexed. A passage that OCR
read from a scanned page also has the boxes of its words on that page's image (:meth:`Passage.boxes`), and
:func:`page_image` renders that image again."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from engine.documents.extract import DocumentError, Extracted, Limits
from engine.documents.sandbox import extract_in_sandbox, render_page_in_sandbox

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Passage:
    """A passage in its document: ``document.text[start:end]`` is the passage."""

    document: Extracted
    start: int
    end: int
    page: int | None
    heading: tuple[str, ...]
    moved: bool  # the file changed since it was indexed; the passage was found by its text

    @property
    def pages(self) -> list[int]:
        """The document's page numbers (empty for documents without pages)."""
        return sorted({s.page for s in self.document.sections if s.page is not None})

    def scanned(self, page: int | None) -> bool:
        """Whether ``page`` was read by OCR from its image (its text has boxes on :func:`page_image`)."""
        return page is not None and page in self.document.ocr_pages

    def boxes(self, page: int) -> list[tuple[int, int, int, int]]:
        """The boxes (left, top, right, bottom, in the page image's pixels) of the passage's words on ``page``."""
        return [(r[3], r[4], r[5], r[6]) for r in self.document.ocr_boxes
                if r[0] == page and r[1] < self.end and r[2] > self.start]

    def page_span(self, page: int) -> tuple[int, int]:
        """Where ``page`` is in ``document.text`` (its first section's start to its last section's end)."""
        spans = [(s.start, s.end) for s in self.document.sections if s.page == page]
        if not spans:
            raise ValueError(f"no page {page}")
        return spans[0][0], spans[-1][1]


def _find_normalized(text: str, passage: str) -> tuple[int, int] | None:
    """The span of ``passage`` in ``text`` when only whitespace differs."""
    words = passage.split()
    if not words:
        return None
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words))
    match = pattern.search(text)
    return (match.start(), match.end()) if match else None


def locate(path: Path, start: int, end: int, text: str, *, limits: Limits | None = None,
           timeout_s: float = 60) -> Passage:
    """Re-read ``path`` and find the passage that was indexed at ``start:end`` with ``text``.

    Raises :class:`DocumentError` when the file cannot be read any more or no longer contains the passage.
    """
    path = Path(path)
    if not path.is_file():
        raise DocumentError(f"{path.name} is no longer at {path.parent}.",
                            "Put it back, or add the document again from where it is now.")
    doc = extract_in_sandbox(path, limits, timeout_s=timeout_s)
    moved = False
    if doc.text[start:end] != text:
        found = doc.text.find(text) if text else -1
        span = (found, found + len(text)) if found >= 0 else _find_normalized(doc.text, text)
        if span is None:
            raise DocumentError(f"The cited passage is no longer in {path.name}: the file changed after it was "
                                "indexed.", "Add the file again to index its current text, then ask again.")
        (start, end), moved = span, True
    section = next((s for s in doc.sections if s.start <= start < s.end), None)
    return Passage(doc, start, end, section.page if section else None, section.heading if section else (), moved)


def page_image(path: Path, page: int, *, limits: Limits | None = None, timeout_s: float = 60) -> bytes:
    """The image of a scanned ``page`` of the PDF at ``path`` (PNG bytes), rendered in the sandbox as it was for
    OCR, so :meth:`Passage.boxes` fall on it."""
    return render_page_in_sandbox(Path(path), page, limits=limits, timeout_s=timeout_s)
