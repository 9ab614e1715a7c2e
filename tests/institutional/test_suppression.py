"""Small-number protection: no count below the threshold can be read or worked out from any output
(HTML, PDF, results.json, CSV) of a crafted registry with small cells; the id column never appears."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from reportgen.build import build
from reportgen.institutional.suppression import CountSystem, audit, protect

from .conftest import SECRET_ID

T = 5
COUNT_KEYS = {"patients", "events", "observed", "n_included", "n_current", "n_assessed", "n_rows", "n_excluded"}


def _counts_in_json(node: object, path: str = "") -> list[tuple[str, object]]:
    """Every value that is a count in results.json: under count keys and in the cohort's count tables."""
    out: list[tuple[str, object]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            p = f"{path}.{k}"
            if k in COUNT_KEYS and not isinstance(v, (dict, list)):
                out.append((p, v))
            elif path.startswith(".cohort.by_") or path.startswith(".cohort.case_mix"):
                out += [(p, v)] if not isinstance(v, (dict, list)) else _counts_in_json(v, p)
            else:
                out += _counts_in_json(v, p)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _counts_in_json(v, f"{path}[{i}]")
    return out


def _protected(value: object) -> bool:
    return value in (f"<{T}", "[c]") or (isinstance(value, int) and value >= T)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from .conftest import SPEC, registry_csv

    folder = tmp_path_factory.mktemp("small")
    (folder / "registry.csv").write_text(registry_csv(), encoding="utf-8")
    (folder / "study.yaml").write_text(SPEC, encoding="utf-8")
    return build(folder / "study.yaml", folder / "out", ["html", "pdf"]).out_dir


def test_results_json_holds_only_protected_counts(rendered: Path) -> None:
    results = json.loads((rendered / "results.json").read_text(encoding="utf-8"))
    counts = _counts_in_json(results)
    assert len(counts) > 100
    bad = [(p, v) for p, v in counts if not _protected(v)]
    assert bad == []
    # the crafted small cells are there, suppressed
    assert results["cohort"]["by_unit_current"]["C"] == "<5"
    assert results["cohort"]["by_year"]["2021"]["C"] == "<5"
    # and their complements, so that totals minus the shown cells do not give them away
    assert results["cohort"]["by_unit_current"]["B"] == "[c]"
    assert results["cohort"]["by_period"]["previous"]["C"] == "[c]"
    assert results["endpoints"]["os"]["risk_adjustment"]["units"]["C"]["ratio"] is None


def _table_count_cells(text: str) -> list[str]:
    """Count cells of a table CSV: columns named Patients/Deaths/Observed deaths, year columns, case-mix cells."""
    rows = list(csv.reader(io.StringIO(text)))
    head = rows[0] if rows[0][0] != "" else rows[1]
    body = rows[1:] if head is rows[0] else rows[2:]
    cells = []
    for row in body:
        for label, cell in zip(head[1:], row[1:], strict=False):
            if label in ("Patients", "Deaths", "Observed deaths", "Total") or re.fullmatch(r"\d{4}", label):
                cells.append(cell)
            elif re.fullmatch(r"[\d,]+ \(\d+\.\d%\)", cell):
                cells.append(cell.split(" ")[0])
            elif label in ("A", "B", "C", "Whole institution") and cell:
                cells.append(cell)
    return [c for c in cells if c]


def test_tables_show_no_small_count(rendered: Path) -> None:
    cells = []
    for path in sorted((rendered / "tables").glob("*.csv")):
        cells += _table_count_cells(path.read_text(encoding="utf-8"))
    assert len(cells) > 50
    bad = [c for c in cells if c not in (f"<{T}", "[c]") and int(c.replace(",", "")) < T]
    assert bad == []
    assert f"<{T}" in cells and "[c]" in cells


def test_row_and_column_totals_do_not_reveal_a_small_cell(rendered: Path) -> None:
    """In the patients-by-year table no row or column has exactly one hidden cell next to a shown total."""
    rows = list(csv.reader(io.StringIO((rendered / "tables" / "patients_by_year.csv").read_text(encoding="utf-8"))))
    grid = [r[1:] for r in rows[1:]]
    hidden = [[c in (f"<{T}", "[c]") for c in r] for r in grid]
    for r in hidden:
        assert sum(r[:-1]) != 1 or r[-1]
    for j in range(len(grid[0]) - 1):
        column = [h[j] for h in hidden]
        assert sum(column[:-1]) != 1 or column[-1]


def _sentences_counts(text: str) -> list[int]:
    return [int(m.replace(",", "")) for m in re.findall(r"\b(\d[\d,]*) (?:patients|deaths|newly)\b", text)]


def test_html_and_pdf_text_show_no_small_count_and_no_identifier(rendered: Path) -> None:
    html = (rendered / "report.html").read_text(encoding="utf-8")
    pdf = "\n".join(page.extract_text() for page in PdfReader(rendered / "report.pdf").pages)
    for text in (html, pdf):
        assert all(n >= T for n in _sentences_counts(text))
        assert "<5" in text or "&lt;5" in text
        assert SECRET_ID not in text
    assert "pid" not in re.sub(r"<[^>]+>", " ", html).split()


def test_identifier_appears_in_no_output_file(rendered: Path) -> None:
    for path in rendered.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert SECRET_ID.encode() not in data, path
            if path.suffix == ".xlsx":
                with zipfile.ZipFile(path) as z:
                    assert all(SECRET_ID.encode() not in z.read(n) for n in z.namelist())


def test_audit_finds_no_recoverable_count() -> None:
    """The linear-programming audit: a lone small cell is recovered from its totals until a second cell
    is hidden; after protection every small count keeps a range of at least two values."""
    system = CountSystem(threshold=T)
    cells = {("r1", "c1"): 3, ("r1", "c2"): 40, ("r2", "c1"): 30, ("r2", "c2"): 50}
    for k, v in cells.items():
        system.add(k, v)
    for r in ("r1", "r2"):
        system.add((r, None), sum(v for k, v in cells.items() if k[0] == r))
        system.relate((r, None), [(r, "c1"), (r, "c2")])
    for c in ("c1", "c2"):
        system.add((None, c), sum(v for k, v in cells.items() if k[1] == c))
        system.relate((None, c), [("r1", c), ("r2", c)])
    system.add((None, None), sum(cells.values()))
    system.relate((None, None), [("r1", None), ("r2", None)])
    protection = protect(system)
    assert protection.public(("r1", "c1")) == "<5"
    hidden = {k for k, s in protection.status.items() if s != "shown"}
    assert hidden == {("r1", "c1"), ("r1", "c2"), ("r2", "c1"), ("r2", "c2")}
    ((_, (lo, hi)),) = audit(protection, system)
    assert (lo, hi) == (0.0, 4.0)


def test_deaths_withheld_when_few_survive() -> None:
    system = CountSystem(threshold=T)
    system.add("n", 120)
    system.add("d", 117)
    system.bound("d", "n")
    protection = protect(system)
    assert protection.public("n") == 120
    assert protection.public("d") == "[c]"
