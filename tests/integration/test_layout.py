"""Publication layout: house styles, paper size, title page, table of contents, metadata, wide tables,
cross-references, and that no page's text leaves the page."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from reportgen.build import build
from tests.conftest import EXAMPLE

pypdf = pytest.importorskip("pypdf")

EXTRA = """\
authors:
  - {name: "A. Author", affiliations: [1], corresponding: true, email: "a.author@example.org"}
  - {name: "B. Author", affiliations: [1, 2]}
affiliations: ["First Department", "Second Department"]
style: lancet
layout: {page_size: Letter, toc: true, line_numbers: true}
"""


@pytest.fixture(scope="module")
def lancet(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("lancet")
    shutil.copy(EXAMPLE.parent / "cohort.csv", folder / "cohort.csv")
    (folder / "study.yaml").write_text(EXAMPLE.read_text(encoding="utf-8") + "\n" + EXTRA, encoding="utf-8")
    build(folder / "study.yaml", folder / "out", formats=["html", "pdf"])
    return folder / "out"


def test_lancet_numbers_and_title_page(lancet: Path):
    html = (lancet / "report.html").read_text(encoding="utf-8")
    assert "A. Author<sup>1</sup><sup>*</sup>, B. Author<sup>1,2</sup>" in html
    assert "Corresponding author: A. Author, a.author@example.org" in html
    assert re.search(r"HR 0\u00b761, 95% CI 0\u00b736\u20131\u00b701, p=0\u00b70", html)
    assert '<meta name="dcterms.created" content="2024-12-31">' in html


def test_letter_paper_toc_and_metadata(lancet: Path):
    reader = pypdf.PdfReader(lancet / "report.pdf")
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)  # US Letter in points
    first = reader.pages[0].extract_text()
    assert "Contents" in first and "Results" in first
    meta = reader.metadata
    assert meta.title.startswith("Low-dose radiotherapy") and meta.author == "A. Author, B. Author"
    assert "2024" in str(meta.get("/CreationDate"))

    def titles(items):
        for o in items:
            yield from titles(o) if isinstance(o, list) else [o.title]

    outline = list(titles(reader.outline))
    assert "Methods" in outline and "Results" in outline  # PDF bookmarks from the headings


def test_text_stays_on_the_page(lancet: Path):
    reader = pypdf.PdfReader(lancet / "report.pdf")
    for number, page in enumerate(reader.pages, start=1):
        width = float(page.mediabox.width)
        xs: list[float] = []

        def visit(text, cm, tm, *_, xs=xs):
            if text.strip():
                xs.append(tm[4] * cm[0] + cm[4])

        page.extract_text(visitor_text=visit)
        assert all(-1 <= x <= width for x in xs), f"text outside page {number}"


def test_cross_references_match_numbering(lancet: Path):
    html = (lancet / "report.html").read_text(encoding="utf-8")
    captions = set(re.findall(r'<span class="label">((?:Table|Figure) \d+)\.</span>', html))
    text = re.sub(r"<(figcaption|caption)[^>]*>.*?</\1>", " ", html, flags=re.S)
    cited = set(re.findall(r"\b((?:Table|Figure) \d+)\b", re.sub(r"<[^>]+>", " ", text)))
    assert cited and cited <= captions
    numbers = sorted(int(c.split()[1]) for c in captions if c.startswith("Table"))
    assert numbers == list(range(1, len(numbers) + 1))


def test_header_rows_repeat_across_pages(tmp_path: Path):
    """A Table 1 long enough to span pages repeats its column labels on the next page."""
    folder = tmp_path
    shutil.copy(EXAMPLE.parent / "cohort.csv", folder / "cohort.csv")
    spec = EXAMPLE.read_text(encoding="utf-8")
    spec = spec.replace(
        "  age: {label: Age, type: continuous, unit: years, per: 10}",
        "  age: {label: Age, type: continuous, unit: years, per: 10}\n"
        "  patient_age_band: {label: Age in years, type: categorical}",
    )
    import pandas as pd

    frame = pd.read_csv(folder / "cohort.csv")
    frame["patient_age_band"] = frame["age"].astype(str)  # ~35 levels: a long table
    frame.to_csv(folder / "cohort.csv", index=False)
    (folder / "study.yaml").write_text(spec, encoding="utf-8")
    build(folder / "study.yaml", folder / "out", formats=["pdf"])
    pages = [p.extract_text() for p in pypdf.PdfReader(folder / "out" / "report.pdf").pages]
    spanning = [t for t in pages if "Age in years" in t or re.search(r"^\s*4\d\s", t, flags=re.M)]
    with_header = [t for t in pages if "Characteristic" in t and "CIT (N = 44)" in t]
    assert len(with_header) >= 2 and len(spanning) >= 2
