"""Bad input catalogue: each spec or data problem a user can make, run through the command line in
process. A problem gives exit code 2, a message naming the file, the key or column, the rows and
what to do, no traceback, and no output folder; input that is unusual but analysable renders (exit 0).
docs/errors.md lists the same cases with the message users see."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import pytest

from reportgen.cli import main
from tests.conftest import SMALL_CSV, SMALL_SPEC

HEADER = SMALL_CSV.splitlines()[0]
LEAN_SPEC = SMALL_SPEC[: SMALL_SPEC.index("covariates:")]  # no covariates: quicker to render


@pytest.fixture(autouse=True)
def _log_files_in_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Internal-error logs of these tests go to a test folder, not the system's temporary folder."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path_factory.mktemp("systemp")))


def render(spec: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, Path]:
    """Run ``reportgen render`` in process; (exit code, stderr, output folder)."""
    out = spec.parent / "out"
    code = main(["render", str(spec), "--out", str(out), "--format", "html", "--quiet", *args])
    return code, capsys.readouterr().err, out


def assert_user_error(result: tuple[int, str, Path], *parts: str) -> str:
    code, err, out = result
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err, err
    for part in parts:
        assert part in err, f"{part!r} not in:\n{err}"
    assert not out.exists(), "a failed run must not create the output folder"
    return err


def assert_renders(result: tuple[int, str, Path]) -> tuple[str, dict]:
    """Exit 0; the report's visible text (tags stripped) and results.json."""
    code, err, out = result
    assert code == 0, err
    html = (out / "report.html").read_text(encoding="utf-8")
    html = re.sub(r"<style.*?</style>", " ", html, flags=re.S)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")
    return text, json.loads((out / "results.json").read_text(encoding="utf-8"))


def csv_with(*replacements: tuple[str, str]) -> str:
    text = SMALL_CSV
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return text


# -- the spec --------------------------------------------------------------------------------


def test_malformed_yaml_names_line_and_column(make_study, capsys):
    spec = make_study(SMALL_SPEC + "selection: [1, 2\n")
    assert_user_error(
        render(spec, capsys),
        f"{spec}, line 11, column 1: malformed YAML: expected ',' or ']'",
        "(while parsing a flow sequence that starts at line 10, column 12)",
        "-> check indentation and quoting near that line",
    )


def test_tab_indentation_says_use_spaces(make_study, capsys):
    spec = make_study(SMALL_SPEC.replace("  os:", "\tos:"))
    assert_user_error(
        render(spec, capsys),
        f"{spec}, line 5, column 1: malformed YAML: found character '\\t'",
        "-> indent with spaces: YAML does not allow tab characters",
    )


def test_unknown_key_suggests_the_nearest(make_study, capsys):
    spec = make_study(SMALL_SPEC.replace("group: {column: arm", "group: {colum: arm"))
    err = assert_user_error(
        render(spec, capsys),
        "1 problem found",
        f"{spec}, line 3: group.colum: unknown key 'colum'",
        "-> did you mean 'column'?",
    )
    assert "required but missing" not in err  # the misspelling is the one problem


def test_unknown_top_level_key(make_study, capsys):
    spec = make_study(SMALL_SPEC + "analysys: {alpha: 0.01}\n")
    assert_user_error(render(spec, capsys), f"{spec}, line 10: analysys: unknown key", "did you mean 'analysis'?")


def test_wrong_type_for_a_key(make_study, capsys):
    spec = make_study(SMALL_SPEC + "analysis: {alpha: high, km: {landmarks: 6}}\n")
    assert_user_error(
        render(spec, capsys),
        "2 problems found",
        f"{spec}, line 10: analysis.alpha: expected a number, got 'high'",
        "analysis.km.landmarks: expected a list (in YAML: [a, b] or lines starting with '- '), got 6",
    )


def test_mapping_given_as_text(make_study, capsys):
    spec = make_study(SMALL_SPEC.replace("group: {column: arm, reference: A}", "group: arm"))
    assert_user_error(render(spec, capsys), f"{spec}, line 3: group: expected a mapping of keys to values, got 'arm'")


