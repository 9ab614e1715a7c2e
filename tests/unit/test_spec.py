"""Spec loading: valid specs load; every mistake is reported with file, line, key and a hint."""

import json

import pytest

from reportgen.errors import UserError
from reportgen.spec import json_schema, load_study
from tests.conftest import EXAMPLE, SMALL_SPEC


def _errors(tmp_path, text: str) -> str:
    path = tmp_path / "study.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as exc:
        load_study(path)
    return str(exc.value)


def test_example_spec_loads():
    study = load_study(EXAMPLE)
    assert study.group.reference == "CIT"
    assert set(study.endpoints) == {"pfs", "os"}
    assert study.endpoints["os"].start == "treatment_start"
    assert study.analysis.km.conf_type == "log-log"
    assert study.analysis.cox.multivariable[0] == "group"


def test_unknown_key_suggests_nearest(tmp_path):
    msg = _errors(tmp_path, SMALL_SPEC.replace("reference: A", "referense: A"))
    assert "line 3" in msg
    assert "group.referense: unknown key 'referense'" in msg
    assert "did you mean 'reference'?" in msg


def test_unknown_top_level_key(tmp_path):
    msg = _errors(tmp_path, SMALL_SPEC + "endpoint: {}\n")
    assert "unknown key 'endpoint'" in msg and "did you mean 'endpoints'?" in msg


def test_wrong_literal_lists_choices(tmp_path):
    msg = _errors(tmp_path, SMALL_SPEC + "analysis: {km: {conf_type: loglog}}\n")
    assert "analysis.km.conf_type: 'loglog' is not allowed" in msg
    assert "'log', 'log-log' or 'plain'" in msg


def test_wrong_type(tmp_path):
    msg = _errors(tmp_path, SMALL_SPEC + "analysis: {alpha: five}\n")
    assert "analysis.alpha: expected a number, got 'five'" in msg


def test_missing_required_key(tmp_path):
    msg = _errors(tmp_path, SMALL_SPEC.replace("title: Small study\n", ""))
    assert "title: this key is required but missing" in msg
    assert "Report title" in msg


def test_endpoint_needs_time_or_dates(tmp_path):
    msg = _errors(tmp_path, SMALL_SPEC.replace("start: start, end: end, ", "start: start, "))
    assert "endpoints.os" in msg and "both 'start' and 'end'" in msg


def test_multivariable_term_must_exist(tmp_path):
    msg = _errors(tmp_path, SMALL_SPEC + "analysis: {cox: {multivariable: [group, agee]}}\n")
    assert "'agee' is neither 'group' nor a covariate id" in msg


def test_all_problems_reported_together(tmp_path):
    msg = _errors(tmp_path, SMALL_SPEC.replace("reference: A", "referense: A") + "analysis: {alpha: x}\n")
    assert msg.startswith("2 problems found:")


def test_malformed_yaml_gives_line_and_column(tmp_path):
    msg = _errors(tmp_path, "title: x\ngroup: {column: arm\nendpoints: {}\n")
    assert "malformed YAML" in msg and "line 3" in msg and "column" in msg


def test_spec_must_be_mapping(tmp_path):
    assert "must be a mapping" in _errors(tmp_path, "- a\n- b\n")


def test_missing_spec_file(tmp_path):
    with pytest.raises(UserError, match="spec file not found"):
        load_study(tmp_path / "nope.yaml")


def test_json_schema_exports_fields():
    schema = json.loads(json_schema())
    assert schema["title"] == "reportgen study specification"
    assert {"title", "data", "group", "endpoints"} <= set(schema["required"])
    assert "conf_type" in json.dumps(schema)
