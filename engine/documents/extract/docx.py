"""Word (.docx): paragraphs, headings by style and table rows, read from a zip checked for bombs before inflating
and from XML parsed without DTDs or entities."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.documents.extract.common import Builder, DocumentError, Extracted, Limits, headings, push_heading

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_SMALL_MEMBER = 1 << 20  # members this small are not ratio-checked (tiny XML parts compress very well legitimately)
_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$")


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limits: Limits, budget: list[int]) -> bytes:
    """Decompress one member in chunks, stopping as soon as the running total passes the budget."""
    chunks: list[bytes] = []
    with zf.open(info) as fh:
        while True:
            chunk = fh.read(1 << 16)
            if not chunk:
                break
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise DocumentError(f"{name} expands beyond {limits.max_unzipped_bytes / 2**20:,.0f} MB when "
                                    "unzipped (a zip bomb or a damaged file).", "It was not read.")
            chunks.append(chunk)
    return b"".join(chunks)


def _parse_xml(data: bytes, name: str) -> Any:
    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException

    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise DocumentError(f"{name} contains XML entity or DTD declarations ({type(exc).__name__}): a possible "
                            "entity-expansion (billion laughs) or external-entity attack; Word never writes these.",
                            "It was not read; re-save it from Word if you trust it.") from exc
    except SafeET.ParseError as exc:
        raise DocumentError(f"{name} has malformed XML ({exc}).", "It may be damaged; re-save it from Word.") from exc


def _read_parts(path: Path, name: str, limits: Limits) -> dict[str, bytes]:
    """The document, styles and core-properties parts, checked against the limits before and while inflating."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = {info.filename: info for info in zf.infolist()}
            if "word/document.xml" not in infos:
                raise DocumentError(f"{name} is a zip file but not a Word document (no word/document.xml).",
                                    "Choose a .docx saved by Word, LibreOffice or similar.")
            wanted = [n for n in ("word/document.xml", "word/styles.xml", "docProps/core.xml") if n in infos]
            declared = sum(infos[n].file_size for n in wanted)
            if declared > limits.max_unzipped_bytes:
                raise DocumentError(f"{name} expands to {declared / 2**20:,.0f} MB when unzipped, over the "
                                    f"{limits.max_unzipped_bytes / 2**20:,.0f} MB limit.",
                                    "Split it into smaller files.")
            for n in wanted:  # from the headers, before decompressing anything
                info = infos[n]
                ratio = info.file_size // max(info.compress_size, 1)
                if info.file_size > _SMALL_MEMBER and ratio > limits.max_ratio:
                    raise DocumentError(f"{name} has a part ({n}) compressed {ratio:,}:1, over the "
                                        f"{limits.max_ratio}:1 safety limit (a zip bomb?).", "It was not read.")
            budget = [limits.max_unzipped_bytes]
            return {n: _read_member(zf, infos[n], name, limits, budget) for n in wanted}
    except DocumentError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise DocumentError(f"{name} is not a readable .docx ({type(exc).__name__}: {exc}).",
                            "It may be damaged; re-save it from Word.") from exc


def read_docx(path: Path, name: str, limits: Limits) -> Extracted:
    """One section per paragraph or table row, under its heading path; ``name`` is the file name as error
    messages show it."""
    parts = _read_parts(path, name, limits)
    styles = _docx_styles(_parse_xml(parts["word/styles.xml"], name)) if "word/styles.xml" in parts else {}
    root = _parse_xml(parts["word/document.xml"], name)
    body = root.find(f"{_W}body")
    builder = Builder(name, limits)
    stack: list[tuple[int, str]] = []
    first_heading = ""
    for kind, level, text in _docx_blocks(body if body is not None else root, styles):
        if kind == "heading" and text.strip():
            push_heading(stack, level, text.strip())
            first_heading = first_heading or text.strip()
        builder.add(text, None, headings(stack))
    title = ""
    if "docProps/core.xml" in parts:
        core = _parse_xml(parts["docProps/core.xml"], name)
        node = core.find("{http://purl.org/dc/elements/1.1/}title")
        title = (node.text or "").strip() if node is not None else ""
    return Extracted(path=str(path), kind="docx", title=title or first_heading or path.stem, text=builder.text(),
                     sections=builder.sections)


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


def _docx_blocks(parent: Any, styles: dict[str, int]) -> Iterator[tuple[str, int, str]]:
    """Yield ("heading", level, text) / ("para", 0, text) in reading order; a table row is one paragraph."""
    for child in parent:
        if child.tag == f"{_W}p":
            level = None
            style = child.find(f"{_W}pPr/{_W}pStyle")
            if style is not None:
                level = _style_level(style.get(f"{_W}val") or "", styles)
            text = _para_text(child)
            yield ("heading", level, text) if level is not None else ("para", 0, text)
        elif child.tag == f"{_W}tbl":
            for row in child.iter(f"{_W}tr"):
                cells = [" ".join(_para_text(p).strip() for p in tc.iter(f"{_W}p")).strip()
                         for tc in row.findall(f"{_W}tc")]
                yield ("para", 0, " | ".join(cells))
        elif child.tag != f"{_W}sectPr":
            yield from _docx_blocks(child, styles)  # w:sdt, w:sdtContent, w:customXml, ...
