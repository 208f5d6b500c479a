"""Turn a document (PDF, DOCX, plain text, Markdown, HTML) into its text and sections, refusing hostile files.

This is the pure parser; run it through :func:`engine.documents.sandbox.extract_in_sandbox` so that a parser crash,
hang or memory blow-up on a hostile file cannot take the app down. Nothing here touches the network.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from engine.errors import PonderError

SUPPORTED: dict[str, str] = {".pdf": "pdf", ".docx": "docx", ".txt": "txt", ".text": "txt", ".md": "md",
                             ".markdown": "md", ".html": "html", ".htm": "html"}
_SUPPORTED_LIST = "PDF (.pdf), Word (.docx), text (.txt), Markdown (.md) and HTML (.html, .htm)"

# Leading bytes of file types people may rename by mistake (or on purpose): a text file must not start with these.
_BINARY_MAGIC: dict[bytes, str] = {b"%PDF-": "PDF", b"PK\x03\x04": "ZIP/Office", b"\x89PNG\r\n\x1a\n": "PNG image",
                                   b"\xff\xd8\xff": "JPEG image", b"GIF8": "GIF image",
                                   b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "old Office (.doc/.xls)",
                                   b"\x7fELF": "executable", b"MZ": "Windows executable",
                                   b"\x1f\x8b": "gzip archive", b"Rar!": "RAR archive", b"7z\xbc\xaf": "7-Zip archive"}
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_SMALL_MEMBER = 1 << 20  # members this small are not ratio-checked (tiny XML parts compress very well legitimately)


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


class _Builder:
    """Joins blocks with blank lines and records each block's span, enforcing ``max_chars``."""

    def __init__(self, name: str, limits: Limits) -> None:
        self.name = name
        self.limits = limits
        self.parts: list[str] = []
        self.sections: list[Section] = []
        self.pos = 0

    def add(self, text: str, page: int | None, heading: tuple[str, ...]) -> None:
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
        return "".join(self.parts)


def _headings(stack: list[tuple[int, str]]) -> tuple[str, ...]:
    return tuple(text for _, text in stack)


def _push_heading(stack: list[tuple[int, str]], level: int, text: str) -> None:
    while stack and stack[-1][0] >= level:
        stack.pop()
    stack.append((level, text))


def extract(path: Path, limits: Limits | None = None) -> Extracted:
    """Read ``path`` into an :class:`Extracted`; raise :class:`DocumentError` saying why and what to do."""
    limits = limits or Limits()
    path = Path(path)
    name = repr(path.name) if not path.name.isprintable() else f"'{path.name}'"
    kind = SUPPORTED.get(path.suffix.lower())
    if kind is None:
        raise DocumentError(f"{name} is not a supported document type ({path.suffix or 'no extension'}).",
                            f"Supported: {_SUPPORTED_LIST}.")
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
        return _pdf(path, name, limits)
    if kind == "docx":
        if not head.startswith(b"PK\x03\x04"):
            raise DocumentError(f"{name} is named .docx but is not a Word (.docx) file{_sniff(head)}.",
                                "Old .doc files are not supported: save it as .docx or PDF.")
        return _docx(path, name, limits)
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise DocumentError(f"{name} is named {path.suffix} but is really a {what} file.",
                                f"Rename it to its real type if that is supported ({_SUPPORTED_LIST}).")
    text = _decode(path.read_bytes(), name)
    if len(text) > limits.max_chars:
        raise DocumentError(f"{name} has more than {limits.max_chars:,} characters of text.",
                            "Split it into smaller files.")
    if kind == "html":
        return _html(path, name, text, limits)
    if kind == "md":
        return _markdown(path, name, text, limits)
    return _plain(path, name, text, limits)


def _sniff(head: bytes) -> str:
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            return f" (it is really a {what} file)"
    return ""


def _decode(data: bytes, name: str) -> str:
    """Decode text: a BOM (UTF-8, UTF-16, UTF-32) decides, else UTF-8, else Latin-1 (which never fails)."""
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        encoding = "utf-32"
    elif data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        encoding = ""
    if encoding:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise DocumentError(f"{name} starts with a {encoding} marker but is not valid {encoding}.",
                                "Save it again as UTF-8.") from exc
    if "\x00" in text[:65536]:
        raise DocumentError(f"{name} looks like a binary file, not text.",
                            f"Choose a text document; supported: {_SUPPORTED_LIST}.")
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ---- PDF ----------------------------------------------------------------------------------------------------------

