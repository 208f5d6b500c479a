"""PDF: the text layer of each page (pypdf), refusing encrypted files and decompression bombs; pages without a
text layer (scans) are read by OCR (:mod:`engine.documents.extract.pdf_ocr`)."""

from __future__ import annotations

from pathlib import Path

from engine.documents.extract.common import Builder, DocumentError, Extracted, Limits
from engine.documents.extract.pdf_ocr import Progress, ocr_pdf_pages


def read_pdf(path: Path, name: str, limits: Limits, progress: Progress | None = None) -> Extracted:
    """One section per page with text; ``name`` is the file name as error messages show it. Pages without a text
    layer are read by OCR, ``progress(done, total)`` telling how far that is."""
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
        texts: list[str] = []
        chars = 0
        for page in reader.pages:
            texts.append(page.extract_text() or "")
            chars += len(texts[-1])
            if chars > limits.max_chars:
                raise DocumentError(f"{name} has more than {limits.max_chars:,} characters of text.",
                                    "Split it into smaller files.")
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
    scanned = [number for number, text in enumerate(texts, start=1) if not text.strip()]
    ocr = ocr_pdf_pages(path, name, scanned, limits, progress) if scanned else {}
    builder = Builder(name, limits)
    boxes: list[list[object]] = []
    for number, text in enumerate(texts, start=1):
        if number not in ocr:
            builder.add(text, number, ())
            continue
        read = ocr[number][0]
        before = len(builder.sections)
        builder.add(read.text, number, ())
        if len(builder.sections) > before:  # the OCR text is stripped already: its spans start where it does
            boxes += read.boxes(number, builder.sections[-1].start)
    if not builder.sections:
        raise DocumentError(f"{name} has no text layer, and OCR found no text on its {len(texts)} page"
                            f"{'s' if len(texts) != 1 else ''} (blank, or pictures only).",
                            "If it does show text, scan it again at a higher resolution (300 dpi) and add that.")
    return Extracted(path=str(path), kind="pdf", title=title.strip() or path.stem, text=builder.text(),
                     sections=builder.sections, ocr_pages={n: size for n, (_, size) in ocr.items()},
                     ocr_boxes=boxes)
