"""Excel workbook of the tables: the example's Table models written to XLSX and read back with openpyxl."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import openpyxl
import pytest

from reportgen.analysis.runner import run_analyses
from reportgen.build import validate
from reportgen.render.report import build_report
from reportgen.render.xlsx import cell_value, sheet_names, tables_to_xlsx
from reportgen.tables.model import Row, Table
from tests.conftest import EXAMPLE


@pytest.fixture(scope="module")
def tables() -> list[Table]:
    study, cohort = validate(EXAMPLE)
    return build_report(study, run_analyses(study, cohort), EXAMPLE.resolve().parent).tables


@pytest.fixture(scope="module")
def data(tables: list[Table]) -> bytes:
    return tables_to_xlsx(tables)


@pytest.fixture(scope="module")
def wb(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def test_one_sheet_per_table_with_numbered_title(wb, tables):
    assert wb.sheetnames == [t.label for t in tables]
    for t in tables:
        ws = wb[t.label]
        assert ws["A1"].value == f"{t.label}. {t.title}" and ws["A1"].font.b


def test_header_body_and_footnotes_of_table_1(wb, tables):
    t1 = tables[0]
    ws = wb["Table 1"]
    assert [c.value for c in ws[3]] == [t1.stub_label, *t1.column_labels]
    assert all(c.font.b for c in ws[3])
    assert [c.value for c in ws[4]] == ["Age, years, median (IQR)", "64.0 (59.0–68.0)", "65.0 (60.8–68.0)",
                                        "61.0 (58.0–68.8)", "0.363 a", 0.17]  # fmt: skip
    assert ws["F4"].number_format == "0.00"
    rows = {ws.cell(row=r, column=1).value: r for r in range(4, 4 + len(t1.rows))}
    sex, male = rows["Sex, n (%)"], rows["Male"]
    assert ws.cell(row=sex, column=1).font.b and ws.cell(row=sex, column=1).alignment.indent == 0
    assert not ws.cell(row=male, column=1).font.b and ws.cell(row=male, column=1).alignment.indent == 1
    assert ws.cell(row=male, column=2).value == "57 (77.0%)"
    assert ws.cell(row=male, column=2).alignment.horizontal == "right"
    first_note = 4 + len(t1.rows) + 1
    notes = [ws.cell(row=first_note + i, column=1).value for i in range(len(t1.footnotes))]
    assert notes == list(t1.footnotes)
    assert ws.freeze_panes == "B4"
    assert ws.column_dimensions["A"].width == max(len(r.stub) + 2 * r.indent for r in t1.rows) + 2


def test_spanners_merged_and_panes_frozen_under_two_header_rows(wb, tables):
    i = next(i for i, t in enumerate(tables) if t.id == "cox_pfs")
    ws = wb[tables[i].label]
    assert sorted(str(r) for r in ws.merged_cells.ranges) == ["B3:C3", "D3:E3"]
    assert (ws["B3"].value, ws["D3"].value) == ("Univariable", "Multivariable")
    assert ws.freeze_panes == "B5"
    assert ws.print_title_rows == "$3:$4"


def test_deterministic_bytes_and_fixed_dates(data, wb, tables):
    assert tables_to_xlsx(tables) == data
    assert wb.properties.created == wb.properties.modified == datetime(2000, 1, 1)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert {i.date_time for i in z.infolist()} == {(2000, 1, 1, 0, 0, 0)}


def test_sheet_names_are_valid_and_unique():
    def t(tid: str, number: int | None = None) -> Table:
        return Table(tid, "x", "s", ("a",), (Row("r", ("1",)),), number=number)

    long = "a" * 40
    assert sheet_names([t("x", 1), t("y", 2), t(long), t(long), t("a/b:c")]) == [
        "Table 1",
        "Table 2",
        "a" * 31,
        "a" * 27 + " (2)",
        "a_b_c",
    ]


def test_plain_numbers_become_numbers_and_the_rest_stays_text():
    assert cell_value("44") == (44, "0")
    assert cell_value("0.050") == (0.05, "0.000")
    assert cell_value("-1.5") == (-1.5, "0.0")
    for text in ("<0.001", "0.363 a", "1 (reference)", "NR", "", "0,055", "1e5"):
        assert cell_value(text) == (text, None)


def test_no_tables_gives_one_explanatory_sheet():
    wb = openpyxl.load_workbook(io.BytesIO(tables_to_xlsx([])))
    assert wb.sheetnames == ["Tables"] and wb["Tables"]["A1"].value == "The report has no tables."