def _pdf(path: Path, name: str, limits: Limits) -> Extracted:
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
        builder = _Builder(name, limits)
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


# ---- DOCX ---------------------------------------------------------------------------------------------------------

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


def _docx(path: Path, name: str, limits: Limits) -> Extracted:
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
            parts = {n: _read_member(zf, infos[n], name, limits, budget) for n in wanted}
    except DocumentError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise DocumentError(f"{name} is not a readable .docx ({type(exc).__name__}: {exc}).",
                            "It may be damaged; re-save it from Word.") from exc
    styles = _docx_styles(_parse_xml(parts["word/styles.xml"], name)) if "word/styles.xml" in parts else {}
    root = _parse_xml(parts["word/document.xml"], name)
    body = root.find(f"{_W}body")
    builder = _Builder(name, limits)
    stack: list[tuple[int, str]] = []
    first_heading = ""
    for kind, level, text in _docx_blocks(body if body is not None else root, styles):
        if kind == "heading" and text.strip():
            _push_heading(stack, level, text.strip())
            first_heading = first_heading or text.strip()
        builder.add(text, None, _headings(stack))
    title = ""
    if "docProps/core.xml" in parts:
        core = _parse_xml(parts["docProps/core.xml"], name)
        node = core.find("{http://purl.org/dc/elements/1.1/}title")
        title = (node.text or "").strip() if node is not None else ""
    return Extracted(path=str(path), kind="docx", title=title or first_heading or path.stem, text=builder.text(),
                     sections=builder.sections)


_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$")


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


# ---- plain text and Markdown --------------------------------------------------------------------------------------

def _plain(path: Path, name: str, text: str, limits: Limits) -> Extracted:
    builder = _Builder(name, limits)
    for block in re.split(r"\n\s*\n", text):
        builder.add(block, None, ())
    return Extracted(path=str(path), kind="txt", title=path.stem, text=builder.text(), sections=builder.sections)


_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$|^ {0,3}(#{1,6})[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def _markdown(path: Path, name: str, text: str, limits: Limits) -> Extracted:
    builder = _Builder(name, limits)
    stack: list[tuple[int, str]] = []
    block: list[str] = []
    fence = ""
    first = ""

    def flush() -> None:
        builder.add("\n".join(block), None, _headings(stack))
        block.clear()

    for line in text.split("\n"):
        fm = _FENCE.match(line)
        if fence:
            block.append(line)
            if fm and fm.group(1) == fence:
                fence = ""
            continue
        if fm:
            fence = fm.group(1)
            block.append(line)
            continue
        match = _ATX.match(line)
        if match and match.group(1):
            flush()
            heading = match.group(2).strip()
            if heading:
                _push_heading(stack, len(match.group(1)), heading)
                first = first or heading
                builder.add(heading, None, _headings(stack))
            continue
        if not line.strip():
            flush()
        else:
            block.append(line)
    flush()
    return Extracted(path=str(path), kind="md", title=first or path.stem, text=builder.text(),
                     sections=builder.sections)


# ---- HTML ---------------------------------------------------------------------------------------------------------

_SKIP = {"script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed"}
_BLOCK = {"p", "div", "li", "ul", "ol", "br", "tr", "table", "section", "article", "header", "footer", "nav", "aside",
          "main", "blockquote", "pre", "dd", "dt", "dl", "figure", "figcaption", "hr", "form", "fieldset", "body",
          "td", "th", "caption", "address", "details", "summary"}
_VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "source", "track", "wbr", "embed", "param"}


class _HtmlText(HTMLParser):
    """Collects visible text as blocks with their heading path; never loads anything (no images, no links)."""

    def __init__(self, builder: _Builder) -> None:
        super().__init__(convert_charrefs=True)
        self.builder = builder
        self.stack: list[tuple[int, str]] = []
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
            _push_heading(self.stack, self.heading_level, text)
            self.first_heading = self.first_heading or text
        self.builder.add(text, None, _headings(self.stack))

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


def _html(path: Path, name: str, text: str, limits: Limits) -> Extracted:
    builder = _Builder(name, limits)
    parser = _HtmlText(builder)
    parser.feed(text)
    parser.close()
    title = re.sub(r"\s+", " ", "".join(parser.title_parts)).strip()
    return Extracted(path=str(path), kind="html", title=title or parser.first_heading or path.stem,
                     text=builder.text(), sections=builder.sections)
