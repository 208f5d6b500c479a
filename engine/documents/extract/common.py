"""What every format's reader shares: the result types, the limits, the error, and the builder of sections."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.system.errors import PonderError

SUPPORTED: dict[str, str] = {".pdf": "pdf", ".docx": "docx", ".txt": "txt", ".text": "txt", ".md": "md",
                             ".markdown": "md", ".html": "html", ".htm": "html"}
SUPPORTED_LIST = "PDF (.pdf), Word (.docx), text (.txt), Markdown (.md) and HTML (.html, .htm)"


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
    """A document's text and its sections, in reading order."""

    path: str
    kind: str
    title: str
    text: str
    sections: list[Section] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "title": self.title, "text": self.text,
                "sections": [[s.text, s.page, list(s.heading), s.start, s.end] for s in self.sections]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Extracted:
        sections = [Section(text=str(t), page=None if p is None else int(p), heading=tuple(str(h) for h in hd),
                            start=int(a), end=int(b)) for t, p, hd, a, b in data["sections"]]
        return cls(path=str(data["path"]), kind=str(data["kind"]), title=str(data["title"]), text=str(data["text"]),
                   sections=sections)


class Builder:
    """Joins blocks with blank lines and records each block's span, enforcing ``max_chars``."""

    def __init__(self, name: str, limits: Limits) -> None:
        self.name = name
        self.limits = limits
        self.parts: list[str] = []
        self.sections: list[Section] = []
        self.pos = 0

    def add(self, text: str, page: int | None, heading: tuple[str, ...]) -> None:
        """Append one block (stripped; an empty one is skipped) as a section on ``page`` under ``heading``."""
        text = text.strip()
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
