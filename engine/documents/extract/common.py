"""What every format's reader shares: the result types, the limits, the error, and the builder of sections."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from engine.system.errors import PonderError

# Source code and structured text (read as text, with headings from top-level definitions; see code.py).
CODE_EXTENSIONS: tuple[str, ...] = (
    ".py", ".pyi", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".java", ".kt", ".kts", ".scala", ".cs", ".c", ".h",
    ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".go", ".rs", ".rb", ".php", ".swift", ".lua", ".pl", ".sh", ".bash",
    ".zsh", ".ps1", ".sql", ".json", ".yaml", ".yml", ".toml", ".ini", ".cfg")

SUPPORTED: dict[str, str] = {".pdf": "pdf", ".docx": "docx", ".txt": "txt", ".text": "txt", ".md": "md",
                             ".markdown": "md", ".html": "html", ".htm": "html", ".xhtml": "html", ".epub": "epub",
                             ".pptx": "pptx", ".xlsx": "xlsx", ".csv": "csv", ".tsv": "csv", ".rtf": "rtf",
                             **{ext: "code" for ext in CODE_EXTENSIONS}}
SUPPORTED_LIST = ("PDF (.pdf), Word (.docx), PowerPoint (.pptx), Excel (.xlsx), CSV (.csv, .tsv), EPUB (.epub), "
                  "RTF (.rtf), text (.txt), Markdown (.md), HTML (.html, .htm) and source code (.py, .js, .ts, "
                  ".java, .c, .cpp, .go, .rs, .sql, .json, .yaml, .toml and more)")
_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\n)+")


class DocumentError(PonderError):
    """A document could not be read: unsupported, malformed, hostile, too large, or the parser failed on it."""


@dataclass(frozen=True)
class Limits:
    """Bounds on what a parse may consume; time and memory are enforced by the sandbox."""

    max_bytes: int = 200 * 1024 * 1024
    max_chars: int = 20_000_000
    max_pages: int = 5000
    max_unzipped_bytes: int = 100 * 1024 * 1024
    max_ratio: int = 100
    max_entries: int = 10_000  # parts of a zip-based file (an EPUB with many images has a few thousand)
    max_rows: int = 200_000  # table rows of a spreadsheet or CSV, all sheets together
    max_cells: int = 2_000_000  # non-empty cells of a spreadsheet or CSV, all sheets together
    max_depth: int = 1_000  # nesting of RTF groups
    max_ocr_pages: int = 500  # pages (or pictures in a Word file) read by OCR: a few seconds each
    max_image_pixels: int = 60_000_000  # one image to OCR (an A4 page at 600 dpi is 35 Mpx)


@dataclass(frozen=True)
class Section:
    """A piece of the document: ``Extracted.text[start:end] == text``."""

    text: str
    page: int | None
    heading: tuple[str, ...]
    start: int
    end: int


@dataclass(frozen=True)
class Extracted:
    """A document's text and its sections, in reading order.

    Text read by OCR keeps where it was: ``ocr_pages`` maps each page that was read from its image to that image's
    size in pixels, and ``ocr_boxes`` holds each recognised word's span of ``text`` with its box on that image
    (rows ``[page, start, end, left, top, right, bottom]``; page is None for a picture in a Word file)."""

    path: str
    kind: str
    title: str
    text: str
    sections: list[Section] = field(default_factory=list)
    ocr_pages: dict[int, tuple[int, int]] = field(default_factory=dict)
    ocr_boxes: list[list[Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "title": self.title, "text": self.text,
                "sections": [[s.text, s.page, list(s.heading), s.start, s.end] for s in self.sections],
                "ocr_pages": [[p, w, h] for p, (w, h) in sorted(self.ocr_pages.items())],
                "ocr_boxes": self.ocr_boxes}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Extracted:
        sections = [Section(text=str(t), page=None if p is None else int(p), heading=tuple(str(h) for h in hd),
                            start=int(a), end=int(b)) for t, p, hd, a, b in data["sections"]]
        pages = {int(p): (int(w), int(h)) for p, w, h in data.get("ocr_pages", [])}
        boxes = [[None if r[0] is None else int(r[0]), *(int(v) for v in r[1:7])] for r in data.get("ocr_boxes", [])]
        return cls(path=str(data["path"]), kind=str(data["kind"]), title=str(data["title"]), text=str(data["text"]),
                   sections=sections, ocr_pages=pages, ocr_boxes=boxes)


class Builder:
    """Joins blocks with blank lines and records each block's span, enforcing ``max_chars``."""

    def __init__(self, name: str, limits: Limits) -> None:
        self.name = name
        self.limits = limits
        self.parts: list[str] = []
        self.sections: list[Section] = []
        self.pos = 0

    def add(self, text: str, page: int | None, heading: tuple[str, ...], *, keep_indent: bool = False) -> None:
        """Append one block (stripped; an empty one is skipped) as a section on ``page`` under ``heading``;
        ``keep_indent`` strips only blank lines at the start, so code keeps its first line's indentation."""
        text = _LEADING_BLANK_LINES.sub("", text).rstrip() if keep_indent else text.strip()
        if not text:
            return
        if self.parts:
            self.parts.append("\n\n")
            self.pos += 2
        start = self.pos
        self.parts.append(text)
        self.pos += len(text)
        if self.pos > self.limits.max_chars:
            raise DocumentError(f"{self.name} has more than {self.limits.max_chars:,} characters of text.",
                                "Split it into smaller files.")
        self.sections.append(Section(text=text, page=page, heading=heading, start=start, end=self.pos))

    def text(self) -> str:
        """The whole text so far."""
        return "".join(self.parts)


def headings(stack: list[tuple[int, str]]) -> tuple[str, ...]:
    """The heading path of a (level, text) stack, outermost first."""
    return tuple(text for _, text in stack)


def push_heading(stack: list[tuple[int, str]], level: int, text: str) -> None:
    """Enter a heading of ``level``: close the headings at that level or deeper, then open this one."""
    while stack and stack[-1][0] >= level:
        stack.pop()
    stack.append((level, text))
