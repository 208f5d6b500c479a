"""Word (.docx): paragraphs, headings by style and table rows, read from a zip checked for bombs before inflating
and from XML parsed without DTDs or entities; the text of pictures (a photographed page, a screenshot) is read by
OCR where the picture stands."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.documents.extract.archive import SafeZip, parse_xml, relationships
from engine.documents.extract.common import Builder, DocumentError, Extracted, Limits, headings, push_heading
from engine.documents.extract.ocr import OcrReader, open_image
from engine.documents.extract.pdf_ocr import Progress

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_BLIP = "{http://schemas.openxmlformats.org/drawingml/2006/main}blip"
_IMAGEDATA = "{urn:schemas-microsoft-com:vml}imagedata"
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
# Raster pictures OCR can read; vector ones (EMF, WMF, SVG) are drawings, not photographed text, and are skipped.
_RASTER = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp")
_MIN_SIDE = 16  # pixels: icons and bullets smaller than this hold no readable text
_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$")


def _read_parts(path: Path, name: str, limits: Limits) -> tuple[dict[str, bytes], dict[str, tuple[str, bytes]]]:
    """The document, styles and core-properties parts, and the raster pictures the document refers to (by
    relationship id: part name and bytes), checked against the limits before and while inflating."""
    with SafeZip(path, name, limits, "Word") as zf:
        if not zf.has("word/document.xml"):
            raise DocumentError(f"{name} is a zip file but not a Word document (no word/document.xml).",
                                "Choose a .docx saved by Word, LibreOffice or similar.")
        wanted = [n for n in ("word/document.xml", "word/styles.xml", "docProps/core.xml") if zf.has(n)]
        images = {rid: target for rid, (kind, target) in relationships(zf, "word/document.xml").items()
                  if kind == "image" and target.lower().endswith(_RASTER) and zf.has(target)}
        zf.check_declared(wanted + sorted(set(images.values())))
        parts = {n: zf.read(n) for n in wanted}
        data = {target: zf.read(target) for target in sorted(set(images.values()))}
        return parts, {rid: (target, data[target]) for rid, target in images.items()}


def _parse_xml(data: bytes, name: str) -> Any:
    return parse_xml(data, name, "Word")


def read_docx(path: Path, name: str, limits: Limits, progress: Progress | None = None) -> Extracted:
    """One section per paragraph or table row, under its heading path, and one per picture with text (read by
    OCR, ``progress(done, total)`` counting the pictures); ``name`` is the file name as error messages show it."""
    parts, images = _read_parts(path, name, limits)
    styles = _docx_styles(_parse_xml(parts["word/styles.xml"], name)) if "word/styles.xml" in parts else {}
    root = _parse_xml(parts["word/document.xml"], name)
    body = root.find(f"{_W}body")
    blocks = list(_docx_blocks(body if body is not None else root, styles))
    pictures = [text for kind, _, text in blocks if kind == "image" and text in images]
    if len(pictures) > limits.max_ocr_pages:
        raise DocumentError(f"{name} has {len(pictures):,} pictures, over the {limits.max_ocr_pages:,}-picture OCR "
                            "limit.", "Split it into smaller files.")
    reader = OcrReader() if pictures else None
    builder = Builder(name, limits)
    stack: list[tuple[int, str]] = []
    first_heading = ""
    boxes: list[list[object]] = []
    seen = 0
    for kind, level, text in blocks:
        if kind == "image":
            if text not in images or reader is None:
                continue
            if progress is not None:
                progress(seen, len(pictures))
            seen += 1
            target, data = images[text]
            image = open_image(data, f"{target.rsplit('/', 1)[-1]} in {name}", limits)
            if min(image.size) < _MIN_SIDE:
                continue
            read = reader.read(image)
            before = len(builder.sections)
            builder.add(read.text, None, headings(stack))
            if len(builder.sections) > before:
                boxes += read.boxes(None, builder.sections[-1].start)
            continue
        if kind == "heading" and text.strip():
            push_heading(stack, level, text.strip())
            first_heading = first_heading or text.strip()
        builder.add(text, None, headings(stack))
    if pictures and progress is not None:
        progress(len(pictures), len(pictures))
    title = ""
    if "docProps/core.xml" in parts:
        core = _parse_xml(parts["docProps/core.xml"], name)
        node = core.find("{http://purl.org/dc/elements/1.1/}title")
        title = (node.text or "").strip() if node is not None else ""
    return Extracted(path=str(path), kind="docx", title=title or first_heading or path.stem, text=builder.text(),
                     sections=builder.sections, ocr_boxes=boxes)


def _docx_styles(root: Any) -> dict[str, int]:
    """Map style ids to heading levels (0 = Title), using the style names, so localized ids still work."""
    levels: dict[str, int] = {}
    for style in root.iter(f"{_W}style"):
        sid = style.get(f"{_W}styleId") or ""
        node = style.find(f"{_W}name")
        sname = (node.get(f"{_W}val") or "").lower() if node is not None else ""
        match = _HEADING_STYLE.match(sname)
        if match:
            levels[sid] = int(match.group(1))
        elif sname == "title":
            levels[sid] = 0
    return levels


def _style_level(style_id: str, styles: dict[str, int]) -> int | None:
    if style_id in styles:
        return styles[style_id]
    if style_id == "Title":
        return 0
    match = re.match(r"^Heading([1-9])$", style_id)
    return int(match.group(1)) if match else None


def _para_text(p: Any) -> str:
    out: list[str] = []
    for node in p.iter():
        if node.tag == f"{_W}t" and node.text:
            out.append(node.text)
        elif node.tag == f"{_W}tab":
            out.append("\t")
        elif node.tag in (f"{_W}br", f"{_W}cr"):
            out.append("\n")
    return "".join(out)


def _pictures(p: Any) -> Iterator[tuple[str, int, str]]:
    """("image", 0, relationship id) for each picture in a paragraph (DrawingML or old VML)."""
    for node in p.iter():
        if node.tag == _BLIP and node.get(f"{_R}embed"):
            yield ("image", 0, node.get(f"{_R}embed") or "")
        elif node.tag == _IMAGEDATA and node.get(f"{_R}id"):
            yield ("image", 0, node.get(f"{_R}id") or "")


def _docx_blocks(parent: Any, styles: dict[str, int]) -> Iterator[tuple[str, int, str]]:
    """Yield ("heading", level, text) / ("para", 0, text) / ("image", 0, relationship id) in reading order; a table
    row is one paragraph."""
    for child in parent:
        if child.tag == f"{_W}p":
            level = None
            style = child.find(f"{_W}pPr/{_W}pStyle")
            if style is not None:
                level = _style_level(style.get(f"{_W}val") or "", styles)
            text = _para_text(child)
            yield ("heading", level, text) if level is not None else ("para", 0, text)
            yield from _pictures(child)
        elif child.tag == f"{_W}tbl":
            for row in child.iter(f"{_W}tr"):
                cells = [" ".join(_para_text(p).strip() for p in tc.iter(f"{_W}p")).strip()
                         for tc in row.findall(f"{_W}tc")]
                yield ("para", 0, " | ".join(cells))
        elif child.tag != f"{_W}sectPr":
            yield from _docx_blocks(child, styles)  # w:sdt, w:sdtContent, w:customXml, ...
