"""Turn a document (PDF, DOCX, plain text, Markdown, HTML) into its text and sections, refusing hostile files.

This is the pure parser; run it through :func:`engine.documents.sandbox.extract_in_sandbox` so that a parser crash,
hang or memory blow-up on a hostile file cannot take the app down. Nothing here touches the network.

:func:`extract` checks the file (type by extension, size, leading bytes) and hands it to its format's reader:
``pdf``, ``docx``, ``text`` (plain text and Markdown) or ``html``; ``common`` holds what they share.
"""

from __future__ import annotations

from pathlib import Path

from engine.documents.extract.common import (
    SUPPORTED,
    SUPPORTED_LIST,
    DocumentError,
    Extracted,
    Limits,
    Section,
)
from engine.documents.extract.docx import read_docx
from engine.documents.extract.html import read_html
from engine.documents.extract.pdf import read_pdf
from engine.documents.extract.text import decode, read_markdown, read_plain

__all__ = ["SUPPORTED", "DocumentError", "Extracted", "Limits", "Section", "extract"]

# Leading bytes of file types people may rename by mistake (or on purpose): a text file must not start with these.
_BINARY_MAGIC: dict[bytes, str] = {b"%PDF-": "PDF", b"PK\x03\x04": "ZIP/Office", b"\x89PNG\r\n\x1a\n": "PNG image",
                                   b"\xff\xd8\xff": "JPEG image", b"GIF8": "GIF image",
                                   b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "old Office (.doc/.xls)",
                                   b"\x7fELF": "executable", b"MZ": "Windows executable",
                                   b"\x1f\x8b": "gzip archive", b"Rar!": "RAR archive", b"7z\xbc\xaf": "7-Zip archive"}


def extract(path: Path, limits: Limits | None = None) -> Extracted:
    """Read ``path`` into an :class:`Extracted`; raise :class:`DocumentError` saying why and what to do."""
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
        return read_pdf(path, name, limits)
    if kind == "docx":
        if not head.startswith(b"PK\x03\x04"):
            raise DocumentError(f"{name} is named .docx but is not a Word (.docx) file{_sniff(head)}.",
                                "Old .doc files are not supported: save it as .docx or PDF.")
        return read_docx(path, name, limits)
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise DocumentError(f"{name} is named {path.suffix} but is really a {what} file.",
                                f"Rename it to its real type if that is supported ({SUPPORTED_LIST}).")
    text = decode(path.read_bytes(), name)
    if len(text) > limits.max_chars:
        raise DocumentError(f"{name} has more than {limits.max_chars:,} characters of text.",
                            "Split it into smaller files.")
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
