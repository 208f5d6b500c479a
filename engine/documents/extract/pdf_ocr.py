"""Scanned PDF pages: rendered with PDFium (pypdfium2) and read by OCR, page by page with progress.

A page is rendered at :data:`~engine.documents.extract.ocr.OCR_DPI` (smaller when the page is huge, so no side
exceeds :data:`MAX_SIDE` pixels); the source view renders it again the same way (:func:`render_png`), so the word
boxes found by OCR fall on the same pixels.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.documents.extract.common import DocumentError, Limits
from engine.documents.extract.ocr import OCR_DPI, OcrReader, OcrText

MAX_SIDE = 2400  # pixels: an A4 page at 200 dpi is 1654×2339
Progress = Callable[[int, int], None]


def _scale(width_pt: float, height_pt: float, limits: Limits) -> float:
    scale = OCR_DPI / 72
    longest = max(width_pt, height_pt, 1.0) * scale
    if longest > MAX_SIDE:
        scale *= MAX_SIDE / longest
    area = max(width_pt, 1.0) * max(height_pt, 1.0) * scale * scale
    if area > limits.max_image_pixels:
        scale *= (limits.max_image_pixels / area) ** 0.5
    return scale


def _open(path: Path, name: str) -> Any:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise DocumentError(f"{name} cannot be opened to read its scanned pages ({str(exc)[:200]}).",
                            "It may be damaged; re-save it from a PDF viewer and try again.") from exc


def _render(doc: Any, number: int, name: str, limits: Limits) -> Any:
    """Page ``number`` (from 1) as a PIL RGB image."""
    import pypdfium2 as pdfium

    try:
        page = doc[number - 1]
        width, height = page.get_size()
        bitmap = page.render(scale=_scale(width, height, limits), grayscale=False)
        image = bitmap.to_pil().convert("RGB")
    except (pdfium.PdfiumError, ValueError, OSError) as exc:
        raise DocumentError(f"Page {number} of {name} cannot be rendered for OCR ({str(exc)[:200]}).",
                            "It may be damaged; re-save it from a PDF viewer and try again.") from exc
    return image


def ocr_pdf_pages(path: Path, name: str, numbers: list[int], limits: Limits, progress: Progress | None = None
                  ) -> dict[int, tuple[OcrText, tuple[int, int]]]:
    """OCR the pages ``numbers`` (from 1) of ``path``: each page's text with its word boxes and image size.

    Refuses more than ``limits.max_ocr_pages`` pages before reading any; ``progress(done, total)`` is called
    before each page and once at the end."""
    if len(numbers) > limits.max_ocr_pages:
        raise DocumentError(f"{name} has {len(numbers):,} scanned pages (without a text layer), over the "
                            f"{limits.max_ocr_pages:,}-page OCR limit.",
                            "Split it into smaller files, or add a text layer with an OCR tool first.")
    reader = OcrReader()
    doc = _open(path, name)
    out: dict[int, tuple[OcrText, tuple[int, int]]] = {}
    try:
        for done, number in enumerate(numbers):
            if progress is not None:
                progress(done, len(numbers))
            image = _render(doc, number, name, limits)
            out[number] = (reader.read(image), image.size)
        if progress is not None:
            progress(len(numbers), len(numbers))
    finally:
        doc.close()
    return out


def render_png(path: Path, number: int, limits: Limits | None = None) -> bytes:
    """Page ``number`` (from 1) of the PDF at ``path`` as PNG bytes, rendered exactly as it was for OCR."""
    limits = limits or Limits()
    name = f"'{path.name}'"
    doc = _open(path, name)
    try:
        if not 1 <= number <= len(doc):
            raise DocumentError(f"{name} has no page {number}.", "Add the file again to index its current pages.")
        image = _render(doc, number, name, limits)
    finally:
        doc.close()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
