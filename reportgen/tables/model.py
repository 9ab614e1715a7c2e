"""Neutral table model: what a table says, independent of HTML, PDF, CSV or Word.

Vocabulary from the Census "Manual of Tabular Presentation" (as great-tables uses it):
a title (caption), column labels with optional spanners above them, a stub (first
column of row labels) whose rows may be group headers or indented, the body cells
(already formatted text), and footnotes under the table.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from typing import Literal

RowKind = Literal["data", "group", "reference", "level"]


@dataclass(frozen=True)
class Row:
    stub: str
    cells: tuple[str, ...]
    kind: RowKind = "data"
    indent: int = 0


@dataclass(frozen=True)
class Spanner:
    label: str
    start: int  # index into the body columns (0 = first column after the stub)
    span: int


@dataclass(frozen=True)
class Table:
    id: str  # stable identifier: file name of the CSV and anchor in the HTML
    title: str
    stub_label: str
    column_labels: tuple[str, ...]
    rows: tuple[Row, ...]
    spanners: tuple[Spanner, ...] = ()
    footnotes: tuple[str, ...] = ()
    number: int | None = None  # set by the report when tables are numbered
    align: tuple[str, ...] = field(default=())  # per body column: "left", "right", "center"
    prefix: str = ""  # "S" for supplementary tables: "Table S1"

    def with_number(self, number: int, prefix: str = "") -> Table:
        return replace(self, number=number, prefix=prefix)

    @property
    def wide(self) -> bool:
        """Too many columns for a portrait page: the PDF puts it on a landscape page."""
        return len(self.column_labels) + 1 >= 8

    @property
    def label(self) -> str:
        return f"Table {self.prefix}{self.number}" if self.number is not None else "Table"

    def spanner_row(self) -> list[tuple[str, int]]:
        """(label, colspan) cells over the body columns, '' where no spanner."""
        cells: list[tuple[str, int]] = []
        i = 0
        by_start = {s.start: s for s in self.spanners}
        while i < len(self.column_labels):
            s = by_start.get(i)
            if s is not None:
                cells.append((s.label, s.span))
                i += s.span
            else:
                cells.append(("", 1))
                i += 1
        return cells

    def to_csv(self) -> str:
        """The table as displayed, one CSV row per table row (group headers included)."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        if self.spanners:
            head = [""]
            for label, span in self.spanner_row():
                head.extend([label] * span)
            writer.writerow([_inert(c) for c in head])
        writer.writerow([_inert(c) for c in (self.stub_label, *self.column_labels)])
        for row in self.rows:
            writer.writerow([_inert(("  " * row.indent) + row.stub), *(_inert(c) for c in row.cells)])
        return buf.getvalue()


def _inert(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula: text starting with = + @ (or - not followed by a
    digit) gets a leading apostrophe (the OWASP rule for CSV injection); numbers are left alone."""
    text = str(cell)
    head = text.lstrip(" ")
    if head[:1] in ("=", "+", "@", "\t", "\r") or (head[:1] == "-" and not head[1:2].isdigit()):
        return "'" + text
    return text
