"""The manuscript's words follow its numbers: every number in the Abstract and Results text is found in
results.json (as rounded for display), significance wording follows p and alpha, flow counts are right,
and the STROBE checklist's page numbers point at the right pages of report.pdf."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reportgen.build import build, validate
from reportgen.format import num, percent
from tests.conftest import EXAMPLE, SMALL_SPEC


class _Prose(HTMLParser):
    """Visible text of the <p> elements inside <section id=...> (tables and figures excluded)."""

    def __init__(self, section: str) -> None:
        super().__init__()
        self.section, self.depth, self.in_p, self.skip, self.parts = section, 0, False, 0, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and attrs.get("id") == self.section:
            self.depth = 1
        elif tag == "section" and self.depth:
            self.depth += 1
        if self.depth and tag in ("figure", "table"):
            self.skip += 1
        if self.depth and tag == "p":
            self.in_p = True

    def handle_endtag(self, tag):
        if self.depth and tag in ("figure", "table"):
            self.skip -= 1
        if tag == "p":
            self.in_p = False
            self.parts.append(" ")
        if tag == "section" and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth and self.in_p and not self.skip:
            self.parts.append(data)


def prose(html: str, section: str) -> str:
    parser = _Prose(section)
    parser.feed(html)
    return re.sub(r"\s+", " ", "".join(parser.parts))


def displayed_values(results: dict) -> set[str]:
    """Every number in results.json as the report may display it."""
    shown: set[str] = set()

    def add(v: float) -> None:
        for d in range(4):
            shown.add(num(v, d))
        shown.add(percent(v))
        shown.add(num(v * 100, 0))

    def walk(x):
        if isinstance(x, bool) or x is None:
            return
        if isinstance(x, (int, float)):
            add(float(x))
        elif isinstance(x, str):
            for m in re.findall(r"\d+(?:\.\d+)?", x):
                add(float(m))
        elif isinstance(x, dict):
            for k, v in x.items():
                walk(k)
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(results)
    return shown


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ms") / "out"
    build(EXAMPLE, out, formats=["html", "pdf"])
    return out


NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?")


@pytest.mark.parametrize("section", ["abstract", "results"])
def test_every_number_in_text_is_in_results(example: Path, section: str):
    html = (example / "report.html").read_text(encoding="utf-8")
    results = json.loads((example / "results.json").read_text(encoding="utf-8"))
    text = prose(html, section)
    assert len(text) > 500
    allowed = displayed_values(results)
    numbers = [n for n in NUMBER.findall(text)]
    assert len(numbers) > 40
    missing = sorted({n for n in numbers if n.lstrip("-") not in allowed and n not in allowed})
    assert not missing, f"numbers in the {section} text not found in results.json: {missing}"


def test_abstract_within_word_limit(example: Path):
    html = (example / "report.html").read_text(encoding="utf-8")
    words = prose(html, "abstract").split()
    assert 100 < len(words) <= 350


def _significance_report(tmp_path: Path, effect: bool) -> str:
    rng = np.random.default_rng(7)
    n = 120
    arm = np.repeat(["A", "B"], n // 2)
    scale = np.where(arm == "B", 30.0 if effect else 10.0, 10.0)
    t = rng.exponential(scale)
    c = rng.uniform(5, 60, n)
    frame = pd.DataFrame(
        {
            "pid": np.arange(n),
            "arm": arm,
            "months": np.minimum(t, c).round(2),
            "died": (t <= c).astype(int),
            "start": "2020-01-01",
            "end": "2020-06-01",
            "age": rng.integers(40, 80, n),
            "sex": rng.choice(["M", "F"], n),
        }
    )
    folder = tmp_path / ("effect" if effect else "null")
    folder.mkdir()
    frame.to_csv(folder / "data.csv", index=False)
    spec = SMALL_SPEC.replace("  os: {label: Overall survival, start: start, end: end, event: died}\n", "")
    (folder / "study.yaml").write_text(spec, encoding="utf-8")
    build(folder / "study.yaml", folder / "out", formats=["html"])
    html = (folder / "out" / "report.html").read_text(encoding="utf-8")
    return prose(html, "results") + " " + prose(html, "discussion")


def test_words_change_with_significance(tmp_path: Path):
    strong = _significance_report(tmp_path, effect=True)
    assert "The difference between groups was statistically significant at the 0.05 level." in strong
    assert "associated with a statistically significantly lower hazard" in strong
    null = _significance_report(tmp_path, effect=False)
    assert "The difference between groups was not statistically significant at the 0.05 level." in null
    assert "not significantly associated with" in null
    for text in (strong, null):
        assert "trend towards" not in text and "caused" not in text


def test_flow_counts_on_hand_checked_data(make_study):
    """SMALL_CSV: ages 60, 55, 70, 65, (missing), 58; sexes M F M F M F.
    Step 1 excludes age < 56 -> p2 (55) out: 6 -> 5 (the missing age is not < 56, so it stays).
    Step 2 excludes sex == 'F' and age > 60 -> p4 (F, 65) out: 5 -> 4.
    Step 3 includes age is not missing -> p5 out: 4 -> 3."""
    spec = (
        SMALL_SPEC
        + """selection:
  - {exclude: "age < 56", reason: "Younger than 56"}
  - {exclude: "sex == 'F' and age > 60", reason: "Women over 60"}
  - {include: "age is not missing", reason: "Age unknown"}
"""
    )
    study, cohort = validate(make_study(spec=spec))
    assert [(f["n_before"], f["n_excluded"], f["n_after"]) for f in cohort.flow] == [(6, 1, 5), (5, 1, 4), (4, 1, 3)]
    assert cohort.n == 3


def test_checklist_pages_match_pdf(example: Path):
    pypdf = pytest.importorskip("pypdf")
    pages = [p.extract_text() for p in pypdf.PdfReader(example / "report.pdf").pages]
    supp = (example / "supplement.html").read_text(encoding="utf-8")
    rows = re.findall(
        r'<tr class="status-addressed"><th scope="row" class="stub">(\w+)</th>.*?'
        r'href="report.html#([\w-]+)".*?<td>([\d, ]*)</td></tr>',
        supp,
        flags=re.S,
    )
    assert len(rows) >= 20
    headings = {
        "design": "Study design and participants",
        "participants": "Participants",
        "table1": "Table 1.",
        "survival": "Table 2.",
        "key-results": "Key results",
        "limitations": "Limitations",
        "statistics": "Statistical analysis",
        "abstract": "Abstract",
        "flow": "Figure 1.",
    }
    checked = 0
    for _item, anchor, page in rows:
        if anchor in headings and page.strip():
            first = int(page.split(",")[0])
            assert headings[anchor] in pages[first - 1], (anchor, first)
            checked += 1
    assert checked >= 8


def test_user_template_folder_overrides_one_partial(make_study, tmp_path: Path):
    """A spec's `templates:` folder is searched first: overriding one partial changes only that part."""
    folder = tmp_path / "my_templates" / "manuscript"
    folder.mkdir(parents=True)
    (folder / "introduction.html.j2").write_text(
        '<section id="introduction"><h2>Introduction</h2><p>Our own introduction for {{ study.title }}.</p></section>\n',
        encoding="utf-8",
    )
    spec = make_study(SMALL_SPEC + "templates: my_templates\n")
    build(spec, tmp_path / "out", formats=["html"])
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Our own introduction for Small study." in html
    assert "Study design and participants" in html  # the shipped templates still render the rest
    assert "[Introduction: scientific background" not in html
