"""Word manuscript: the example's Report rendered to DOCX and read back with python-docx."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.oxml.ns import qn

from reportgen.analysis.runner import run_analyses
from reportgen.build import validate
from reportgen.render.docx import (
    DEFAULT_DATE,
    html_to_docx,
    inline_spans,
    parse_html,
    reproducible_zip,
    source_date,
)
from reportgen.render.report import Report, build_report
from tests.conftest import EXAMPLE

AUTHORS = ["A. Author", "B. Author"]


@pytest.fixture(scope="module")
def built() -> tuple:
    study, cohort = validate(EXAMPLE)
    report = build_report(study, run_analyses(study, cohort), EXAMPLE.resolve().parent)
    return study, report


@pytest.fixture(scope="module")
def report(built: tuple) -> Report:
    return built[1]


@pytest.fixture(scope="module")
def data(built: tuple) -> bytes:
    study, report = built
    return html_to_docx(report, title=study.title, authors=AUTHORS)


@pytest.fixture(scope="module")
def doc(data: bytes):
    return Document(io.BytesIO(data))


def plain(text: str) -> str:
    return text.replace("\u00a0", " ")


def model_tables(doc, report: Report) -> list:
    return doc.tables[: len(report.tables)]


def test_title_author_line_and_headings_with_word_styles(doc, built):
    study, report = built
    paras = doc.paragraphs
    assert (paras[0].style.name, paras[0].text) == ("Title", study.title)
    assert (paras[1].style.name, paras[1].text) == ("Author Line", "A. Author, B. Author")
    headings = [(p.style.name, p.text) for p in paras if p.style.name.startswith("Heading")]
    html_heads = re.findall(r"<h([23])[^>]*>(.*?)</h\1>", report.html)
    floats = ("Tables", "Figures")  # headings over the tables and figures, which move after the main text
    assert [h for h in headings if h[1] not in floats] == [
        (f"Heading {int(level) - 1}", text) for level, text in html_heads if text not in floats
    ]
    assert headings[-3:] == [("Heading 1", "Tables"), ("Heading 1", "Figures"), ("Heading 1", "Reproducibility")]
    i = headings.index(("Heading 1", "Methods"))
    assert headings[i : i + 4] == [
        ("Heading 1", "Methods"),
        ("Heading 2", "Study design and participants"),
        ("Heading 2", "Endpoints"),
        ("Heading 2", "Statistical analysis"),
    ]


def test_paragraphs_keep_inline_bold_and_collapse_html_whitespace(doc):
    notice = next(p for p in doc.paragraphs if p.text.startswith("Synthetic data."))
    assert notice.runs[0].text == "Synthetic data." and notice.runs[0].bold
    assert not notice.runs[1].bold and notice.runs[1].text.startswith(" This report was computed")
    methods = next(p for p in doc.paragraphs if p.text.startswith("This was a retrospective cohort study"))
    assert "\n" not in methods.text and "  " not in methods.text
    assert "The data cut-off was 31 December 2024; for endpoints timed from dates" in methods.text


def test_one_word_table_per_table_model_plus_the_appendix(doc, report):
    captions = [p.text for p in doc.paragraphs if p.style.name == "Caption" and p.text.startswith("Table ")]
    assert captions == [f"{t.label}. {t.title}" for t in report.tables]
    # The reproducibility appendix is a plain HTML table with no model: an unnumbered Word table after them.
    assert len(doc.tables) == len(report.tables) + report.html.count('<table class="plain">')
    # each table on a page of its own: the first under the "Tables" heading, which starts a page
    starts = [p.paragraph_format.page_break_before for p in doc.paragraphs if p.text in ("Tables", *captions)]
    assert starts == [True, None] + [True] * (len(captions) - 1)
    assert doc.tables[-1].rows[0].cells[0].text == "Data file"


def test_cells_equal_the_table_models(doc, report):
    for wt, model in zip(model_tables(doc, report), report.tables, strict=True):
        n_head = 2 if model.spanners else 1
        assert [plain(c.text) for c in wt.rows[n_head - 1].cells] == [model.stub_label, *model.column_labels]
        assert len(wt.rows) == n_head + len(model.rows)
        for wrow, row in zip(wt.rows[n_head:], model.rows, strict=True):
            # footnote letters ("0.363 a") are set as superscripts without the space ("0.363a")
            expected = [re.sub(r" ([a-z])$", r"\1", c) for c in (row.stub, *row.cells)]
            assert [plain(c.text) for c in wrow.cells] == expected
    t1 = doc.tables[0]
    assert [c.text for c in t1.rows[1].cells] == [
        "Age, years, median (IQR)",
        "64.0 (59.0–68.0)",
        "65.0 (60.8–68.0)",
        "61.0 (58.0–68.8)",
        "0.363a",
        "0.17",
    ]
    p_cell = t1.rows[1].cells[4].paragraphs[0]
    assert [(r.text, bool(r.font.superscript)) for r in p_cell.runs] == [("0.363", False), ("a", True)]


def test_header_rows_repeat_and_no_row_splits_across_pages(doc, report):
    for wt, model in zip(model_tables(doc, report), report.tables, strict=True):
        n_head = 2 if model.spanners else 1
        flags = [(tr.trPr.find(qn("w:tblHeader")) is not None) for tr in wt._tbl.tr_lst]
        assert flags == [True] * n_head + [False] * len(model.rows)
        assert all(tr.trPr.find(qn("w:cantSplit")) is not None for tr in wt._tbl.tr_lst)


def test_spanners_are_merged_cells_over_their_columns(doc, report):
    i = next(i for i, t in enumerate(report.tables) if t.id == "cox_pfs")
    first = doc.tables[i]._tbl.tr_lst[0]
    spans = [(tc.grid_span, "".join(t.text or "" for t in tc.iter(qn("w:t")))) for tc in first.tc_lst]
    assert spans == [(1, ""), (2, "Univariable"), (2, "Multivariable")]


def test_stub_alignment_group_rows_bold_levels_indented(doc, report):
    t1 = doc.tables[0]
    rows = {r.cells[0].text: r for r in t1.rows}
    sex = rows["Sex, n (%)"].cells[0].paragraphs[0]
    assert sex.runs[0].bold and sex.paragraph_format.left_indent is None
    male = rows["Male"].cells[0].paragraphs[0]
    assert not male.runs[0].bold and round(male.paragraph_format.left_indent.cm, 2) == 0.35
    assert male.alignment == WD_ALIGN_PARAGRAPH.LEFT
    assert rows["Male"].cells[1].paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.RIGHT
    assert rows["Male"].cells[1].paragraphs[0].style.name == "Table Text"


def test_three_line_rules(doc, report):
    borders = doc.tables[0]._tbl.tblPr.find(qn("w:tblBorders"))
    vals = {el.tag.split("}")[1]: el.get(qn("w:val")) for el in borders}
    assert vals == {
        "top": "single",
        "bottom": "single",
        "left": "nil",
        "right": "nil",
        "insideH": "nil",
        "insideV": "nil",
    }
    head_cell = doc.tables[0].rows[0].cells[2]._tc
    assert head_cell.tcPr.find(qn("w:tcBorders")).find(qn("w:bottom")).get(qn("w:val")) == "single"


def test_table_footnotes_follow_in_the_footnote_style(doc, report):
    notes = [p for p in doc.paragraphs if p.style.name == "Table Footnote" and p.text]
    expected = [n for t in report.tables for n in t.footnotes]
    assert [p.text for p in notes] == expected
    wilcoxon = next(p for p in notes if p.text.endswith("Wilcoxon rank-sum test."))
    assert wilcoxon.runs[0].text == "a" and wilcoxon.runs[0].font.superscript


def test_figures_embedded_with_alt_text_and_numbered_captions_in_order(doc, report):
    assert len(doc.inline_shapes) == len(report.figures)
    descr = [el.get("descr") for el in doc.element.body.iter(qn("wp:docPr"))]
    assert descr == [f.alt for f in report.figures]
    captions = [p.text for p in doc.paragraphs if p.style.name == "Caption" and p.text.startswith("Figure ")]
    assert captions == [f"Figure {f.number}. {f.caption}" for f in report.figures]
    assert captions[0].startswith("Figure 1. ")
    width = doc.sections[0].page_width - doc.sections[0].left_margin - doc.sections[0].right_margin
    assert all(abs(s.width - width) <= 2 for s in doc.inline_shapes)
    images = [p.blob for p in doc.part.package.iter_parts() if p.content_type == "image/png"]
    assert sorted(images) == sorted(f.png for f in report.figures)


def test_page_setup_running_head_and_page_numbers(doc, built):
    study, _ = built
    s = doc.sections[0]
    assert (round(s.page_width.cm, 2), round(s.page_height.cm, 2)) == (21.0, 29.7)
    assert {round(m.cm, 2) for m in (s.left_margin, s.right_margin, s.top_margin, s.bottom_margin)} == {2.5}
    assert s.header.paragraphs[0].text == study.short_title
    assert s.different_first_page_header_footer and s.first_page_header.paragraphs[0].text == ""
    for footer in (s.footer, s.first_page_footer):
        instr = [el.text.strip() for el in footer._element.iter(qn("w:instrText"))]
        assert instr == ["PAGE", "NUMPAGES"]
        assert footer.paragraphs[0].text == "Page 1 of 1"  # cached field results, refreshed by Word


def test_core_properties_and_byte_identical_rebuild(doc, data, built):
    study, report = built
    cp = doc.core_properties
    assert (cp.title, cp.author, cp.last_modified_by) == (study.title, "A. Author, B. Author", "")
    assert cp.created == cp.modified == DEFAULT_DATE
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert {i.date_time for i in z.infolist()} == {(2000, 1, 1, 0, 0, 0)}
        assert "docProps/thumbnail.jpeg" not in z.namelist()
    assert html_to_docx(report, title=study.title, authors=AUTHORS) == data


SMALL = Report(
    html=(
        '<html><head><style>p{}</style></head><body><div class="running-title">Short</div>'
        "<main><section><h2>Intro</h2>\n<p>One <em>two</em>\n  <strong>three</strong>.</p>"
        "<ul><li>first</li><li>second</li></ul>"
        '<p class="placeholder">[To be written.]</p></section></main></body></html>'
    ),
    tables=[],
    figures=[],
)


def test_source_date_epoch_letter_size_and_small_html(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    d = Document(io.BytesIO(html_to_docx(SMALL, title="T", authors=[], page_size="Letter")))
    assert d.core_properties.created == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    s = d.sections[0]
    assert (round(s.page_width.inches, 2), round(s.page_height.inches, 2)) == (8.5, 11.0)
    assert s.header.paragraphs[0].text == "Short"
    assert [(p.style.name, p.text) for p in d.paragraphs] == [
        ("Title", "T"),
        ("Heading 1", "Intro"),
        ("Normal", "One two three."),
        ("List Bullet", "first"),
        ("List Bullet", "second"),
        ("Normal", "[To be written.]"),
    ]
    assert d.paragraphs[-1].runs[0].font.highlight_color == WD_COLOR_INDEX.YELLOW
    runs = d.paragraphs[2].runs
    assert [(r.text, bool(r.italic), bool(r.bold)) for r in runs] == [
        ("One", False, False),
        (" two", True, False),
        (" three", False, True),
        (".", False, False),
    ]
    with pytest.raises(ValueError, match="page_size must be one of A4, LETTER"):
        html_to_docx(SMALL, title="T", authors=[], page_size="A5")


def test_source_date_and_reproducible_zip():
    assert source_date({}) == DEFAULT_DATE
    assert source_date({"SOURCE_DATE_EPOCH": "0"}) == datetime(1970, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="SOURCE_DATE_EPOCH must be an integer"):
        source_date({"SOURCE_DATE_EPOCH": "yesterday"})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("b.xml", "<b/>")
        z.writestr("a.xml", "<a/>")
    once = reproducible_zip(buf.getvalue(), datetime(1970, 1, 1, tzinfo=UTC), replace={"a.xml": b"<x/>"})
    with zipfile.ZipFile(io.BytesIO(once)) as z:
        assert z.namelist() == ["b.xml", "a.xml"]  # member order kept ([Content_Types].xml stays first)
        assert z.read("a.xml") == b"<x/>"
        assert z.getinfo("a.xml").date_time == (1980, 1, 1, 0, 0, 0)  # ZIP's earliest date


def test_inline_spans_whitespace_and_entities():
    tree = parse_html("<p>  a &amp; <b>b</b><i> c </i>d<br>e  </p>")
    p = next(tree.find_all("p"))
    assert [(s.text, s.bold, s.italic) for s in inline_spans(p)] == [
        ("a &", False, False),
        (" b", True, False),
        (" c", False, True),
        (" d", False, False),
        ("\n", False, False),
        ("e", False, False),
    ]
