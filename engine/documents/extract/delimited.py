"""CSV and TSV: a table whose rows become ``Header: value`` lines (see table.py), the delimiter sniffed from the
first lines (tab for .tsv), within the row, cell and field-size limits."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from engine.documents.extract.common import Builder, DocumentError, Extracted, Limits
from engine.documents.extract.table import TableWriter

_MAX_FIELD = 1 << 20  # one cell's characters; csv's own default (128 KB) refuses long legitimate notes fields


def read_delimited(path: Path, name: str, text: str, limits: Limits) -> Extracted:
    """One section per non-empty row (the header row as "Columns: ..."), under the file's name."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else _sniff(text)
    builder = Builder(name, limits)
    tables = TableWriter(builder, name, limits)
    tables.add_table(_rows(text, delimiter, name), (path.stem,), lambda c: f"column {c + 1}")
    if not builder.sections:
        raise DocumentError(f"{name} has no values in it.", "Choose a file with data rows.")
    return Extracted(path=str(path), kind="csv", title=path.stem, text=builder.text(), sections=builder.sections)


def _sniff(text: str) -> str:
    sample = "\n".join(text[:65536].split("\n")[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:  # one column, or too irregular to tell: the common case is a comma
        return ","


def _rows(text: str, delimiter: str, name: str) -> Iterator[dict[int, str]]:
    previous = csv.field_size_limit(_MAX_FIELD)
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            yield dict(enumerate(row))
    except csv.Error as exc:
        raise DocumentError(f"{name} is not a readable CSV file ({exc}).",
                            "Check that it is a table saved as CSV (a field may be far too long or unterminated).") \
            from exc
    finally:
        csv.field_size_limit(previous)
