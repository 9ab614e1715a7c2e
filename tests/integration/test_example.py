"""The main example rendered end to end: contract files and keys, numbers in the text equal results.json,
PDF text and page count, deterministic HTML and JSON, and exit codes of the command line."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reportgen.build import build
from reportgen.format import ci, num, p_text, percent
from tests.conftest import EXAMPLE, ROOT


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("example") / "sclc_ldrt"
    build(EXAMPLE, target, formats=["html", "pdf"])
    return target


@pytest.fixture(scope="module")
def results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def text(out: Path) -> str:
    """The report's visible text (tags stripped, whitespace collapsed)."""
    html = (out / "report.html").read_text(encoding="utf-8")
    html = re.sub(r"<style.*?</style>", " ", html, flags=re.S)
    html = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", html.replace("&amp;", "&").replace("&gt;", ">").replace("&lt;", "<"))


def test_output_folder_contract(out: Path):
    for name in ("report.html", "report.pdf", "results.json"):
        assert (out / name).stat().st_size > 1000
    for eid in ("pfs", "os"):
        assert (out / "figures" / f"km_{eid}.svg").exists()
        assert (out / "figures" / f"km_{eid}.png").read_bytes()[:4] == b"\x89PNG"
        assert (out / "tables" / f"cox_{eid}.csv").exists()
    assert (out / "tables" / "table1.csv").read_text().startswith("Characteristic,")
    assert not list(out.parent.glob(".*tmp"))  # no temporary folder left behind


def test_results_contract_keys(results: dict):
    assert results["schema_version"] == 1
    assert {"reportgen", "python", "lifelines", "numpy"} <= set(results["software"])
    assert len(results["input"]["sha256"]) == 64 and results["input"]["n_rows"] == 92
    assert results["cohort"]["n_included"] == 74
    assert results["cohort"]["groups"] == {"CIT": 44, "LDRT+CIT": 30}
    assert [f["n_excluded"] for f in results["cohort"]["flow"]] == [6, 5, 7]
    for eid in ("pfs", "os"):
        ep = results["endpoints"][eid]
        assert {"label", "time_unit", "n", "events", "km", "logrank", "followup", "cox", "subgroups"} <= set(ep)
        assert ep["km"]["conf_type"] == "log-log" and ep["km"]["conf_level"] == 0.95
        for g in ("CIT", "LDRT+CIT"):
            grp = ep["km"]["groups"][g]
            assert {"n", "events", "median", "median_ci", "landmarks"} <= set(grp)
            assert {"time", "survival", "ci", "n_at_risk"} <= set(grp["landmarks"][0])
        assert set(ep["logrank"]) >= {"statistic", "df", "p"}
        assert ep["followup"]["method"] == "reverse Kaplan-Meier"
        assert ep["cox"]["ties"] == "efron"
        row = ep["cox"]["univariable"][0]
        assert {"variable", "level", "reference", "hr", "ci", "p", "n", "events"} <= set(row)
        multi = ep["cox"]["multivariable"]
        assert {"n", "events", "concordance", "terms", "ph_test"} <= set(multi)
        assert {"method", "global_p", "terms"} <= set(multi["ph_test"])
        cont = [r for r in multi["terms"] if r["variable"] == "age"][0]
        assert cont["level"] is None and cont["reference"] is None


def test_headline_medians_near_published(results: dict):
    pfs = results["endpoints"]["pfs"]["km"]["groups"]
    assert pfs["LDRT+CIT"]["median"] == pytest.approx(5.09, abs=0.01)
    assert pfs["CIT"]["median"] == pytest.approx(4.01, abs=0.01)


def test_numbers_in_text_equal_results(results: dict, text: str):
    alpha = results["alpha"]
    for eid, ep in results["endpoints"].items():
        for g, k in ep["km"]["groups"].items():
            shown = num(k["median"], 1, missing="not reached")
            assert f"{shown} months (95% CI {ci(*k['median_ci'], 1)})" in text, (eid, g)
            for m in k["landmarks"]:
                lo, hi = (v * 100 for v in m["ci"])
                assert f"{percent(m['survival'])}% (95% CI {ci(lo, hi, 1)}%)" in text
        assert f"log-rank {p_text(ep['logrank']['p'])}" in text
        hr = [r for r in ep["cox"]["univariable"] if r["variable"] == "group"][0]
        assert f"HR {num(hr['hr'], 2)}, 95% CI {ci(*hr['ci'], 2)}" in text
        fu = ep["followup"]
        if fu["median"] is not None:
            assert f"median follow-up of {num(fu['median'], 1)} months (95% CI {ci(*fu['ci'], 1)}" in text
        else:
            assert "median follow-up by the reverse Kaplan-Meier method was not reached" in text
        significant = ep["logrank"]["p"] < alpha
        assert ("was statistically significant" in text) or not significant