def test_duplicate_key_is_not_silently_dropped(make_study, capsys):
    spec = make_study(SMALL_SPEC + "group: {column: sex}\n")
    assert_user_error(
        render(spec, capsys),
        f"{spec}, line 10: group: key 'group' is given twice (on lines 3 and 10); only one would be used",
        "-> merge the two into one",
    )


def test_yaml_alias_bomb_is_refused_quickly(make_study, capsys):
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    spec = make_study(SMALL_SPEC + "\n".join(lines) + "\n")
    assert_user_error(render(spec, capsys), f"{spec}: the spec expands to more than 100000 values through YAML aliases")


def test_spec_file_missing(tmp_path, capsys):
    assert_user_error(
        render(tmp_path / "nope.yaml", capsys), f"{tmp_path / 'nope.yaml'}: spec file not found", "reportgen init DIR"
    )


def test_spec_not_utf8(make_study, capsys):
    spec = make_study()
    spec.write_bytes(SMALL_SPEC.replace("Small study", "Petite \xe9tude").encode("latin-1"))
    assert_user_error(render(spec, capsys), f"{spec}: the spec is not UTF-8 text", "-> save the file as UTF-8")


def test_endpoint_id_restricted(make_study, capsys):
    spec = make_study(SMALL_SPEC.replace("  os: {", "  ../os: {"))
    assert_user_error(render(spec, capsys), "endpoint id '../os' may contain only letters, digits and '_'")


def test_template_folder_missing(make_study, capsys):
    spec = make_study(SMALL_SPEC + "templates: mytemplates\n")
    assert_user_error(
        render(spec, capsys), "templates: template folder not found:", "relative to the spec file's folder"
    )


def test_unknown_format(make_study, capsys):
    spec = make_study()
    assert_user_error(
        render(spec, capsys, "--format", "html,rtf"),
        "--format: unknown output format(s): rtf",
        "-> choose from: html, pdf",
    )


# -- the data file ---------------------------------------------------------------------------


def test_data_file_missing(make_study, capsys):
    spec = make_study(SMALL_SPEC.replace("data.csv", "cohort.csv"))
    assert_user_error(
        render(spec, capsys),
        f"{spec.parent / 'cohort.csv'}: data.path: data file not found",
        "-> data.path is relative to the spec file's folder",
    )


def test_data_path_is_a_folder(make_study, capsys):
    spec = make_study(SMALL_SPEC.replace("data.csv", "folder"))
    (spec.parent / "folder").mkdir()
    assert_user_error(render(spec, capsys), "folder: data.path: this is a folder, not a data file")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads files without permission")
def test_data_file_without_read_permission(make_study, capsys):
    spec = make_study()
    (spec.parent / "data.csv").chmod(0)
    try:
        assert_user_error(render(spec, capsys), "data.csv: data.path: cannot read the data file: Permission denied")
    finally:
        (spec.parent / "data.csv").chmod(0o644)


def test_data_file_unreadable(make_study, capsys, monkeypatch):
    """The same, for any user (root reads files whatever their permissions)."""
    spec = make_study()

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    assert_user_error(
        render(spec, capsys),
        "data.csv: data.path: cannot read the data file: Permission denied",
        "-> check that the file is readable by you",
    )


def test_empty_data_file(make_study, capsys):
    spec = make_study(csv="\n")
    assert_user_error(render(spec, capsys), "data.csv: data.path: the data file is empty")


def test_header_only_data_file(make_study, capsys):
    spec = make_study(csv=HEADER + "\n")
    assert_user_error(render(spec, capsys), "data.csv: the data file has a header but no rows")


def test_unsupported_file_type(make_study, capsys):
    spec = make_study(SMALL_SPEC.replace("data.csv", "data.numbers"), name="data.numbers")
    assert_user_error(
        render(spec, capsys), "data.numbers: data.path: unsupported file type '.numbers'", "use .csv, .tsv"
    )


def test_corrupt_spreadsheet(make_study, capsys):
    spec = make_study(SMALL_SPEC.replace("data.csv", "data.xlsx"), name="data.xlsx")
    assert_user_error(render(spec, capsys), "data.xlsx: cannot read the file:", "-> check that the file is a valid")


