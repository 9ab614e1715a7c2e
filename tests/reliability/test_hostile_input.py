"""Hostile input: markup in labels and data shows as text (HTML, SVG, PDF), the PDF renderer fetches
nothing, user templates run sandboxed, selection expressions cannot call code, output stays inside
the output folder, and patient identifiers never reach any output file."""

from __future__ import annotations

import csv
import html.parser
import http.server
import io
import threading
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

from reportgen.build import build
from reportgen.cli import main
from tests.conftest import EXAMPLE

MINI_SPEC = """\
title: Mini study
data: {path: data.csv, id: pid}
group: {column: arm, reference: A}
endpoints:
  os: {label: Overall survival, time: months, event: died}
"""
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
EXAMPLE_DATA = EXAMPLE.parent / "cohort.csv"


# -- a report whose labels, levels and free text are markup ----------------------------------


def hostile_example(folder: Path) -> Path:
    """The main example's data and spec, with markup in every kind of text that reaches the report
    (fewer covariates and subgroups than the example, to keep the PDF quick)."""
    spec = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    spec["covariates"] = {k: spec["covariates"][k] for k in ("age", "sex", "smoking", "line_of_therapy")}
    spec["analysis"]["cox"]["multivariable"] = ["group", "age", "sex"]
    spec["analysis"]["subgroup"] = {}
    spec["subgroups"] = [{"column": "line_of_therapy", "label": f"Line {SCRIPT}"}]
    spec["title"] = f"Title {SCRIPT}"
    spec["short_title"] = f"Short {IMG}"
    spec["authors"] = [SCRIPT, IMG]
    spec["study"].update(setting=IMG, population=f"patients {SCRIPT}")
    spec["selection"][0]["reason"] = f"Histology {IMG}"
    spec["group"].update(label=f"Arm {SCRIPT}", labels={"CIT": f"CIT {IMG}", "LDRT+CIT": f"LDRT {SCRIPT}"})
    spec["endpoints"]["pfs"].update(label=f"PFS {SCRIPT}", definition=f"the time {IMG}")
    spec["endpoints"]["os"]["abbreviation"] = f"OS{IMG}"
    spec["covariates"]["age"].update(label=f"Age {IMG}", unit=SCRIPT)
    spec["covariates"]["sex"]["labels"] = {"Female": f"F {SCRIPT}"}
    spec["covariates"]["smoking"]["levels"] = ["Never", "Former", IMG]
    data = pd.read_csv(EXAMPLE_DATA, dtype=str, keep_default_na=False)
    data["smoking"] = data["smoking"].replace("Current", IMG)  # levels from the data, too
    data["line_of_therapy"] = data["line_of_therapy"].replace("Later", f"Later {SCRIPT}")
    data.to_csv(folder / "cohort.csv", index=False)
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    out = folder / "out"
    build(hostile_example(folder), out, formats=["html", "pdf"])
    return out


