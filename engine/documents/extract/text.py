"""Plain text and Markdown: decoding the bytes (BOM, UTF-8, Latin-1), paragraphs, and ATX headings outside fences."""

from __future__ import annotations

import re
from pathlib import Path

from engine.documents.extract.common import (
    SUPPORTED_LIST,
    Builder,
    DocumentError,
    Extracted,
    Limits,
    headings,
    push_heading,
)

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$|^ {0,3}(#{1,6})[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def decode(data: bytes, name: str) -> str:
    """Decode text: a BOM (UTF-8, UTF-16, UTF-32) decides, else UTF-8, else Latin-1 (which never fails); line ends
    become ``\\n``. Text with NUL bytes is refused as binary."""
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
                            f"Choose a text document; supported: {SUPPORTED_LIST}.")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_plain(path: Path, name: str, text: str, limits: Limits) -> Extracted:
    """One section per paragraph (blocks between blank lines)."""
    builder = Builder(name, limits)
    for block in re.split(r"\n\s*\n", text):
        builder.add(block, None, ())
    return Extracted(path=str(path), kind="txt", title=path.stem, text=builder.text(), sections=builder.sections)


def read_markdown(path: Path, name: str, text: str, limits: Limits) -> Extracted:
    """One section per heading and per paragraph under its heading path; fenced code stays one block."""
    builder = Builder(name, limits)
    stack: list[tuple[int, str]] = []
    block: list[str] = []
    fence = ""
    first = ""

    def flush() -> None:
        builder.add("\n".join(block), None, headings(stack))
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
                push_heading(stack, len(match.group(1)), heading)
                first = first or heading
                builder.add(heading, None, headings(stack))
            continue
        if not line.strip():
            flush()
        else:
            block.append(line)
    flush()
    return Extracted(path=str(path), kind="md", title=first or path.stem, text=builder.text(),
                     sections=builder.sections)