def test_ragged_row_names_its_row(make_study, capsys):
    spec = make_study(csv=csv_with(("p3,A,", "p3,A,extra,")))
    assert_user_error(
        render(spec, capsys), "data.csv: cannot read the file:", "Expected 8 fields in line 4, saw 9 (row 4)"
    )


def test_duplicate_column_names(make_study, capsys):
    spec = make_study(csv=csv_with(("age,sex", "age,age")))
    assert_user_error(
        render(spec, capsys), "data.csv: column name(s) 'age' appear more than once in the header (row 1)"
    )


def test_unknown_encoding(make_study, capsys):
    spec = make_study(SMALL_SPEC.replace("id: pid", "id: pid, encoding: latin-9x"))
    assert_user_error(render(spec, capsys), "data.encoding: cannot decode the file as latin-9x")


def assert_valid(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``reportgen validate`` accepts the data: all 6 patients included."""
    code = main(["validate", str(spec)])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "6 patients included (A: 3, B: 3)" in out.out


def test_semicolon_delimited_file_just_works(make_study, capsys):
    spec = make_study(LEAN_SPEC, csv=SMALL_CSV.replace(",", ";"))
    _, results = assert_renders(render(spec, capsys))
    assert results["cohort"]["n_included"] == 6 and results["endpoints"]["os"]["events"] == 4


@pytest.mark.parametrize("sep", ["\t", "|"], ids=["tab", "pipe"])
def test_other_delimiters_just_work(make_study, capsys, sep):
    assert_valid(make_study(csv=SMALL_CSV.replace(",", sep)), capsys)


def test_tsv_file(make_study, capsys):
    spec = make_study(SMALL_SPEC.replace("data.csv", "data.tsv"), csv=SMALL_CSV.replace(",", "\t"), name="data.tsv")
    assert_valid(spec, capsys)


def test_latin1_file_just_works(make_study, capsys):
    spec = make_study(LEAN_SPEC.replace("reference: A", "reference: Bras é"))
    (spec.parent / "data.csv").write_bytes(SMALL_CSV.replace(",A,", ",Bras é,").encode("latin-1"))
    text, results = assert_renders(render(spec, capsys))
    assert results["cohort"]["groups"] == {"Bras é": 3, "B": 3}
    assert "in the Bras é group" in text


def test_utf8_bom_file_just_works(make_study, capsys):
    spec = make_study()
    (spec.parent / "data.csv").write_bytes(SMALL_CSV.encode("utf-8-sig"))  # the BOM precedes 'pid', the id column
    assert_valid(spec, capsys)


# -- columns and values ----------------------------------------------------------------------


def test_missing_column_suggests_the_nearest(make_study, capsys):
    spec = make_study(csv=csv_with(("months", "mnths")))
    assert_user_error(
        render(spec, capsys),
        "data.csv: months: column 'months' (from endpoints.pfs.time) is not in the data",
        "-> did you mean 'mnths'?",
    )


def test_text_in_numeric_time_column(make_study, capsys):
    spec = make_study(csv=csv_with(("6.0,60", "six,60"), ("3.0,70", "n/a?,70")))
    assert_user_error(
        render(spec, capsys),
        "data.csv: months: values are not numbers; first values: 'six', 'n/a?' (rows 2, 4)",
        "-> use plain numbers with '.' as the decimal mark",
    )


def test_unparsable_dates(make_study, capsys):
    spec = make_study(csv=csv_with(("2020-07-01", "01/07/2020x"), ("2020-12-10", "yesterday")))
    assert_user_error(
        render(spec, capsys),
        "data.csv: end: values are not dates; first values: '01/07/2020x', 'yesterday' (rows 2, 5)",
        "-> write dates as YYYY-MM-DD (ISO 8601)",
    )


def test_end_date_before_start(make_study, capsys):
    spec = make_study(csv=csv_with(("2020-07-01", "2019-07-01")))
    assert_user_error(
        render(spec, capsys),
        "data.csv: end: end date (end) is before start date (start): 2020-01-01 -> 2019-07-01 (row 2)",
        "-> correct the dates",
    )


def test_negative_time(make_study, capsys):
    spec = make_study(csv=csv_with(("6.0,60", "-6.0,60")))
    assert_user_error(
        render(spec, capsys),
        "data.csv: months: follow-up time is negative; first values: '-6.0' (row 2)",
        "-> times must be >= 0",
    )


def test_zero_time_is_allowed(make_study, capsys):
    """As in R's survival, a time of 0 is valid (an event or censoring at time zero)."""
    spec = make_study(LEAN_SPEC, csv_with(("6.0,60", "0,60"), ("2020-01-01,2020-07-01", "2020-07-01,2020-07-01")))
    _, results = assert_renders(render(spec, capsys))
    for eid in ("os", "pfs"):
        table = results["endpoints"][eid]["km"]["groups"]["A"]["table"]
        assert table["time"][0] == 0.0 and table["n_event"][0] == 1
        assert results["endpoints"][eid]["n"] == 6


def test_event_codes_outside_the_declared(make_study, capsys):
    spec = make_study(csv=csv_with(("2020-05-01,1,", "2020-05-01,2,"), ("2021-03-01,0,", "2021-03-01,yes,")))
    assert_user_error(
        render(spec, capsys),
        "data.csv: died: event codes other than the declared 1 (event) and 0 (censored); "
        "first values: '2', 'yes' (rows 4, 6)",
        "-> recode them, or set endpoints.os.event_value / censor_value",
    )


def test_missing_event_values_reported_once(make_study, capsys):
    spec = make_study(csv=csv_with(("2020-05-01,1,", "2020-05-01,,")))
    err = assert_user_error(
        render(spec, capsys),
        "1 problem found",
        "data.csv: died: event indicator is missing (row 4)",
        "-> use 1 for an event and 0 for censored",
    )
    assert err.count("event indicator is missing") == 1  # os and pfs share the column


def test_missing_group_values(make_study, capsys):
    spec = make_study(csv=csv_with(("p3,A,", "p3,,")))
    assert_user_error(render(spec, capsys), "data.csv: arm: group is missing (row 4)", "selection step")


def test_group_level_absent_from_data(make_study, capsys):
    spec = make_study(SMALL_SPEC.replace("reference: A}", "reference: A, levels: [A, B, C]}"))
    assert_user_error(
        render(spec, capsys),
        "data.csv: arm: level 'C' (from group.levels) is not in the data",
        "-> levels in the data: A, B",
    )


def test_group_reference_absent_from_data(make_study, capsys):
    spec = make_study(SMALL_SPEC.replace("reference: A}", "reference: a}"))
    assert_user_error(
        render(spec, capsys),
        "arm: reference level 'a' (from group.reference) is not in the data",
        "-> did you mean 'A'? levels in the data: A, B",
    )


def test_a_single_group(make_study, capsys):
    spec = make_study(csv=SMALL_CSV.replace(",B,", ",A,"))
    assert_user_error(
        render(spec, capsys),
        "data.csv: arm: only one group ('A') among the included patients; a comparison needs two",
        "-> check group.column and the selection steps",
    )


def test_duplicate_ids_without_printing_them(make_study, capsys):
    spec = make_study(csv=csv_with(("p2,", "p1,")))
    err = assert_user_error(
        render(spec, capsys),
        "data.csv: pid: 1 identifier(s) occur more than once (rows 2, 3)",
        "-> each patient must have exactly one row",
    )
    assert "p1" not in err.replace(str(spec.parent), "")  # identifiers are never printed


def test_missing_ids(make_study, capsys):
    spec = make_study(csv=csv_with(("p2,", ",")))
    assert_user_error(render(spec, capsys), "data.csv: pid: patient identifier is missing (row 3)")


# -- selection -------------------------------------------------------------------------------


def test_everything_excluded_by_the_selection(make_study, capsys):
    spec = make_study(SMALL_SPEC + 'selection:\n  - {exclude: "months >= 0", reason: Everyone}\n')
    assert_user_error(
        render(spec, capsys),
        "data.csv: selection: every row was excluded by the selection steps",
        "the flow so far: Everyone: -6",
    )


def test_selection_syntax_error_points_at_the_column(make_study, capsys):
    spec = make_study(SMALL_SPEC + 'selection:\n  - {exclude: "months >> 0", reason: Bad}\n')
    assert_user_error(
        render(spec, capsys),
        "data.csv: selection: step 1: unexpected '>' at column 9",
        "    months >> 0\n            ^",
        "-> see docs/spec.md for the selection expression language",
    )


def test_selection_unknown_column(make_study, capsys):
    spec = make_study(SMALL_SPEC + 'selection:\n  - {exclude: "mnths > 0", reason: Bad}\n')
    assert_user_error(render(spec, capsys), "selection: step 1: unknown column 'mnths'; did you mean 'months'?")


# -- analyses that can go on, with caveats ---------------------------------------------------


def test_covariate_with_a_single_level_in_the_model(make_study, capsys):
    spec = make_study(
        SMALL_SPEC + "analysis: {cox: {multivariable: [group, sex]}}\n", SMALL_CSV.replace(",F\n", ",M\n")
    )
    assert_user_error(
        render(spec, capsys),
        "data.csv: sex: only one level ('M') among the included patients, so it cannot enter the multivariable Cox",
        "-> remove 'sex' from analysis.cox.multivariable (it stays in Table 1)",
    )


def test_covariate_with_a_single_level_outside_the_model(make_study, capsys):
    spec = make_study(csv=SMALL_CSV.replace(",F\n", ",M\n"))
    text, _ = assert_renders(render(spec, capsys))
    assert "Sex, n (%) M 6 (100.0%)" in text


def test_all_observations_censored(make_study, capsys):
    spec = make_study(LEAN_SPEC, SMALL_CSV.replace(",1,", ",0,"))
    text, results = assert_renders(render(spec, capsys))
    for eid in ("os", "pfs"):
        ep = results["endpoints"][eid]
        assert ep["events"] == 0
        assert all(g["median"] is None for g in ep["km"]["groups"].values())
        assert ep["logrank"]["p"] is None
        assert [r["hr"] for r in ep["cox"]["univariable"] if r["variable"] == "group"] == [None]
    assert "Median OS was not reached in the A group and not reached in the B group" in text
    assert "HR not estimable for B versus A" in text


NO_EVENTS_IN_B = csv_with(("2020-12-10,1,", "2020-12-10,0,"), ("2020-09-05,1,", "2020-09-05,0,"))


def test_no_events_in_one_group(make_study, capsys):
    spec = make_study(LEAN_SPEC, NO_EVENTS_IN_B)
    text, results = assert_renders(render(spec, capsys))
    ep = results["endpoints"]["os"]
    assert ep["km"]["groups"]["B"]["events"] == 0 and ep["km"]["groups"]["B"]["median"] is None
    row = [r for r in ep["cox"]["univariable"] if r["variable"] == "group"][0]
    assert row["hr"] is None and row["ci"] == [None, None] and "not estimable" in row["not_estimable"]
    assert "not reached in the B group" in text and "HR not estimable for B versus A" in text


def test_cox_non_convergence(make_study, capsys):
    """Only A's patients have events: the group coefficient runs off and, for PFS, the fit stops at the
    iteration limit without converging."""
    csv = SMALL_CSV.replace(",A,", ",X,").replace(",B,", ",A,").replace(",X,", ",B,")
    spec = make_study(
        LEAN_SPEC, csv.replace("2020-05-01,1,3.0", "2020-05-01,0,3.0").replace("2020-07-01,1,", "2020-07-01,0,")
    )
    text, results = assert_renders(render(spec, capsys))
    model = results["endpoints"]["pfs"]["cox"]["univariable_models"]["group"]  # R: "Ran out of iterations"
    row = [r for r in results["endpoints"]["pfs"]["cox"]["univariable"] if r["variable"] == "group"][0]
    assert not model["converged"] and row["hr"] is None and "not estimable" in row["not_estimable"]
    assert "HR not estimable for B versus A" in text


TINY_SPEC = """\
title: Tiny study
data: {path: data.csv, id: pid}
group: {column: arm, reference: A}
endpoints:
  os: {label: Overall survival, time: t, event: e}
"""


def test_everyone_at_risk_has_the_event(make_study, capsys):
    spec = make_study(TINY_SPEC, "pid,arm,t,e\np1,A,0,1\np2,B,0,1\n")
    text, results = assert_renders(render(spec, capsys))
    assert results["endpoints"]["os"]["logrank"]["p"] is None


def test_the_only_event_has_nobody_else_at_risk(make_study, capsys):
    spec = make_study(TINY_SPEC, "pid,arm,t,e\np1,A,0.04,0\np2,B,2.69,1\n")
    text, results = assert_renders(render(spec, capsys))
    assert [r["hr"] for r in results["endpoints"]["os"]["cox"]["univariable"]] == [None]


SEPARATION = f"""\
{HEADER}
p1,A,2020-01-01,2020-07-01,0,6.0,60,M
p2,A,2020-01-15,2021-01-15,0,12.0,55,F
p3,A,2020-02-01,2020-05-01,1,3.0,70,M
p4,B,2020-02-10,2020-12-10,1,1.0,65,F
p5,B,2020-03-01,2021-03-01,1,2.0,50,M
p6,B,2020-03-05,2020-09-05,1,0.5,58,F
p7,A,2020-03-05,2020-09-05,0,8,58,F
"""


def test_cox_separation_renders_not_estimable(make_study, capsys):
    """PFS: every B patient has an event before the first A event (monotone likelihood)."""
    spec = make_study(LEAN_SPEC, SEPARATION)
    text, results = assert_renders(render(spec, capsys))
    row = [r for r in results["endpoints"]["pfs"]["cox"]["univariable"] if r["variable"] == "group"][0]
    assert row["hr"] is None and "infinite" in row["not_estimable"]
    assert "HR not estimable for B versus A" in text


def test_perfectly_collinear_covariates(make_study, capsys):
    rows = SMALL_CSV.strip().splitlines()
    csv = "\n".join(
        [rows[0] + ",age2"] + [r + "," + (str(2 * int(r.split(",")[6])) if r.split(",")[6] else "") for r in rows[1:]]
    )
    spec = make_study(
        LEAN_SPEC
        + "covariates:\n  age: {label: Age, type: continuous}\n  age2: {label: Age twice, type: continuous}\n"
        + "analysis: {cox: {multivariable: [group, age, age2]}}\n",
        csv + "\n",
    )
    text, results = assert_renders(render(spec, capsys))
    terms = {t["variable"]: t for t in results["endpoints"]["os"]["cox"]["multivariable"]["terms"]}
    assert terms["age2"]["hr"] is None and terms["age2"]["not_estimable"] == "collinear with other terms (aliased)"
    assert terms["age"]["hr"] is not None
    assert "Not estimable: Age twice: collinear with other terms (aliased)" in text


def test_landmark_beyond_last_follow_up(make_study, capsys):
    spec = make_study(LEAN_SPEC + "analysis: {km: {landmarks: [6, 120]}}\n")
    text, results = assert_renders(render(spec, capsys))
    mark = results["endpoints"]["os"]["km"]["groups"]["A"]["landmarks"][1]
    assert mark["time"] == 120 and mark["survival"] is None and mark["note"] == "beyond the last follow-up time"
    assert "The 120-month OS rate was not estimable in the A group" in text
    assert "NE, not estimable (time beyond the last follow-up)" in text


# -- the output folder -----------------------------------------------------------------------


def test_output_path_is_an_existing_file(make_study, capsys):
    spec = make_study()
    target = spec.parent / "notes.txt"
    target.write_text("keep me")
    code = main(["render", str(spec), "--out", str(target), "--format", "html"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"{target}: --out: the output path is an existing file, not a folder" in err
    assert target.read_text() == "keep me"


def test_output_folder_with_other_files_is_not_replaced(make_study, capsys):
    spec = make_study()
    code = main(["render", str(spec), "--out", str(spec.parent), "--format", "html"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert (
        "--out: the output folder exists and holds files that are not a previous report (data.csv, study.yaml)" in err
    )
    assert sorted(p.name for p in spec.parent.iterdir()) == ["data.csv", "study.yaml"]


def test_validate_reports_the_same_problems(make_study, capsys):
    spec = make_study(csv=csv_with(("6.0,60", "-6.0,60")))
    assert main(["validate", str(spec)]) == 2
    assert "months: follow-up time is negative; first values: '-6.0' (row 2)" in capsys.readouterr().err
