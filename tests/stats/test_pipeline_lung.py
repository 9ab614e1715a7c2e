"""The whole pipeline (spec -> cohort -> results.json) on lifelines' `lung` against R's survival package.

The engines are tested in detail elsewhere in tests/stats; this checks that the study-level wiring
(group coding, reference levels, complete cases, landmark times, units) gives R's numbers:

    fit <- survfit(Surv(time, status) ~ sex, data = lung, conf.type = 'log-log')
    survdiff(Surv(time, status) ~ sex, data = lung)
    coxph(Surv(time, status) ~ sex, data = lung, ties = 'efron')
    coxph(Surv(time, status) ~ sex + age + factor(ph.ecog), data = lung, ties = 'efron'); cox.zph(fit)
    survfit(Surv(time, 1 - status) ~ 1, data = lung)      # reverse Kaplan-Meier follow-up
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lifelines.datasets import load_lung
from numpy.testing import assert_allclose

from reportgen.analysis.runner import run_analyses
from reportgen.build import validate

FIXTURES = Path(__file__).parent / "fixtures"
RTOL = 1e-6

SPEC = """\
title: lung
data: {path: lung.csv}
group: {column: sex, label: Sex, reference: 1, labels: {"1": Male, "2": Female}}
endpoints:
  os: {label: Overall survival, time: time, event: status, time_unit: days}
covariates:
  age: {label: Age, type: continuous, unit: years}
  ph.ecog: {label: ECOG, type: categorical, reference: 0}
analysis:
  km: {conf_type: log-log, conf_level: 0.95, landmarks: [90, 180, 365, 730, 1000]}
  cox: {ties: efron, multivariable: [group, age, ph.ecog]}
"""


def _find(items: list[dict], call: str) -> dict:
    return next(i for i in items if i["call"] == call)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("lung")
    load_lung().to_csv(folder / "lung.csv", index=False)
    (folder / "study.yaml").write_text(SPEC, encoding="utf-8")
    study, cohort = validate(folder / "study.yaml")
    return json.loads(json.dumps(run_analyses(study, cohort)))  # exactly what results.json holds


@pytest.fixture(scope="module")
def km_fix() -> dict:
    return json.loads((FIXTURES / "km_tests.json").read_text())


@pytest.fixture(scope="module")
def cox_fix() -> dict:
    return json.loads((FIXTURES / "cox.json").read_text())


def test_km_medians_and_landmarks(results, km_fix):
    r = _find(km_fix["km"], "survfit(Surv(time, status) ~ sex, data = lung, conf.type = 'log-log')")
    km = results["endpoints"]["os"]["km"]
    for g in r["groups"]:
        ours = km["groups"][str(g["level"])]
        assert (ours["n"], ours["events"]) == (g["n"], g["events"])
        assert_allclose(
            [ours["median"], *ours["median_ci"]], [g["median"], g["median_lower"], g["median_upper"]], rtol=RTOL
        )
        s = g["summary"]
        k = len(s["time"])  # R drops times beyond the last follow-up; we keep them as not estimable
        marks, beyond = ours["landmarks"][:k], ours["landmarks"][k:]
        assert [m["time"] for m in marks] == s["time"]
        assert_allclose([m["survival"] for m in marks], s["surv"], rtol=RTOL)
        assert_allclose([m["ci"][0] for m in marks], s["lower"], rtol=RTOL)
        assert_allclose([m["ci"][1] for m in marks], s["upper"], rtol=RTOL)
        assert [m["n_at_risk"] for m in marks] == s["n_risk"]
        assert all(m["survival"] is None and m["note"] == "beyond the last follow-up time" for m in beyond)


def test_logrank(results, km_fix):
    r = _find(km_fix["survdiff"], "survdiff(Surv(time, status) ~ sex, data = lung)")
    lr = results["endpoints"]["os"]["logrank"]
    assert_allclose([lr["statistic"], lr["p"]], [r["statistic"], r["p"]], rtol=RTOL)
    assert lr["df"] == r["df"]


def test_followup_reverse_km(results, km_fix):
    r = _find(km_fix["reverse"], "survfit(Surv(time, 1 - status) ~ 1, data = lung)")["groups"][0]
    fu = results["endpoints"]["os"]["followup"]
    assert_allclose([fu["median"], *fu["ci"]], [r["median"], r["median_lower"], r["median_upper"]], rtol=RTOL)


def test_univariable_group_hr(results, cox_fix):
    r = _find(cox_fix["models"], "coxph(Surv(time, status) ~ sex, data = lung, ties = 'efron')")
    row = next(x for x in results["endpoints"]["os"]["cox"]["univariable"] if x["variable"] == "group")
    assert (row["level"], row["reference"], row["n"], row["events"]) == ("2", "1", r["n"], r["nevent"])
    assert_allclose(
        [row["hr"], *row["ci"], row["p"]], [r["exp_coef"][0], r["ci_lower"][0], r["ci_upper"][0], r["p"][0]], rtol=RTOL
    )


def test_multivariable_model_and_ph_test(results, cox_fix):
    r = _find(cox_fix["models"], "coxph(Surv(time, status) ~ sex + age + factor(ph.ecog), data = lung, ties = 'efron')")
    multi = results["endpoints"]["os"]["cox"]["multivariable"]
    assert (multi["n"], multi["events"], multi["n_excluded_missing"]) == (r["n"], r["nevent"], 1)
    assert [(t["variable"], t["level"]) for t in multi["terms"]] == [
        ("group", "2"),
        ("age", None),
        ("ph.ecog", "1"),
        ("ph.ecog", "2"),
        ("ph.ecog", "3"),
    ]
    assert_allclose([t["hr"] for t in multi["terms"]], r["exp_coef"], rtol=RTOL)
    assert_allclose([t["ci"][0] for t in multi["terms"]], r["ci_lower"], rtol=RTOL)
    assert_allclose([t["ci"][1] for t in multi["terms"]], r["ci_upper"], rtol=RTOL)
    assert_allclose([t["p"] for t in multi["terms"]], r["p"], rtol=RTOL)
    assert_allclose([multi["concordance"], multi["concordance_se"]], [r["concordance"], r["concordance_se"]], rtol=RTOL)
    assert_allclose(multi["lr_test"]["statistic"], r["lr_test"]["stat"], rtol=RTOL)
    zph = r["zph"]["km"]
    ph = multi["ph_test"]
    assert_allclose(ph["global_p"], zph["global"]["p"], rtol=RTOL)
    assert_allclose([t["statistic"] for t in ph["terms"]], [t["chisq"] for t in zph["terms"]], rtol=RTOL)
    assert [t["df"] for t in ph["terms"]] == [t["df"] for t in zph["terms"]]
