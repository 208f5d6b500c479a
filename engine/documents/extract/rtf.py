"""RTF: a small tokenizer (no library) that keeps the body text paragraph by paragraph, with headings from the
paragraph's outline level or a "heading N" style; fonts, colours, pictures, objects, fields' code, headers and
footers are skipped, Unicode (``\\uN``) and code-page bytes (``\\'hh``) decoded. Group nesting is bounded."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from engine.documents.extract.common import Builder, DocumentError, Extracted, Limits, headings, push_heading

_TOKEN = re.compile(r"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?|\\'([0-9a-fA-F]{2})|\\([^a-zA-Z])|([{}])|([^\\{}\r\n]+)"
                    r"|[\r\n]+|\\", re.S)
_SKIP = {"colortbl", "pict", "object", "objdata", "header", "headerl", "headerr", "headerf", "footer",
         "footerl", "footerr", "footerf", "fldinst", "themedata", "colorschememapping", "datastore", "latentstyles",
         "listtable", "listoverridetable", "rsidtbl", "generator", "xmlnstbl", "mmathPr", "pgdsctbl", "filetbl",
         "revtbl", "shppict", "nonshppict", "private", "userprops", "docvar", "footnote", "annotation", "atnid",
         "atnauthor", "bkmkstart", "bkmkend", "sp", "sn", "sv", "pntxtb", "pntxta", "nonesttables"}
# \fcharsetN of a font → the code page its \'hh bytes are in (Word and WordPad write CJK text this way)
_CHARSETS = {0: "cp1252", 77: "mac_roman", 128: "cp932", 129: "cp949", 134: "cp936", 136: "cp950", 161: "cp1253",
             162: "cp1254", 163: "cp1258", 177: "cp1255", 178: "cp1256", 186: "cp1257", 204: "cp1251", 222: "cp874",
             238: "cp1250"}
_SPECIAL = {"tab": "\t", "line": "\n", "emdash": "\u2014", "endash": "\u2013", "bullet": "\u2022",
            "lquote": "\u2018", "rquote": "\u2019", "ldblquote": "\u201c", "rdblquote": "\u201d", "cell": " | ",
            "emspace": " ", "enspace": " ", "qmspace": " ", "nestcell": " | "}
_SYMBOLS = {"\\": "\\", "{": "{", "}": "}", "~": "\u00a0", "_": "\u2011"}
_ENDS_PARAGRAPH = {"par", "row", "nestrow", "sect", "page"}
_TRAILING_CELLS = re.compile(r"(?:\s*\|)+\s*$")
_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.I)


@dataclass(frozen=True)
class _Group:
    skip: bool = False
    uc: int = 1  # characters of fallback text after each \uN
    dest: str = ""  # "", "fonttbl", "stylesheet", "style", "info", "title"
    font: int = 0  # \fN: its charset decides how \'hh bytes decode


class _Reader:
    def __init__(self, name: str, limits: Limits) -> None:
        self.name = name
        self.limits = limits
        self.builder = Builder(name, limits)
        self.codepage = "cp1252"
        self.fonts: dict[int, str] = {}  # font number → code page
        self.font_defined = 0  # the font the font table is describing
        self.styles: dict[int, int] = {}  # style number → heading level
        self.style = 0
        self.outline: int | None = None
        self.stack: list[tuple[int, str]] = []
        self.buf: list[str] = []
        self.raw = bytearray()  # \'hh bytes not yet decoded (a multi-byte character may span several)
        self.aside: list[str] = []  # the text of a stylesheet entry or of the title
        self.aside_style = 0
        self.aside_outline = 0
        self.title = ""
        self.first_heading = ""

    def _emit(self, text: str, group: _Group) -> None:
        if group.skip:
            return
        if group.dest in ("style", "title"):
            self.aside.append(text)
        elif not group.dest:
            self.buf.append(text)

    def _flush_raw(self, group: _Group) -> None:
        if self.raw:
            self.codepage_text(bytes(self.raw), group)
            self.raw.clear()

    def codepage_text(self, data: bytes, group: _Group) -> None:
        try:
            self._emit(data.decode(self.fonts.get(group.font, self.codepage), errors="replace"), group)
        except LookupError:
            self._emit(data.decode("cp1252", errors="replace"), group)

    def paragraph(self) -> None:
        text = _TRAILING_CELLS.sub("", "".join(self.buf)).strip()
        self.buf.clear()
        if not text:
            return
        level = self.outline + 1 if self.outline is not None and self.outline < 9 else self.styles.get(self.style)
        if level:
            heading = " ".join(text.split())
            push_heading(self.stack, level, heading)
            self.first_heading = self.first_heading or heading
        self.builder.add(text, None, headings(self.stack))

    def run(self, text: str) -> None:
        group = _Group()
        groups: list[_Group] = []
        at_start = False  # just after "{": a destination word may follow
        pending = 0  # fallback characters still to skip after a \uN
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            assert m is not None  # the last alternative matches any remaining character
            pos = m.end()
            word, param, hexbyte, symbol, brace, plain = m.groups()
            if hexbyte is None:
                self._flush_raw(group)
            if brace == "{":
                groups.append(group)
                if len(groups) > self.limits.max_depth:
                    raise DocumentError(f"{self.name} nests groups more than {self.limits.max_depth:,} deep (a "
                                        "hostile or damaged RTF file).", "It was not read.")
                if group.dest == "stylesheet":  # an entry: {\s2 ... heading 2;}
                    group = replace(group, dest="style")
                    self.aside_style, self.aside_outline = 0, 0
                elif group.dest == "info":  # {\title ...} is kept, {\author ...} and the others are not
                    group = replace(group, dest="skip", skip=True)
                at_start, pending = True, 0
                continue
            if brace == "}":
                if group.dest in ("style", "title") and (not groups or groups[-1].dest != group.dest):
                    name = "".join(self.aside).strip().rstrip(";").strip()
                    self.aside.clear()
                    if group.dest == "title":
                        self.title = " ".join(name.split())
                    elif (match := _HEADING_STYLE.match(name)) is not None:
                        self.styles[self.aside_style] = int(match.group(1))
                    elif self.aside_outline:
                        self.styles[self.aside_style] = self.aside_outline
                group = groups.pop() if groups else _Group()
                at_start, pending = False, 0
                continue
            if pending and (plain is not None or hexbyte is not None or symbol is not None or word is not None):
                if plain is not None and len(plain) > pending:
                    plain, pending = plain[pending:], 0
                else:
                    pending -= len(plain) if plain is not None else 1
                    at_start = False
                    continue
            if word is not None:
                number = int(param) if param is not None else None
                if word == "bin" and number:
                    pos += max(0, number)  # raw binary data (a picture): skipped
                elif word == "f" and number is not None:
                    if group.dest == "fonttbl":
                        self.font_defined = number
                    else:
                        group = replace(group, font=number)
                elif word == "fcharset" and number is not None and group.dest == "fonttbl":
                    if number in _CHARSETS:
                        self.fonts[self.font_defined] = _CHARSETS[number]
                elif word == "deff" and number is not None:
                    group = replace(group, font=number)
                elif at_start and word == "fonttbl":
                    group = replace(group, dest="fonttbl", skip=True)
                elif at_start and group.dest == "skip" and word == "title":
                    group = replace(group, dest="title", skip=False)
                elif at_start and (word in _SKIP or group.skip):
                    group = replace(group, skip=True)
                elif at_start and word == "stylesheet":
                    group = replace(group, dest="stylesheet")
                elif at_start and word == "info":
                    group = replace(group, dest="info")
                elif word == "s" and number is not None:
                    if group.dest == "style":
                        self.aside_style = number
                    else:
                        self.style = number
                elif word == "ansicpg" and number:
                    self.codepage = f"cp{number}"
                elif word == "uc" and number is not None:
                    group = replace(group, uc=max(0, number))
                elif word == "u" and number is not None:
                    self._emit(chr(number + 65536 if number < 0 else number), group)
                    pending = group.uc
                elif word == "pard" and not group.dest:
                    self.style, self.outline = 0, None
                elif word == "outlinelevel" and number is not None and not group.dest:
                    self.outline = number
                elif word == "outlinelevel" and number is not None and group.dest == "style" and number < 9:
                    self.aside_outline = number + 1  # a heading style by its outline level, whatever its name
                elif word in _ENDS_PARAGRAPH and not group.skip and not group.dest:
                    self.paragraph()
                elif word in _SPECIAL:
                    self._emit(_SPECIAL[word], group)
                at_start = False
            elif hexbyte is not None:
                self.raw.append(int(hexbyte, 16))
                at_start = False
            elif symbol is not None:
                if symbol == "*" and at_start:
                    group = replace(group, skip=True)
                    continue  # the destination word follows
                if symbol in ("\n", "\r") and not group.skip and not group.dest:
                    self.paragraph()
                elif symbol in _SYMBOLS:
                    self._emit(_SYMBOLS[symbol], group)
                at_start = False
            elif plain is not None:
                if at_start and not plain.strip():
                    continue  # "{ \fonttbl": a destination may still follow
                self._emit(plain, group)
                at_start = False
        self._flush_raw(group)
        self.paragraph()


def read_rtf(path: Path, name: str, text: str, limits: Limits) -> Extracted:
    """One section per paragraph (a table row is one paragraph, cells apart by " | "), under its heading path;
    ``text`` is the file decoded as Latin-1 (RTF is 7-bit; other characters are escaped)."""
    reader = _Reader(name, limits)
    reader.run(text)
    if not reader.builder.sections:
        raise DocumentError(f"{name} has no text in it.", "Check the file; save it again from your word processor.")
    return Extracted(path=str(path), kind="rtf", title=reader.title or reader.first_heading or path.stem,
                     text=reader.builder.text(), sections=reader.builder.sections)
