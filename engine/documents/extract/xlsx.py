"""Excel (.xlsx): each worksheet as a table under the sheet's name, rows as ``Header: value`` lines (see table.py);
shared strings, inline strings, booleans, errors and dates (by the cell's number format) are shown as Excel shows
them. Sheets are streamed row by row, within the row and cell limits, from a zip checked for bombs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from engine.documents.extract.archive import SafeZip, office_title, relationships, safe_expat
from engine.documents.extract.common import Builder, DocumentError, Extracted, Limits
from engine.documents.extract.table import TableWriter, column_letters

_S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")
_BUILTIN_DATES = {*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)}
_NOT_FORMAT = re.compile(r'\[[^\]]*\]|"[^"]*"|\\.')  # colours/conditions, quoted literals, escaped characters


def read_xlsx(path: Path, name: str, limits: Limits) -> Extracted:
    """One section per non-empty row (the header row as "Columns: ..."), under the sheet's name."""
    with SafeZip(path, name, limits, "Excel") as zf:
        if not zf.has("xl/workbook.xml"):
            raise DocumentError(f"{name} is a zip file but not an Excel workbook (no xl/workbook.xml).",
                                "Choose a .xlsx saved by Excel, LibreOffice Calc or similar.")
        workbook = zf.xml("xl/workbook.xml")
        pr = workbook.find(f"{_S}workbookPr")
        epoch = datetime(1904, 1, 1) if pr is not None and pr.get("date1904") in ("1", "true") \
            else datetime(1899, 12, 30)
        rels = relationships(zf, "xl/workbook.xml")
        parts = {kind: target for kind, target in rels.values()}
        shared = _shared_strings(zf, parts.get("sharedStrings", "xl/sharedStrings.xml"), name)
        formats = _number_styles(zf, parts.get("styles", "xl/styles.xml"))
        builder = Builder(name, limits)
        tables = TableWriter(builder, name, limits)
        for sheet in workbook.iter(f"{_S}sheet"):
            kind, part = rels.get(sheet.get(f"{_R}id") or "", ("", ""))
            if kind != "worksheet" or not zf.has(part):
                continue  # chart sheets and dialog sheets hold no cells
            sheet_name = " ".join((sheet.get("name") or "").split()) or part.rsplit("/", 1)[-1]
            rows = _SheetReader(name, shared, formats, epoch).read(zf.read(part))
            tables.add_table(rows, (sheet_name,), column_letters)
        title = office_title(zf)
    return Extracted(path=str(path), kind="xlsx", title=title or path.stem, text=builder.text(),
                     sections=builder.sections)


def _shared_strings(zf: SafeZip, part: str, name: str) -> list[str]:
    """The workbook's shared strings (rich-text runs joined, phonetic guides left out), streamed: a text-heavy
    workbook's table can be most of its size."""
    if not zf.has(part):
        return []
    reader = _SheetReader(name, [], {}, datetime(1899, 12, 30))
    for _row in reader.read(zf.read(part)):
        pass
    return reader.strings


def _number_styles(zf: SafeZip, part: str) -> dict[int, str]:
    """Cell style index → "date" or "percent", for the styles whose number format shows one."""
    if not zf.has(part):
        return {}
    styles = zf.xml(part)
    custom = {int(f.get("numFmtId") or -1): f.get("formatCode") or "" for f in styles.iter(f"{_S}numFmt")}
    out: dict[int, str] = {}
    xfs = styles.find(f"{_S}cellXfs")
    for index, xf in enumerate(xfs.findall(f"{_S}xf") if xfs is not None else []):
        try:
            fmt = int(xf.get("numFmtId") or 0)
        except ValueError:
            continue
        code = _NOT_FORMAT.sub("", custom.get(fmt, "")).lower()
        if fmt in _BUILTIN_DATES or (fmt in custom and re.search(r"[dyhs]", code)):
            out[index] = "date"
        elif fmt in (9, 10) or (fmt in custom and "%" in code):
            out[index] = "percent"
    return out


def _number(value: str, style: int, formats: dict[int, str], epoch: datetime) -> str:
    try:
        number = float(value)
    except ValueError:
        return value
    if formats.get(style) == "percent":
        return format(number * 100, ".6g") + "%"
    if formats.get(style) == "date":
        try:
            moment = epoch + timedelta(days=number)
        except (OverflowError, ValueError):
            return value
        if number == int(number):
            return moment.date().isoformat()
        if number < 1:
            return moment.time().isoformat(timespec="seconds")
        return moment.isoformat(sep=" ", timespec="minutes")
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))
    return format(number, ".15g")


class _SheetReader:
    """Streams a worksheet's rows, or the shared strings table (``strings``), with expat (an element tree per row
    costs several times more on a 100k-row sheet)."""

    def __init__(self, name: str, shared: list[str], formats: dict[int, str], epoch: datetime) -> None:
        self.shared = shared
        self.formats = formats
        self.epoch = epoch
        self.rows: list[dict[int, str]] = []
        self.strings: list[str] = []
        self.cells: dict[int, str] = {}
        self.position = 0
        self.cell: tuple[str, str, str] = ("", "n", "")  # reference, type, style of the open cell
        self.text: list[str] = []
        self.collect = False
        self.phonetic = False
        self.parser = safe_expat(name, "Excel")
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self._data
        self.parser.buffer_text = True
        self.name = name

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        local = tag.rpartition(" ")[2]
        if local == "c":
            self.cell = (attrs.get("r", ""), attrs.get("t", "n"), attrs.get("s", ""))
            self.text.clear()
        elif local in ("v", "t"):
            self.collect = not self.phonetic
        elif local == "rPh":
            self.phonetic = True
        elif local == "row":
            self.cells, self.position = {}, 0
        elif local == "si":
            self.text.clear()

    def _data(self, data: str) -> None:
        if self.collect:
            self.text.append(data)

    def _end(self, tag: str) -> None:
        local = tag.rpartition(" ")[2]
        if local in ("v", "t"):
            self.collect = False
        elif local == "rPh":
            self.phonetic = False
        elif local == "c":
            ref, kind, style = self.cell
            match = _CELL_REF.match(ref)
            column = _column_index(match.group(1)) if match else self.position
            self.position = column + 1
            value = self._value(kind, style, "".join(self.text))
            if value is not None:
                self.cells[column] = value
        elif local == "row":
            self.rows.append(self.cells)
        elif local == "si":
            self.strings.append("".join(self.text))

    def _value(self, kind: str, style: str, raw: str) -> str | None:
        if kind == "s":
            try:
                return self.shared[int(raw)]
            except (ValueError, IndexError):
                return None
        if kind == "b":
            return "TRUE" if raw == "1" else "FALSE"
        if kind == "n":
            return _number(raw, int(style) if style.isdigit() else 0, self.formats, self.epoch) if raw else None
        return raw  # "inlineStr", "str" (a formula's text), "e" (an error such as #DIV/0!), "d" (an ISO date)

    def read(self, data: bytes) -> Iterator[dict[int, str]]:
        """The rows as column index → displayed text, in pieces (sparse: a far-away cell costs nothing)."""
        from xml.parsers.expat import ExpatError

        step = 1 << 20
        try:
            for start in range(0, len(data), step):
                self.parser.Parse(data[start:start + step], False)
                yield from self.rows
                self.rows.clear()
            self.parser.Parse(b"", True)
        except ExpatError as exc:
            raise DocumentError(f"{self.name} has malformed XML ({exc}).", "It may be damaged; re-save it from "
                                "Excel.") from exc
        yield from self.rows


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index - 1
