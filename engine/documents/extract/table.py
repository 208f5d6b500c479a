"""Tables (spreadsheets, CSV) as text a passage can be understood from alone: each row is one line (one section)
that keeps every value next to its column's name, ``Name: Ada | Year: 1843``; rows and cells are counted against
the limits so a hostile table is refused instead of filling memory."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from engine.documents.extract.common import Builder, DocumentError, Limits

# A value no header cell would be: a number, a date or time as the readers render them, a boolean.
_VALUE = re.compile(r"^(?:(?=.*\d)[-+]?(?:\d[\d,. ]*)?(?:\.\d+)?(?:[eE][-+]?\d+)?%?|\d{4}-\d\d-\d\d(?: .*)?"
                    r"|\d{1,2}:\d\d(?::\d\d)?|TRUE|FALSE)$")


def clean(value: str) -> str:
    """A cell's text on one line (its line breaks and runs of spaces become one space)."""
    return " ".join(value.split())


class TableWriter:
    """Adds tables to a :class:`Builder`, one section per row, and enforces ``max_rows``/``max_cells`` over all the
    tables of a document together."""

    def __init__(self, builder: Builder, name: str, limits: Limits) -> None:
        self.builder = builder
        self.name = name
        self.limits = limits
        self.rows = 0
        self.cells = 0

    def _count(self, cells: int) -> None:
        self.rows += 1
        self.cells += cells
        if self.rows > self.limits.max_rows:
            raise DocumentError(f"{self.name} has more than {self.limits.max_rows:,} table rows, over the limit.",
                                "Split it into smaller files, or delete the rows that are not needed.")
        if self.cells > self.limits.max_cells:
            raise DocumentError(f"{self.name} has more than {self.limits.max_cells:,} filled cells, over the limit.",
                                "Split it into smaller files, or delete the columns that are not needed.")

    def add_table(self, rows: Iterable[Mapping[int, str]], heading: tuple[str, ...],
                  label: Callable[[int], str], page: int | None = None) -> None:
        """Add one table; ``rows`` map column index → cell text (empty cells may be left out). The first non-empty
        row is the header when none of its cells is a number, date, time or boolean; otherwise (and for columns it
        leaves unnamed) ``label(column)`` names a column."""
        header: Mapping[int, str] | None = None
        for raw in rows:
            row = {c: text for c, v in raw.items() if (text := clean(v))}
            if not row:
                continue
            self._count(len(row))
            if header is None:
                header = row if not any(_VALUE.match(v) for v in row.values()) else {}
                if header:
                    self.builder.add("Columns: " + " | ".join(row[c] for c in sorted(row)), page, heading)
                    continue
            self.builder.add(" | ".join(f"{header.get(c) or label(c)}: {v}" for c, v in sorted(row.items())),
                             page, heading)


def column_letters(index: int) -> str:
    """A spreadsheet column's letters: 0 → A, 25 → Z, 26 → AA."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out
