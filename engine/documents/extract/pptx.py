"""PowerPoint (.pptx): one section per slide, in the presentation's order, headed by the slide's title, with the text
of its shapes, its tables (a row per line) and its speaker notes; the section's page is the slide number, so a
citation opens at the slide. Read through :class:`SafeZip` (bomb checks) and XML without entities."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.documents.extract.archive import SafeZip, office_title, relationships
from engine.documents.extract.common import Builder, DocumentError, Extracted, Limits

_P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_TITLES = {"title", "ctrTitle"}
_NOISE = {"sldNum", "dt", "ftr", "hdr", "sldImg"}  # slide number, date, footer, header, the notes' slide picture


def read_pptx(path: Path, name: str, limits: Limits) -> Extracted:
    """One section per slide with text: heading (slide title or "Slide N"), page = slide number."""
    with SafeZip(path, name, limits, "PowerPoint") as zf:
        if not zf.has("ppt/presentation.xml"):
            raise DocumentError(f"{name} is a zip file but not a PowerPoint presentation (no ppt/presentation.xml).",
                                "Choose a .pptx saved by PowerPoint, LibreOffice Impress or similar.")
        rels = relationships(zf, "ppt/presentation.xml")
        order = [s.get(f"{_R}id") or "" for s in zf.xml("ppt/presentation.xml").iter(f"{_P}sldId")]
        slides = [rels[rid][1] for rid in order if rid in rels]
        if len(slides) > limits.max_pages:
            raise DocumentError(f"{name} has {len(slides):,} slides, over the {limits.max_pages:,} slide limit.",
                                "Split it into smaller files.")
        builder = Builder(name, limits)
        first_title = ""
        for number, part in enumerate(slides, start=1):
            if not zf.has(part):
                continue
            title, lines = _shapes_text(zf.xml(part))
            notes = [_shapes_text(zf.xml(target))[1] for kind, target in relationships(zf, part).values()
                     if kind == "notesSlide" and zf.has(target)]
            note_lines = [line for block in notes for line in block]
            if note_lines:
                lines.append("Notes: " + "\n".join(note_lines))
            first_title = first_title or title
            builder.add("\n".join(lines), number, (title or f"Slide {number}",))
        doc_title = office_title(zf)
    return Extracted(path=str(path), kind="pptx", title=doc_title or first_title or path.stem, text=builder.text(),
                     sections=builder.sections)


def _shapes_text(root: Any) -> tuple[str, list[str]]:
    """A slide's (or notes page's) title and its text lines in shape order; the title is the first line."""
    title = ""
    lines: list[str] = []
    tree = root.find(f"{_P}cSld/{_P}spTree")
    for kind, text in _walk(tree if tree is not None else root):
        if kind == "title" and not title:
            title = " ".join(text.split())
        lines.append(text)
    return title, lines


def _walk(parent: Any) -> Iterator[tuple[str, str]]:
    """("title" | "text", text) for each shape with text, tables row by row, groups recursively."""
    for child in parent:
        if child.tag == f"{_P}sp":
            ph = child.find(f"{_P}nvSpPr/{_P}nvPr/{_P}ph")
            kind = ph.get("type", "body") if ph is not None else "shape"
            if kind in _NOISE:
                continue
            body = child.find(f"{_P}txBody")
            text = "\n".join(_paragraph(p) for p in body.iter(f"{_A}p")).strip() if body is not None else ""
            if text:
                yield ("title" if kind in _TITLES else "text"), text
        elif child.tag == f"{_P}graphicFrame":
            for row in child.iter(f"{_A}tr"):
                cells = [" ".join(_paragraph(p) for p in tc.iter(f"{_A}p")).strip() for tc in row.findall(f"{_A}tc")]
                while cells and not cells[-1]:
                    cells.pop()
                if cells:
                    yield "text", " | ".join(cells)
        elif child.tag == f"{_P}grpSp":
            yield from _walk(child)


def _paragraph(p: Any) -> str:
    out: list[str] = []
    for node in p.iter():
        if node.tag == f"{_A}t" and node.text:
            out.append(node.text)
        elif node.tag == f"{_A}br":
            out.append("\n")
    return "".join(out)
