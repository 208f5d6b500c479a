"""Turn a document (PDF, DOCX, PPTX, XLSX, CSV, EPUB, RTF, plain text, Markdown, HTML, source code) into its text
and sections, refusing hostile files.

This is the pure parser; run it through :func:`engine.documents.sandbox.extract_in_sandbox` so that a parser crash,
hang or memory blow-up on a hostile file cannot take the app down. Nothing here touches the network.

:func:`extract` checks the file (type by extension, size, leading bytes) and hands it to its format's reader:
``pdf``, ``docx``, ``pptx`` (a section per slide, page = slide number), ``xlsx`` and ``delimited`` (CSV/TSV; both
write rows through ``table``), ``epub`` (chapters in spine order), ``rtf``, ``text`` (plain text and Markdown),
``html`` or ``code`` (headings from top-level definitions). ``common`` holds what they share; ``archive`` opens
every zip-based format with the same bomb, entry-count and ratio checks and parses XML without entities. Scanned
PDF pages (``pdf_ocr``) and pictures in Word files are read by OCR (``ocr``), with progress.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from engine.documents.extract.code import read_code
from engine.documents.extract.common import (
    SUPPORTED,
    SUPPORTED_LIST,
    DocumentError,
    Extracted,
    Limits,
    Section,
)
from engine.documents.extract.delimited import read_delimited
from engine.documents.extract.docx import read_docx
from engine.documents.extract.epub import read_epub
from engine.documents.extract.html import read_html
from engine.documents.extract.pdf import read_pdf
from engine.documents.extract.pdf_ocr import Progress
from engine.documents.extract.pptx import read_pptx
from engine.documents.extract.rtf import read_rtf
from engine.documents.extract.text import decode, read_markdown, read_plain
from engine.documents.extract.xlsx import read_xlsx

__all__ = ["SUPPORTED", "DocumentError", "Extracted", "Limits", "Section", "extract"]

# Leading bytes of file types people may rename by mistake (or on purpose): a text file must not start with these.
_BINARY_MAGIC: dict[bytes, str] = {b"%PDF-": "PDF", b"PK\x03\x04": "ZIP/Office", b"\x89PNG\r\n\x1a\n": "PNG image",
                                   b"\xff\xd8\xff": "JPEG image", b"GIF8": "GIF image",
                                   b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "old Office (.doc/.xls)",
                                   b"\x7fELF": "executable", b"MZ": "Windows executable",
                                   b"\x1f\x8b": "gzip archive", b"Rar!": "RAR archive", b"7z\xbc\xaf": "7-Zip archive"}


# Zip-based formats: reader, what the file should be, and the hint when it is not a zip at all.
_ZIPPED: dict[str, tuple[Callable[[Path, str, Limits], Extracted], str, str]] = {
    "docx": (read_docx, "Word (.docx)", "Old .doc files are not supported: save it as .docx or PDF."),
    "pptx": (read_pptx, "PowerPoint (.pptx)", "Old .ppt files are not supported: save it as .pptx or PDF."),
    "xlsx": (read_xlsx, "Excel (.xlsx)", "Old .xls files are not supported: save it as .xlsx or CSV."),
    "epub": (read_epub, "EPUB", "Check the file; convert it to EPUB with an e-book tool such as Calibre."),
}
_CONTROL = re.compile(r"[\x01-\x08\x0e-\x1a\x1c-\x1f\x7f]")
_MAX_CONTROL_SHARE = 0.01  # real source and CSV files have next to no control characters; binary data has many


def extract(path: Path, limits: Limits | None = None, progress: Progress | None = None) -> Extracted:
    """Read ``path`` into an :class:`Extracted`; raise :class:`DocumentError` saying why and what to do.

    ``progress(done, total)`` is called as OCR reads scanned pages or pictures (nothing else reports progress)."""
    limits = limits or Limits()
    path = Path(path)
    name = repr(path.name) if not path.name.isprintable() else f"'{path.name}'"
    kind = SUPPORTED.get(path.suffix.lower())
    if kind is None:
        raise DocumentError(f"{name} is not a supported document type ({path.suffix or 'no extension'}).",
                            f"Supported: {SUPPORTED_LIST}.")
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise DocumentError(f"{name} is not a regular file.", "Choose a document file.")
        with path.open("rb") as fh:
            head = fh.read(1024)
    except OSError as exc:
        raise DocumentError(f"Cannot read {name}: {exc.strerror or exc}.", "Check that it exists and is readable.") \
            from exc
    if size > limits.max_bytes:
        raise DocumentError(f"{name} is {size / 2**20:,.0f} MB, over the {limits.max_bytes / 2**20:,.0f} MB limit.",
                            "Split it into smaller files.")
    if kind == "pdf":
        if b"%PDF-" not in head:
            raise DocumentError(f"{name} is named .pdf but is not a PDF file{_sniff(head)}.",
                                "Check the file; rename it to its real type if it is supported.")
        return read_pdf(path, name, limits, progress)
    if kind in _ZIPPED:
        reader, what, hint = _ZIPPED[kind]
        if not head.startswith(b"PK\x03\x04"):
            raise DocumentError(f"{name} is named {path.suffix} but is not a {what} file{_sniff(head)}.", hint)
        if kind == "docx":
            return read_docx(path, name, limits, progress)
        return reader(path, name, limits)
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise DocumentError(f"{name} is named {path.suffix} but is really a {what} file.",
                                f"Rename it to its real type if that is supported ({SUPPORTED_LIST}).")
    if kind == "rtf":
        if not head.lstrip().startswith(b"{\\rtf"):
            raise DocumentError(f"{name} is named .rtf but is not an RTF file (it does not start with {{\\rtf).",
                                "Check the file; save it again as RTF from your word processor.")
        return read_rtf(path, name, path.read_bytes().decode("latin-1"), limits)
    text = decode(path.read_bytes(), name)
    if len(text) > limits.max_chars:
        raise DocumentError(f"{name} has more than {limits.max_chars:,} characters of text.",
                            "Split it into smaller files.")
    if kind in ("code", "csv"):
        _refuse_control_characters(text, name)
    if kind == "code":
        return read_code(path, name, text, limits)
    if kind == "csv":
        return read_delimited(path, name, text, limits)
    if kind == "html":
        return read_html(path, name, text, limits)
    if kind == "md":
        return read_markdown(path, name, text, limits)
    return read_plain(path, name, text, limits)


def _sniff(head: bytes) -> str:
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            return f" (it is really a {what} file)"
    return ""


def _refuse_control_characters(text: str, name: str) -> None:
    """Refuse binary data renamed as code or CSV that slipped through decoding (no NUL byte, Latin-1 fallback)."""
    sample = text[:65536]
    if sample and len(_CONTROL.findall(sample)) > _MAX_CONTROL_SHARE * len(sample):
        raise DocumentError(f"{name} looks like a binary file, not text (it is full of control characters).",
                            f"Choose a text document; supported: {SUPPORTED_LIST}.")
