"""HTML: the visible text as blocks under their heading path; scripts, styles and embedded objects are skipped and
nothing is ever loaded (no images, no links)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from engine.documents.extract.common import Builder, Extracted, Limits, headings, push_heading

_SKIP = {"script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed"}
_BLOCK = {"p", "div", "li", "ul", "ol", "br", "tr", "table", "section", "article", "header", "footer", "nav", "aside",
          "main", "blockquote", "pre", "dd", "dt", "dl", "figure", "figcaption", "hr", "form", "fieldset", "body",
          "td", "th", "caption", "address", "details", "summary"}
_VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "source", "track", "wbr", "embed", "param"}


def _same(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


class HtmlText(HTMLParser):
    """Collects visible text as blocks with their heading path; never loads anything (no images, no links)."""

    def __init__(self, builder: Builder, *, page: int | None = None, root: str = "") -> None:
        super().__init__(convert_charrefs=True)
        self.builder = builder
        self.page = page
        self.root = root  # an outer heading (an e-book chapter's title), merged with an <h1-6> that repeats it
        self.stack: list[tuple[int, str]] = [(0, root)] if root else []
        self.skip: list[str] = []
        self.buf: list[str] = []
        self.heading_level = 0
        self.title_parts: list[str] = []
        self.in_title = False
        self.first_heading = ""
        self.pre = 0  # inside <pre>: line breaks are part of the text (code, tables drawn with spaces)

    def _flush(self) -> None:
        raw = "".join(self.buf)
        if self.pre:
            text = "\n".join(line.rstrip() for line in raw.strip("\n").split("\n")).strip()
        else:
            text = re.sub(r"\s+", " ", raw).strip()
        self.buf.clear()
        if not text:
            return
        if self.heading_level:
            if self.stack == [(0, self.root)] and _same(text, self.root):
                self.stack = [(self.heading_level, text)]
            else:
                push_heading(self.stack, self.heading_level, text)
            self.first_heading = self.first_heading or text
        self.builder.add(text, self.page, headings(self.stack))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self.in_title = True
            return
        if tag in _SKIP:
            self.skip.append(tag)
            return
        if self.skip or (tag in _VOID and tag != "br"):
            return
        if re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self.heading_level = int(tag[1])
        elif tag in _BLOCK:
            self._flush()
        if tag == "pre":
            self.pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" and not self.skip:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
            return
        if self.skip:
            if tag == self.skip[-1]:
                self.skip.pop()
            elif tag in self.skip:  # unbalanced markup: unwind to the matching open tag
                while self.skip and self.skip.pop() != tag:
                    pass
            return
        if re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self.heading_level = 0
        elif tag in _BLOCK:
            self._flush()
        if tag == "pre" and self.pre:
            self.pre -= 1

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title_parts.append(data)
        elif not self.skip:
            self.buf.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def read_html(path: Path, name: str, text: str, limits: Limits) -> Extracted:
    """One section per block of visible text; the title is ``<title>``, else the first heading, else the name."""
    builder = Builder(name, limits)
    parser = HtmlText(builder)
    parser.feed(text)
    parser.close()
    title = re.sub(r"\s+", " ", "".join(parser.title_parts)).strip()
    return Extracted(path=str(path), kind="html", title=title or parser.first_heading or path.stem,
                     text=builder.text(), sections=builder.sections)
