"""Excel workbook of the report's tables: a list of ``Table`` models in; XLSX bytes out.

One sheet per table, named "Table N" (or the table id when unnumbered): the
numbered title in A1, the spanner and column-label rows, the body with group rows
in bold and level rows indented (Excel's cell indent), the footnotes below. Panes
are frozen under the header and right of the stub, header rows repeat when
printed, and columns are sized to their contents.

Cells hold the text as displayed (the numbers are already rounded and formatted),
except that a body cell holding a plain number ("44", "0.055") is written as a
number with a format showing the same decimals, so that it can be computed with
without Excel's "number stored as text" warnings. Unrounded values are in
results.json.

Same tables, same bytes: workbook dates come from ``SOURCE_DATE_EPOCH`` (or a
constant) and the ZIP container is written with fixed timestamps.
"""

from __future__ import annotations

import copy
import io
import math
import re
from datetime import UTC, datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.xml.functions import tostring

from ..tables.model import Table
from .docx import reproducible_zip, source_date

_INT = re.compile(r"^-?\d+$")
_DEC = re.compile(r"^-?\d+\.(\d+)$")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_THICK = Side(style="medium", color="000000")
_THIN = Side(style="thin", color="000000")
MAX_WIDTH = 60
FONT = "Calibri"  # every font is named: a Font without a name falls back to the viewer's default face


def sheet_names(tables: list[Table]) -> list[str]:
    """'Table N' (or the table id), without the characters Excel forbids, at most 31 characters, unique."""
    names: list[str] = []
    seen: set[str] = set()
    for t in tables:
        base = _BAD_SHEET_CHARS.sub("_", t.label if t.number is not None else t.id).strip("'") or "Table"
        base = base[:31]
        name, k = base, 2
        while name.lower() in seen:
            suffix = f" ({k})"
            name, k = base[: 31 - len(suffix)] + suffix, k + 1
        seen.add(name.lower())
        names.append(name)
    return names


def cell_value(text: str) -> tuple[str | int | float, str | None]:
    """A displayed cell as an Excel value and number format: plain numbers become numbers."""
    if _INT.match(text) and len(text.lstrip("-")) <= 15:
        return int(text), "0"
    m = _DEC.match(text)
    if m and len(text) <= 16:
        return float(text), "0." + "0" * len(m.group(1))
    return text, None


def _label_width(label: str) -> int:
    """Characters a wrapped header label needs: its longest word, and at most two lines."""
    words = label.split()
    return max([len(w) for w in words] + [math.ceil(len(label) / 2)]) if words else 0


def _no_formulas(ws: Worksheet) -> None:
    """Text that starts with '=' stays text: openpyxl would otherwise store it as a formula."""
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"


def write_table(ws: Worksheet, table: Table) -> None:
    """One table into an empty worksheet."""
    ncols = 1 + len(table.column_labels)
    title = f"{table.label}. {table.title}" if table.number is not None else table.title
    ws.cell(row=1, column=1, value=title).font = Font(name=FONT, bold=True, size=12)
    row = 3
    first_head = row
    if table.spanners:
        col = 2
        for label, span in table.spanner_row():
            cell = ws.cell(row=row, column=col, value=label or None)
            cell.font = Font(name=FONT, bold=True)
            cell.alignment = Alignment(horizontal="center")
            if label:
                for c in range(col, col + span):
                    ws.cell(row=row, column=c).border = Border(top=_THICK, bottom=_THIN)
                if span > 1:
                    ws.merge_cells(start_row=row, start_column=col, end_row=row, end_column=col + span - 1)
            col += span
        row += 1
    align = list(table.align) + ["right"] * (len(table.column_labels) - len(table.align))
    labels = [table.stub_label, *table.column_labels]
    for j, label in enumerate(labels):
        cell = ws.cell(row=row, column=j + 1, value=label)
        cell.font = Font(name=FONT, bold=True)
        cell.alignment = Alignment(horizontal="left" if j == 0 else align[j - 1], vertical="bottom", wrap_text=j > 0)
    for r in range(first_head, row + 1):
        for c in range(1, ncols + 1):
            cell = ws.cell(row=r, column=c)
            top = _THICK if r == first_head else cell.border.top
            bottom = _THIN if r == row else cell.border.bottom
            cell.border = Border(top=top, bottom=bottom)
    last_head = row
    for body in table.rows:
        row += 1
        stub = ws.cell(row=row, column=1, value=body.stub)
        stub.alignment = Alignment(horizontal="left", indent=body.indent)
        if body.kind == "group":
            stub.font = Font(name=FONT, bold=True)
        for j, text in enumerate(body.cells):
            value, fmt = cell_value(text)
            cell = ws.cell(row=row, column=j + 2, value=value if text != "" else None)
            cell.alignment = Alignment(horizontal=align[j])
            if fmt:
                cell.number_format = fmt
    for c in range(1, ncols + 1):
        cell = ws.cell(row=row, column=c)
        cell.border = Border(top=cell.border.top, bottom=_THICK)
    row += 1
    for note in table.footnotes:
        row += 1
        ws.cell(row=row, column=1, value=note).font = Font(name=FONT, size=9)

    widths = [max([len(table.stub_label)] + [len(r.stub) + 2 * r.indent for r in table.rows])]
    for j, label in enumerate(table.column_labels):
        widths.append(max([_label_width(label)] + [len(r.cells[j]) for r in table.rows if j < len(r.cells)]))
    for j, w in enumerate(widths):
        ws.column_dimensions[get_column_letter(j + 1)].width = min(MAX_WIDTH, w + 2)
    ws.freeze_panes = ws.cell(row=last_head + 1, column=2)
    ws.print_title_rows = f"{first_head}:{last_head}"
    ws.page_setup.orientation = "landscape" if ncols > 6 else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def tables_to_xlsx(tables: list[Table], *, title: str | None = None, created: datetime | None = None) -> bytes:
    """All tables as one workbook (XLSX bytes), one sheet per table, deterministic for the same tables.

    ``title`` goes into the workbook properties; ``created`` defaults to ``source_date()``.
    """
    when = (created or source_date()).astimezone(UTC).replace(tzinfo=None)
    wb = Workbook()
    default = wb.active
    for table, name in zip(tables, sheet_names(tables), strict=True):
        ws = wb.create_sheet(name)
        write_table(ws, table)
        _no_formulas(ws)
    if tables:
        wb.remove(default)
    else:
        default.title = "Tables"
        default["A1"] = "The report has no tables."
    props = wb.properties
    props.creator = "reportgen"
    props.title = title
    props.created = props.modified = when
    props.lastModifiedBy = None
    buf = io.BytesIO()
    wb.save(buf)
    # openpyxl stamps the save time into docProps/core.xml: write the properties again with the fixed date.
    fixed = copy.copy(props)
    fixed.modified = when
    return reproducible_zip(buf.getvalue(), when, replace={"docProps/core.xml": tostring(fixed.to_tree())})
