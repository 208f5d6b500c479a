"""PDF: the text layer of each page (pypdf), refusing encrypted files, decompression bombs and scans."""

from __future__ import annotations

from pathlib import Path

from engine.documents.extract.common import Builder, DocumentError, Extracted, Limits


def read_pdf(path: Path, name: str, limits: Limits) -> Extracted:
    """One section per page with text; ``name`` is the file name as error messages show it."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PdfReadError

    encrypted = DocumentError(f"{name} is encrypted (password-protected).",
                              "Open it in a PDF viewer and save or print an unprotected copy, then add that.")
    bomb = DocumentError(f"{name} has a compressed stream that expands beyond the safety limit (a decompression "
                         "bomb or a damaged file).", "It was not read; if you trust it, re-save it from a PDF viewer.")
    try:
        reader = PdfReader(str(path), strict=False)
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")  # owner-password-only PDFs open with an empty user password
            except (DependencyError, NotImplementedError, PdfReadError) as exc:
                raise encrypted from exc
            if not ok:
                raise encrypted
        count = len(reader.pages)
        if count > limits.max_pages:
            raise DocumentError(f"{name} has {count:,} pages, over the {limits.max_pages:,} page limit.",
                                "Split it into smaller files.")
        builder = Builder(name, limits)
        for number, page in enumerate(reader.pages, start=1):
            builder.add(page.extract_text() or "", number, ())
        title = ""
        try:
            meta = reader.metadata
            title = str(meta.title or "") if meta is not None else ""
        except Exception:  # metadata is optional and often broken; never fail the document for it
            title = ""
    except DocumentError:
        raise
    except FileNotDecryptedError as exc:
        raise encrypted from exc
    except LimitReachedError as exc:
        raise bomb from exc
    except MemoryError:
        raise
    except Exception as exc:  # pypdf raises many types on malformed input
        raise DocumentError(f"{name} is not a readable PDF ({type(exc).__name__}: {str(exc)[:200]}).",
                            "It may be damaged; re-save it from a PDF viewer and try again.") from exc
    if not builder.sections:
        raise DocumentError(f"{name} has no text layer (scanned?); OCR is not supported.",
                            "Run it through an OCR tool that adds a text layer, then add it again.")
    return Extracted(path=str(path), kind="pdf", title=title.strip() or path.stem, text=builder.text(),
                     sections=builder.sections)