class _Elements(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.handlers: list[tuple[str, str]] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.handlers += [(tag, k) for k, _ in attrs if k.startswith("on")]
        self.sources += [v or "" for k, v in attrs if k in ("src", "href")]


def test_html_shows_markup_as_text(hostile: Path):
    page = (hostile / "report.html").read_text(encoding="utf-8")
    parsed = _Elements()
    parsed.feed(page)
    assert "script" not in parsed.tags
    assert parsed.handlers == []
    assert all(s.startswith("data:") for s in parsed.sources), parsed.sources
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&amp;lt;" not in page  # escaped once, not twice
    for shown in ("Title &lt;script&gt;", "CIT &lt;img src=x", "Later &lt;script&gt;", "Histology &lt;img"):
        assert shown in page, shown


def test_svg_figures_show_markup_as_text(hostile: Path):
    svgs = sorted((hostile / "figures").glob("*.svg"))
    assert len(svgs) >= 4  # flow, KM and forest plots
    texts = []
    for svg in svgs:
        root = ET.fromstring(svg.read_bytes())  # well-formed XML despite the labels
        for element in root.iter():
            assert element.tag.rsplit("}", 1)[-1] not in ("script", "foreignObject", "img", "a")
            assert not [a for a in element.attrib if a.lower().startswith("on")]
        texts.append("".join(root.itertext()))
    everything = " ".join(texts)
    assert f"LDRT {SCRIPT}" in everything and f"CIT {IMG}" in everything  # KM legends, as text
    assert f"Histology {IMG}" in everything  # the flow diagram


def test_pdf_shows_markup_as_text(hostile: Path):
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(hostile / "report.pdf")
    text = " ".join(page.extract_text() for page in reader.pages)
    assert f"Title {SCRIPT}" in text and f"CIT {IMG}" in text and f"Later {SCRIPT}" in text
    assert "&lt;" not in text
    assert reader.metadata.title == f"Title {SCRIPT}"


def test_csv_tables_hold_labels_as_text(hostile: Path):
    survival = (hostile / "tables" / "survival.csv").read_text(encoding="utf-8")
    assert f"CIT {IMG}" in survival and "&lt;" not in survival


def _readable(path: Path) -> list[tuple[str, bytes]]:
    """The bytes of a file; for a zip container (.xlsx, .docx) the bytes of every member."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            return [(f"{path.name}:{name}", z.read(name)) for name in z.namelist()]
    return [(path.name, path.read_bytes())]


def test_identifiers_never_reach_any_output_file(hostile: Path):
    """Every file of the report (HTML, JSON, SVG, PNG, CSV, workbook and document members, PDF bytes
    and PDF text) is searched for every patient identifier of the example."""
    pypdf = pytest.importorskip("pypdf")
    ids = pd.read_csv(EXAMPLE_DATA, dtype=str)["patient_id"].tolist()
    assert len(ids) == 92 and len(set(ids)) == 92
    files = [p for p in hostile.rglob("*") if p.is_file()]
    assert {".html", ".pdf", ".json", ".svg", ".png", ".csv"} <= {p.suffix for p in files}
    pdf_text = " ".join(page.extract_text() for page in pypdf.PdfReader(hostile / "report.pdf").pages)
    contents = [part for p in files for part in _readable(p)] + [("report.pdf text", pdf_text.encode("utf-8"))]
    found = [(name, i) for name, data in contents for i in ids if i.encode("utf-8") in data]
    assert found == []
    assert "SCLC-" not in pdf_text


def test_csv_cells_cannot_be_spreadsheet_formulas(make_study):
    spec = make_study(MINI_SPEC.replace("reference: A}", 'reference: A, labels: {B: "=HYPERLINK(\\"http://x\\")"}}'))
    out = spec.parent / "out"
    build(spec, out, formats=["html"])
    cells = [
        (table.name, cell)
        for table in (out / "tables").glob("*.csv")
        for row in csv.reader(io.StringIO(table.read_text(encoding="utf-8")))
        for cell in row
    ]
    assert any("HYPERLINK" in cell for _, cell in cells)
    assert [(name, cell) for name, cell in cells if cell.strip().startswith(("=", "+", "@"))] == []


def test_workbook_cells_cannot_be_formulas(make_study):
    spec = make_study(MINI_SPEC.replace("reference: A}", 'reference: A, labels: {B: "=HYPERLINK(\\"http://x\\")"}}'))
    out = spec.parent / "out"
    build(spec, out, formats=["html"])
    workbooks = list((out / "tables").glob("*.xlsx"))
    if not workbooks:
        pytest.skip("no workbook written")
    sheets = [data.decode("utf-8") for name, data in _readable(workbooks[0]) if "worksheets/sheet" in name]
    assert any("HYPERLINK" in sheet for sheet in sheets)
    assert not [sheet for sheet in sheets if "<f>" in sheet]


# -- nothing is fetched ----------------------------------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str]

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        self.requests.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server on 127.0.0.1 recording every request path; yields (base URL, requests)."""
    requests: list[str] = []
    handler = type("Handler", (_Recorder,), {"requests": requests})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_the_probe_server_sees_an_ordinary_fetch(server):
    """Control: WeasyPrint's default fetcher does reach the server, so silence below means refusal."""
    from weasyprint.urls import URLFetcher

    base, requests = server
    with pytest.raises(Exception):  # noqa: B017 - a 404, whatever urllib calls it
        URLFetcher(timeout=5).fetch(f"{base}/control.png")
    assert requests == ["/control.png"]


def test_fetcher_refuses_everything_but_data_urls(server):
    from reportgen.render.pdf import EmbeddedOnlyFetcher

    base, requests = server
    fetcher = EmbeddedOnlyFetcher()
    for url in ("file:///etc/passwd", f"{base}/a.png", f"{base.replace('http', 'https')}/b.css", "ftp://127.0.0.1/c"):
        with pytest.raises(ValueError, match="external resource refused"):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain;base64,aGVsbG8=").read() == b"hello"
    assert len(fetcher.refused) == 4
    assert requests == []


def test_pdf_of_hostile_spec_and_user_template_fetches_nothing(make_study, server, monkeypatch, capsys):
    """The spec's title and labels carry URLs; a user partial (templates:) references a local file and
    the local server in every way HTML and CSS can; the PDF is made and nothing is requested."""
    import reportgen.render.pdf as pdf

    base, requests = server
    asked: list[str] = []
    original = pdf.EmbeddedOnlyFetcher.fetch

    def spy(self, url, headers=None):  # type: ignore[no-untyped-def]
        asked.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(pdf.EmbeddedOnlyFetcher, "fetch", spy)
    spec = make_study(
        MINI_SPEC.replace("title: Mini study", f"title: 'Study <img src=\"file:///etc/passwd\"> {base}/t.png'").replace(
            "reference: A}", f"reference: A, label: '<img src=\"{base}/label.png\">'}}"
        )
        + "templates: mytemplates\n"
    )
    partial = spec.parent / "mytemplates" / "partials" / "appendix.html.j2"
    partial.parent.mkdir(parents=True)
    partial.write_text(
        f"""<section><h2>Appendix</h2>
<img src="file:///etc/passwd"><img src="{base}/img.png">
<link rel="stylesheet" href="{base}/link.css"><link rel="attachment" href="file:///etc/passwd">
<style>@import url("{base}/import.css"); @font-face {{ font-family: X; src: url("{base}/font.woff") }}
p {{ background: url("{base}/bg.png"); font-family: X }}</style>
<object data="{base}/object.svg"></object><embed src="{base}/embed.svg"><iframe src="{base}/frame.html"></iframe>
<svg width="10" height="10"><image href="{base}/svg.png" width="10" height="10"/></svg>
<p>Appendix text from the user's partial.</p></section>
""",
        encoding="utf-8",
    )
    out = spec.parent / "out"
    code = main(["render", str(spec), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert requests == []
    external = [u for u in asked if not u.startswith("data:")]
    assert "file:///etc/passwd" in external and f"{base}/img.png" in external and f"{base}/link.css" in external
    assert not [u for u in external if "t.png" in u or "label.png" in u]  # text in labels is never a URL to fetch
    pypdf = pytest.importorskip("pypdf")
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(out / "report.pdf").pages)
    assert "Appendix text from the user's partial." in text
    assert "root:" not in text
    assert 'Study <img src="file:///etc/passwd">' in text


# -- user templates are sandboxed ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("<p>\n{{ ''.__class__.__mro__ }}</p>\n", 2, "access to attribute '__class__' of 'str' object is unsafe"),
        (
            "<p>\n\n{{ cycler.__init__.__globals__.os.system('touch PWNED') }}</p>\n",
            3,
            "access to attribute '__init__' of 'type' object is unsafe",
        ),
        ("<p>{{ study.__init__.__globals__ }}</p>\n", 1, "access to attribute '__init__' of 'Study' object is unsafe"),
    ],
)
def test_template_reaching_python_internals_is_a_user_error(make_study, capsys, body, line, message):
    spec = make_study(MINI_SPEC + "templates: mine\n")
    template = spec.parent / "mine" / "manuscript" / "methods.html.j2"
    template.parent.mkdir(parents=True)
    template.write_text(body, encoding="utf-8")
    code = main(["render", str(spec), "--out", str(spec.parent / "out"), "--format", "html"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{template}, line {line}: templates: not allowed in a template: {message}" in err
    assert "-> templates run sandboxed" in err and "Traceback" not in err
    assert not (spec.parent / "out").exists() and not (spec.parent / "PWNED").exists()


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("<p>\n{% if %}</p>\n", 2, "TemplateSyntaxError: Expected an expression"),
        ("<p>{{ no_such_name }}</p>\n", 1, "UndefinedError: 'no_such_name' is undefined"),
        ("<p>\n{% include 'partials/nope.html.j2' %}</p>\n", 2, "TemplateNotFound: 'partials/nope.html.j2' not found"),
    ],
)
def test_broken_user_template_is_a_user_error(make_study, capsys, body, line, message):
    spec = make_study(MINI_SPEC + "templates: mine\n")
    template = spec.parent / "mine" / "manuscript" / "results.html.j2"
    template.parent.mkdir(parents=True)
    template.write_text(body, encoding="utf-8")
    code = main(["render", str(spec), "--out", str(spec.parent / "out"), "--format", "html"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{template}, line {line}: templates: {message}" in err
    assert "-> fix the template at that line" in err and "Traceback" not in err


# -- selection expressions cannot run code ---------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os').system('touch PWNED')", "function calls are not supported ('__import__('"),
        ("open('PWNED', 'w') is missing", "function calls are not supported ('open('"),
        ("arm == arm.upper()", "function calls are not supported ('arm.upper('"),
        ("arm.__class__ == 'x'", "unknown column 'arm.__class__'"),
        ("date('2020-01-01').year > 1", "attribute access is not supported"),
        ("months + 1 > 2", "arithmetic is not supported"),
        ("[c for c in arm] == 1", "a list [...] at column 1 is only allowed after 'in'"),
        ("lambda: 1", "unexpected character ':' at column 7"),
    ],
)
def test_selection_cannot_call_functions_or_reach_attributes(make_study, capsys, expression, message):
    spec = make_study(MINI_SPEC + f'selection:\n  - {{exclude: "{expression}", reason: X}}\n')
    code = main(["validate", str(spec)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "selection: step 1:" in err and message in err, err
    assert not (spec.parent / "PWNED").exists()


# -- output stays inside the output folder ---------------------------------------------------


def test_out_with_dotdot_components_writes_only_there(make_study, capsys):
    spec = make_study()
    root = spec.parent
    code = main(["render", str(spec), "--out", str(root / "a" / ".." / "b" / "." / "report"), "--format", "html"])
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in root.iterdir()) == ["b", "data.csv", "study.yaml"]
    assert sorted(p.name for p in (root / "b").iterdir()) == ["report"]
    assert (root / "b" / "report" / "report.html").is_file()


def test_file_names_from_column_names_stay_inside(tmp_path: Path, capsys):
    """A figure is named after a subgroup column; a column called '../../../../evil' stays a name."""
    folder = tmp_path / "study" / "deep"
    folder.mkdir(parents=True)
    evil = "../../../../evil"
    rows = [f"pid,arm,months,died,{evil}"]  # every arm and subgroup level has events
    rows += [f"p{i},{'AB'[i % 2]},{1 + i * 7 % 13},{int(i % 3 > 0)},{'xy'[i // 2 % 2]}" for i in range(24)]
    (folder / "data.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    spec = MINI_SPEC + f'subgroups: ["{evil}"]\nanalysis: {{subgroup: {{km_panels: "{evil}"}}}}\n'
    (folder / "study.yaml").write_text(spec, encoding="utf-8")
    out = folder / "out"
    code = main(["render", str(folder / "study.yaml"), "--out", str(out), "--format", "html"])
    assert code == 0, capsys.readouterr().err
    everything = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert all(p.startswith("study/deep/") or p in ("study", "study/deep") for p in everything), everything
    panels = sorted(p.name for p in (out / "figures").glob("km_*_by_*"))
    assert panels == ["km_os_by_.._.._.._.._evil.png", "km_os_by_.._.._.._.._evil.svg"]