def test_numbers_in_tables_equal_results(results: dict, out: Path):
    csv = (out / "tables" / "survival.csv").read_text(encoding="utf-8")
    for ep in results["endpoints"].values():
        for k in ep["km"]["groups"].values():
            assert f"{num(k['median'], 1, missing='NR')} ({ci(*k['median_ci'], 1)})" in csv


def test_synthetic_data_is_declared(text: str):
    assert "Synthetic data." in text


def test_pdf_text_and_pages(out: Path):
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(out / "report.pdf")
    assert 4 <= len(reader.pages) <= 30
    content = " ".join(page.extract_text() for page in reader.pages)
    assert "Kaplan-Meier" in content and "Table 1" in content and "Page 1 of" in content


def test_html_is_self_contained(out: Path):
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "http://" not in html.replace("http://www.w3.org", "")
    assert re.search(r"<link[^>]+stylesheet", html) is None
    figures = sorted(f for f in (out / "figures").glob("*.svg") if not f.name.startswith("zph_"))  # zph: supplement
    assert len(figures) == 7  # flow; KM, KM by line of therapy and forest per endpoint
    assert html.count('src="data:image/svg+xml;base64,') == len(figures)


def test_same_input_gives_identical_html_and_json(out: Path, tmp_path: Path):
    again = tmp_path / "again"
    build(EXAMPLE, again, formats=["html"])
    for name in ("report.html", "results.json", "figures/km_os.svg", "tables/table1.csv"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reportgen", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_user_error_exit_2_no_traceback(tmp_path: Path):
    spec = tmp_path / "study.yaml"
    shutil.copy(EXAMPLE, spec)
    shutil.copy(ROOT / "examples" / "sclc_ldrt" / "cohort.csv", tmp_path / "cohort.csv")
    spec.write_text(spec.read_text().replace("event: died", "event: dead"))
    res = _cli("render", str(spec), "--out", str(tmp_path / "out"))
    assert res.returncode == 2
    assert "column 'dead' (from endpoints.os.event) is not in the data" in res.stderr
    assert "did you mean 'died'?" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()


def test_cli_failed_run_keeps_previous_report(tmp_path: Path):
    spec = tmp_path / "study.yaml"
    shutil.copy(EXAMPLE, spec)
    shutil.copy(ROOT / "examples" / "sclc_ldrt" / "cohort.csv", tmp_path / "cohort.csv")
    out = tmp_path / "out"
    assert _cli("render", str(spec), "--out", str(out), "--format", "html", "--quiet").returncode == 0
    before = (out / "report.html").read_bytes()
    spec.write_text(spec.read_text().replace("reference: CIT", "reference: XYZ"))
    assert _cli("render", str(spec), "--out", str(out), "--format", "html").returncode == 2
    assert (out / "report.html").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort.csv", "out", "study.yaml"]


def test_cli_init_validate_version_schema(tmp_path: Path):
    assert _cli("--version").stdout.startswith("reportgen ")
    assert _cli("init", str(tmp_path / "s")).returncode == 0
    assert "title:" in (tmp_path / "s" / "study.yaml").read_text()
    again = _cli("init", str(tmp_path / "s"))
    assert again.returncode == 2 and "--force" in again.stderr
    res = _cli("validate", str(EXAMPLE))
    assert res.returncode == 0 and "74 patients included (CIT: 44, LDRT+CIT: 30)" in res.stdout
    assert json.loads(_cli("schema").stdout)["title"] == "reportgen study specification"
    for cmd in ("render", "validate", "init", "schema"):
        assert _cli(cmd, "--help").returncode == 0


def test_spec_reference_is_up_to_date():
    from reportgen.spec.docs import markdown

    assert (ROOT / "docs" / "spec.md").read_text(encoding="utf-8") == markdown(), (
        "regenerate with: python -m reportgen.spec.docs > docs/spec.md"
    )


def test_lifelines_double_programming_check(results: dict, text: str):
    qc = results["qc"]
    assert qc["performed"] and qc["method"].startswith("lifelines ")
    for ep in qc["endpoints"].values():
        assert ep["km_survival_max_abs_diff"] < 1e-12 and ep["logrank_statistic_abs_diff"] < 1e-9
        assert ep["group_log_hr_abs_diff"] < 1e-5
    assert qc["agrees"] and "recomputed with lifelines" in text and "all agree within 1e-05" in text
